"""The petitioner's tracking page: public, by query code, status and replies only; the code is posted, never in the
URL; lookups are throttled per address; codes of the old format still work."""

from __future__ import annotations

import pytest
from sqlmodel import select

from grievance.cases.models import Case
from grievance.db import transaction
from tests.web.support import Browser, soup, text_of

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # pages only: the SQL is not at stake
OLD_CODE = "q3J-x_0lO1aB9zKd"  # secrets.token_urlsafe(12): what receipts printed before the short codes


def set_query_code(app, case_no: str, code: str) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.state.sessions) as session:
        case = session.exec(select(Case).where(Case.case_no == case_no)).one()
        case.query_code = code
        session.add(case)


@SQLITE_ONLY
def test_a_petitioner_posts_the_code_as_typed_and_sees_status_and_replies_but_no_personal_data(app, world) -> None:  # type: ignore[no-untyped-def]
    case = world.intake()
    no = case["case_no"]
    world.act(no, "answer_on_spot", "intake", reply="路灯已报修，三日内修复")
    code = world.get(no, "intake")["query_code"]
    b = Browser(app)  # not signed in
    typed = f" {code[:4].lower()} {code[4:8]}-{code[8:].lower()} "  # as read over the phone
    response = b.post("/track", {"code": typed})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = soup(response.text)
    assert no in text_of(page.find("h2"))
    assert "路灯已报修，三日内修复" in text_of(page.find("main"))
    assert page.find("input", {"name": "code"})["value"] == f"{code[:4]}-{code[4:8]}-{code[8:]}"  # in groups
    assert "13812341234" not in page.text and "1381234" not in page.text and "张三" not in page.text


@SQLITE_ONLY
def test_the_form_posts_and_an_old_link_only_fills_it_in(app, world) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]
    code = world.get(no, "intake")["query_code"]
    b = Browser(app)
    form = b.page("/track").find("form", id="track-form")
    assert form["method"] == "post" and form["action"] == "/track"
    old_link = b.page(f"/track?code={code}")  # a bookmark from the GET form: the form is filled, nothing looked up
    assert old_link.find("input", {"name": "code"})["value"] == code
    assert no not in old_link.text
    junk = b.page('/track?code="><script>alert(1)</script>')  # no code shape, not given back
    assert junk.find("input", {"name": "code"})["value"] == ""


def test_a_code_of_the_old_format_on_a_receipt_in_the_field_is_still_found(app, world) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]
    set_query_code(app, no, OLD_CODE)
    b = Browser(app)
    page = soup(b.post("/track", {"code": f" {OLD_CODE} "}).text)
    assert no in text_of(page.find("h2"))
    assert b.post("/track", {"code": OLD_CODE.lower()}).status_code == 404  # old codes stay case-sensitive


@SQLITE_ONLY
def test_an_unknown_or_missing_code_says_what_to_check(app, world) -> None:  # type: ignore[no-untyped-def]
    b = Browser(app)
    unknown = b.post("/track", {"code": "K7QM-3XHD-9TPR"})
    assert unknown.status_code == 404
    assert "请核对回执上的查询码" in text_of(soup(unknown.text).find(id="e-code"))
    missing = b.post("/track", {"code": "  "})
    assert missing.status_code == 422
    assert "请输入回执上印的查询码" in text_of(soup(missing.text).find(id="e-code"))


@SQLITE_ONLY
def test_lookups_beyond_ten_a_minute_from_one_address_are_refused_with_retry_after(app, world) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]
    code = world.get(no, "intake")["query_code"]
    b = Browser(app)
    for n in range(10):
        assert b.post("/track", {"code": f"K7QM-3XHD-9TP{n}"}).status_code == 404
    refused = b.post("/track", {"code": code})  # even the right code: guessing must stay slow
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "查询过于频繁，请 1 分钟后再试" in text_of(soup(refused.text).find(id="e-code"))
    assert no not in refused.text
    api = world.client.post("/api/v1/public/lookup", json={"query_code": code})  # the same address, the same count
    assert api.status_code == 429 and api.headers["retry-after"]
    assert api.json()["error"] == "too_many_attempts"
    assert "查询过于频繁" in api.json()["message"] and "too many lookups" in api.json()["message_en"]
