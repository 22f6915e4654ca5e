"""Intake through the API (validation, idempotency, duplicates, numbering, attachments) and the case
list (filters, free-text search in Chinese, keyset pagination)."""

from __future__ import annotations

import json
import struct
import zlib
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.api._support import API, fields_of, fire, sh, timeline, ts
from tests.factories import World

MON = sh(2025, 11, 3)


def tiny_png() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def body(world: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": "meeting",
        "case_type": "help",
        "title": "小区门口路灯不亮",
        "description": "青桐路18号小区门口的路灯坏了一周，晚上很黑",
        "meeting": world.meeting_id,
        "petitioner": {"name": "张三", "phone": "13812341234"},
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post(world: World, data: Any, as_user: str = "intake", **kwargs: Any) -> Any:
    return world.client.post(f"{API}/cases", json=data, headers={**world.headers(as_user), **kwargs})


def case_nos(world: World, as_user: str = "dispatcher", **params: Any) -> list[str]:
    response = world.client.get(f"{API}/cases", params=params, headers=world.headers(as_user))
    assert response.status_code == 200, response.text
    return [c["case_no"] for c in response.json()["items"]]


# --- validation -----------------------------------------------------------------------------------


INVALID = [
    ("missing title", {"title": None}, "title", "标题：为必填项", "Field required"),
    ("empty title", {"title": "   "}, "title", "不能为空", "at least 1 character"),
    (
        "bad channel",
        {"channel": "fax"},
        "channel",
        "来源渠道：不是可接受的取值；可接受：",
        "accepted: 'meeting', 'station'",
    ),
    ("bad case type", {"case_type": "rant"}, "case_type", "不是可接受的取值", "'petition'"),
    ("meeting channel without a meeting", {"meeting": None}, "meeting", "阳光恳谈会", "needs 'meeting'"),
    ("unknown meeting", {"meeting": 999}, "meeting", "恳谈会 999 不存在", "no meeting 999"),
    ("station channel without a station", {"channel": "station"}, "station", "须填写station", "needs 'station'"),
    ("unknown station", {"channel": "station", "station": "ZS99"}, "station", "驿站 ZS99 不存在", "no station"),
    ("enterprise without one", {"channel": "enterprise"}, "enterprise", "企业包保", "needs 'enterprise'"),
    ("bad phone", {"petitioner": {"phone": "12ab34"}}, "petitioner.phone", "电话号码无法识别", "not a phone number"),
    ("unknown category", {"category": "999999"}, "category", "业务分类 999999 不存在", "no category '999999'"),
    ("extra field", {"priority": "high"}, "priority", "不是可接受的字段", "Extra inputs are not permitted"),
    ("extra petitioner field", {"petitioner": {"age": 30}}, "petitioner.age", "不是可接受的字段", "Extra inputs"),
    ("accused on a help case", {"accused_department": "JD1"}, "accused_department", "举报或投诉", "only for reports"),
    ("unknown accused", {"case_type": "report", "accused_department": "X"}, "accused_department", "不存在", "no "),
    ("naive time", {"occurred_at": "2025-11-03T09:00:00"}, "occurred_at", "须带时区", "timezone"),
    ("future time", {"occurred_at": "2025-11-04T10:00:00+08:00"}, "occurred_at", "不能晚于现在", "future"),
    ("bad urgency", {"urgency": "asap"}, "urgency", "不是可接受的取值", "'emergency'"),
    ("title too long", {"title": "长" * 201}, "title", "标题：最多 200 个字符", "at most 200"),
]


@pytest.mark.parametrize(("why", "overrides", "field", "zh", "en"), INVALID, ids=[row[0] for row in INVALID])
def test_invalid_intake_is_422_with_field_errors_in_chinese_and_english(world, clock, why, overrides, field, zh, en):
    clock.set(MON)
    response = post(world, body(world, **overrides))
    assert response.status_code == 422, response.text
    data = response.json()
    assert data["error"] == "invalid_input"
    errors = fields_of(data)
    assert field in errors, errors
    assert zh in errors[field]["message"]
    assert en in errors[field]["message_en"]
    # Nothing was written: no case, and the next case still gets the first number.
    assert case_nos(world) == []
    assert world.intake()["case_no"] == "GX-2025-000001"


def test_all_problems_are_reported_at_once(world, clock):
    clock.set(MON)
    response = post(world, {"channel": "fax", "case_type": "help", "petitioner": {"phone": "x"}, "foo": 1})
    assert response.status_code == 422
    assert set(fields_of(response.json())) == {"channel", "title", "petitioner.phone", "foo"}

    links = post(world, body(world, meeting=999, category="nope"))
    assert set(fields_of(links.json())) == {"meeting", "category"}


def test_a_body_that_is_not_json_is_422(world, clock):
    response = world.client.post(
        f"{API}/cases", content=b"{not json", headers={**world.headers("intake"), "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert fields_of(response.json())["body"]["message_en"] == "the body is not valid JSON"
    assert case_nos(world) == []


def test_a_disallowed_action_is_409_naming_the_state_and_the_allowed_actions(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    response = fire(world, no, "resolve", "handler", outcome="solved", reply="已修复")
    assert response.status_code == 409
    data = response.json()
    assert data["error"] == "not_allowed_now"
    assert "「待签收」" in data["message"]
    assert "「办结」" in data["message"]
    assert "state 'dispatched'" in data["message_en"]
    assert data["state"] == "dispatched"
    assert data["allowed_actions"] == ["accept", "return", "assign"]
    assert world.get(no, "handler")["state"] == "dispatched"


def test_a_stale_version_is_409_and_the_case_is_unchanged(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    read = world.get(no, "dispatcher")
    assert read["version"] == 1
    world.act(no, "dispatch", "dispatcher", department_id="CGJ", version=1)
    before = world.get(no, "dispatcher")
    assert before["version"] == 2

    stale = fire(world, no, "dispatch", "supervisor", department_id="JD1", version=1)
    assert stale.status_code == 409
    data = stale.json()
    assert data["current_version"] == 2
    assert data["your_version"] == 1
    assert "已被他人更新" in data["message"] and "someone else has just updated" in data["message_en"]
    stale_accept = fire(world, no, "accept", "handler", version=1)
    assert stale_accept.status_code == 409

    after = world.get(no, "dispatcher")
    assert after["state"] == "dispatched"
    assert after["department"] == "城市管理局"
    assert after["version"] == 2
    assert timeline(after) == ["intake", "dispatch"]

    assert world.act(no, "accept", "handler", version=2)["version"] == 3


# --- idempotency, duplicates, numbering ----------------------------------------------------------


def test_idempotency_key_replays_the_same_case(world, clock):
    clock.set(MON)
    data = body(world)
    first = post(world, data, **{"Idempotency-Key": "form-7f3a"})
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers

    clock.set(MON + timedelta(seconds=30))
    retry = post(world, data, **{"Idempotency-Key": "form-7f3a"})
    assert retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["case_no"] == first.json()["case_no"]
    assert retry.json()["id"] == first.json()["id"]
    assert ts(retry.json()["received_at"]) == MON
    assert case_nos(world) == [first.json()["case_no"]]

    # The key belongs to the user who sent it; another key is another case.
    other_user = post(world, data, as_user="dispatcher", **{"Idempotency-Key": "form-7f3a"})
    assert other_user.status_code == 201
    other_key = post(world, data, **{"Idempotency-Key": "form-7f3b"})
    assert other_key.status_code == 201
    assert len(set(case_nos(world))) == 3


def test_possible_duplicates_by_phone_and_by_text(world, clock):
    clock.set(MON)
    first = world.intake()
    assert first["possible_duplicates"] == []

    clock.set(MON + timedelta(hours=1))
    same_phone = world.intake(title="楼下烧烤店噪音扰民", description="每天夜里十二点后仍在营业")
    hints = same_phone["possible_duplicates"]
    assert [(h["case_no"], h["reason"]) for h in hints] == [(first["case_no"], "same_phone")]
    assert hints[0]["title"] == "小区门口路灯不亮"
    assert hints[0]["state"] == "received"

    clock.set(MON + timedelta(hours=2))
    similar = world.intake(
        title="小区门口的路灯不亮",
        description="青桐路18号小区门口路灯坏了一周，晚上很黑",
        petitioner={"name": "李四", "phone": "13900001111"},
    )
    reasons = {h["case_no"]: h["reason"] for h in similar["possible_duplicates"]}
    assert reasons == {first["case_no"]: "similar_text"}
    score = similar["possible_duplicates"][0]["score"]
    assert 0.3 <= score <= 1

    listed = world.client.get(f"{API}/cases/{similar['case_no']}/duplicates", headers=world.headers("dispatcher"))
    assert [h["case_no"] for h in listed.json()] == [first["case_no"]]

    unrelated = world.intake(
        title="建议增设公交站", description="园区东门没有公交站", petitioner={"name": "赵六", "phone": "13600002222"}
    )
    assert unrelated["possible_duplicates"] == []


def test_case_numbers_increase_within_the_local_year(world, clock):
    clock.set(MON)
    numbers = [world.intake()["case_no"] for _ in range(3)]
    assert numbers == ["GX-2025-000001", "GX-2025-000002", "GX-2025-000003"]
    clock.set(datetime.fromisoformat("2025-12-31T16:30:00+00:00"))  # 2026-01-01 00:30 in Shanghai
    assert world.intake()["case_no"] == "GX-2026-000001"
    clock.set(datetime.fromisoformat("2025-12-31T15:59:00+00:00"))  # still 2025 in Shanghai
    assert world.intake()["case_no"] == "GX-2025-000004"
    assert world.intake()["case_no"] == "GX-2025-000005"


# --- attachments -----------------------------------------------------------------------------------


def multipart(world: World, data: dict[str, Any], files: list[tuple[str, bytes, str]], as_user: str = "intake") -> Any:
    return world.client.post(
        f"{API}/cases",
        data={"case": json.dumps(data, ensure_ascii=False)},
        files=[("files", f) for f in files],
        headers=world.headers(as_user),
    )


def test_multipart_intake_with_a_png_attachment(world, clock):
    clock.set(MON)
    png = tiny_png()
    response = multipart(world, body(world), [("路灯.png", png, "image/png"), ("说明.txt", b"note", "text/plain")])
    assert response.status_code == 201, response.text
    case = response.json()
    files = case["attachments"]
    assert [(a["filename"], a["content_type"], a["size"]) for a in files] == [
        ("路灯.png", "image/png", len(png)),
        ("说明.txt", "text/plain", 4),
    ]
    assert "sha256" not in files[0]

    download = world.client.get(
        f"{API}/cases/{case['case_no']}/attachments/{files[0]['id']}", headers=world.headers("dispatcher")
    )
    assert download.status_code == 200
    assert download.content == png
    assert download.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("upload", "message_en"),
    [
        (("huge.png", b"\x00" * (10 * 1024 * 1024 + 1), "image/png"), "larger than"),
        (("run.exe", b"MZ\x90\x00", "application/x-msdownload"), "which is not accepted; accepted: jpg, png"),
        (("empty.png", b"", "image/png"), "is empty"),
    ],
    ids=["too large", "wrong type", "empty"],
)
def test_a_bad_attachment_refuses_the_whole_intake(world, clock, upload, message_en):
    clock.set(MON)
    response = multipart(world, body(world), [("ok.png", tiny_png(), "image/png"), upload])
    assert response.status_code == 422
    error = fields_of(response.json())["files"]
    assert message_en in error["message_en"]
    assert upload[0] in error["message"]
    assert case_nos(world) == []


def test_multipart_needs_the_case_part(world, clock):
    clock.set(MON)
    response = world.client.post(
        f"{API}/cases", files=[("files", ("a.png", tiny_png(), "image/png"))], headers=world.headers("intake")
    )
    assert response.status_code == 422
    assert "case" in fields_of(response.json())
    invalid = multipart(world, body(world, title=None), [("a.png", tiny_png(), "image/png")])
    assert invalid.status_code == 422
    assert "title" in fields_of(invalid.json())
    assert case_nos(world) == []


def test_attachments_on_an_existing_case(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    other = world.intake(title="另一件")["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    pdf = b"%PDF-1.4\n% test\n"
    clock.set(MON + timedelta(hours=2))
    response = world.client.post(
        f"{API}/cases/{no}/attachments",
        files=[("files", ("现场照片说明.pdf", pdf, "application/pdf"))],
        headers=world.headers("handler"),
    )
    assert response.status_code == 201, response.text
    [stored] = response.json()
    assert stored["filename"] == "现场照片说明.pdf"
    assert stored["size"] == len(pdf)
    assert ts(stored["uploaded_at"]) == MON + timedelta(hours=2)

    case = world.get(no, "dispatcher")
    assert [a["id"] for a in case["attachments"]] == [stored["id"]]
    event = case["timeline"][-1]
    assert event["action"] == "attach"
    assert event["payload"] == {"filename": "现场照片说明.pdf", "size": len(pdf)}

    url = f"{API}/cases/{no}/attachments/{stored['id']}"
    assert world.client.get(url, headers=world.headers("head")).content == pdf
    assert world.client.get(url, headers=world.headers("other_handler")).status_code == 404
    assert world.client.get(url).status_code == 401
    assert world.client.get(f"{API}/cases/{no}/attachments/9999", headers=world.headers("head")).status_code == 404
    wrong_case = world.client.get(f"{API}/cases/{other}/attachments/{stored['id']}", headers=world.headers("intake"))
    assert wrong_case.status_code == 404

    leader = world.client.post(
        f"{API}/cases/{no}/attachments",
        files=[("files", ("a.pdf", pdf, "application/pdf"))],
        headers=world.headers("leader"),
    )
    assert leader.status_code == 403
    not_multipart = world.client.post(f"{API}/cases/{no}/attachments", json={}, headers=world.headers("handler"))
    assert not_multipart.status_code == 422
    wrong_type = world.client.post(
        f"{API}/cases/{no}/attachments",
        files=[("files", ("a.html", b"<html>", "text/html"))],
        headers=world.headers("handler"),
    )
    assert wrong_type.status_code == 422
    assert len(world.get(no, "dispatcher")["attachments"]) == 1


def test_no_attachments_on_a_final_case(world, clock):
    clock.set(MON)
    first = world.intake()["case_no"]
    dup = world.intake()["case_no"]
    world.act(dup, "merge", "intake", into=first)
    response = world.client.post(
        f"{API}/cases/{dup}/attachments",
        files=[("files", ("a.png", tiny_png(), "image/png"))],
        headers=world.headers("intake"),
    )
    assert response.status_code == 422
    assert world.get(dup, "intake")["attachments"] == []


# --- list filters ---------------------------------------------------------------------------------


@pytest.fixture
def five(world: World, clock: Any) -> dict[str, str]:
    """Five cases on Monday 2025-11-03 and Tuesday, of different channels, types and urgencies."""
    made: dict[str, str] = {}
    clock.set(MON)
    made["lamp"] = world.intake()["case_no"]
    clock.set(sh(2025, 11, 3, 11))
    made["garbage"] = world.intake(
        channel="station",
        station="ZS01",
        meeting=None,
        case_type="complaint",
        title="垃圾清运不及时",
        description="小区垃圾三天没人清运",
    )["case_no"]
    clock.set(sh(2025, 11, 3, 12))
    made["enterprise"] = world.intake(
        channel="enterprise",
        meeting=None,
        enterprise="91420100MA4K00001U",
        case_type="consult",
        title="企业奖补资金申报咨询",
        description="想了解今年的奖补政策",
    )["case_no"]
    clock.set(sh(2025, 11, 3, 12, 30))
    made["bus"] = world.intake(
        channel="hotline", meeting=None, urgency="emergency", title="建议增设公交站", description="东门附近没有站点"
    )["case_no"]
    clock.set(sh(2025, 11, 4, 9))
    made["wifi"] = world.intake(channel="online", meeting=None, title="园区WiFi信号差", description="")["case_no"]
    clock.set(sh(2025, 11, 3, 13))
    world.act(made["lamp"], "dispatch", "dispatcher", department_id="CGJ")
    world.act(made["garbage"], "dispatch", "dispatcher", department_id="JD1")
    return made


def _ids(world: World) -> dict[str, int]:
    departments = world.client.get(f"{API}/departments", headers=world.headers("dispatcher")).json()
    return {d["code"]: d["id"] for d in departments}


def test_list_filters(world, clock, five):
    clock.set(sh(2025, 11, 4, 10))
    c = five
    assert set(case_nos(world)) == set(c.values())
    assert set(case_nos(world, state="dispatched")) == {c["lamp"], c["garbage"]}
    assert set(case_nos(world, state=["received", "dispatched"])) == set(c.values())
    assert set(case_nos(world, state="received")) == {c["enterprise"], c["bus"], c["wifi"]}
    assert case_nos(world, state="closed") == []
    departments = _ids(world)
    assert case_nos(world, department_id=departments["CGJ"]) == [c["lamp"]]
    assert case_nos(world, department_id=departments["JD1"]) == [c["garbage"]]
    assert case_nos(world, channel="station") == [c["garbage"]]
    assert case_nos(world, meeting_id=world.meeting_id) == [c["lamp"]]
    assert case_nos(world, station_id=world.station_id) == [c["garbage"]]
    assert case_nos(world, enterprise_id=world.enterprise_id) == [c["enterprise"]]
    assert case_nos(world, case_type="consult") == [c["enterprise"]]
    assert case_nos(world, case_type="complaint") == [c["garbage"]]
    assert case_nos(world, urgency="emergency") == [c["bus"]]
    assert set(case_nos(world, urgency="normal")) == set(c.values()) - {c["bus"]}
    assert case_nos(world, channel="online", urgency="normal") == [c["wifi"]]
    assert case_nos(world, channel="online", urgency="emergency") == []


def test_list_received_range_is_half_open(world, clock, five):
    c = five
    found = case_nos(world, received_from="2025-11-03T11:00:00+08:00", received_to="2025-11-03T12:30:00+08:00")
    assert found == [c["enterprise"], c["garbage"]]  # newest first; 12:30 itself is excluded
    assert case_nos(world, received_from="2025-11-04T00:00:00+08:00") == [c["wifi"]]
    assert case_nos(world, received_from="2025-11-03T01:00:00Z", received_to="2025-11-03T02:00:01Z") == [c["lamp"]]
    naive = world.client.get(
        f"{API}/cases", params={"received_from": "2025-11-03T11:00:00"}, headers=world.headers("dispatcher")
    )
    assert naive.status_code == 422
    assert "received_from" in fields_of(naive.json())


def test_list_overdue_and_due_soon(world, clock, five):
    c = five
    # Tuesday 12:00: the enterprise case (respond within 1 hour) and the emergency (1 hour) are late.
    clock.set(sh(2025, 11, 4, 12))
    assert set(case_nos(world, overdue=True)) == {c["enterprise"], c["bus"]}
    assert set(case_nos(world, overdue=False)) == {c["lamp"], c["garbage"], c["wifi"]}
    assert case_nos(world, due_soon=True) == []
    summaries = world.client.get(f"{API}/cases", headers=world.headers("dispatcher")).json()["items"]
    assert {s["case_no"] for s in summaries if s["overdue"]} == {c["enterprise"], c["bus"]}

    # Respond within 1 working day: 80% of Monday 10:00 -> Wednesday 00:00 is Tuesday 16:24.
    clock.set(sh(2025, 11, 4, 16, 30))
    assert case_nos(world, due_soon=True) == [c["lamp"]]
    clock.set(sh(2025, 11, 4, 16, 40))
    assert set(case_nos(world, due_soon=True)) == {c["lamp"], c["garbage"]}
    summaries = world.client.get(f"{API}/cases", headers=world.headers("dispatcher")).json()["items"]
    assert {s["case_no"] for s in summaries if s["due_soon"]} == {c["lamp"], c["garbage"]}

    # Wednesday: everything not yet responded to is late.
    clock.set(sh(2025, 11, 5, 0, 1))
    assert set(case_nos(world, overdue=True)) == set(c.values()) - {c["wifi"]}
    world.act(c["lamp"], "accept", "handler")
    world.act(c["lamp"], "respond", "handler", note="已联系")  # late, but no longer running late
    assert c["lamp"] not in case_nos(world, overdue=True)


def test_due_soon_false_leaves_out_the_cases_due_soon(world, clock, five):
    clock.set(sh(2025, 11, 4, 16, 40))
    assert set(case_nos(world, due_soon=True)) == {five["lamp"], five["garbage"]}
    not_due_soon = case_nos(world, due_soon=False)
    assert five["lamp"] not in not_due_soon
    assert five["garbage"] not in not_due_soon


def test_free_text_search_in_chinese_and_english(world, clock, five):
    c = five
    assert case_nos(world, q="路灯") == [c["lamp"]]
    assert case_nos(world, q="灯") == [c["lamp"]]
    assert case_nos(world, q="门口路灯") == [c["lamp"]]
    assert case_nos(world, q="路灯 青桐路") == [c["lamp"]]  # every word, title or description
    assert case_nos(world, q="路灯 垃圾") == []
    assert case_nos(world, q="垃圾清运") == [c["garbage"]]
    assert case_nos(world, q="WiFi") == [c["wifi"]]
    assert case_nos(world, q="wifi") == [c["wifi"]]
    assert case_nos(world, q="园区") == [c["wifi"]]
    assert case_nos(world, q="灯泡") == []
    assert case_nos(world, q="公交站", urgency="emergency") == [c["bus"]]
    assert case_nos(world, q="！？") == []
    assert case_nos(world, q="灯", state="received") == []  # combined with the other filters
    # A handler finds only their own department's cases.
    assert case_nos(world, as_user="handler", q="路灯") == [c["lamp"]]
    assert case_nos(world, as_user="other_handler", q="路灯") == []
    assert case_nos(world, as_user="other_handler", q="垃圾") == [c["garbage"]]


def test_search_after_the_case_is_edited_by_actions_still_finds_it(world, clock, five):
    world.act(five["lamp"], "accept", "handler")
    assert case_nos(world, q="路灯") == [five["lamp"]]


# --- keyset pagination ----------------------------------------------------------------------------


def pages(world: World, as_user: str = "dispatcher", **params: Any) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    cursor = None
    count = 0
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = world.client.get(f"{API}/cases", params=query, headers=world.headers(as_user))
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        items.extend(page["items"])
        count += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, count
        assert count < 10, "pagination does not end"


def test_keyset_pagination_by_received_time(world, clock, five):
    items, count = pages(world, sort="received")
    assert count == 3
    numbers = [i["case_no"] for i in items]
    assert sorted(numbers) == sorted(five.values())
    assert len(set(numbers)) == 5
    received = [ts(i["received_at"]) for i in items]
    assert received == sorted(received, reverse=True)
    assert numbers == case_nos(world)  # the same order as one long page


def test_keyset_pagination_by_due_time(world, clock, five):
    items, count = pages(world, sort="due")
    assert count == 3
    numbers = [i["case_no"] for i in items]
    assert sorted(numbers) == sorted(five.values())
    assert len(set(numbers)) == 5
    dues = [ts(i["next_due_at"]) for i in items]
    assert all(d is not None for d in dues)
    assert dues == sorted(dues)  # earliest due first
    assert numbers[0] == five["enterprise"]  # 1 hour from 12:00
    assert numbers[1] == five["bus"]  # 1 hour from 12:30
    assert numbers == case_nos(world, sort="due")


def test_keyset_pagination_with_ties_and_cases_without_a_due_time(world, clock):
    clock.set(MON)  # all received at the same moment: ties broken by id
    made = [world.intake(title=f"同一时刻的第{i}件")["case_no"] for i in range(5)]
    world.act(made[1], "answer_on_spot", "intake", reply="已答复")
    world.act(made[1], "close", "dispatcher")  # no running clock any more
    world.act(made[3], "merge", "intake", into=made[0])

    received, _ = pages(world, sort="received")
    assert [i["case_no"] for i in received] == list(reversed(made))

    due, _ = pages(world, sort="due")
    numbers = [i["case_no"] for i in due]
    assert sorted(numbers) == sorted(made)
    assert numbers[-2:] == [made[1], made[3]]  # without a due time: last, by id
    assert [i["next_due_at"] for i in due[-2:]] == [None, None]
    assert numbers[:3] == [made[0], made[2], made[4]]


def test_pagination_with_a_filter(world, clock, five):
    items, count = pages(world, state="received", sort="due")
    assert [i["case_no"] for i in items] == case_nos(world, state="received", sort="due")
    assert count == 2


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"cursor": "W10"},  # base64 of "[]"
        {"cursor": "eyJhIjogMX0"},  # base64 of a JSON object
    ],
)
def test_an_invalid_cursor_is_422(world, clock, five, params):
    response = world.client.get(f"{API}/cases", params=params, headers=world.headers("dispatcher"))
    assert response.status_code == 422
    error = fields_of(response.json())["cursor"]
    assert "next_cursor" in error["message_en"]
    assert "游标" in error["message"]


def test_a_cursor_of_another_sort_is_422_and_bad_list_parameters_too(world, clock, five):
    first = world.client.get(
        f"{API}/cases", params={"limit": 2, "sort": "received"}, headers=world.headers("dispatcher")
    ).json()
    assert first["next_cursor"]
    mixed = world.client.get(
        f"{API}/cases",
        params={"limit": 2, "sort": "due", "cursor": first["next_cursor"]},
        headers=world.headers("dispatcher"),
    )
    assert mixed.status_code == 422
    assert "cursor" in fields_of(mixed.json())
    for params, field in (({"sort": "title"}, "sort"), ({"limit": 0}, "limit"), ({"limit": 201}, "limit")):
        response = world.client.get(f"{API}/cases", params=params, headers=world.headers("dispatcher"))
        assert response.status_code == 422, params
        assert field in fields_of(response.json())
