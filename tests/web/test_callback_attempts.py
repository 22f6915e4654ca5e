"""A callback that did not reach the petitioner (未联系到) is an attempt: the callback clock runs on and the case stays
in 待回访 until someone reaches them; and a late clock reads the same on the case page as in the lists."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.web.support import text_of
from tests.web.test_callbacks_and_lateness import MON, resolved
from tests.web.test_work_lists import row, rows


def callback_clock(world, case_no: str) -> dict:  # type: ignore[no-untyped-def]
    return next(c for c in world.get(case_no, "dispatcher")["clocks"] if c["name"] == "callback")


def test_an_unreached_callback_is_an_attempt_and_the_case_waits_for_another(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = resolved(world, 1, "已更换灯泡")  # callback by Wednesday 24:00
    due = callback_clock(world, no)["due_at"]
    clock.set(MON + timedelta(days=1))
    # Not reached, yet solved and satisfied: a contradiction, refused naming the fields; nothing written.
    answer = world.act(no, "callback", "dispatcher", expect=422, reached=False, solved=True, satisfaction="satisfied")
    assert {e["field"] for e in answer["errors"]} == {"solved", "satisfaction"}
    messages = " ".join(e["message"] for e in answer["errors"])
    assert "是否联系到诉求人选「否」时不能填写是否解决" in messages and "满意度" in messages
    assert world.get(no, "dispatcher")["timeline"][-1]["action"] == "resolve"
    world.act(no, "callback", "dispatcher", reached=False, note="电话无人接听")
    case = world.get(no, "dispatcher")
    assert case["timeline"][-1]["action"] == "callback" and case["state"] == "resolved"
    running = callback_clock(world, no)
    assert running["stopped_at"] is None and running["due_at"] == due
    assert rows(browser("dispatcher").page("/callbacks")) == [no]
    world.act(no, "close", "dispatcher", expect=409)  # closing still needs a reached callback
    world.act(no, "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    assert callback_clock(world, no)["stopped_at"] is not None
    assert rows(browser("dispatcher").page("/callbacks")) == []
    # A later call that reaches nobody does not undo the answers closing and the rates read.
    world.act(no, "callback", "dispatcher", reached=False)
    assert world.get(no, "dispatcher")["satisfaction"] == "satisfied"
    world.act(no, "close", "dispatcher", note="已回访")


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # pages only
def test_the_case_page_says_how_late_as_the_lists_do(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON + timedelta(days=2))
    no = resolved(world, 1, "已处理")  # resolved on Wednesday: callback by Friday 24:00
    b = browser("dispatcher")
    # The next Tuesday 10:00: Monday and Tuesday begun, 2 working days. Saturday: late, but no working day has
    # begun since the due time.
    for days, late in ((8, "已超期 2个工作日"), (5, "已超期不足1个工作日")):
        clock.set(MON + timedelta(days=days))
        listed = text_of(row(b.page("/callbacks"), no))
        shown = text_of(b.page(f"/cases/{no}").select_one("tr[data-clock=callback]"))
        assert late in listed and late in shown, (listed, shown)
    english = browser("dispatcher")
    english.client.cookies.set("lang", "en")
    shown = text_of(english.page(f"/cases/{no}").select_one("tr[data-clock=callback]"))
    assert "Overdue by less than one working day" in shown


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # pages only
def test_the_workflow_page_says_a_callback_stops_its_clock_only_when_reached(browser) -> None:  # type: ignore[no-untyped-def]
    page = browser("admin").page("/admin/workflows/standard")
    assert "回访仅在「是否联系到诉求人」为是时" in [text_of(s) for s in page.select(".stop-if")]
