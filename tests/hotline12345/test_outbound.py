"""Our actions on a 12345 order go back to the platform through the outbox worker, in the platform's shape and
signed; a case that did not come from 12345 sends it nothing; the platform's callback result comes back in, is
recorded once and counts in the rates."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlmodel import select

from grievance.db import transaction
from grievance.hotline12345.outbound import render
from grievance.hotline12345.signature import DELIVERY_HEADER, signature_problem
from grievance.outbox import subscriptions
from grievance.outbox.models import Delivery, OutboxMessage, Subscription
from grievance.outbox.worker import run_once
from tests.factories import World
from tests.hotline12345.conftest import ORDERS, Platform, order, post_signed
from tests.reports.metrics_support import SEPTEMBER, metrics, rate

OUT_SECRET = "our-key-at-the-platform"


def _subscribe(world: World, platform: Platform) -> None:
    with transaction(world.app.state.sessions) as session:
        subscriptions.create_subscription(
            session,
            workflows=world.app.state.runtime.workflows,
            name="12345平台",
            url=platform.url,
            format="hotline12345",
            secret=OUT_SECRET,
        )


def _deliver(world: World) -> None:
    outcome = run_once(world.app.state.sessions, world.app.state.runtime.settings)
    assert not outcome.errors and not outcome.dead, outcome


def _sent(platform: Platform) -> list[dict[str, Any]]:
    """What the platform received, each checked signed with our key and carrying its delivery id."""
    bodies = []
    for headers, body in platform.received:
        assert signature_problem(OUT_SECRET, headers, body) is None, headers
        sent = json.loads(body)
        assert headers[DELIVERY_HEADER] == str(sent["delivery_id"])
        bodies.append(sent)
    return bodies


def _work(world: World, case_no: str) -> None:
    world.act(case_no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(case_no, "accept", "handler")
    world.act(case_no, "return", "handler", reason="不属于本单位职责，应由街道办理")
    world.act(case_no, "dispatch", "dispatcher", department_id="CGJ", note="经核实属城管职责")
    world.act(case_no, "accept", "handler")
    world.act(case_no, "respond", "handler", note="已电话联系诉求人")
    world.act(case_no, "request_extension", "handler", days=5, reason="需协调供电部门更换线路")
    world.act(case_no, "resolve", "handler", outcome="solved", reply="路灯已于今日修复")


def test_our_actions_on_a_12345_order_reach_the_platform_signed_in_its_shape(world: World, platform: Platform):
    _subscribe(world, platform)
    case_no = post_signed(world.client, ORDERS, order()).json()["case_no"]
    desk_case = world.intake()["case_no"]  # logged at the front desk: none of the platform's business
    _work(world, case_no)
    _work(world, desk_case)
    _deliver(world)
    sent = _sent(platform)
    assert [(s["action"], s["action_name"]) for s in sent] == [
        ("accept", "签收"),
        ("return", "退单"),
        ("accept", "签收"),
        ("extension_request", "延期申请"),
        ("finish", "办结"),
    ]
    assert {s["order_id"] for s in sent} == {"GD202509290001"} and {s["case_no"] for s in sent} == {case_no}
    assert len({s["delivery_id"] for s in sent}) == len(sent)
    assert sent[0]["department"] == {"code": "CGJ", "name": "城市管理局"} and sent[0]["state"] == "accepted"
    assert sent[1]["reason"] == "不属于本单位职责，应由街道办理" and sent[1]["state"] == "returned"
    # The returned case has left its department: the platform is told which one sent it back.
    assert sent[1]["department"] == {"code": "CGJ", "name": "城市管理局"}
    assert sent[3]["days"] == 5 and sent[3]["reason"] == "需协调供电部门更换线路"
    assert sent[4]["reply"] == "路灯已于今日修复"
    assert sent[4]["outcome"] == "solved" and sent[4]["outcome_name"] == "已解决"
    assert all(s["at"].endswith("+00:00") or s["at"].endswith("Z") for s in sent)
    text = json.dumps(sent, ensure_ascii=False)
    assert "李四" not in text and "13812345678" not in text  # no personal data goes back
    with transaction(world.app.state.sessions) as session:
        statuses = [d.status for d in session.exec(select(Delivery)).all()]
    # The desk case's actions are none of the platform's business: never delivered (skipped, or no delivery).
    assert statuses.count("delivered") == 5 and set(statuses) <= {"delivered", "skipped"}


def test_the_platforms_callback_comes_back_in_once_counts_in_the_rates_and_is_not_echoed(
    world: World, platform: Platform
):
    _subscribe(world, platform)
    case_no = post_signed(world.client, ORDERS, order()).json()["case_no"]
    _work(world, case_no)
    _deliver(world)
    before = len(platform.received)
    path = f"{ORDERS}/GD202509290001/callback"
    result = {"reached": True, "solved": True, "satisfaction": "基本满意", "comment": "修得很及时"}
    first = post_signed(world.client, path, result)
    assert first.status_code == 201, first.text
    assert first.json()["recorded"] is True and first.json()["case_no"] == case_no
    again = post_signed(world.client, path, result)
    assert again.status_code == 200 and again.json() == {**first.json(), "recorded": False}
    case = world.get(case_no, "dispatcher")
    assert case["callback_reached"] is True and case["callback_solved"] is True
    assert case["satisfaction"] == "basically_satisfied"
    callbacks = [e for e in case["timeline"] if e["action"] == "callback"]
    assert len(callbacks) == 1 and callbacks[0]["payload"]["source"] == "12345"
    figures = metrics(world, **SEPTEMBER)
    assert rate(figures, "callback_rate") == (1, 1, 1.0)
    assert rate(figures, "satisfaction_rate") == (1, 1, 1.0)
    _deliver(world)
    assert len(platform.received) == before  # the platform's own result is not sent back to it


def test_the_answer_to_an_extension_request_reaches_the_platform_with_the_new_due_time(
    world: World, platform: Platform
):
    _subscribe(world, platform)
    case_no = post_signed(world.client, ORDERS, order()).json()["case_no"]
    world.act(case_no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(case_no, "accept", "handler")
    world.act(case_no, "request_extension", "handler", days=3, reason="需协调供电部门")
    before = _resolve_due(world, case_no)
    world.act(case_no, "reject_extension", "supervisor", note="本单位可自行修复，不予延期")
    world.act(case_no, "request_extension", "handler", days=5, reason="需更换整段线路")
    world.act(case_no, "approve_extension", "supervisor", note="同意延期")
    after = _resolve_due(world, case_no)
    assert after > before
    _deliver(world)
    sent = {s["action"]: s for s in _sent(platform)}
    assert [s["action"] for s in _sent(platform)] == [
        "accept",
        "extension_request",
        "extension_rejection",
        "extension_request",
        "extension_approval",
    ]
    rejected, approved = sent["extension_rejection"], sent["extension_approval"]
    assert rejected["action_name"] == "驳回延期" and rejected["reason"] == "本单位可自行修复，不予延期"
    assert approved["action_name"] == "批准延期" and approved["note"] == "同意延期"
    assert datetime.fromisoformat(approved["due_at"]) == after  # our resolve clock's new due time (办结时限)
    assert approved["department"] == {"code": "CGJ", "name": "城市管理局"} and approved["order_id"] == "GD202509290001"


def _resolve_due(world: World, case_no: str) -> datetime:
    clocks = {c["name"]: c for c in world.get(case_no, "dispatcher")["clocks"]}
    return datetime.fromisoformat(clocks["resolve"]["due_at"].replace("Z", "+00:00"))


def test_a_callback_is_refused_for_an_unknown_order_a_bad_body_and_before_resolution(world: World):
    path = f"{ORDERS}/GD-NONE/callback"
    unknown = post_signed(world.client, path, {"reached": False})
    assert unknown.status_code == 404 and "GD-NONE" in unknown.json()["message"]
    post_signed(world.client, ORDERS, order())
    path = f"{ORDERS}/GD202509290001/callback"
    bad = post_signed(world.client, path, {"reached": True, "satisfaction": "还行"})
    assert bad.status_code == 422
    fields = {p["field"]: p for p in bad.json()["errors"]}
    # Every problem at once: the unknown satisfaction and the missing solved.
    assert set(fields) == {"satisfaction", "solved"} and fields["satisfaction"]["message"].startswith("满意度：")
    assert fields["solved"]["message"].startswith("是否解决：")
    missing = post_signed(world.client, path, {"reached": True, "satisfaction": "满意"})
    assert missing.status_code == 422 and [p["field"] for p in missing.json()["errors"]] == ["solved"]
    neither = post_signed(world.client, path, {"reached": True, "solved": None, "comment": None})
    assert neither.status_code == 422
    assert sorted(p["field"] for p in neither.json()["errors"]) == ["satisfaction", "solved"]
    assert "solved" in neither.json()["message_en"] and "satisfaction" in neither.json()["message_en"]
    bad_id = post_signed(world.client, f"{ORDERS}/GD%20202509/callback", {"reached": False})
    assert bad_id.status_code == 422 and [p["field"] for p in bad_id.json()["errors"]] == ["order_id"]
    assert "字母" in bad_id.json()["message"] and "letters" in bad_id.json()["message_en"]
    assert "^[" not in bad_id.text
    early = post_signed(world.client, path, {"reached": True, "solved": True, "satisfaction": "满意"})
    assert early.status_code == 409 and early.json()["message_en"]
    unsigned = world.client.post(path, json={"reached": False})
    assert unsigned.status_code == 401


def _message(event: str, external: dict[str, Any] | None, **given: Any) -> OutboxMessage:
    case = {"case_no": "GX-2025-000001", "state": "resolved", "department": None, "external": external}
    return OutboxMessage(id=1, case_id=1, event=event, body={"event": event, "at": "x", "input": given, "case": case})


ORDER = {"source": "12345", "id": "GD-1", "due_at": None}


@pytest.mark.parametrize(
    ("event", "external", "given", "action"),
    [
        ("resolve", {"source": "open311", "id": "t-1", "due_at": None}, {"reply": "r"}, None),
        ("resolve", None, {"reply": "r"}, None),
        ("dispatch", ORDER, {}, None),
        ("intake", ORDER, {}, None),
        ("urge", ORDER, {}, None),
        ("callback", ORDER, {"reached": True, "source": "12345"}, None),
        ("callback", ORDER, {"reached": True, "solved": True, "satisfaction": "satisfied"}, "callback"),
        ("answer_on_spot", ORDER, {"reply": "已当场答复"}, "finish"),
        ("close", ORDER, {"note": "归档"}, "archive"),
        ("approve_extension", ORDER, {"note": "同意"}, "extension_approval"),
        ("reject_extension", ORDER, {"note": "不同意"}, "extension_rejection"),
    ],
)
def test_render_sends_only_the_platforms_business(event: str, external: Any, given: Any, action: str | None):
    subscription = Subscription(name="s", url="http://127.0.0.1:9/x", secret="k", format="hotline12345")
    request = render(
        subscription,
        _message(event, external, **given),
        Delivery(id=7, message_id=1, subscription_id=1, case_id=1),
        None,
    )  # type: ignore[arg-type]
    if action is None:
        assert request is None
        return
    assert request is not None
    sent = json.loads(request.body)
    assert sent["action"] == action and sent["order_id"] == "GD-1" and sent["delivery_id"] == 7
    if event == "answer_on_spot":
        assert sent["outcome"] == "answered_on_spot" and sent["reply"] == "已当场答复"


def test_render_never_sends_unsigned(world: World):
    subscription = Subscription(name="s", url="http://127.0.0.1:9/x", secret="", format="hotline12345")
    delivery = Delivery(id=7, message_id=1, subscription_id=1, case_id=1)
    with pytest.raises(ValueError, match="no secret"):
        render(subscription, _message("resolve", ORDER, reply="r", outcome="solved"), delivery, None)  # type: ignore[arg-type]
    assert render(subscription, _message("resolve", None, reply="r"), delivery, None) is None  # type: ignore[arg-type]
