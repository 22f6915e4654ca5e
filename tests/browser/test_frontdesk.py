"""The front desk in a real browser: a clerk logs three cases at a meeting with the keyboard alone and prints the
follow-up report; a walk-in case with the live hints, then its receipt; the form at phone width."""

from __future__ import annotations

from typing import Any

from grievance.db import transaction
from grievance.reference.service import load_categories
from tests.browser.conftest import focused


def focused_name(page: Any, name: str) -> bool:
    """Whether the field named `name` has the focus (waiting for Chromium to apply it)."""
    return focused(page, f"[name={name}]")


def test_a_clerk_logs_three_cases_at_a_meeting(person, live) -> None:  # type: ignore[no-untyped-def]
    clerk = person("intake")
    page = clerk.go(f"/meetings/{live.world.meeting_id}")
    assert page.inner_text("h1") == "第一期阳光恳谈会"
    clerk.screenshot("frontdesk-meeting-empty")
    cases = [
        ("青桐路18号门口路灯不亮", "晚上很黑，老人出行不便"),
        ("小区垃圾清运不及时", "垃圾桶满了三天没人收"),
        ("广场舞噪音扰民", "每晚十点后仍有音响"),
    ]
    logged = []
    for title, description in cases:
        # The cursor waits in the title: type, Tab to the description, type, Ctrl+Enter.
        assert focused_name(page, "title")
        page.keyboard.type(title)
        page.keyboard.press("Tab")
        assert focused_name(page, "description")
        page.keyboard.type(description)
        with page.expect_navigation():
            page.keyboard.press("Control+Enter")
        flash = page.inner_text(".flash")
        assert flash.startswith("已登记 GX-2025-")
        logged.append(flash.removeprefix("已登记 "))
        assert page.input_value("input[name=title]") == ""  # an empty form for the next one
    rows = page.locator("table.fd-register tbody tr")
    assert rows.count() == 3
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(3)] == logged[::-1]
    assert "共 3 件，已办结 0 件，办理中 3 件" in page.inner_text("#meeting-cases")
    clerk.screenshot("frontdesk-meeting")

    page.click("text=打印办理情况反馈")
    page.wait_for_selector("h1:has-text('恳谈会诉求办理情况反馈')")
    report = page.inner_text("article.fd-report")
    for title, _ in cases:
        assert title in report
    assert "13812341234" not in report
    clerk.screenshot("frontdesk-meeting-report")
    page.emulate_media(media="print")  # printed: no navigation, no buttons
    assert not page.is_visible(".actions.no-print") and not page.is_visible("header.top")
    assert page.is_visible("article.fd-report table")


def test_a_walk_in_case_with_live_hints_then_its_receipt(person, live) -> None:  # type: ignore[no-untyped-def]
    world = live.world
    world.intake(title="青桐路18号门口路灯不亮")  # an earlier case from the same phone, at the meeting
    _load_small_tree(live)
    clerk = person("intake")
    page = clerk.go("/intake")
    assert focused_name(page, "channel")
    assert not page.is_visible("select[name=station]")
    page.select_option("select[name=channel]", "station")
    assert page.is_visible("select[name=station]") and not page.is_visible("select[name=meeting]")
    page.select_option("select[name=station]", "ZS01")
    page.fill("input[name=title]", "路灯不亮")
    page.wait_for_selector("[data-hint-url='/intake/duplicates'] a")
    assert "标题相近" in page.inner_text("[data-hint-url='/intake/duplicates']")
    page.fill("input[name=petitioner_phone]", "13812341234")
    page.wait_for_selector("[data-hint-url='/intake/lookup'] a")
    assert "该电话的历史诉求" in page.inner_text("[data-hint-url='/intake/lookup']")
    page.fill("#category-search", "路灯")
    page.press("#category-search", "Enter")  # typing narrows the list; Enter takes the first match
    assert page.input_value("select[name=category]") == "010101"
    # The category's department first, then the station's (information only: dispatch decides).
    page.wait_for_selector("[data-hint-url='/intake/routing']:has-text('城市管理局')")
    routing = page.inner_text("[data-hint-url='/intake/routing']")
    assert routing.startswith("建议承办单位： 城市管理局") and "青桐街道" in routing
    clerk.screenshot("frontdesk-intake")
    page.focus("textarea[name=description]")
    page.keyboard.type("青桐驿站门口的路灯坏了")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert "/receipt" in page.url
    assert page.inner_text(".fd-receipt h1") == "诉求受理回执"
    assert page.inner_text("#query-code").strip()
    assert "城市驿站：青桐驿站" in page.inner_text(".fd-receipt")
    clerk.screenshot("frontdesk-receipt")


def test_the_intake_form_at_phone_width(person, live) -> None:  # type: ignore[no-untyped-def]
    clerk = person("intake", width=375, height=740)
    page = clerk.go("/intake")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
    page.fill("input[name=title]", "")
    page.click("form.intake button[type=submit]")
    page.wait_for_selector("#e-title")
    assert page.inner_text("#e-title") == "不能为空"
    assert focused_name(page, "title")  # the cursor waits in the field to fix
    clerk.screenshot("frontdesk-intake-phone")


def _load_small_tree(live: Any) -> None:
    path = live.settings.data_dir / "categories.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '- code: "01"\n  name: 城市管理\n  department: CGJ\n  children:\n'
        '    - code: "0101"\n      name: 市政设施\n      children:\n'
        '        - {code: "010101", name: 路灯照明}\n        - {code: "010102", name: 道路破损}\n',
        encoding="utf-8",
    )
    with transaction(live.app.state.sessions) as session:
        load_categories(session, path)


def test_a_meeting_is_opened_with_the_keyboard_alone_then_corrected(person, live) -> None:  # type: ignore[no-untyped-def]
    clerk = person("intake")
    page = clerk.go("/meetings")
    assert focused_name(page, "title")
    typed = [
        ("title", "第二期阳光恳谈会"),
        ("held_on", "2025-10-10"),  # replaces today's date, selected as Tab arrives
        ("venue", "青桐社区会议室"),
        ("hosts", "管委会主任"),
        ("attendee_count", "42"),
    ]
    for name, text in typed:
        assert focused_name(page, name)
        page.keyboard.type(text)
        page.keyboard.press("Tab")
    assert focused_name(page, "station")
    page.keyboard.press("ArrowDown")  # the first station
    for name, text in typed:
        assert page.input_value(f"[name={name}]") == text, name
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert page.inner_text("h1") == "第二期阳光恳谈会"
    facts = page.inner_text(".fd-facts")
    for label, value in (("地点", "青桐社区会议室"), ("主持", "管委会主任"), ("参会人数", "42"), ("驿站", "青桐驿站")):
        assert f"{label}：{value}" in facts, (label, facts)
    assert "10月10日" in facts

    page.click("text=修改恳谈会信息")
    page.wait_for_selector("h1:has-text('修改恳谈会信息')")
    clerk.screenshot("frontdesk-meeting-edit")
    page.fill("[name=venue]", "青桐驿站二楼")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert page.inner_text(".flash") == "恳谈会信息已保存"
    assert "地点：青桐驿站二楼" in page.inner_text(".fd-facts")


def test_the_enterprise_search_narrows_the_list_and_the_clerk_picks(person, live) -> None:  # type: ignore[no-untyped-def]
    page = person("intake").go("/intake")
    page.select_option("select[name=channel]", "enterprise")
    chosen = lambda: page.input_value("select[name=enterprise]")  # noqa: E731
    page.fill("#enterprise-search", "云帆")
    assert chosen() == ""  # typing alone chooses nothing
    page.press("#enterprise-search", "ArrowDown")
    assert chosen() == "91420100MA4K00001U"
    page.fill("#enterprise-search", "没有这家企业")
    assert chosen() == ""  # the chosen one is filtered out: cleared, never submitted unseen
    page.fill("#enterprise-search", "光电科技\u3000ｍａ４ｋ")  # full-width, name and code terms together
    page.press("#enterprise-search", "Enter")
    assert chosen() == "91420100MA4K00001U"


def test_a_report_asks_for_the_accused_department_and_enterprises_are_searched(person, live) -> None:  # type: ignore[no-untyped-def]
    clerk = person("intake")
    page = clerk.go("/intake")
    assert not page.is_visible("select[name=accused_department]")
    page.select_option("select[name=case_type]", "report")
    assert page.is_visible("select[name=accused_department]") and page.is_visible("#accused_department-search")
    page.fill("#accused_department-search", "城市")
    page.press("#accused_department-search", "Enter")
    assert page.input_value("select[name=accused_department]") == "CGJ"
    page.select_option("select[name=channel]", "enterprise")
    page.fill("#enterprise-search", "云帆")
    page.press("#enterprise-search", "Enter")
    assert page.input_value("select[name=enterprise]") == "91420100MA4K00001U"
    clerk.screenshot("frontdesk-intake-report")
    page.fill("input[name=title]", "举报企业服务专员索要好处")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert "/receipt" in page.url
