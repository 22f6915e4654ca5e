"""The leader's journey in a real browser: the dashboard, then the monthly report of the month with the cases,
a click on a rate, the cases it counted, and one of them opened. Screenshots of the dashboard, the reports page
and the monthly report go to screenshots/."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

from grievance.db import transaction
from grievance.reference import service as reference
from grievance.reference.schemas import DepartmentIn, StationIn
from tests.api._support import sh


def september(live: Any) -> dict[str, str]:
    """Three cases received in September 2025 (one resolved and called back, one being handled, one still
    waiting for dispatch), one in August; then the clock stands on 10 October."""
    world = live.world

    def at(year: int, month: int, day: int) -> None:
        live.now = sh(year, month, day).astimezone(UTC)

    at(2025, 8, 20)
    august = world.intake(title="八月：路灯不亮")["case_no"]
    world.act(august, "dispatch", "dispatcher", department_id="CGJ")
    at(2025, 9, 1)
    done = world.intake(title="井盖松动")["case_no"]
    world.act(done, "dispatch", "dispatcher", department_id="CGJ")
    world.act(done, "accept", "handler")
    world.act(done, "respond", "handler", note="已电话联系诉求人")
    world.act(done, "resolve", "handler", outcome="solved", reply="井盖已更换")
    world.act(done, "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    at(2025, 9, 2)
    handling = world.intake(title="楼道堆放杂物")["case_no"]
    world.act(handling, "dispatch", "dispatcher", department_id="JD1")
    world.act(handling, "accept", "other_handler")
    at(2025, 9, 3)
    waiting = world.intake(title="夜间施工噪声", channel="hotline", meeting=None)["case_no"]
    at(2025, 10, 10)
    return {"august": august, "done": done, "handling": handling, "waiting": waiting}


def test_the_leader_opens_the_monthly_report_and_drills_into_a_rate(person, live) -> None:  # type: ignore[no-untyped-def]
    cases = september(live)
    leader = person("leader")
    page = leader.page
    assert page.url.endswith("/dashboard")  # a leader's day starts on the dashboard
    # 10 October is the second working day after the holidays: the dashboard opens on complete September.
    assert "2025年9月" in page.inner_text("h1")
    assert page.locator("figure.chart svg").count() == 2
    assert "2025-09" in (page.locator("figure.chart svg").first.text_content() or "")  # axes carry the year
    leader.screenshot("leader-dashboard")
    # Another month with the keyboard alone: the month list, then the button next to it.
    page.focus("#month")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard?month=2025-10")
    assert "2025年10月" in page.inner_text("h1")
    page.click("a[rel=prev]")
    page.wait_for_url("**/dashboard?month=2025-09")

    # The dashboard offers last month's report; the month picker offers the same month by default.
    page.click("nav >> text=月报")
    page.wait_for_selector("h1:has-text('月报')")
    assert page.input_value("#f-month") == "2025-09"
    page.click("button:has-text('打开月报')")
    page.wait_for_url(f"{live.base}/reports/monthly/2025-09")
    assert page.inner_text("h1") == "2025年9月诉求办理月报"
    assert "数据截至 2025年10月10日 10:00:00" in page.inner_text("#as-of")
    resolution = page.locator('#headline tr[data-metric="resolution_rate"]')
    assert resolution.locator(".fig").inner_text() == "33.3%"
    assert "".join(resolution.locator(".ratio").inner_text().split()) == "1/3"
    leader.screenshot("leader-monthly-report")

    # The rate's denominator: the three cases received in September, as of the report's moment.
    resolution.locator('a[data-part="denominator"]').click()
    page.wait_for_url("**/reports/cases?**")
    assert "办结率 · 分母" in page.inner_text("h1")
    assert "共 3 件" in page.inner_text("#count")
    listed = page.locator("#items tbody td:first-child a").all_inner_texts()
    assert listed == [cases["done"], cases["handling"], cases["waiting"]]
    # ...and its numerator: the one resolved.
    page.click("text=查看分子")
    page.wait_for_selector("h1:has-text('分子')")
    assert page.locator("#items tbody td:first-child a").all_inner_texts() == [cases["done"]]
    leader.screenshot("leader-rate-cases")

    page.click(f"#items >> text={cases['done']}")
    page.wait_for_url(f"{live.base}/cases/{cases['done']}")
    assert cases["done"] in page.inner_text("h1")


def test_the_reports_page_keeps_a_wrong_period_and_shows_the_figures_once_fixed(person, live) -> None:  # type: ignore[no-untyped-def]
    september(live)
    leader = person("leader")
    page = leader.go("/reports")
    page.select_option("#f-period", "range")
    assert page.is_visible("#f-from") and not page.is_visible("#f-month")
    page.fill("#f-from", "2025-09-30")
    page.fill("#f-to", "2025-09-01")
    page.check("input[name=group_by][value=channel]")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#e-to")
    assert "须晚于开始日期" in page.inner_text("#e-to")
    assert page.input_value("#f-from") == "2025-09-30"
    page.fill("#f-from", "2025-09-01")
    page.fill("#f-to", "2025-10-01")
    page.click("button:has-text('生成报表')")
    page.wait_for_selector("#rates")
    assert page.locator('#rates tr[data-metric="intake_count"] .fig').inner_text() == "3"
    assert page.locator('table[data-dimension="channel"] tbody tr').count() == 2
    leader.screenshot("leader-reports")


def test_the_monthly_report_prints_on_at_most_four_a4_pages(person, live) -> None:  # type: ignore[no-untyped-def]
    """A busy month (60 cases at 40 stations, dispatched to 30 departments, most never accepted, so overdue)
    prints on at most four A4 pages, even at 15 mm margins (narrower than the phone breakpoint): long lists
    print their first rows, their totals and where the full list is."""
    world = live.world
    with transaction(live.app.state.sessions) as session:
        for n in range(1, 41):
            if n <= 30:
                reference.create_department(
                    session, department_in=DepartmentIn(code=f"D{n:02d}", name=f"第{n}街道办事处")
                )
            station = StationIn(code=f"S{n:02d}", name=f"第{n}城市驿站", department=f"D{(n - 1) % 30 + 1:02d}")
            reference.create_station(session, station_in=station)
    for n in range(60):
        live.now = sh(2025, 9, 1 + n % 28).astimezone(UTC)
        case_no = world.intake(
            channel="station", station=f"S{n % 40 + 1:02d}", meeting=None, title=f"第{n + 1}号驿站诉求：路面破损需修补"
        )["case_no"]
        world.act(case_no, "dispatch", "dispatcher", department_id=f"D{n % 30 + 1:02d}")
    live.now = sh(2025, 10, 20).astimezone(UTC)

    page = person("leader").go("/reports/monthly/2025-09")
    assert page.locator("#stations tbody tr").count() == 40  # the screen keeps the whole list
    for margin in ("10mm", "15mm"):
        pdf = page.pdf(format="A4", margin={"top": margin, "bottom": margin, "left": margin, "right": margin})
        pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
        assert 1 <= pages <= 4, (margin, pages)
    page.emulate_media(media="print")
    assert page.locator("#stations tbody tr:visible").count() == 10
    assert page.locator("#overdue tbody tr:visible").count() == 10
    assert "完整名单见 Excel" in page.inner_text("#stations tfoot")
    assert page.locator("#departments thead").is_visible()  # tables, not the phone's stacked cards


def test_supervisors_and_admins_see_on_the_dashboard_the_figures_the_rates_api_gives(person, live) -> None:  # type: ignore[no-untyped-def]
    september(live)
    world = live.world
    response = world.client.get("/api/v1/reports/rates", params={"month": "2025-09"}, headers=world.headers("leader"))
    assert response.status_code == 200, response.text
    figures = response.json()["metrics"]
    expected = {
        "intake_count": str(figures["intake_count"]["value"]),
        "resolution_rate": f"{figures['resolution_rate']['value'] * 100:.1f}%",
        "response_rate": f"{figures['response_rate']['value'] * 100:.1f}%",
    }
    assert expected["intake_count"] == "3" and expected["resolution_rate"] == "33.3%"  # not empty figures
    for username in ("supervisor", "admin"):
        page = person(username).go("/dashboard")
        assert "2025年9月" in page.inner_text("h1")
        for key, figure in expected.items():
            shown = page.locator(f'.kpi[data-metric="{key}"] .fig')
            assert shown.count() == 1, (username, key)
            assert shown.inner_text().strip() == figure, (username, key)
