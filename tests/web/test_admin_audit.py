"""The audit log page (/admin/audit) as an administrator reads it: the entries with readable actions and channels,
the filters with a message beside a refused one, pages, the CSV download (audited as an export, formulas escaped),
the link in the administration menu, administrators only, and a complete English switch."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from grievance import audit
from grievance.cases.models import AuditEntry
from grievance.db import transaction
from grievance.users.models import User
from tests.api._support import API, sh
from tests.factories import World
from tests.web.support import soup, text_of
from tests.web.test_languages import chinese_fragments, english_fragments, readable_text

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # pages only: the SQL is not at stake


def report(world: World) -> str:
    return world.intake(
        channel="hotline", meeting=None, case_type="report", title="举报青桐街道违规收费", accused_department="JD1"
    )["case_no"]


def rows(page: Any) -> list[dict[str, str]]:
    return [
        {td["data-label"]: text_of(td) for td in tr.find_all("td")} for tr in page.select("table.audit-log tbody tr")
    ]


def exports(world: World) -> list[tuple[str, str]]:
    with transaction(world.app.state.sessions) as session:
        found = session.exec(
            select(User.username, AuditEntry.detail)
            .join(User, User.id == AuditEntry.user_id)  # type: ignore[arg-type]
            .where(AuditEntry.action == "export")
            .order_by(AuditEntry.id)  # type: ignore[arg-type]
        ).all()
    return [tuple(r) for r in found]  # type: ignore[misc]


@SQLITE_ONLY
def test_the_page_lists_who_saw_a_confidential_case_and_where(world: World, browser: Any, clock: Any) -> None:
    clock.set(sh(2025, 11, 3))
    no = report(world)
    browser("leader").page(f"/cases/{no}")
    world.get(no, "leader")
    admin = browser("admin")
    page = admin.page("/admin/audit")
    assert page.select_one("nav.subnav a[aria-current=page]")["href"] == "/admin/audit"
    assert text_of(page.select_one("nav.subnav a[aria-current=page]")) == "审计日志"
    views = [r for r in rows(page) if r["操作"] == "查看保密件"]
    assert [r["查看渠道 / 详情"] for r in views] == ["接口读取", "诉求页面"]  # newest first
    assert views[0]["诉求编号"] == no and views[0]["人员"] == "leader"
    assert page.select_one("#f-user").has_attr("autofocus")
    # A row's person and case number are links to those filters.
    link = page.select_one(f'table.audit-log a[href="/admin/audit?case_no={no}"]')
    assert link is not None and text_of(link) == no
    filtered = admin.page("/admin/audit?user=leader&action=view_confidential")
    assert {r["人员"] for r in rows(filtered)} == {"leader"} and len(rows(filtered)) == 2
    assert filtered.select_one("#f-action option[selected]")["value"] == "view_confidential"
    assert filtered.select_one("#f-user")["value"] == "leader"


@SQLITE_ONLY
def test_a_refused_filter_is_named_beside_its_field(world: World, browser: Any) -> None:
    response = browser("admin").get("/admin/audit?user=nobody&date_from=2025-10-02&date_to=2025-10-01")
    assert response.status_code == 422
    page = soup(response.text)
    assert text_of(page.select_one("#e-user")) == "没有账号“nobody”；请填写账号名或用户编号"
    assert text_of(page.select_one("#e-date_to")) == "截止日期应不早于起始日期"
    assert page.select_one("#f-user")["aria-invalid"] == "true" and page.select_one("#f-user").has_attr("autofocus")
    assert page.select_one("table.audit-log") is None and page.find(string="下载 CSV") is None
    bad_cursor = soup(browser("admin").get("/admin/audit?cursor=garbage").text)
    assert "分页游标无效" in text_of(bad_cursor.select_one(".form-error"))


@SQLITE_ONLY
def test_the_pages_go_on_with_more_and_back_to_the_first(world: World, browser: Any) -> None:
    t = datetime(2025, 10, 8, 2, 0, tzinfo=UTC)
    with transaction(world.app.state.sessions) as session:
        leader = session.exec(select(User).where(User.username == "leader")).one()
        session.add_all(
            AuditEntry(at=t + timedelta(minutes=i), user_id=leader.id, action="export", detail=f"rates csv #{i}")
            for i in range(55)
        )
    admin = browser("admin")
    first = admin.page("/admin/audit?action=export")
    assert len(rows(first)) == 50 and rows(first)[0]["查看渠道 / 详情"] == "rates csv #54"
    more = first.select_one("a[rel=next]")["href"]
    assert more.startswith("/admin/audit?action=export&cursor=")
    second = admin.page(more)
    assert [r["查看渠道 / 详情"] for r in rows(second)] == [f"rates csv #{i}" for i in range(4, -1, -1)]
    assert second.select_one("a[rel=next]") is None
    assert second.find("a", string="回到第一页")["href"] == "/admin/audit?action=export"


@SQLITE_ONLY
def test_the_download_holds_the_filtered_entries_escaped_and_is_audited(
    world: World, browser: Any, monkeypatch: Any
) -> None:
    with transaction(world.app.state.sessions) as session:
        admin_user = session.exec(select(User).where(User.username == "admin")).one()
        session.add(
            AuditEntry(at=sh(2025, 10, 8), user_id=admin_user.id, action="meeting_update", detail="=1+2 title: x -> y")
        )
        session.add(AuditEntry(at=sh(2025, 10, 9), user_id=admin_user.id, action="export", detail="rates csv"))
    admin = browser("admin")
    page = admin.page("/admin/audit?action=meeting_update")
    link = page.find("a", string="下载 CSV")
    assert link["href"] == "/admin/audit.csv?action=meeting_update"
    response = admin.get(link["href"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="audit-log-')
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][:4] == ["时间", "账号", "姓名", "操作"]
    assert table[1:] == [
        [
            "2025-10-08 10:00:00+08:00",
            "admin",
            "admin",
            "修改恳谈会信息",
            "meeting_update",
            "",
            "",
            "",
            "'=1+2 title: x -> y",
        ]
    ]
    assert exports(world)[-1] == ("admin", "audit log csv action=meeting_update 1 rows")
    admin.client.cookies.set("lang", "en")
    english = list(csv.reader(io.StringIO(admin.get(link["href"]).content.decode("utf-8-sig"))))
    assert english[0][:4] == ["Time", "Account", "Name", "Action"] and english[1][3] == "Changed a meeting's details"
    monkeypatch.setattr(audit, "CSV_MAX_ROWS", 1)  # two entries: more than one download holds
    too_many = admin.get("/admin/audit.csv")
    assert too_many.status_code == 422 and "text/html" in too_many.headers["content-type"]
    refusal = text_of(soup(too_many.text).select_one(".form-error"))  # on the page, above its filters
    assert refusal.startswith("More than 1 entries match, more than one download holds; narrow the dates")
    refused = admin.get("/admin/audit.csv?user=nobody")
    assert refused.status_code == 422 and "text/html" in refused.headers["content-type"]
    assert exports(world)[-1][1].startswith("audit log csv action=meeting_update")  # nothing exported, nothing audited


@SQLITE_ONLY
def test_only_the_administrator_opens_the_page(world: World, browser: Any) -> None:
    for user in ("intake", "dispatcher", "handler", "head", "supervisor", "leader"):
        assert browser(user).get("/admin/audit").status_code == 403, user
        assert browser(user).get("/admin/audit.csv").status_code == 403, user
    signed_out = browser().get("/admin/audit")
    assert signed_out.status_code in (302, 303) and signed_out.headers["location"].startswith("/login")
    assert exports(world) == []
    # The menu of every administration page links it.
    assert browser("admin").page("/admin/users").select_one('nav.subnav a[href="/admin/audit"]') is not None


@SQLITE_ONLY
def test_the_page_reads_in_one_language_at_a_time(world: World, browser: Any, clock: Any) -> None:
    clock.set(sh(2025, 11, 3))
    no = report(world)
    world.get(no, "leader")
    browser("intake").page(f"/cases/{no}/receipt")
    world.client.get(f"{API}/reports/rates?month=2025-10&format=csv", headers=world.headers("leader"))
    admin = browser("admin")
    admin.page("/admin/audit.csv")  # an export by the administrator, with its detail
    # What the entries hold as recorded (an export's own words, accounts) is shown as recorded in both languages.
    with transaction(world.app.state.sessions) as session:
        details = set(session.exec(select(AuditEntry.detail).where(AuditEntry.action == "export")).all())
    data = {*details, "举报青桐街道违规收费", "intake", "dispatcher", "handler", "head", "supervisor", "leader", "admin", "other_handler", "liaison", "GX-2025-000123"}  # fmt: skip
    for url in ("/admin/audit", "/admin/audit?action=view_confidential", "/admin/audit?user=nobody&date_from=x"):
        admin.client.cookies.set("lang", "zh_CN")
        zh = readable_text(admin.page(url, expect=422 if "nobody" in url else 200))
        assert english_fragments(zh, data) == [], url
        admin.client.cookies.set("lang", "en")
        page = admin.page(url, expect=422 if "nobody" in url else 200)
        assert chinese_fragments(readable_text(page), data) == [], url
    admin.client.cookies.set("lang", "en")
    page = admin.page("/admin/audit?action=view_confidential")
    assert text_of(page.find("h1")) == "Audit log"
    assert {r["Seen in / detail"] for r in rows(page)} == {"API read", "Receipt page"}
    assert {r["Action"] for r in rows(page)} == {"Viewed a confidential case"}
    assert [text_of(o) for o in page.select("#f-action option")][:3] == [
        "Any action",
        "Viewed a confidential case",
        "Confidential case shown in a list",
    ]
