"""Open311 GeoReport v2 conformance: every JSON answer validates against the spec's schemas, every XML answer
says the same field by field under the spec's element names, refusals carry the spec's error body in both
formats, and a filed request is a case of the front desk (channel online) that shows nothing of its petitioner."""

from __future__ import annotations

from datetime import datetime, timedelta
from xml.etree import ElementTree

import pytest
from sqlmodel import select

from grievance.cases.models import Case
from grievance.db import transaction
from grievance.open311 import filing
from grievance.open311.keys import key_sha256, revoke_key
from grievance.open311.models import Open311ApiKey
from tests.conftest import FrozenClock
from tests.factories import World
from tests.open311._support import BASE, Open311World, both_formats, validate


@pytest.fixture
def o311(world: World) -> Open311World:
    return Open311World(world)


def test_services_list_the_public_leaf_categories_in_both_formats(o311: Open311World):
    found = both_formats(o311.client, "services", "services", "service")
    validate(found, "services.json")
    assert [s["service_code"] for s in found] == ["CS0101", "CS0103"]  # not the groups, not the withdrawn one
    lamp = found[0]
    assert lamp["service_name"] == "路灯损坏" and lamp["group"] == "市容环境"
    assert lamp["description"] == "城市管理 / 市容环境 / 路灯损坏"
    assert lamp["metadata"] is True and lamp["type"] == "realtime"


def test_a_service_definition_lists_its_attributes_in_both_formats(o311: Open311World):
    found = both_formats(o311.client, "services/CS0101", "service_definition")
    validate(found, "service-definition.json")
    by_code = {a["code"]: a for a in found["attributes"]}
    assert list(by_code) == ["case_type", "urgency", "occurred_at"]
    assert [v["key"] for v in by_code["urgency"]["values"]] == ["emergency", "urgent", "normal"]
    assert "report" not in [v["key"] for v in by_code["case_type"]["values"]]  # 举报 are filed in person
    assert by_code["occurred_at"]["datatype"] == "datetime"
    xml = ElementTree.fromstring(o311.client.get(f"{BASE}/services/CS0101.xml").content)
    assert [e.tag for e in xml.find("attributes")] == ["attribute"] * 3  # type: ignore[union-attr]
    assert xml.find("attributes/attribute/values/value/key") is not None


def test_discovery_in_both_formats(o311: Open311World):
    found = both_formats(o311.client, "discovery", "discovery")
    endpoint = found["endpoints"][0]
    assert endpoint["url"].endswith("/open311/v2") and endpoint["specification"].endswith("GeoReport_v2")
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}


def test_a_filed_request_is_a_front_desk_case_and_reads_back_without_personal_data(o311: Open311World):
    filed = o311.file(**{"attribute[urgency]": "urgent", "media_url": "https://img.example.com/lamp.jpg"})
    assert len(filed) == 1 and set(filed[0]) == {"service_request_id", "token", "service_notice", "account_id"}
    case_no, token = filed[0]["service_request_id"], filed[0]["token"]
    # The staff API: the case as the front desk would have logged it, with its petitioner.
    staff = o311.world.get(case_no, "dispatcher")
    case = staff.get("case", staff)
    assert case["channel"] == "online" and case["urgency"] == "urgent" and case["case_type"] == "help"
    assert case["title"] == "青桐路18号门口路灯不亮"
    assert case["location"] == "青桐路18号 [30.592800,114.305500]"
    petitioner = staff.get("petitioner") or case["petitioner"]
    assert (petitioner["name"], petitioner["phone"]) == ("张三", "13812345678")
    with transaction(o311.app.state.sessions) as session:
        row = session.exec(select(Case).where(Case.case_no == case_no)).one()
        assert (row.external_source, row.external_id) == ("open311", token)
        query_code = row.query_code
    assert query_code in filed[0]["service_notice"]  # the petitioner's key to /track, given to the filer only

    one = both_formats(o311.client, f"requests/{case_no}", "service_requests", "request")
    validate(one, "requests.json")
    record = one[0]
    assert record["status"] == "open" and record["service_code"] == "CS0101" and record["service_name"] == "路灯损坏"
    assert record["description"] == "青桐路18号门口路灯不亮\n已经一周了"
    assert record["media_url"] == "https://img.example.com/lamp.jpg"
    assert (record["address"], record["lat"], record["long"]) == ("青桐路18号", 30.5928, 114.3055)
    assert record["requested_datetime"].endswith("+08:00")
    listed = both_formats(o311.client, "requests", "service_requests", "request")
    validate(listed, "requests.json")
    assert [r["service_request_id"] for r in listed] == [case_no]
    by_token = both_formats(o311.client, f"tokens/{token}", "service_requests", "request")
    assert by_token == [{"service_request_id": case_no, "token": token}]
    everything = "".join(
        o311.client.get(f"{BASE}/{path}").text
        for path in (f"requests/{case_no}.json", f"requests/{case_no}.xml", "requests.json", "requests.xml")
    )
    for personal in ("13812345678", "138-1234-5678", "张三", "zhangsan", query_code):
        assert personal not in everything


def test_the_department_reply_due_time_and_closing_show_in_the_request(o311: Open311World):
    case_no = o311.file()[0]["service_request_id"]
    world = o311.world
    world.act(case_no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(case_no, "accept", "handler")
    world.act(case_no, "respond", "handler", note="已电话联系诉求人：内部备注")
    record = both_formats(o311.client, f"requests/{case_no}", "service_requests", "request")[0]
    assert record["agency_responsible"] == "城市管理局" and record["status"] == "open"
    assert record["status_notes"] is None  # a note is internal
    resolve_due = next(c["due_at"] for c in world.get(case_no, "dispatcher")["clocks"] if c["name"] == "resolve")
    assert record["expected_datetime"] is not None
    assert datetime.fromisoformat(record["expected_datetime"]) == datetime.fromisoformat(resolve_due)
    world.act(case_no, "resolve", "handler", outcome="solved", reply="路灯已于今日修复")
    record = both_formats(o311.client, f"requests/{case_no}", "service_requests", "request")[0]
    validate([record], "requests.json")
    assert record["status"] == "closed" and record["status_notes"] == "路灯已于今日修复"
    assert [r["service_request_id"] for r in o311.client.get(f"{BASE}/requests.json?status=closed").json()] == [case_no]
    assert o311.client.get(f"{BASE}/requests.json?status=open").json() == []


def test_front_desk_cases_are_not_open311_requests(o311: Open311World):
    desk = o311.world.intake(category="CS0101")["case_no"]
    assert o311.client.get(f"{BASE}/requests.json").json() == []
    assert o311.client.get(f"{BASE}/requests/{desk}.json").status_code == 404


def _error(response, status: int, fmt: str) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    if fmt == "json":
        body = response.json()
        assert isinstance(body, list) and len(body) == 1 and set(body[0]) == {"code", "description"}
        assert body[0]["code"] == status
        return str(body[0]["description"])
    tree = ElementTree.fromstring(response.content)
    assert tree.tag == "errors" and [e.tag for e in tree] == ["error"]
    assert tree.findtext("error/code") == str(status)
    return tree.findtext("error/description") or ""


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_refusals_carry_the_spec_error_body(o311: Open311World, fmt: str):
    client = o311.client
    post = f"{BASE}/requests.{fmt}"
    assert "api_key" in _error(client.post(post, data=o311.form(api_key="o311_wrong")), 403, fmt)
    assert "api_key" in _error(client.post(post, data=o311.form(api_key=None)), 403, fmt)
    assert "CS0102" in _error(client.post(post, data=o311.form(service_code="CS0102")), 404, fmt)  # withdrawn
    _error(client.get(f"{BASE}/services/NOPE.{fmt}"), 404, fmt)
    _error(client.get(f"{BASE}/services/CS01.{fmt}"), 404, fmt)  # a group, not a service
    _error(client.get(f"{BASE}/requests/GX-2025-999999.{fmt}"), 404, fmt)
    _error(client.get(f"{BASE}/tokens/nosuchtoken.{fmt}"), 404, fmt)
    _error(client.get(f"{BASE}/nothing/here.{fmt}"), 404, fmt)
    _error(client.delete(f"{BASE}/services.{fmt}"), 405, fmt)
    assert "attribute[colour]" in _error(client.post(post, data=o311.form(**{"attribute[colour]": "red"})), 400, fmt)
    assert "attribute[urgency]" in _error(client.post(post, data=o311.form(**{"attribute[urgency]": "x"})), 400, fmt)
    assert "电话号码" in _error(client.post(post, data=o311.form(phone="12")), 400, fmt)  # the house message
    assert "lat" in _error(client.post(post, data=o311.form(lat="91")), 400, fmt)
    location = {"lat": None, "long": None, "address_string": None}
    assert "location" in _error(client.post(post, data=o311.form(**location)), 400, fmt)
    _error(client.get(f"{BASE}/requests.{fmt}?status=pending"), 400, fmt)
    _error(client.get(f"{BASE}/requests.{fmt}?start_date=yesterday"), 400, fmt)
    with transaction(o311.app.state.sessions) as session:  # nothing was filed by any of them
        assert session.exec(select(Case)).all() == []


def test_keys_are_stored_hashed_and_a_revoked_key_is_refused(o311: Open311World):
    with transaction(o311.app.state.sessions) as session:
        row = session.get(Open311ApiKey, o311.key_id)
        assert row is not None and row.key_sha256 == key_sha256(o311.key) and o311.key not in repr(row.model_dump())
        assert row.key_prefix == o311.key[:12] and row.last_used_at is None
    o311.file()
    with transaction(o311.app.state.sessions) as session:
        row = session.get(Open311ApiKey, o311.key_id)
        assert row is not None and row.last_used_at is not None
        revoke_key(session, key_id=o311.key_id, now=o311.app.state.runtime.now())
    _error(o311.client.post(f"{BASE}/requests.json", data=o311.form()), 403, "json")


def test_a_key_that_files_too_fast_is_held_back(
    o311: Open311World, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(filing, "POST_LIMITS", "2/minute")
    o311.file()
    o311.file(expect=400, phone="12")  # a refused request counts too
    response = o311.client.post(f"{BASE}/requests.json", data=o311.form())
    _error(response, 429, "json")
    assert 0 < int(response.headers["Retry-After"]) <= 60
    clock.set(clock() + timedelta(minutes=1))
    o311.file()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_refusals_before_the_route_carry_the_spec_error_body_too(o311: Open311World, fmt: str):
    """Bad bytes and oversized bodies are refused by the app's middlewares (web/input_guard.py, web/body_limits.py)
    before any route: under /open311 in the spec's body as well."""
    post = f"{BASE}/requests.{fmt}"
    nul = o311.client.post(post, data=o311.form(description="路灯\x00坏了"))
    assert "description" in _error(nul, 400, fmt)
    not_utf8 = o311.client.post(
        post,
        content=b"service_code=CS0101&description=%FF%FE",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _error(not_utf8, 400, fmt)
    huge = o311.client.post(post, data=o311.form(description="长" * 2_000_000))
    _error(huge, 413, fmt)
    _error(o311.client.get(f"{BASE}/services.csv"), 404, "json")  # an unknown format answers in JSON
    with transaction(o311.app.state.sessions) as session:
        assert session.exec(select(Case)).all() == []
