"""The petitioner's rating in a real browser: with nothing but the receipt's code, not signed in, they open /track,
look their resolved case up, rate it dissatisfied from the keyboard and see it recorded; the dispatcher then finds
the case on 待回访 with the rating and the comment. Screenshots go to screenshots/."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import SCREENSHOTS, focused
from tests.browser.test_work import row


def test_a_petitioner_rates_with_the_receipt_and_the_centre_sees_it_on_callbacks(live, chromium, person) -> None:  # type: ignore[no-untyped-def]
    world = live.world
    no = world.intake(title="青桐路18号路灯不亮")["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系")
    world.act(no, "resolve", "handler", outcome="solved", reply="已更换灯泡，恢复照明")
    code = world.get(no, "intake")["query_code"]

    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")  # a phone, no account
    context.set_default_timeout(30000)
    try:
        page: Any = context.new_page()
        page.goto(f"{live.base}/track")
        assert focused(page, "#f-code")
        page.keyboard.type(code.lower())
        page.keyboard.press("Enter")
        page.wait_for_selector("#rating-form")
        assert no in page.inner_text("main") and "已更换灯泡，恢复照明" in page.inner_text("main")
        # Keyboard only: Tab into each group, Space picks a choice; then the comment and the button.
        page.get_by_label("否", exact=True).focus()
        page.keyboard.press("Space")
        page.get_by_label("不满意", exact=True).focus()
        page.keyboard.press("Space")
        page.get_by_label("意见（选填，不超过 500 字）").focus()
        page.keyboard.type("灯泡换了两天又不亮了")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_selector("#rating-recorded")
        assert focused(page, "#rating-recorded")
        assert "感谢您的评价，已记录。" in page.inner_text("#rating-recorded")
        assert page.inner_text("#rated-satisfaction") == "不满意" and page.inner_text("#rated-solved") == "否"
        assert page.locator("#rating-form").count() == 0
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "public-track-rated.png"), full_page=True)
    finally:
        context.close()

    dispatcher = person("dispatcher")
    centre = dispatcher.page
    centre.get_by_role("link", name="待回访").click()
    centre.wait_for_url("**/callbacks")
    line = row(centre, no)
    said = line.inner_text()
    assert "诉求人自评" in said and "不满意" in said and "灯泡换了两天又不亮了" in said
    dispatcher.screenshot("work-callbacks-self-rated")
    assert world.get(no, "dispatcher")["satisfaction"] == "unsatisfied"
