"""Bad input never gets a 500 on the pages (issue 10): a NUL character in a query string, a posted form (the
sign-in included), a multipart text field or a cookie is the error page 422 saying what is wrong (404 in the
path: it names nothing); numbers no id column holds and days no calendar keeps are 422 naming the field; the
same on SQLite and PostgreSQL, and nothing is stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import select

from grievance.cases.models import CalendarOverride, Case
from grievance.db import transaction
from grievance.reference.models import Department
from grievance.users.models import LoginAttempt, WebSession
from tests.factories import World
from tests.web.support import soup, text_of


def _count(world: World, model: type[Any]) -> int:
    with transaction(world.app.state.sessions) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _error_page(response: Any, status: int, *words: str) -> str:
    """The error page's text, after checking its status and that it says each of `words`."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    text = text_of(soup(response.text).find("main") or soup(response.text))
    for word in words:
        assert word in text, (word, text)
    return text


def _field_error(response: Any, field: str, *words: str) -> str:
    """The message a form page shows next to `field` (id e-FIELD), after checking the status is 422."""
    assert response.status_code == 422, response.text[:500]
    text = text_of(soup(response.text).find(id=f"e-{field}"))
    for word in words:
        assert word in text, (word, text)
    return text


def test_a_nul_in_the_track_link_or_the_posted_code_is_refused(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser()
    _error_page(b.get("/track?code=a%00b"), 422, "code", "空字符")
    _error_page(b.post("/track", {"code": "ab\x00cd"}), 422, "code", "空字符")
    english = b.get("/track?code=a%00b", headers={"Cookie": "lang=en"})
    _error_page(english, 422, "code", "must not contain a NUL character")


def test_a_nul_in_the_sign_in_form_is_refused_and_no_attempt_is_stored(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser()
    form = b.get("/login")
    token = soup(form.text).find("input", {"name": "csrf_token"})["value"]
    refused = b.client.post("/login", data={"username": "demo\x00admin", "password": "x" * 12, "csrf_token": token})
    _error_page(refused, 422, "username", "空字符")
    assert (_count(world, LoginAttempt), _count(world, WebSession)) == (0, 0)


def test_a_nul_in_an_admin_form_is_refused_and_nothing_is_stored(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    departments = _count(world, Department)
    _error_page(b.post("/admin/departments", {"code": "NEW", "name": "新\x00单位"}), 422, "name", "空字符")
    _error_page(b.post("/admin/calendar", {"day": "2027-10-08", "kind": "holiday", "note": "调\x00休"}), 422, "note")
    assert (_count(world, Department), _count(world, CalendarOverride)) == (departments, 0)


def test_a_nul_in_a_multipart_text_field_is_refused_but_a_file_may_hold_nul_bytes(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    text = b.post(
        "/admin/calendar/import", {"text": "2027-10-08,holiday,调\x00休"}, files={"file": ("a.csv", b"", "text/csv")}
    )
    _error_page(text, 422, "text", "空字符")
    # The file's bytes pass the guard; the NUL in its note is refused when it would be stored.
    upload = b.post(
        "/admin/calendar/import", {}, files={"file": ("a.csv", "2027-10-08,holiday,调\x00休\n".encode(), "text/csv")}
    )
    assert upload.status_code == 422, upload.text[:500]
    assert "空字符" in text_of(soup(upload.text))
    assert _count(world, CalendarOverride) == 0


def test_a_nul_in_a_path_is_the_not_found_page(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("dispatcher")
    _error_page(b.get("/cases/GX-2025%00"), 404, "空字符")
    _error_page(b.get("/cases?q=%E8%B7%AF%00"), 422, "q")


def test_a_nul_in_a_cookie_is_refused(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser()
    _error_page(b.get("/track", headers={"Cookie": 'lang="z\\000h"'}), 422, "cookie:lang")


def test_ids_no_column_can_hold_are_refused_naming_the_field(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    dispatcher, admin, intake = browser("dispatcher"), browser("admin"), browser("intake")
    _field_error(dispatcher.get("/cases?department_id=2147483648"), "department_id", "2147483647")
    assert dispatcher.get("/cases?meeting_id=-11259864818816047634186240").status_code == 200  # not the form's: ignored
    _error_page(dispatcher.get("/cases/2147483648"), 422, "case_no", "2147483647")
    _error_page(intake.get("/meetings/99999999999"), 422, "meeting_id")
    _error_page(admin.get("/admin/users/2147483648"), 422, "user_id")
    _error_page(admin.get("/admin/enterprises/9223372036854775808"), 422, "enterprise_id")
    no = world.intake()["case_no"]
    _error_page(dispatcher.get(f"/cases/{no}/attachments/2147483648"), 422, "attachment_id")
    assert intake.get("/meetings/2147483647").status_code == 404  # a possible id: no such meeting


def test_impossible_days_are_refused_naming_the_field(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    world.intake()
    dispatcher, admin, leader = browser("dispatcher"), browser("admin"), browser("leader")
    _field_error(dispatcher.get("/cases?received_from=0001-01-01T00:00:00%2B14:00"), "received_from", "1900-01-01")
    _field_error(dispatcher.get("/cases?received_to=9999-12-31"), "received_to", "2200-01-01")
    assert dispatcher.get("/cases?received_from=2025-01-01").status_code == 200
    _error_page(admin.post("/admin/calendar", {"day": "0001-01-01", "kind": "holiday"}), 422, "2000-01-01")
    due = admin.get("/admin/calendar?start=9999-12-31T00:00&amount=300&unit=days")
    assert due.status_code == 422 and "2200-01-01" in text_of(soup(due.text)), due.text[:500]
    year = admin.get("/admin/calendar?year=0")  # the page says which years it keeps
    assert year.status_code == 422 and "2099" in text_of(soup(year.text)), year.text[:500]
    assert leader.get("/dashboard?month=0000-01").status_code == 422
    assert leader.get("/reports/monthly/0001-01").status_code == 422
    assert leader.get("/reports?from=0001-01-01&to=0001-02-01").status_code == 422
    far = "/reports/cases?metric=intake_count&from=2025-09-01&to=2025-10-01&offset=99999999999999999999"
    assert leader.get(far).status_code == 422
    meeting = {"title": "第二期", "held_on": "0001-01-01", "attendee_count": "8", "station": ""}
    assert "1900-01-01" in text_of(soup(browser("intake").post("/meetings", meeting).text))
    assert _count(world, Case) == 1


def test_bytes_that_are_not_utf8_in_a_form_are_refused_not_stored_as_replacement_characters(
    world: World, browser
) -> None:  # type: ignore[no-untyped-def]
    """A tester's title A%ED%A0%80B (an encoded surrogate) and description %FF%FE were stored as 「A���B」."""
    b = browser("admin")
    departments = _count(world, Department)
    form = {"content-type": "application/x-www-form-urlencoded"}
    refused = b.client.post("/admin/departments", content=b"code=NEW&name=A%ED%A0%80B", headers=form)
    _error_page(refused, 422, "name", "UTF-8")
    refused = b.client.post("/admin/departments", content=b"code=NEW&name=%FF%FE", headers=form)
    _error_page(refused, 422, "name", "0xFF")
    multipart = b.client.post("/admin/calendar/import", files={"text": (None, b"2027-10-08,holiday,\xff")})
    _error_page(multipart, 422, "text", "UTF-8")
    english = b.client.get("/cases?q=%FF", headers={"Cookie": "lang=en"})
    assert english.status_code in (302, 303, 422)  # the admin may not list cases; never a 500
    assert (_count(world, Department), _count(world, CalendarOverride)) == (departments, 0)
