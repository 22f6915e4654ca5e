"""The audit log read back (grievance/audit.py): filters by person, action, case and local days, keyset pages that
lose and repeat nothing, one query per page, an index behind each filter; and the channel every view of a
confidential case now records (page, API, download, receipt, an action, a merged duplicate's page ...).
On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlmodel import Session, select

from grievance import audit
from grievance.cases.models import AuditEntry, Case
from grievance.db import transaction
from grievance.errors import InvalidInput
from grievance.users.models import User
from tests.api._support import API, sh
from tests.factories import World
from tests.web.support import Browser

ROOT = Path(__file__).resolve().parents[1]
TZ = "Asia/Shanghai"


def ids(session: Session) -> dict[str, int]:
    return {u.username: u.id for u in session.exec(select(User)).all()}  # type: ignore[misc]


def add(
    session: Session, at: datetime, username: str | None, action: str, case_id: int | None = None, detail: str = ""
) -> int:
    user_id = ids(session)[username] if username else None
    entry = AuditEntry(at=at, user_id=user_id, action=action, case_id=case_id, detail=detail)
    session.add(entry)
    session.flush()
    return entry.id  # type: ignore[return-value]


def page(session: Session, **query: Any) -> audit.AuditPage:
    return audit.list_entries(session, audit.AuditQuery(**query).to_filter(session, TZ), timezone=TZ)


def refused(session: Session, **query: Any) -> dict[str, tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        audit.AuditQuery(**query).to_filter(session, TZ)
    return {e["field"]: (e["message"], e["message_en"]) for e in caught.value.detail["errors"]}


def confidential_case(world: World) -> str:
    """A report (举报) about 青桐街道: confidential, seen by the centre, the leader and the admin."""
    return world.intake(
        channel="hotline", meeting=None, case_type="report", title="举报青桐街道违规收费", accused_department="JD1"
    )["case_no"]


def views(world: World) -> list[str]:
    """The detail of every view_confidential entry, oldest first."""
    with transaction(world.app.state.sessions) as session:
        return list(
            session.exec(
                select(AuditEntry.detail).where(AuditEntry.action == "view_confidential").order_by(AuditEntry.id)
            ).all()
        )


# --- filters ----------------------------------------------------------------------------------------------------


def test_each_filter_selects_its_entries_newest_first(world: World) -> None:
    no = confidential_case(world)
    with transaction(world.app.state.sessions) as session:
        case_id = session.exec(select(Case.id).where(Case.case_no == no)).one()
        t = datetime(2025, 10, 8, 2, 0, tzinfo=UTC)
        a = add(session, t, "leader", "view_confidential", case_id, "page")
        b = add(session, t + timedelta(minutes=1), "dispatcher", "list_confidential", case_id)
        c = add(session, t + timedelta(minutes=2), "leader", "export", None, "rates csv 2025-09")
        d = add(session, t + timedelta(minutes=3), None, "export", None, "cli ledger export 3 rows")
    with transaction(world.app.state.sessions) as session:
        mine = {a, b, c, d}

        def listed(**query: Any) -> list[int]:
            return [e.id for e in page(session, **query).items if e.id in mine]

        assert listed() == [d, c, b, a]
        assert listed(user="leader") == [c, a]
        assert listed(user=str(ids(session)["dispatcher"])) == [b]  # an id works too
        assert listed(action="export") == [d, c]
        assert listed(case_no=no) == [b, a]
        assert listed(case_no=no.lower()) == [b, a]  # typed in lower case
        assert listed(user="leader", action="export") == [c]
        first = page(session, user="leader").items[-1]
        assert (first.user.username, first.case_no, first.seen_in, first.seen_in_label) == (  # type: ignore[union-attr]
            "leader",
            no,
            "page",
            "诉求页面",
        )
        assert first.at.utcoffset() == timedelta(hours=8)  # in the office's time zone
        cli = page(session, action="export").items[0]
        assert cli.user is None and cli.detail == "cli ledger export 3 rows" and cli.seen_in_label is None


def test_days_are_local_days_in_shanghai(world: World) -> None:
    with transaction(world.app.state.sessions) as session:
        late = add(session, sh(2025, 9, 30, 23, 30), "leader", "export")  # 15:30 UTC on the 30th
        early = add(session, sh(2025, 10, 1, 0, 10), "leader", "export")  # 16:10 UTC on the 30th
        later = add(session, sh(2025, 10, 2, 0, 0), "leader", "export")
    with transaction(world.app.state.sessions) as session:

        def listed(**query: Any) -> list[int]:
            return [e.id for e in page(session, action="export", **query).items]

        assert listed(date_to="2025-09-30") == [late]  # the whole local day, and not an hour more
        assert listed(date_from="2025-10-01") == [later, early]
        assert listed(date_from="2025-10-01", date_to="2025-10-01") == [early]
        assert listed(date_from="2025/10/1", date_to="2025年10月1日") == [early]  # as the other forms read days
        assert listed(date_from="2025-10-01T00:10:00+08:00", date_to="2025-10-02T00:00:00+08:00") == [early]


def test_bad_filters_are_refused_field_by_field_in_both_languages(world: World) -> None:
    with transaction(world.app.state.sessions) as session:
        problems = refused(
            session,
            user="nobody",
            action="peek",
            case_no="GX-2025-999999",
            date_from="2025-10-02",
            date_to="2025-10-01",
        )
        assert set(problems) == {"user", "action", "case_no", "date_to"}
        assert problems["user"] == (
            "没有账号“nobody”；请填写账号名或用户编号",
            "no account 'nobody': give its name or id",
        )
        assert "view_confidential（查看保密件）" in problems["action"][0]
        assert "accepted: view_confidential (Viewed a confidential case)" in problems["action"][1]
        assert "GX-2025-000123" in problems["case_no"][0] and "GX-2025-999999" in problems["case_no"][1]
        assert refused(session, cursor="not-a-cursor")["cursor"][1].startswith("invalid cursor")
        # A case list's cursor is no audit cursor.
        from grievance.cases.listing import encode_cursor

        assert "cursor" in refused(session, cursor=encode_cursor("received", sh(2025, 10, 1), 1))
        assert "user" in refused(session, user="x" * 65)
        with pytest.raises(InvalidInput) as caught:
            audit.AuditQuery.from_form({"date_from": "2025-13-01", "limit": 50})
        (problem,) = caught.value.detail["errors"]
        assert problem["field"] == "date_from" and problem["message"].startswith("起始日期：")
        with pytest.raises(InvalidInput):
            audit.AuditQuery.from_form({"date_to": "2025-10-01T08:00:00"})  # no time zone


# --- pages ------------------------------------------------------------------------------------------------------


def test_keyset_pages_list_every_entry_once_even_when_times_tie(world: World) -> None:
    t = datetime(2025, 10, 8, 2, 0, tzinfo=UTC)
    with transaction(world.app.state.sessions) as session:
        # Entries written in one flush can share a moment: seven entries on four moments.
        made = [add(session, t + timedelta(seconds=s), "leader", "export") for s in (0, 0, 0, 1, 1, 2, 3)]
    expected = sorted(made, key=lambda i: (-[0, 0, 0, 1, 1, 2, 3][made.index(i)], -i))
    with transaction(world.app.state.sessions) as session:
        seen: list[int] = []
        cursor = None
        for _ in range(10):
            found = page(session, action="export", limit=3, **({"cursor": cursor} if cursor else {}))
            seen += [e.id for e in found.items]
            cursor = found.next_cursor
            if cursor is None:
                break
        assert seen == expected
        assert len(page(session, action="export", limit=7).items) == 7
        assert page(session, action="export", limit=7).next_cursor is None  # exactly one page: no empty second


def test_a_page_is_one_query_whatever_it_holds(world: World, engine: Any) -> None:
    no = confidential_case(world)
    t = datetime(2025, 10, 8, 2, 0, tzinfo=UTC)

    def statements(count: int) -> tuple[int, int]:
        with transaction(world.app.state.sessions) as session:
            case_id = session.exec(select(Case.id).where(Case.case_no == no)).one()
            for i in range(count):
                add(
                    session,
                    t + timedelta(seconds=i),
                    ["leader", "admin", "dispatcher"][i % 3],
                    "view_confidential",
                    case_id,
                    "api",
                )
        seen: list[str] = []

        def count_statement(*args: Any) -> None:
            if str(args[2]).lstrip().upper().startswith("SELECT"):  # not SQLite's BEGIN and PRAGMA
                seen.append(str(args[2]))

        with transaction(world.app.state.sessions) as session:
            filters = audit.AuditQuery(limit=200).to_filter(session, TZ)
            event.listen(engine, "before_cursor_execute", count_statement)
            try:
                found = audit.list_entries(session, filters, timezone=TZ)
            finally:
                event.remove(engine, "before_cursor_execute", count_statement)
        names = {e.user.username for e in found.items if e.user}
        assert names >= {"leader", "admin", "dispatcher"} and {e.case_no for e in found.items if e.case_no} == {no}
        return len(seen), len(found.items)

    few, few_rows = statements(3)
    many, many_rows = statements(30)
    assert many_rows > few_rows and few == many == 1


def test_each_filter_reads_an_index(world: World, database: Any) -> None:
    """The plan of each filtered page names the index made for it (PostgreSQL told not to scan the table, as it
    would on a table this small)."""
    with transaction(world.app.state.sessions) as session:
        user_id = ids(session)["leader"]
        for query, index in (
            ({"user_id": user_id}, "ix_audit_log_user"),
            ({"action": "export"}, "ix_audit_log_action"),
            ({"case_id": 1}, "ix_audit_log_case_id"),
            ({"start": sh(2025, 10, 1)}, "ix_audit_log_at"),
            ({"after": (sh(2025, 10, 1), 5)}, "ix_audit_log_at"),
        ):
            stmt = audit._statement(audit.AuditFilter(**query)).limit(51)  # type: ignore[arg-type]
            compiled = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
            if database.backend == "postgresql":
                session.execute(text("SET LOCAL enable_seqscan = off"))
                plan = "\n".join(r[0] for r in session.execute(text(f"EXPLAIN {compiled}")))
            else:
                plan = "\n".join(str(r[-1]) for r in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert index in plan, (query, plan)


# --- the download -----------------------------------------------------------------------------------------------


def test_the_csv_escapes_formulas_and_refuses_more_than_it_holds(world: World) -> None:
    with transaction(world.app.state.sessions) as session:
        add(session, sh(2025, 10, 8), "admin", "meeting_update", None, '=HYPERLINK("http://x")')
        add(session, sh(2025, 10, 8, 11), "leader", "export", None, "+rates")
    with transaction(world.app.state.sessions) as session:
        filters = audit.AuditQuery().to_filter(session, TZ)
        entries = audit.all_entries(session, filters, timezone=TZ)
        body = audit.to_csv(entries).decode("utf-8")
        assert body.startswith("\ufeff时间,账号,姓名,操作,操作代码,诉求编号,查看渠道,经由,详情\r\n")
        assert "2025-10-08 11:00:00+08:00,leader" in body
        assert "'=HYPERLINK" in body and ",'+rates" in body
        assert "Exported data" in audit.to_csv(entries, "en").decode()
        with pytest.raises(InvalidInput) as caught:
            audit.all_entries(session, filters, timezone=TZ, max_rows=1)
        assert "more than 1 entries match" in caught.value.message_en


# --- the vocabulary -----------------------------------------------------------------------------------------------


def test_every_action_the_code_writes_has_its_labels() -> None:
    """A new kind of entry must be readable on the page: find every action literal written to AuditEntry."""
    written: set[str] = set()
    for path in [*ROOT.joinpath("grievance").rglob("*.py"), *ROOT.joinpath("web").rglob("*.py")]:
        source = path.read_text(encoding="utf-8")
        for call in re.finditer(r"AuditEntry\((.{0,300}?)\)", source, re.S):
            written.update(re.findall(r'action="([a-z_]+)"', call.group(1)))
        if "audit_export(" in source:
            written.add("export")
    assert written >= {"view_confidential", "list_confidential", "hint_confidential", "export"}
    assert written <= set(audit.ACTIONS), written - set(audit.ACTIONS)


def test_a_channel_is_a_code_of_the_vocabulary() -> None:
    assert audit.view_detail("merge_view", via="GX-2025-000045") == "merge_view GX-2025-000045"
    assert audit.seen_in("view_confidential", "merge_view GX-2025-000045") == ("merge_view", "GX-2025-000045")
    assert audit.seen_in("view_confidential", "") == (None, "")
    assert audit.channel_label(None, "en") == "Not recorded"
    with pytest.raises(ValueError):
        audit.view_detail("somewhere")


# --- where a confidential case was seen ------------------------------------------------------------------------------


def test_each_view_of_a_confidential_case_says_where_it_was_seen(world: World, clock: Any) -> None:
    clock.set(sh(2025, 11, 3))
    no = confidential_case(world)
    attached = world.client.post(
        f"{API}/cases/{no}/attachments",
        files={"files": ("note.txt", "举报材料\n".encode(), "text/plain")},
        headers=world.headers("intake"),
    )
    assert attached.status_code == 201, attached.text
    attachment = attached.json()[0]["id"]
    assert views(world) == ["api_action"]  # the upload

    world.get(no, "leader")
    assert (
        world.client.get(f"{API}/cases/{no}/attachments/{attachment}", headers=world.headers("leader")).status_code
        == 200
    )
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    assert views(world)[1:] == ["api", "api_download", "api_action"]

    leader, handler, clerk = Browser(world.app, "leader"), Browser(world.app, "handler"), Browser(world.app, "intake")
    leader.page(f"/cases/{no}")
    assert leader.get(f"/cases/{no}/attachments/{attachment}").status_code == 200
    clerk.page(f"/cases/{no}/receipt")
    assert handler.post(f"/cases/{no}/actions/accept", {}).status_code == 303
    assert views(world)[4:8] == ["page", "download", "receipt", "page_action"]


def test_a_merged_duplicates_page_records_the_case_it_shows(world: World, clock: Any) -> None:
    clock.set(sh(2025, 11, 3))
    no = world.intake(
        channel="hotline",
        meeting=None,
        case_type="report",
        title="举报青桐街道违规收费",
        accused_department="JD1",
        petitioner={"name": "张三", "phone": "13700001111"},
    )["case_no"]
    dup = world.intake(
        channel="hotline",
        meeting=None,
        case_type="report",
        title="再次举报青桐街道违规收费",
        accused_department="JD1",
        petitioner={"name": "张三", "phone": "13700001111"},
    )["case_no"]
    world.act(dup, "merge", "intake", into=no)
    before = len(views(world))
    world.get(dup, "leader")
    # The duplicate itself (a report too) through the API, then the case it went into, shown on its answer.
    assert views(world)[before:] == ["api", f"merge_view {dup}"]
    with transaction(world.app.state.sessions) as session:
        entry = page(session, action="view_confidential", case_no=no).items[0]
    assert (entry.seen_in, entry.seen_via, entry.seen_in_label_en) == (
        "merge_view",
        dup,
        "Shown on a merged duplicate's page",
    )


def test_other_audit_entries_are_unchanged(world: World, clock: Any) -> None:
    clock.set(sh(2025, 11, 3))
    no = confidential_case(world)
    listed = world.client.get(f"{API}/cases", headers=world.headers("leader")).json()["items"]
    assert no in [c["case_no"] for c in listed]
    with transaction(world.app.state.sessions) as session:
        rows = session.exec(
            select(AuditEntry.action, AuditEntry.detail).where(AuditEntry.action == "list_confidential")
        ).all()
    assert [tuple(r) for r in rows] == [("list_confidential", "")]


def test_the_meeting_report_and_the_dispatch_sheet_name_themselves(world: World, clock: Any) -> None:
    from tests.reports.metrics_support import handling

    clock.set(sh(2025, 10, 13))  # Monday of ISO week 42
    at_meeting = world.intake(case_type="report", title="举报青桐街道违规收费", accused_department="JD1")["case_no"]
    clerk = Browser(world.app, "intake")
    clerk.page(f"/meetings/{world.meeting_id}/report")
    assert views(world) == ["meeting_report"]

    key = handling(world, case_type="report", accused_department="JD1")
    world.act(key, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    before = len(views(world))
    decided = Browser(world.app, "supervisor").post(
        "/keycases/dispatch/decisions", {"case_no": key, "week": "2025-W42", "decision": "请本周内完成现场核查"}
    )
    assert decided.status_code == 303, decided.text
    assert views(world)[before:] == ["dispatch_sheet"]
    with transaction(world.app.state.sessions) as session:
        assert {e.case_no for e in page(session, case_no=at_meeting).items} == {at_meeting}


def test_a_bulk_dispatch_from_the_pool_names_itself(world: World, clock: Any) -> None:
    """A confidential case ticked in the pool and dispatched with others is seen through the bulk dispatch."""
    clock.set(sh(2025, 11, 3))
    no = confidential_case(world)
    dispatcher = Browser(world.app, "dispatcher")
    pool = dispatcher.page("/pool")
    data = {box["name"]: box["value"] for box in pool.select('input[form="bulk"]') if box["type"] != "checkbox"}
    before = len(views(world))
    answer = dispatcher.post("/pool/dispatch", {**data, "case_no": [no], "department_id": "2"})
    assert answer.status_code == 303, answer.text[:300]
    assert views(world)[before:] == ["bulk_dispatch"]
    with transaction(world.app.state.sessions) as session:
        entry = page(session, action="view_confidential", case_no=no).items[0]
    assert entry.seen_in_label_en == "Bulk dispatch in the pool"
