"""Bad input never gets a 500 from the JSON API (issue 10): NUL characters, numbers no id column holds, days no
calendar keeps and JSON nested 100,000 deep answer 422 naming the field (404 for a NUL in the path: it names
nothing), the same on SQLite and PostgreSQL, and nothing is stored."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select

from grievance.cases.models import CalendarOverride, Case
from grievance.db import transaction
from grievance.reference.models import Department
from tests.api._support import API, fields_of
from tests.ledger._support import csv_bytes, upload


def _count(world: Any, model: type[Any]) -> int:
    with transaction(world.app.state.sessions) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _refused(response: httpx.Response, field: str, status: int = 422) -> dict[str, Any]:
    """The response is a bilingual refusal naming `field`."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["message"], body
    if status == 422:
        named = fields_of(body)
        assert field in named, body
        assert named[field]["message"] and named[field]["message_en"], body
    else:
        assert body["message_en"] and body["message"] != body["message_en"], body
    return body


# --- NUL characters ---------------------------------------------------------------------------------------


def test_a_nul_in_a_query_filter_is_refused_naming_it(world) -> None:  # type: ignore[no-untyped-def]
    world.intake()
    headers = world.headers("dispatcher")
    for name, value in (("q", "路灯%00"), ("phone", "138%001234"), ("state", "new%00")):
        body = _refused(world.client.get(f"{API}/cases?{name}={value}", headers=headers), name)
        assert "NUL" in body["errors"][0]["message_en"]
    assert world.client.get(f"{API}/cases?q=路灯", headers=headers).json()["items"]  # the same filter without NUL


def test_a_nul_in_a_path_names_nothing_404(world) -> None:  # type: ignore[no-untyped-def]
    assert world.client.get(f"{API}/public/cases/ab%00cd").json()["error"] == "not_found"
    _refused(world.client.get(f"{API}/public/cases/ab%00cd"), "path", status=404)
    _refused(world.client.get(f"{API}/cases/GX-2025%00", headers=world.headers("dispatcher")), "path", status=404)


def test_a_nul_in_json_is_refused_naming_the_field_and_nothing_is_stored(world) -> None:  # type: ignore[no-untyped-def]
    base = {
        "channel": "hotline",
        "case_type": "help",
        "title": "路灯不亮",
        "description": "小区门口路灯不亮",
        "petitioner": {"name": "张三", "phone": "13812341234"},
    }
    headers = world.headers("intake")
    title = world.client.post(f"{API}/cases", json={**base, "title": "路灯\x00不亮"}, headers=headers)
    assert _refused(title, "title")["error"] == "invalid_text"
    nested = world.client.post(f"{API}/cases", json={**base, "petitioner": {"name": "张\x00三"}}, headers=headers)
    _refused(nested, "petitioner.name")
    # The raw byte (no JSON escape) and an escaped backslash before u0000, which is no NUL and is stored.
    raw = world.client.post(
        f"{API}/cases",
        content=json.dumps(base, ensure_ascii=False).replace("路灯不亮", "路灯\x00不亮", 1).encode(),
        headers={**headers, "Content-Type": "application/json"},
    )
    _refused(raw, "body")
    lone = world.client.post(f"{API}/cases", content=json.dumps({**base, "title": "\ud800"}), headers=headers)
    assert "surrogate" in fields_of(_refused(lone, "title"))["title"]["message_en"]
    assert _count(world, Case) == 0
    kept = world.client.post(f"{API}/cases", json={**base, "title": "路灯 \\u0000 不亮"}, headers=headers)
    assert kept.status_code == 201 and kept.json()["title"] == "路灯 \\u0000 不亮"


def test_a_nul_in_a_reference_name_or_a_calendar_note_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    admin = world.headers("admin")
    departments = _count(world, Department)
    made = world.client.post(f"{API}/departments", json={"code": "X\x00", "name": "新单位"}, headers=admin)
    _refused(made, "code")
    note = world.client.put(
        f"{API}/calendar/overrides", json={"day": "2027-10-08", "kind": "holiday", "note": "调\x00休"}, headers=admin
    )
    _refused(note, "note")
    assert (_count(world, Department), _count(world, CalendarOverride)) == (departments, 0)


def test_a_nul_in_a_multipart_case_is_refused_and_the_files_are_not_checked(world) -> None:  # type: ignore[no-untyped-def]
    case = {
        "channel": "hotline",
        "case_type": "help",
        "title": "路灯不亮",
        "description": "路灯坏了",
        "petitioner": {"name": "张三"},
    }
    headers = world.headers("intake")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # a binary file holds NUL bytes: that is fine
    bad = {**case, "title": "路灯\x00不亮"}
    refused = world.client.post(
        f"{API}/cases", data={"case": json.dumps(bad)}, files={"files": ("a.png", png, "image/png")}, headers=headers
    )
    _refused(refused, "title")
    raw = world.client.post(
        f"{API}/cases",
        data={"case": json.dumps(case, ensure_ascii=False).replace("路灯不亮", "路灯\x00不亮")},
        files={"files": ("a.png", png, "image/png")},
        headers=headers,
    )
    _refused(raw, "case")
    # The case part answers as the same JSON sent as the body would, not one vague "not valid JSON".
    lone = json.dumps(case).replace("\\u8def", "\\ud800", 1)
    multipart = {"files": ("a.png", png, "image/png")}
    surrogate = world.client.post(f"{API}/cases", data={"case": lone}, files=multipart, headers=headers)
    assert _refused(surrogate, "title")["error"] == "invalid_text"
    deep_case = "[" * 100_000 + "]" * 100_000
    deep = world.client.post(f"{API}/cases", data={"case": deep_case}, files=multipart, headers=headers)
    assert deep.status_code == 422 and deep.json()["error"] == "json_too_deep", deep.text
    assert _count(world, Case) == 0
    taken = world.client.post(
        f"{API}/cases", data={"case": json.dumps(case)}, files={"files": ("a.png", png, "image/png")}, headers=headers
    )
    assert taken.status_code == 201, taken.text


def test_a_nul_in_the_public_lookup_and_in_headers(world) -> None:  # type: ignore[no-untyped-def]
    _refused(world.client.post(f"{API}/public/lookup", json={"query_code": "ab\x00cd"}), "query_code")
    cookie = world.client.get(f"{API}/me", headers={**world.headers("admin"), "Cookie": 'lang="e\\000n"'})
    _refused(cookie, "cookie:lang")


# --- numbers outside the id columns ------------------------------------------------------------------------


def test_ids_no_column_can_hold_are_refused_naming_the_field(world) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]
    headers = world.headers("dispatcher")
    big = _refused(world.client.get(f"{API}/cases/2147483648", headers=headers), "ref")
    assert "2147483647" in fields_of(big)["ref"]["message_en"]
    assert world.client.get(f"{API}/cases/2147483647", headers=headers).status_code == 404  # in range: no such case
    _refused(world.client.get(f"{API}/cases?department_id=2147483648", headers=headers), "department_id")
    _refused(world.client.get(f"{API}/cases?meeting_id=-11259864818816047634186240", headers=headers), "meeting_id")
    _refused(world.client.get(f"{API}/cases?assignee_id=0", headers=headers), "assignee_id")
    _refused(world.client.get(f"{API}/cases/{no}/attachments/2147483648", headers=headers), "attachment_id")
    meeting = {"title": "第二期", "held_on": "2025-09-28"}
    _refused(
        world.client.put(f"{API}/meetings/99999999999", json=meeting, headers=world.headers("admin")), "meeting_id"
    )
    token = world.client.post(f"{API}/users/2147483648/tokens", headers=world.headers("admin"))
    assert token.status_code == 404, token.text  # a reference that may be a name: names no user
    user = {"username": "big", "role": "handler", "department": 2147483648}
    assert world.client.post(f"{API}/users", json=user, headers=world.headers("admin")).status_code == 422


def test_numbers_longer_than_python_parses_are_refused_naming_the_field(world) -> None:  # type: ignore[no-untyped-def]
    """Python's int() and json.loads raise on more than 4,300 digits: the answer is a 422 naming the field."""
    no = world.intake()["case_no"]
    headers = world.headers("dispatcher")
    huge = "1" * 5000
    for path in (f"{API}/cases/{huge}", f"{API}/cases/{huge}/duplicates", f"{API}/cases/{huge}/attachments/1"):
        assert "5000" in fields_of(_refused(world.client.get(path, headers=headers), "ref"))["ref"]["message_en"]
    _refused(world.client.get(f"{API}/cases/{no}/attachments/{huge}", headers=headers), "attachment_id")
    for name in ("station", "department", "meeting", "enterprise", "category"):
        _refused(world.client.get(f"{API}/reports/rates?{name}={huge}", headers=world.headers("admin")), name)
    cases = _count(world, Case)
    raw = json.dumps({"channel": "hotline", "case_type": "help", "title": "t", "description": "d", "x": 0})
    raw = raw.replace('"x": 0', f'"x": {huge}').encode()
    answer = world.client.post(
        f"{API}/cases", content=raw, headers={**world.headers("intake"), "content-type": "application/json"}
    )
    assert answer.json()["error"] == "number_too_long", answer.text
    _refused(answer, "body")
    assert _count(world, Case) == cases


def test_numbers_are_not_days(world) -> None:  # type: ignore[no-untyped-def]
    """pydantic reads 0 or "0" as seconds since 1970: a day field refuses a number instead."""
    admin = world.headers("admin")
    for held_on in (0, 86400, "0"):
        meeting = {"title": "第一期", "held_on": held_on}
        body = _refused(world.client.post(f"{API}/meetings", json=meeting, headers=admin), "held_on")
        assert "2025-03-05" in fields_of(body)["held_on"]["message_en"], body
    due = world.client.get(f"{API}/calendar/due?start=0&amount=1", headers=admin)
    assert "2025-03-05" in fields_of(_refused(due, "start"))["start"]["message_en"], due.text


# --- days outside the calendar's range ---------------------------------------------------------------------


def test_impossible_days_and_years_are_refused_naming_the_field(world) -> None:  # type: ignore[no-untyped-def]
    world.intake()
    admin, dispatcher = world.headers("admin"), world.headers("dispatcher")
    year = _refused(world.client.get(f"{API}/calendar/overrides?year=0", headers=admin), "year")
    assert "1900" in fields_of(year)["year"]["message"] and "2200" in fields_of(year)["year"]["message_en"]
    assert world.client.get(f"{API}/calendar/overrides?year=2025", headers=admin).json() == []
    due = world.client.get(f"{API}/calendar/due?start=9999-12-31T00:00:00Z&amount=300&unit=days", headers=admin)
    _refused(due, "start")
    late = world.client.get(f"{API}/calendar/due?start=2199-12-31T00:00:00Z&amount=300&unit=days", headers=admin)
    assert "2200-01-01" in _refused(late, "start")["message_en"]  # a due time no calendar keeps, as the CLI says
    _refused(world.client.get(f"{API}/ledger/export?from=0001-01-01&to=0001-01-02", headers=admin), "from")
    _refused(world.client.get(f"{API}/ledger/export?from=2025-01-01&to=9999-12-31", headers=admin), "to")
    received = world.client.get(f"{API}/cases?received_from=0001-01-01T00:00:00%2B14:00", headers=dispatcher)
    _refused(received, "received_from")
    _refused(world.client.get(f"{API}/cases?received_to=9999-12-31", headers=dispatcher), "received_to")
    assert len(world.client.get(f"{API}/cases?received_from=2025-01-01", headers=dispatcher).json()["items"]) == 1
    _refused(world.client.delete(f"{API}/calendar/overrides/0001-01-01", headers=admin), "day")
    _refused(world.client.get(f"{API}/reports/rates?from=0001-01-01&to=0001-02-01", headers=admin), "from")
    _refused(world.client.get(f"{API}/reports/monthly/0000-01", headers=admin), "month")
    case = {"channel": "hotline", "case_type": "help", "title": "路灯", "description": "路灯坏了"}
    early = {**case, "petitioner": {"name": "张三"}, "occurred_at": "0001-01-01T00:00:00+14:00"}
    _refused(world.client.post(f"{API}/cases", json=early, headers=world.headers("intake")), "occurred_at")
    meeting = {"title": "第二期", "held_on": "0001-01-01"}
    _refused(world.client.post(f"{API}/meetings", json=meeting, headers=admin), "held_on")
    assert _count(world, Case) == 1


# --- JSON nested too deep ----------------------------------------------------------------------------------


def test_json_nested_100000_deep_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    deep = "[" * 100_000 + "]" * 100_000
    for url in (f"{API}/cases", f"{API}/departments", f"{API}/public/lookup"):
        response = world.client.post(
            url, content=deep, headers={**world.headers("admin"), "Content-Type": "application/json"}
        )
        body = _refused(response, "body")
        assert body["error"] == "json_too_deep" and "too deep" in body["message_en"]
    as_file = {"files": ("a.txt", b"x", "text/plain")}  # a file makes the body multipart
    multipart = world.client.post(f"{API}/cases", data={"case": deep}, files=as_file, headers=world.headers("intake"))
    assert _refused(multipart, "case")["error"] == "json_too_deep"
    # Brackets inside strings are text, not nesting.
    lookup = world.client.post(f"{API}/public/lookup", json={"query_code": "[" * 60})
    assert lookup.status_code == 404, lookup.text
    assert _count(world, Case) == 0


# --- whatever is thrown at the filters, never a 5xx --------------------------------------------------------

_NASTY = st.one_of(
    # Control characters (NUL among them), lone surrogates, Chinese and digits.
    st.text(alphabet=st.characters(categories=["Cc", "Cs", "Lo", "Nd"]), max_size=12),
    st.sampled_from(["\x00", "a\x00b", "%00", "\\u0000", "\ud800", "\udfff", "𠀀\x00"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["2147483648", "-1", "0", "0001-01-01", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-14:00"]),
)
_FILTERS = ["q", "phone", "department_id", "meeting_id", "received_from", "received_to", "state", "cursor"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(_FILTERS), value=_NASTY)
def test_random_filters_never_get_a_server_error(world, name: str, value: str) -> None:  # type: ignore[no-untyped-def]
    encoded = value.encode("utf-8", "surrogatepass")  # a lone surrogate travels as its (invalid) UTF-8 bytes
    response = world.client.get(f"{API}/cases?{name}={quote_from_bytes(encoded)}", headers=world.headers("dispatcher"))
    assert response.status_code < 500, (name, value, response.text)
    posted = world.client.post(f"{API}/public/lookup", content=json.dumps({"query_code": value}).encode())
    assert posted.status_code < 500, (value, posted.text)


def test_a_crafted_cursor_or_a_huge_offset_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    world.intake()
    headers = world.headers("dispatcher")

    def cursor(at: str, case_id: int) -> str:
        return base64.urlsafe_b64encode(json.dumps(["received", at, case_id]).encode()).decode().rstrip("=")

    _refused(
        world.client.get(f"{API}/cases?cursor={cursor('2025-09-29T10:00:00+08:00', 2**40)}", headers=headers), "cursor"
    )
    far = cursor("0001-01-01T00:00:00+14:00", 1)
    _refused(world.client.get(f"{API}/cases?cursor={far}", headers=headers), "cursor")
    page = world.client.get(f"{API}/cases?cursor={cursor('2099-01-01T00:00:00+08:00', 2**31 - 1)}", headers=headers)
    assert page.status_code == 200 and len(page.json()["items"]) == 1, page.text
    rates = f"{API}/reports/rates/intake_count/cases?from=2025-09-01&to=2025-10-01"
    _refused(world.client.get(f"{rates}&offset=99999999999999999999", headers=world.headers("leader")), "offset")
    _refused(world.client.get(f"{rates}&limit=99999999999999999999", headers=world.headers("leader")), "limit")


def test_a_ledger_row_received_in_year_1_is_refused_and_nothing_is_stored(world) -> None:  # type: ignore[no-untyped-def]
    header = ["case_no", "received_at", "channel", "case_type", "title", "petitioner_name", "petitioner_phone"]
    rows = [
        ["S-1", "2025-09-30 23:59", "hotline", "help", "九月最后一件", "张三", "13812341234"],
        ["S-2", "0001-01-01 00:00", "hotline", "help", "公元元年", "李四", "13987654321"],
    ]
    result = upload(world, "a.csv", csv_bytes(header, rows), expect=422)
    assert "1900-01-01" in json.dumps(result, ensure_ascii=False), result
    assert _count(world, Case) == 0


def test_bytes_that_are_not_utf8_are_refused_in_both_languages(world) -> None:  # type: ignore[no-untyped-def]
    """JSON must be UTF-8 (RFC 8259): a parser's English "error parsing the body" was all a client got."""
    headers = {**world.headers("admin"), "content-type": "application/json"}
    before = _count(world, Department)
    body = _refused(
        world.client.post(f"{API}/departments", content=b'{"code":"X1","name":"\xff"}', headers=headers), "body"
    )
    assert "UTF-8" in body["message"] and "UTF-8" in body["message_en"] and body["message"] != body["message_en"]
    dispatcher = world.headers("dispatcher")
    _refused(world.client.get(f"{API}/cases?q=%ED%A0%80", headers=dispatcher), "q")
    assert _count(world, Department) == before


def test_a_reference_of_the_wrong_kind_is_one_error_under_its_own_name(world) -> None:  # type: ignore[no-untyped-def]
    """Not `department.int` and `department.str` (the members of a union type) but `department`, saying what fits."""
    user = {"username": "wrongref", "role": "handler", "department": [1]}
    response = world.client.post(f"{API}/users", json=user, headers=world.headers("admin"))
    body = _refused(response, "department")
    assert [e["field"] for e in body["errors"]] == ["department"]
    assert "id (a whole number) or a code" in body["errors"][0]["message_en"]
