"""Orders the 12345 platform pushes: taken in once however often they are sent, only when signed by the platform,
with every field checked and answered in both languages; the case is a hotline case carrying the order."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlmodel import func, select

from grievance.cases.models import Case, CaseClock
from grievance.db import transaction
from grievance.hotline12345 import contract, inbound
from grievance.outbox.models import OutboxMessage
from tests.api._support import API
from tests.factories import World
from tests.hotline12345.conftest import ORDERS, SECRET, order, post_signed


def _cases_of(world: World, order_id: str) -> int:
    with transaction(world.app.state.sessions) as session:
        query = select(func.count()).select_from(Case).where(Case.external_id == order_id)
        return int(session.exec(query).one())


def test_a_pushed_order_arrives_once_however_often_it_is_retried(world: World):
    first = post_signed(world.client, ORDERS, order())
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["created"] is True and receipt["order_id"] == "GD202509290001"
    assert receipt["state"] == "received" and receipt["warnings"] == []
    for _ in range(3):
        # A retry is signed afresh (another timestamp) and may lay its JSON out differently: the same order.
        again = post_signed(world.client, ORDERS, dict(reversed(order(petitioner_phone="13812345678").items())))
        assert again.status_code == 200, again.text
        assert again.json()["case_no"] == receipt["case_no"] and again.json()["created"] is False
    assert _cases_of(world, "GD202509290001") == 1


def test_the_case_is_a_hotline_case_that_keeps_the_order_and_its_due_time(world: World):
    case_no = post_signed(world.client, ORDERS, order(urgency="紧急", order_type="投诉")).json()["case_no"]
    case = world.get(case_no, "dispatcher")
    assert case["channel"] == "hotline" and case["case_type"] == "complaint" and case["urgency"] == "urgent"
    assert case["external"] == {"source": "12345", "id": "GD202509290001", "due_at": "2025-10-14T10:00:00Z"}
    assert case["title"] == "青桐路路灯不亮" and case["location"] == "青桐路18号"
    assert case["description"] == "青桐路18号门口路灯坏了一周，晚上很黑"
    assert case["occurred_at"] == "2025-09-29T01:50:00Z"  # the platform's received time
    assert case["received_at"] == "2025-09-29T02:00:00Z"  # ours: our clocks start when the order reaches us
    assert case["petitioner"]["name"] == "李四" and case["petitioner"]["phone"] == "13812345678"
    assert case["timeline"][0]["actor"] == "12345平台"
    # A case logged at the front desk carries no external order.
    assert world.get(world.intake()["case_no"], "dispatcher")["external"] is None


def test_an_unknown_category_is_accepted_without_one_and_a_known_one_by_code_or_name_path(world: World):
    from grievance.reference.models import Category

    with transaction(world.app.state.sessions) as session:
        top = Category(code="CS", name="城乡建设", level=1)
        session.add(top)
        session.flush()
        mid = Category(code="CS-01", name="市政设施", level=2, parent_id=top.id)
        session.add(mid)
        session.flush()
        session.add(Category(code="CS-01-02", name="路灯", level=3, parent_id=mid.id))
    unknown = post_signed(world.client, ORDERS, order(order_id="GD-1", category="交通/公交/线路"))
    assert unknown.status_code == 201
    assert [w["field"] for w in unknown.json()["warnings"]] == ["category"]
    assert "交通/公交/线路" in unknown.json()["warnings"][0]["message"]
    assert world.get(unknown.json()["case_no"], "dispatcher")["category_id"] is None
    by_path = post_signed(world.client, ORDERS, order(order_id="GD-2", category="城乡建设>市政设施>路灯")).json()
    by_code = post_signed(world.client, ORDERS, order(order_id="GD-3", category="CS-01-02")).json()
    assert by_path["warnings"] == [] and by_code["warnings"] == []
    ids = {world.get(r["case_no"], "dispatcher")["category_id"] for r in (by_path, by_code)}
    assert len(ids) == 1 and None not in ids


def test_the_same_order_id_with_other_content_is_refused_naming_it(world: World):
    case_no = post_signed(world.client, ORDERS, order()).json()["case_no"]
    clash = post_signed(world.client, ORDERS, order(title="另一件事"))
    assert clash.status_code == 409
    body = clash.json()
    assert body["error"] == "order_id_reused" and body["order_id"] == "GD202509290001" and body["case_no"] == case_no
    assert "GD202509290001" in body["message"] and "GD202509290001" in body["message_en"]
    assert _cases_of(world, "GD202509290001") == 1


def test_a_bad_signature_a_stale_timestamp_and_no_signature_are_refused(world: World):
    wrong = post_signed(world.client, ORDERS, order(), secret="not-the-secret")
    assert wrong.status_code == 401 and wrong.json()["error"] == "signature_invalid"
    stale = post_signed(world.client, ORDERS, order(), now=time.time() - 301)
    assert stale.status_code == 401 and stale.json()["error"] == "timestamp_out_of_window"
    ahead = post_signed(world.client, ORDERS, order(), now=time.time() + 400)
    assert ahead.status_code == 401 and ahead.json()["error"] == "timestamp_out_of_window"
    bare = world.client.post(ORDERS, json=order())
    assert bare.status_code == 401 and bare.json()["error"] == "signature_missing"
    # A body changed after signing: the signature covers the exact bytes.
    import json

    from grievance.hotline12345.signature import signed_headers

    signed = json.dumps(order()).encode()
    tampered = world.client.post(
        ORDERS, content=signed.replace(b"GD202509290001", b"GD202509290002"), headers=signed_headers(SECRET, signed)
    )
    assert tampered.status_code == 401
    for refused in (wrong, stale, bare, tampered):
        assert refused.json()["message"] and refused.json()["message_en"] != refused.json()["message"]
    assert _cases_of(world, "GD202509290001") == 0 and _cases_of(world, "GD202509290002") == 0
    assert post_signed(world.client, ORDERS, order(), now=time.time() - 200).status_code == 201  # within 5 minutes


def test_without_a_shared_secret_every_push_is_refused_503(world: World, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(world.app.state.runtime.settings, "hotline12345_secret", None)
    response = post_signed(world.client, ORDERS, order())
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "hotline12345_not_configured"
    assert "GRIEVANCE_HOTLINE12345_SECRET" in body["message"] and "not configured" in body["message_en"]
    assert _cases_of(world, "GD202509290001") == 0


def _problems(response: Any) -> dict[str, dict[str, str]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input" and body["message_en"]
    return {p["field"]: p for p in body["errors"]}


def test_a_bad_order_is_refused_422_field_by_field_in_both_languages(world: World):
    bad = _problems(
        post_signed(
            world.client,
            ORDERS,
            order(petitioner_phone="12", order_type="催单", urgency="很急", received_at="2025-09-29 09:50", title=""),
        )
    )
    assert set(bad) == {"petitioner_phone", "order_type", "urgency", "received_at", "title"}
    assert (
        bad["petitioner_phone"]["message"].startswith("联系电话：")
        and "13812345678" in bad["petitioner_phone"]["message"]
    )
    assert bad["petitioner_phone"]["message_en"].startswith("petitioner_phone: ")
    assert "投诉" in bad["order_type"]["message"] and "complaint" in bad["order_type"]["message_en"]
    assert bad["urgency"]["message"].startswith("紧急程度：")
    missing = _problems(post_signed(world.client, ORDERS, {"order_id": "GD-9", "title": "路灯"}))
    assert {"order_type", "received_at"} <= set(missing)
    assert missing["order_type"]["message"] == "诉求类型：为必填项"
    report = _problems(post_signed(world.client, ORDERS, order(order_type="举报")))
    assert report["accused_department"]["message"].startswith("被举报单位：")
    unknown = _problems(post_signed(world.client, ORDERS, order(order_type="举报", accused_department="不存在局")))
    assert "不存在局" in unknown["accused_department"]["message"]
    future = _problems(post_signed(world.client, ORDERS, order(received_at="2025-09-30T09:50:00+08:00")))
    assert set(future) == {"received_at"}
    due = _problems(post_signed(world.client, ORDERS, order(due_at="2025-09-28T09:50:00+08:00")))
    assert set(due) == {"due_at"}
    assert set(_problems(post_signed(world.client, ORDERS, b"{not json"))) == {"body"}
    assert set(_problems(post_signed(world.client, ORDERS, b"[1, 2]"))) == {"body"}
    assert _cases_of(world, "GD202509290001") == 0 and _cases_of(world, "GD-9") == 0


def test_a_report_names_the_accused_department_by_code_or_name_which_never_sees_it(world: World):
    pushed = post_signed(world.client, ORDERS, order(order_type="举报", accused_department="城市管理局"))
    assert pushed.status_code == 201, pushed.text
    case = world.get(pushed.json()["case_no"], "dispatcher")
    assert case["case_type"] == "report" and case["confidential"] is True
    world.get(pushed.json()["case_no"], "handler", expect=404)  # the accused department (CGJ) does not see it


def test_concurrent_pushes_of_one_order_make_one_case(world: World, database: Any):
    if database.backend != "postgresql":
        pytest.skip("SQLite takes one writer at a time; the race is PostgreSQL's")
    barrier = threading.Barrier(5)
    answers: list[Any] = []

    def push() -> None:
        barrier.wait()
        answers.append(post_signed(world.client, ORDERS, order(order_id="GD-RACE")))

    threads = [threading.Thread(target=push) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201], [a.text for a in answers]
    assert len({a.json()["case_no"] for a in answers}) == 1
    assert _cases_of(world, "GD-RACE") == 1


def test_a_twin_push_that_loses_the_insert_race_returns_the_winners_case(world: World, database: Any):
    """Deterministic: the second transaction inserts while the first holds its uncommitted case, so it meets the
    unique index (external_source, external_id) inside its savepoint and answers the first one's case."""
    if database.backend != "postgresql":
        pytest.skip("SQLite takes one writer at a time; the race is PostgreSQL's")
    import json

    body = json.dumps(order(order_id="GD-TWIN")).encode()
    runtime = world.app.state.runtime
    sessions = world.app.state.sessions
    with transaction(sessions) as session:  # the platform account exists before the race, as after a first push
        inbound.platform_account(session)
    second: list[Any] = []
    first_session = sessions()
    try:
        won = inbound.receive_order(first_session, runtime, body=body)
        assert won.created

        def twin() -> None:
            with transaction(sessions) as session:
                outcome = inbound.receive_order(session, runtime, body=body)
                second.append((outcome.created, outcome.case.case_no))

        thread = threading.Thread(target=twin)
        thread.start()
        time.sleep(0.5)  # the twin is now waiting on the first's uncommitted rows
        assert thread.is_alive()
        first_session.commit()
        thread.join(timeout=10)
    finally:
        first_session.close()
    assert second == [(False, won.case.case_no)]
    assert _cases_of(world, "GD-TWIN") == 1
    with transaction(sessions) as session:  # the loser's rolled-back savepoint left nothing behind
        case_ids = set(session.exec(select(Case.id)).all())
        assert set(session.exec(select(CaseClock.case_id)).all()) == case_ids
        assert [m.event for m in session.exec(select(OutboxMessage)).all()] == ["intake"]


def test_the_openapi_documents_the_12345_routes(world: World):
    schema = world.client.get("/openapi.json").json()
    for path in ("/orders", "/orders/{order_id}/callback"):
        operation = schema["paths"][f"{API}/hotline12345{path}"]["post"]
        assert operation["tags"] == ["12345"]
        assert {"200", "201", "401", "409", "422", "503"} <= set(operation["responses"])
        names = {p["name"] for p in operation["parameters"]}
        assert {"X-12345-Timestamp", "X-12345-Signature"} <= names
        assert operation["requestBody"]["content"]["application/json"]["schema"]["properties"]
    body = schema["paths"][f"{API}/hotline12345/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"order_id", "title", "order_type", "received_at"}
    properties = body["properties"]
    assert properties["order_id"]["pattern"] == contract.ORDER_ID_PATTERN
    for name in set(properties) - set(body["required"]):  # null is accepted for every optional field
        assert {"type": "null"} in properties[name]["anyOf"], name
    assert properties["urgency"]["default"] == "一般" and properties["urgency"]["description"]
    callback = schema["paths"][f"{API}/hotline12345/orders/{{order_id}}/callback"]["post"]
    path_id = next(p for p in callback["parameters"] if p["name"] == "order_id")
    assert path_id["schema"]["pattern"] == contract.ORDER_ID_PATTERN


def test_the_case_page_shows_the_order_number_and_the_platforms_due_time(world: World):
    from tests.web.support import Browser

    case_no = post_signed(world.client, ORDERS, order()).json()["case_no"]
    browser = Browser(world.app, "dispatcher")
    page = browser.page(f"/cases/{case_no}")
    facts = {dt.get_text(strip=True): dt.find_next_sibling("dd").get_text(strip=True) for dt in page.select("dt")}
    assert facts["12345工单编号"] == "GD202509290001"
    assert facts["12345平台办结时限"].startswith("2025年10月14日 18:00")
    browser.client.cookies.set("lang", "en")
    english = browser.page(f"/cases/{case_no}")
    assert "12345 due time" in english.get_text()
    desk = browser.page(f"/cases/{world.intake()['case_no']}")
    assert "12345工单编号" not in desk.get_text()


REQUIRED = {"order_id", "title", "order_type", "received_at"}
# What each optional field becomes on the case when it is left out, or sent as null: its default, mapped.
OPTIONAL_ON_CASE = {
    "content": ("description", ""),
    "petitioner_name": ("petitioner.name", ""),
    "petitioner_phone": ("petitioner.phone", ""),
    "address": ("location", ""),
    "category": ("category_id", None),
    "urgency": ("urgency", "normal"),
    "accused_department": ("accused_department_id", None),
    "due_at": ("external.due_at", None),
}


def _on_case(case: dict[str, Any], path: str) -> Any:
    value: Any = case
    for part in path.split("."):
        value = value[part]
    return value


def test_the_contract_lists_each_optional_field_here():
    assert {n for n, f in contract.OrderIn.model_fields.items() if not f.is_required()} == set(OPTIONAL_ON_CASE)
    assert {n for n, f in contract.OrderIn.model_fields.items() if f.is_required()} == REQUIRED


@pytest.mark.parametrize("name", sorted(OPTIONAL_ON_CASE))
def test_each_optional_field_left_out_or_null_takes_its_default_mapped_like_a_value_sent(world: World, name: str):
    order_id = f"OPT-{name}"
    left_out = {k: v for k, v in order(order_id=order_id).items() if k != name}
    first = post_signed(world.client, ORDERS, left_out)
    assert first.status_code == 201, first.text
    case = world.get(first.json()["case_no"], "dispatcher")
    field, default = OPTIONAL_ON_CASE[name]
    assert _on_case(case, field) == default
    # null is the field left out, and so is its default sent as a value: the same order (a retry), not another.
    default_sent = contract.OrderIn.model_fields[name].default
    for same in ({**left_out, name: None}, {**left_out, name: default_sent}):
        again = post_signed(world.client, ORDERS, same)
        assert again.status_code == 200, again.text
        assert again.json()["case_no"] == first.json()["case_no"]


def test_an_order_with_only_the_required_fields_is_taken_in_as_normal_urgency(world: World):
    bare = {name: order()[name] for name in REQUIRED}
    pushed = post_signed(world.client, ORDERS, bare)
    assert pushed.status_code == 201, pushed.text
    case = world.get(pushed.json()["case_no"], "dispatcher")
    assert case["urgency"] == "normal" and case["case_type"] == "help" and case["external"]["due_at"] is None
    nulls = {**bare, **dict.fromkeys(OPTIONAL_ON_CASE)}
    assert post_signed(world.client, ORDERS, nulls).status_code == 200
    # A required field sent as null is missing, said as such.
    missing = _problems(post_signed(world.client, ORDERS, {**bare, "order_id": "GD-N", "title": None}))
    assert missing["title"]["message"] == "工单标题：为必填项"


def test_every_problem_of_an_order_is_reported_at_once(world: World):
    both = _problems(
        post_signed(
            world.client,
            ORDERS,
            order(received_at="2025-10-09T09:50:00+08:00", due_at="2025-10-08T18:00:00+08:00"),
        )
    )
    assert set(both) == {"received_at", "due_at"}
    assert both["received_at"]["message"].startswith("受理时间：") and "future" in both["received_at"]["message_en"]
    assert both["due_at"]["message"].startswith("办结时限：")
    many = post_signed(
        world.client,
        ORDERS,
        order(order_type="举报", petitioner_phone="12", urgency="很急", due_at="2025-09-28T09:50:00+08:00"),
    )
    assert set(_problems(many)) == {"accused_department", "petitioner_phone", "urgency", "due_at"}
    assert "accused_department" in many.json()["message_en"] and "被举报单位" in many.json()["message"]
    unknown = _problems(
        post_signed(world.client, ORDERS, order(order_type="举报", accused_department="不存在局", title=""))
    )
    assert set(unknown) == {"accused_department", "title"} and "不存在局" in unknown["accused_department"]["message"]
    assert _cases_of(world, "GD202509290001") == 0


def test_an_order_id_is_refused_in_words_not_with_a_pattern(world: World):
    bad = _problems(post_signed(world.client, ORDERS, order(order_id="GD 2025/0001")))
    assert set(bad) == {"order_id"}
    message, english = bad["order_id"]["message"], bad["order_id"]["message_en"]
    assert message.startswith("工单编号：") and "字母" in message and "数字" in message and "_" in message
    assert "letters" in english and "digits" in english and "^" not in message + english
    too_long = _problems(post_signed(world.client, ORDERS, order(order_id="G" * 65)))
    assert "64" in too_long["order_id"]["message"]
    schema = contract.OrderIn.model_json_schema()["properties"]["order_id"]
    assert schema["pattern"] == contract.ORDER_ID_PATTERN and schema["maxLength"] == 64


def test_a_nul_character_is_refused_naming_the_field_by_its_chinese_name(world: World):
    refused = post_signed(world.client, ORDERS, order(title="路灯\u0000不亮"))
    assert refused.status_code == 422
    body = refused.json()
    assert body["message"].startswith("工单标题：") and body["errors"][0]["field"] == "title"
    assert body["message_en"].startswith("title: ")
    assert _cases_of(world, "GD202509290001") == 0


def test_a_case_from_12345_starts_at_version_1_like_any_other(world: World):
    case_no = post_signed(world.client, ORDERS, order()).json()["case_no"]
    assert world.get(case_no, "dispatcher")["version"] == 1
    world.act(case_no, "dispatch", "dispatcher", department_id="CGJ", version=1)  # the README's example
    assert world.get(case_no, "dispatcher")["version"] == 2
    # The fingerprint was written with the case: a retry and a reuse of the id are still told apart.
    assert post_signed(world.client, ORDERS, order()).status_code == 200
    assert post_signed(world.client, ORDERS, order(title="另一件事")).status_code == 409
