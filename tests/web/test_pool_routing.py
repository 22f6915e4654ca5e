"""Routing in the dispatcher's pool after a newcomer's trial, on SQLite and PostgreSQL: every department whose
return (退单) stands is left out of the suggestions (not only the latest), and the row says which were left out
and why; a row that cannot be dispatched says why; a department select lists each department once."""

from __future__ import annotations

from typing import Any

import pytest

from grievance.db import transaction
from grievance.reference.service import load_categories
from tests.factories import World
from tests.web.support import soup, text_of
from tests.web.test_frontdesk import CATEGORIES
from tests.web.test_work_lists import row

ZX, CGJ, QFJ, JD1 = "1", "2", "3", "4"  # the World's departments: the centre, 城市管理局, 企业服务局, 青桐街道
LAMP = {"channel": "station", "station": "ZS01", "meeting": None, "category": "010101"}  # → 城市管理局, 青桐街道


@pytest.fixture(autouse=True)
def lamp_categories(app, world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The categories of the front-desk tests: 010101 路灯照明 under 城市管理 (→ 城市管理局)."""
    path = tmp_path / "categories.yaml"
    path.write_text(CATEGORIES, encoding="utf-8")
    with transaction(app.state.sessions) as session:
        load_categories(session, path)


def suggested(world: World, case_no: str, who: str = "dispatcher") -> list[str]:
    return [s["code"] for s in world.get(case_no, who)["routing_suggestions"]]


def returned_by_both(world: World) -> str:
    """A streetlight case at the station: returned by 城市管理局 (its category's department), then by 青桐街道 (the
    station's local department). Two dispatches: the third is the supervisor's designation."""
    no = world.intake(title="路灯不亮", **LAMP)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "return", "handler", reason="路灯归街道管养")
    world.act(no, "dispatch", "dispatcher", department_id="JD1")
    world.act(no, "return", "other_handler", reason="路灯归城管管养")
    return no


def options_of(select: Any) -> list[str]:
    return [o["value"] for o in select.select("option") if o["value"]]


def test_a_case_returned_by_two_departments_is_suggested_to_neither(world) -> None:  # type: ignore[no-untyped-def]
    no = world.intake(title="路灯不亮", **LAMP)["case_no"]
    assert suggested(world, no) == ["CGJ", "JD1"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "return", "handler", reason="路灯归街道管养")
    assert suggested(world, no) == ["JD1"]
    world.act(no, "dispatch", "dispatcher", department_id="JD1")
    world.act(no, "return", "other_handler", reason="路灯归城管管养")
    assert suggested(world, no) == []  # before the fix: 城市管理局 again, which had returned it first
    assert suggested(world, no, "supervisor") == []


def test_a_return_stands_in_the_open_pool_until_the_department_takes_it_on_again(world) -> None:  # type: ignore[no-untyped-def]
    no = world.intake(title="路灯不亮", **LAMP)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "return", "handler", reason="路灯归街道管养")
    world.act(no, "publish", "dispatcher", note="请相关单位认领")
    assert world.get(no, "dispatcher")["state"] == "pool"
    assert suggested(world, no) == ["JD1"]  # not only in state "returned"
    world.act(no, "claim", "handler")  # 城市管理局 takes it on after all: its return no longer stands
    assert suggested(world, no, "supervisor") == ["CGJ", "JD1"]
    world.act(no, "return", "head", reason="认领有误，确属街道")  # and returns it again: it stands again
    assert suggested(world, no) == ["JD1"]


def test_the_pool_row_shows_every_return_what_was_withheld_and_why_no_dispatch(world, browser) -> None:  # type: ignore[no-untyped-def]
    no = returned_by_both(world)
    line = row(browser("dispatcher").page("/pool"), no)
    routing = text_of(line.select_one("td[data-label=派单建议]"))
    assert "城市管理局退单： 路灯归街道管养" in routing and "青桐街道退单： 路灯归城管管养" in routing
    assert "暂无建议" in routing
    withheld = [text_of(p) for p in line.select(".withheld")]
    assert withheld == [
        "未建议城市管理局（业务分类「城市管理」的承办单位）：该单位已退单",
        "未建议青桐街道（城市驿站「青桐驿站」的属地单位）：该单位已退单",
    ]
    # The dispatcher may not send it a third time: the row says so, and offers neither form nor tick box.
    cell = line.select_one("td[data-label=派单]")
    assert text_of(cell.select_one(".unavailable-reason")) == "暂不能派单： 已派单2次，第3次须由督办员指定承办单位"
    assert cell.select_one("form") is None and line.select_one('input[name="case_no"]') is None
    # In English, the English half only.
    english = browser("dispatcher")
    english.client.cookies.set("lang", "en")
    line = row(english.page("/pool"), no)
    assert text_of(line.select_one(".unavailable-reason")) == (
        "Dispatch not possible: Dispatch number 3 is the supervisor's designation; the supervisor designates the "
        "department"
    )
    assert "Returned by 城市管理局: 路灯归街道管养" in text_of(line)
    assert "城市管理局 (department of category 城市管理) is not suggested: it returned the case" in text_of(line)
    # The supervisor designates: the form is there, nothing pre-set, every department once, none suggested.
    line = row(browser("supervisor").page("/pool"), no)
    assert line.select_one(".unavailable-reason") is None
    select = line.select_one("form[data-action=dispatch] select[name=department_id]")
    assert select.select_one("optgroup") is None and select.select_one("option[selected]") is None
    assert sorted(options_of(select)) == [ZX, CGJ, QFJ, JD1]


def test_a_department_select_lists_each_department_once_the_suggested_first(world, browser) -> None:  # type: ignore[no-untyped-def]
    no = world.intake(title="路灯不亮", **LAMP)["case_no"]
    b = browser("dispatcher")
    pool_select = row(b.page("/pool"), no).select_one("form[data-action=dispatch] select")
    case_select = b.page(f"/cases/{no}").select_one('form[data-action="dispatch"] select[name=department_id]')
    for select in (pool_select, case_select):
        groups = select.find_all("optgroup")
        assert [g["label"] for g in groups] == ["建议", "其他单位"]
        assert options_of(groups[0]) == [CGJ, JD1] and sorted(options_of(groups[1])) == [ZX, QFJ]
        assert sorted(options_of(select)) == [ZX, CGJ, QFJ, JD1]  # before the fix: 城市管理局 and 青桐街道 twice
        assert [o["value"] for o in select.select("option[selected]")] == [CGJ]
    # A report accusing the category's department: neither suggested nor listed at all.
    report = world.intake(title="举报城管", case_type="report", accused_department="CGJ", **LAMP)["case_no"]
    select = row(b.page("/pool"), report).select_one("form[data-action=dispatch] select")
    assert options_of(select.find("optgroup")) == [JD1] and sorted(options_of(select)) == [ZX, QFJ, JD1]


def test_a_refused_dispatch_keeps_the_department_chosen_once(world, browser) -> None:  # type: ignore[no-untyped-def]
    """A dispatch refused (a stale page) shows the form again with the department chosen, selected once."""
    no = world.intake(title="路灯不亮", **LAMP)["case_no"]
    b = browser("dispatcher")
    form = b.page(f"/cases/{no}").select_one('form[data-action="dispatch"]')
    world.act(no, "supervise", "supervisor", note="重点关注")  # the page is stale now
    fields = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    response = b.post(form["action"], {**fields, "department_id": JD1})
    assert response.status_code == 409
    select = soup(response.text).select_one('form[data-action="dispatch"] select[name=department_id]')
    assert [o["value"] for o in select.select("option[selected]")] == [JD1]
    assert sorted(options_of(select)) == [ZX, CGJ, QFJ, JD1]


@pytest.mark.parametrize("who", ["dispatcher", "supervisor"])
def test_a_row_that_may_be_dispatched_shows_no_refusal(world, browser, who) -> None:  # type: ignore[no-untyped-def]
    no = world.intake(title="路灯不亮", **LAMP)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "return", "handler", reason="路灯归街道管养")
    line = row(browser(who).page("/pool"), no)
    assert line.select_one(".unavailable-reason") is None
    assert line.select_one("form[data-action=dispatch]") is not None
    assert [text_of(p) for p in line.select(".returned")] == ["城市管理局退单： 路灯归街道管养 handler 9月29日 10:00"]
