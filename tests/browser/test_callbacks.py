"""The centre's callbacks in a real browser: the dispatcher finds an overdue callback through the navigation,
sees how late it is and the department's reply, records the three answers in the row, and ticks a whole pool
page with one box. Screenshots of the callback list go to screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.browser.test_work import row


def test_the_dispatcher_records_a_callback_from_the_list(live, person) -> None:  # type: ignore[no-untyped-def]
    world = live.world
    no = world.intake(title="青桐路18号路灯不亮")["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系")
    world.act(no, "resolve", "handler", outcome="solved", reply="已更换灯泡，恢复照明")
    for n in (1, 2):
        world.intake(title=f"公交站台{n}号破损", petitioner={"name": "王五", "phone": f"1390000000{n}"})
    # Callback due by the 2nd working day after Monday 29 September: Tuesday, then 9 October after the holiday.
    live.now = datetime(2025, 10, 13, 2, 0, tzinfo=UTC)  # Monday 10:00: 10 and 11 (a working Saturday) October
    dispatcher = person("dispatcher")
    page = dispatcher.page
    page.get_by_role("link", name="待回访").click()
    page.wait_for_url("**/callbacks")
    line = row(page, no)
    assert "已超期 3个工作日" in line.inner_text() and "已更换灯泡，恢复照明" in line.inner_text()
    dispatcher.screenshot("work-callbacks")
    line.locator('input[name="reached"][value="true"]').check()
    line.locator('input[name="solved"][value="true"]').check()
    line.locator('select[name="satisfaction"]').select_option(label="满意")
    line.get_by_role("button", name="回访").click()
    page.wait_for_selector(".flash")
    assert "已完成「回访」" in page.inner_text(".flash")
    assert "暂无待回访的诉求" in page.inner_text("main")
    assert world.get(no, "dispatcher")["satisfaction"] == "satisfied"
    # Select-all ticks every case of the pool's page, and unticks them again.
    page.get_by_role("link", name="待派单").click()
    tick_all = page.get_by_role("checkbox", name="勾选本页全部诉求")
    tick_all.check()
    boxes = page.locator('table.pool tbody input[type="checkbox"]')
    assert boxes.count() == 2 and all(boxes.nth(i).is_checked() for i in range(2))
    tick_all.uncheck()
    assert not any(boxes.nth(i).is_checked() for i in range(2))
