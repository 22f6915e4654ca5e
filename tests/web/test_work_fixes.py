"""The work lists after a newcomer's trial: Enter never decides, a report never goes to the department it accuses,
a returned case is not pre-set to go back, "see all" lists exactly the section, a refused row action stays on its
list, and messages in the reader's language only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.api._support import sh
from tests.web.support import soup, text_of
from tests.web.test_frontdesk import categories  # noqa: F401  (the fixture: 010101 路灯照明 → 城市管理局)
from tests.web.test_work_lists import bulk_form, caller, dispatched, row, rows

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # pages: the lists' SQL is tested elsewhere

MON = sh(2025, 11, 3)
CGJ = "2"  # 城市管理局 in the World's zone


def hidden_fields(form: Any) -> dict[str, str]:
    return {i["name"]: i["value"] for i in form.select("input[type=hidden]")}


def test_enter_in_a_board_note_never_decides(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = dispatched(world)
    for action, fields in (("accept", {}), ("respond", {"note": "已联系"})):
        world.act(no, action, "handler", **fields)
    world.act(no, "request_extension", "handler", days=3, reason="等待材料")
    late = dispatched(world)
    clock.set(MON + timedelta(days=3))
    page = browser("supervisor").page("/board")
    for section, case_no in (("h-extensions", no), ("h-overdue", late)):
        form = row(page.select_one(f"#{section}").parent, case_no).select_one("form.note-actions")
        # HTML implicit submission (Enter in the note) clicks the form's first submit control: a disabled one.
        first = form.select_one("button, input[type=submit]")
        assert first.name == "input" and first.has_attr("disabled"), section
        assert "/actions/" not in form["action"]  # no decision by default, for app.js's Ctrl+Enter neither
        assert form.has_attr("data-explicit-submit")
        decisions = form.select("button")
        assert decisions and all("/actions/" in b["formaction"] for b in decisions)


def test_a_report_is_never_suggested_nor_offered_to_the_department_it_accuses(world, browser, categories) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    report = world.intake(
        title="举报城管执法", case_type="report", accused_department="CGJ", category="010101", petitioner=caller(1)
    )["case_no"]
    other = world.intake(title="路灯不亮", category="010101", petitioner=caller(2))["case_no"]
    b = browser("dispatcher")
    page = b.page("/pool")
    line = row(page, report)
    assert "城市管理局" not in text_of(line.select_one("td[data-label=分派]"))  # neither suggested nor offered
    assert line.select_one(f'select[name=department_id] option[value="{CGJ}"]') is None
    assert row(page, other).select_one(f'select[name=department_id] option[value="{CGJ}"][selected]') is not None
    # The intake form's live hint, while the clerk types a report accusing the category's department.
    intake = browser("intake")
    assert "城市管理局" in text_of(intake.page("/intake/routing?category=010101&case_type=report"))
    hint = intake.page("/intake/routing?category=010101&case_type=report&accused_department=CGJ")
    assert "城市管理局" not in text_of(hint)
    # A bulk dispatch to it: refused for that case, in the reader's language only; nothing goes.
    b.client.cookies.set("lang", "en")
    data = bulk_form(b.page("/pool"))
    response = b.post("/pool/dispatch", {**data, "case_no": [report, other], "department_id": CGJ})
    assert response.status_code == 409
    failures = text_of(soup(response.text).find(class_="failures"))
    assert report in failures and "cannot be sent to the department it accuses" in failures.lower()
    assert "举报" not in failures and other not in failures
    assert world.get(other, "dispatcher")["state"] == "received"


def test_a_returned_case_is_not_preset_to_go_back_where_it_came_from(world, browser, categories) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    no = world.intake(category="010101")["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "return", "handler", reason="应由街道处理")
    for url, who in (("/pool", "dispatcher"), ("/board", "supervisor")):
        line = row(browser(who).page(url), no)
        select = line.select_one("select[name=department_id]")
        assert select.select_one("option[selected]") is None, url  # nothing pre-set
        assert select.select_one("optgroup") is None  # no suggestion: the category's department returned it
        assert select.select_one(f'option[value="{CGJ}"]') is not None  # still there to choose by hand
    page = browser("dispatcher").page(f"/cases/{no}")
    form = page.select_one('form[data-action="dispatch"]')
    assert form.select_one("option[selected]") is None and "建议" not in text_of(form.find(class_="suggestions"))


def test_every_see_all_link_of_the_board_lists_exactly_its_section(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    dispatched(world)  # overdue by Thursday
    key = world.intake(channel="inspection", meeting=None, title="巡视交办：老旧小区改造")["case_no"]
    archived = world.intake(channel="inspection", meeting=None, title="巡视交办：重复", petitioner=caller(3))["case_no"]
    world.act(archived, "merge", "dispatcher", into=key)  # supervised, but final: not a key case of the board
    returned = dispatched(world, petitioner=caller(4))
    world.act(returned, "return", "handler", reason="不属本单位")
    clock.set(MON + timedelta(days=3))
    b = browser("supervisor")
    page = b.page("/board")
    checked = set()
    for section in page.select("section"):
        link = section.select_one("h2 a.all")
        if link is None:
            continue
        shown = rows(section)
        total = int("".join(c for c in text_of(section.select_one("h2 .count")) if c.isdigit()))
        listed = rows(b.page(link["href"]))
        if section.select_one("table") is None:  # a count with its link (重点件: the key cases open), no rows
            assert len(listed) == total, link["href"]
        else:
            assert sorted(listed) == sorted(shown) and len(shown) == total, link["href"]
        checked.add(section.find("h2")["id"])
    # The inspection referral is also a key case still without its lead leader (issue 12).
    assert checked == {"h-overdue", "h-returned", "h-supervised", "h-key", "h-without-leader"}
    assert rows(b.page(page.select_one("#h-key a.all")["href"])) == [key]
    assert rows(b.page(page.select_one("#h-supervised a.all")["href"])) == [key]  # 督办件: the referral


def test_a_refused_row_action_goes_back_to_its_list(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = world.intake(petitioner=caller(1))["case_no"]
    for action, fields in (
        ("dispatch", {"department_id": "CGJ"}),
        ("accept", {}),
        ("respond", {"note": "已联系"}),
        ("resolve", {"outcome": "solved", "reply": "已修复"}),
    ):
        world.act(no, action, "handler" if action != "dispatch" else "dispatcher", **fields)
    b = browser("dispatcher")
    form = row(b.page("/callbacks"), no).select_one("form[data-action=callback]")
    response = b.post(form["action"], hidden_fields(form))  # nothing answered
    assert response.status_code == 303 and response.headers["location"] == f"/callbacks#row-{no}"
    page = b.page("/callbacks")
    flash = text_of(page.find(class_="flash"))
    assert no in flash and "未执行「回访」" in flash and "(" not in flash
    assert rows(page) == [no] and world.get(no, "dispatcher")["state"] == "resolved"
    # A stale 我来办 on the queue: back on the queue, said for people, in English for an English reader.
    fresh = dispatched(world, petitioner=caller(2))
    handler = browser("handler")
    handler.client.cookies.set("lang", "en")
    take = row(handler.page("/queue?view=unassigned"), fresh).select_one("form[data-action=assign]")
    world.act(fresh, "urge", "supervisor", note="请今天签收")  # someone else changes it meanwhile
    response = handler.post(take["action"], hidden_fields(take))
    assert response.headers["location"] == f"/queue?view=unassigned#row-{fresh}"
    flash = text_of(handler.page("/queue?view=unassigned").find(class_="flash"))
    assert "someone else has just updated this case" in flash.lower() and "version" not in flash
    assert not any("\u4e00" <= c <= "\u9fff" for c in flash)
    assert world.get(fresh, "handler")["assignee"] is None


def test_taking_a_case_and_the_queue_headings_say_what_they_are(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = dispatched(world)
    b = browser("handler")
    assert "我的待办" not in text_of(b.page("/queue?view=unassigned").find("h1"))
    assert "未分配" in text_of(b.page("/queue?view=unassigned").find("h1"))
    assert "本单位待办" in text_of(b.page("/queue?view=all").find("h1"))
    take = row(b.page("/queue?view=unassigned"), no).select_one("form[data-action=assign]")
    assert b.post(take["action"], hidden_fields(take)).status_code == 303
    page = b.page("/queue?view=mine")
    assert text_of(page.find(class_="flash")) == f"{no}：已由您承办"
    assert "我的待办" in text_of(page.find("h1"))


def test_the_board_says_when_the_late_clock_is_the_centres(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = world.intake(petitioner=caller(1))["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系")
    world.act(no, "resolve", "handler", outcome="solved", reply="已修复")
    clock.set(MON + timedelta(days=7))
    line = row(browser("supervisor").page("/board").select_one("#h-overdue").parent, no)
    department = text_of(line.select_one("td[data-label=承办单位]"))
    assert "回访时限超期（中心）" in department and "城市管理局" in department
