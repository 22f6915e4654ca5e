"""The administrator reads the audit log in a real browser, with the keyboard only: the menu link, the filters
typed and chosen, the next page, the English switch keeping the filters, every asset from the app itself.
Screenshots: admin-audit, admin-audit-en."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from grievance.cases.models import AuditEntry
from grievance.db import transaction
from grievance.users.models import User
from tests.browser.conftest import focused


def table(page: Any) -> list[list[str]]:
    return [
        [cell.strip() for cell in row.split("\t")] for row in page.locator("table.audit-log tbody tr").all_inner_texts()
    ]


def test_the_administrator_finds_who_saw_a_report_with_the_keyboard(live, person) -> None:  # type: ignore[no-untyped-def]
    world = live.world
    no = world.intake(
        channel="hotline", meeting=None, case_type="report", title="举报青桐街道违规收费", accused_department="JD1"
    )["case_no"]
    world.get(no, "leader")  # the leader reads the report through the API
    with transaction(live.app.state.sessions) as session:
        leader = session.exec(select(User).where(User.username == "leader")).one()
        leader.display_name = "李明"
        session.add(leader)
        start = datetime(2025, 10, 8, 2, 0, tzinfo=UTC)
        session.add_all(
            AuditEntry(at=start + timedelta(minutes=i), user_id=leader.id, action="export", detail=f"rates csv #{i}")
            for i in range(60)
        )
    admin = person("admin")
    page = admin.page
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    admin.go("/admin")
    page.focus("nav.subnav a[href='/admin/audit']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/audit")
    assert focused(page, "#f-user")  # ready to type a person
    page.keyboard.type("leader")
    page.keyboard.press("Tab")
    assert focused(page, "#f-action")
    page.keyboard.press("ArrowDown")  # 全部操作 -> 查看保密件
    assert page.input_value("#f-action") == "view_confidential"
    page.keyboard.press("Tab")
    assert focused(page, "#f-case_no")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_url("**/admin/audit?user=leader&action=view_confidential*")
    rows = table(page)
    assert len(rows) == 1
    assert rows[0][1:] == ["李明 leader", "查看保密件", no, "接口读取"]
    admin.screenshot("admin-audit")

    page.click("text=English")
    page.wait_for_url("**/admin/audit?user=leader&action=view_confidential*")
    page.wait_for_selector("html[lang=en]")
    assert page.inner_text("h1") == "Audit log"
    assert table(page)[0][2:] == ["Viewed a confidential case", no, "API read"]
    assert page.input_value("#f-user") == "leader"
    admin.screenshot("admin-audit-en")

    admin.go("/admin/audit?action=export")
    assert len(table(page)) == 50 and table(page)[0][4] == "rates csv #59"
    page.focus("a[rel=next]")
    page.keyboard.press("Enter")
    page.wait_for_url("**cursor=*")
    assert [row[4] for row in table(page)] == [f"rates csv #{i}" for i in range(9, -1, -1)]
    assert page.locator("a[rel=next]").count() == 0
    assert requested and all(url.startswith(live.base) for url in requested), [
        u for u in requested if not u.startswith(live.base)
    ]
