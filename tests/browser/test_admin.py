"""The administrator's day in a real browser: create an account that then signs in, read a workflow's diagram,
load a year's holidays from a file after a check, import a ledger after a dry run (and download its template).
Screenshots: admin-users, admin-workflow, admin-calendar-file, admin-import-check, admin-import-result."""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import focused
from tests.ledger._support import csv_bytes

NEW_PASSWORD = "welcome-to-the-desk"


def test_the_administrator_creates_an_account_and_the_person_signs_in(chromium, live, person) -> None:  # type: ignore[no-untyped-def]
    admin = person("admin")
    page = admin.go("/admin/users")
    assert focused(page, "#f-username")  # ready to type
    page.keyboard.type("chenjing")
    page.fill("#f-display_name", "陈静")
    page.select_option("#f-role", "handler")
    page.fill("#f-password", "short")
    page.select_option("#f-department", "CGJ")
    page.click("text=创建账号")
    # The browser itself refuses a short password before anything is sent (the server says so too).
    assert page.evaluate("document.querySelector('#f-password').validity.tooShort")
    assert page.input_value("#f-username") == "chenjing"
    page.fill("#f-password", NEW_PASSWORD)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(".flash")
    assert "账号 chenjing 已创建" in page.inner_text(".flash")
    assert page.locator("tbody tr", has_text="chenjing").inner_text().split("\t")[:4] == [
        "chenjing",
        "陈静",
        "承办人",
        "城市管理局",
    ]
    admin.screenshot("admin-users")

    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    newcomer = context.new_page()
    newcomer.goto(f"{live.base}/login")
    newcomer.fill("#f-username", "chenjing")
    newcomer.fill("#f-password", NEW_PASSWORD)
    newcomer.click("button[type=submit]")
    newcomer.wait_for_load_state()
    assert "陈静" in newcomer.inner_text(".who")
    context.close()


def test_the_administrator_reads_a_workflow_diagram(person) -> None:  # type: ignore[no-untyped-def]
    admin = person("admin")
    page = admin.go("/admin")
    page.click("a.tile[href='/admin/workflows']")
    page.click("text=标准流程")
    page.wait_for_selector("svg.workflow-diagram")
    diagram = page.locator("svg.workflow-diagram")
    box = diagram.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 200
    for label in ("待派单", "待签收", "办理中", "已办结", "已归档"):
        assert diagram.locator("g.state", has_text=label).count() == 1
    assert page.locator("h2", has_text="时限").count() == 1
    admin.screenshot("admin-workflow")


def test_the_administrator_loads_a_years_holidays_from_a_file_after_a_check(person, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    holidays = tmp_path / "2027节假日.csv"
    holidays.write_text("日期,类型,说明\n2027-10-01,放假,国庆节\n2027-10-02,放假,国庆节\n2027-10-09,补班,调休上班\n")
    admin = person("admin")
    page = admin.go("/admin/calendar?year=2027")
    page.set_input_files("#calendar-file #f-file", str(holidays))
    page.click("#calendar-file button[type=submit]")
    result = page.wait_for_selector("#calendar-file-result")
    assert result.inner_text().count("国庆节") == 1 and "调休上班" in result.inner_text()
    assert "1 天已与文件一致，保持不变：2027-10-02" in result.inner_text()  # a Saturday
    admin.screenshot("admin-calendar-file")
    page.click("text=立即调整这 2 天")
    page.wait_for_selector(".flash")
    assert "调整 2 天，1 天已一致未改动" in page.inner_text(".flash")
    assert page.locator("tbody tr", has_text="调休上班").count() == 1


def test_the_administrator_imports_a_ledger_after_a_dry_run(person, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ledger = tmp_path / "九月台账.csv"
    ledger.write_bytes(
        csv_bytes(
            ["诉求编号", "受理时间", "来源渠道", "诉求类型", "标题", "城市驿站", "承办单位", "派单时间"],
            [
                ["L-0001", "2025-09-01 10:00", "12345热线", "求助", "路灯不亮", "", "CGJ", "2025-09-01 10:30"],
                ["L-0002", "2025-09-02 09:00", "城市驿站", "投诉", "夜间施工噪音", "白沙驿站", "新区建设局", ""],
            ],
        )
    )
    admin = person("admin")
    page = admin.go("/admin/import")
    assert page.is_checked("input[name=dry_run]")  # checking first is the default
    with page.expect_download() as download:
        page.click("text=下载台账模板（.xlsx）")
    assert download.value.suggested_filename == "台账模板.xlsx"
    page.set_input_files("#f-file", str(ledger))
    page.click("form[enctype='multipart/form-data'] button[type=submit]")
    page.wait_for_selector("#result")
    assert page.inner_text("#result h2") == "检查通过：尚未写入任何数据"
    assert "新区建设局" in page.inner_text("#result")
    admin.screenshot("admin-import-check")

    page.click("text=立即导入这 2 件诉求")
    page.wait_for_selector("#result h2:has-text('已导入')")
    assert "2" in page.locator("#result tr", has_text="已新建诉求").inner_text()
    admin.screenshot("admin-import-result")
