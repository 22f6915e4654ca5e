"""The queue as 我的 / 本单位 / 未分配, the head's assign control and each handler's load, a handler's 我来办, and the
case page's 承办人: what a department head and a handler see and do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from grievance.db import transaction
from grievance.users.models import User
from tests.api._support import end_of_working_days, sh
from tests.factories import World
from tests.web.support import soup, text_of

MON = sh(2025, 11, 3)  # a quiet working week
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # the rules, not the SQL


def rows(page: Any) -> list[str]:
    return [tr["data-case"] for tr in page.select("table.queue tbody tr[data-case]")]


def row(page: Any, case_no: str) -> Any:
    return page.select_one(f'table.queue tr[data-case="{case_no}"]')


def dispatched(world: World, **overrides: Any) -> str:
    no = world.intake(**overrides)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    return no


def submit(b: Any, form: Any, **choices: str) -> Any:
    """Post a row's form as the page would: its hidden inputs, and for a select the option with this text."""
    data = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    for name, text in choices.items():
        data[name] = next(o["value"] for o in form.select(f"select[name={name}] option") if text_of(o) == text)
    return b.post(form["action"], data)


def user_id(world: World, username: str) -> int:
    with transaction(world.app.state.sessions) as session:
        return session.exec(select(User.id).where(User.username == username)).one()  # type: ignore[return-value]


def load(page: Any) -> dict[str, list[int]]:
    """The head's table: open, due soon, overdue by handler ("" for the unassigned)."""
    return {
        tr["data-handler"]: [int(text_of(td)) for td in tr.select("td")]
        for tr in page.select("table.workload tbody tr")
    }


def test_the_head_assigns_from_the_queue_and_the_handler_finds_it_under_mine(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    late = dispatched(world, title="周一派的")
    clock.set(MON + timedelta(days=1, hours=6))  # Tuesday 16:00
    soon = dispatched(world, title="周二派的")
    clock.set(end_of_working_days(MON.date(), 1) + timedelta(hours=20))  # Wednesday 20:00: late overdue, soon due
    head = browser("head")
    page = head.page("/queue")
    assert page.select_one(".queue-views a[aria-current=page]")["data-view"] == "all"  # a head sees the department
    assert rows(page) == [late, soon]
    assert load(page) == {"handler": [0, 0, 0], "head": [0, 0, 0], "": [2, 1, 1]}
    # Every handler of the department is offered (and no one else); the form posts the workflow action.
    form = row(page, late).select_one("form[data-action=assign]")
    assert [text_of(o) for o in form.select("option")][1:] == ["handler", "head"]
    response = submit(head, form, handler_id="handler")
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    page = head.page("/queue")
    assert "handler" in text_of(row(page, late).select_one("td.assignee"))
    assert "未分配" in text_of(row(page, soon).select_one("td.assignee"))
    assert load(page) == {"handler": [1, 0, 1], "head": [0, 0, 0], "": [1, 1, 0]}
    tabs = {a["data-view"]: text_of(a) for a in page.select(".queue-views a")}
    assert tabs == {"mine": "我的 0", "all": "本单位 2", "unassigned": "未分配 1"}
    assert rows(head.page("/queue?view=unassigned")) == [soon]
    # The handler opens on their own cases now that they have one; the counts agree with the head's table.
    mine = browser("handler").page("/queue")
    assert mine.select_one(".queue-views a[aria-current=page]")["data-view"] == "mine"
    assert rows(mine) == [late] and "已超期" in text_of(row(mine, late))
    assert mine.select("table.workload") == []  # the load of colleagues is the head's


@SQLITE_ONLY
def test_a_handler_takes_an_unassigned_case(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = dispatched(world)
    taken = dispatched(world, title="已分派的件")
    world.act(taken, "assign", "head", handler_id=user_id(world, "head"))
    b = browser("handler")
    page = b.page("/queue")  # nothing of theirs yet: the whole department, so no work is hidden
    assert page.select_one(".queue-views a[aria-current=page]")["data-view"] == "all"
    assert row(page, taken).select("form[data-action=assign]") == []  # a colleague's case is not taken over
    form = row(page, no).select_one("form[data-action=assign]")
    assert text_of(form.find("button")) == "我来办" and form.select("select") == []
    response = submit(b, form)
    assert response.status_code == 303
    assert world.get(no, "head")["assignee"] == {"id": user_id(world, "handler"), "name": "handler"}
    assert rows(b.page("/queue")) == [no]  # 我的


@SQLITE_ONLY
def test_the_case_page_names_the_handler_and_assigns(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = dispatched(world)
    b = browser("head")
    page = b.page(f"/cases/{no}")
    assert text_of(page.select_one("dd.assignee")) == "未分配"
    form = page.select_one("form[data-action=assign]")
    assert [text_of(o) for o in form.select("select[name=handler_id] option")][1:] == ["handler", "head"]
    data = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    response = b.post(form["action"], {**data, "handler_id": str(user_id(world, "handler"))})
    assert response.status_code == 303
    page = b.page(f"/cases/{no}")
    assert text_of(page.select_one("dd.assignee")) == "handler"
    assert "承办人 handler" in text_of(page.select_one("ol.timeline li"))
    # A handler of another department chosen by hand is refused next to the field, by its label.
    data["expected_version"] = str(world.get(no, "head")["version"])
    response = b.post(form["action"], {**data, "handler_id": str(user_id(world, "other_handler"))})
    assert response.status_code == 422
    error = soup(response.text).select_one("form[data-action=assign] .error")
    assert text_of(error) == "承办人：other_handler 不是本件承办单位的人员，只能分派给本单位的承办人"
    # Assigned by the head: no longer the handler's to take.
    assert browser("handler").page(f"/cases/{no}").select("form[data-action=assign]") == []
