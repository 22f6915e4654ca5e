"""The weekly dispatch sheet in a real browser (每周调度, issue 12): the supervisor opens "Key cases", records the
meeting's decision on a case with the keyboard alone, lands back on that case, sees the sheet as it prints (no tools,
no forms), and the next week's sheet shows the decision. tests/keycases/test_dispatch.py has the rest."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")


def test_a_decision_recorded_by_keyboard_shows_on_the_next_weeks_sheet(live, person) -> None:  # type: ignore[no-untyped-def]
    world = live.world
    live.now = datetime(2025, 10, 13, 10, tzinfo=SH)  # Monday of 2025-W42
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已电话联系诉求人")
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "plan_nodes", "handler", nodes=[{"name": "约谈相关企业", "due_date": "2025-10-15"}])
    supervisor = person("supervisor")
    page = supervisor.go("/")
    page.locator("header nav a[href='/keycases']").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("article.dispatch-sheet")
    assert page.locator("article.dispatch-sheet").get_attribute("data-week") == "2025-W42"
    item = page.locator(f'article[data-case="{no}"]')
    assert "约谈相关企业" in item.locator('table.sheet-nodes[data-kind="this-week"]').inner_text()

    item.locator("textarea[name=decision]").focus()
    page.keyboard.type("请城市管理局周三前完成约谈")
    page.keyboard.press("Tab")  # the form's button
    assert page.evaluate("document.activeElement.textContent.trim()") == "记录决定"
    page.keyboard.press("Enter")
    page.wait_for_selector(".flash")
    assert page.url.endswith(f"#row-{no}")
    assert item.locator("ul.decisions-this li .text").inner_text() == "请城市管理局周三前完成约谈"

    # On paper: the week and when the sheet was made; no tabs, week tools or forms.
    page.emulate_media(media="print")
    assert page.locator("header.sheet-head").is_visible()
    assert "制表时间" in page.locator("header.sheet-head").inner_text()
    assert not item.locator("form.decision-form").is_visible() and not page.locator("nav.week-tools").is_visible()
    page.emulate_media(media="screen")
    supervisor.screenshot("dispatch-sheet")

    # The next week (reached by keyboard) shows the decision of this meeting as the last one's.
    page.locator("a[rel=next]").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("article.dispatch-sheet[data-week='2025-W43']")
    previous = page.locator(f'article[data-case="{no}"] ul.decisions-previous li .text')
    assert previous.inner_text() == "请城市管理局周三前完成约谈"
