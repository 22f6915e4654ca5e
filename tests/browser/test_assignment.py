"""People, not only departments, in a real browser: the department head gives a case to a handler from the queue,
and the handler finds it under 我的. Screenshots of the head's queue (desktop and phone) go to screenshots/."""

from __future__ import annotations

from typing import Any

from tests.factories import World


def dispatched(world: World, title: str) -> str:
    no = world.intake(title=title)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    return no


def row(page: Any, case_no: str) -> Any:
    return page.locator(f'tr[data-case="{case_no}"]')


def test_the_head_assigns_a_case_and_the_handler_finds_it_under_mine(live, person) -> None:  # type: ignore[no-untyped-def]
    lamp = dispatched(live.world, "小区门口路灯不亮")
    tree = dispatched(live.world, "人行道树木倒伏")
    head = person("head")
    page = head.page
    assert page.url == f"{live.base}/queue"
    assert page.inner_text(".queue-views [aria-current=page]").startswith("本单位")
    assert page.locator('table.workload tr[data-handler=""] td').first.inner_text() == "2"  # both unassigned
    row(page, lamp).locator("select[name=handler_id]").select_option(label="handler")
    head.screenshot("work-queue-head")
    row(page, lamp).get_by_role("button", name="分派").click()
    page.wait_for_selector(".flash")
    assert "已完成「分派给承办人」" in page.inner_text(".flash")
    assert row(page, lamp).locator("td.assignee").inner_text() == "handler"
    assert page.locator('table.workload tr[data-handler="handler"] td').first.inner_text() == "1"
    # On a phone the assign control still fits the row.
    phone = person("head", width=390, height=844)
    assert row(phone.page, tree).get_by_role("button", name="分派").is_visible()
    phone.screenshot("work-queue-head-phone")

    handler = person("handler")
    page = handler.page
    assert page.url == f"{live.base}/queue"
    assert page.inner_text(".queue-views [aria-current=page]").startswith("我的")
    assert row(page, lamp).is_visible() and row(page, tree).count() == 0
    page.locator(".queue-views a[data-view=unassigned]").click()
    assert row(page, tree).get_by_role("button", name="我来办").is_visible()
