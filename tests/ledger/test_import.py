"""Importing a ledger (台账) through POST /api/v1/ledger/import: the same ledger written three ways (CSV with
Chinese headers and labels, CSV with English codes, XLSX with other Chinese aliases and real date cells)
gives the same cases, states, timelines and due times; due times missing from the file are computed by
the workflow, checked here against an independent computation with chinese_calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from grievance.cases.models import Case, CaseEvent
from grievance.db import transaction
from grievance.ledger.importer import read_ledger, run_import
from grievance.reference.models import Department, Enterprise, Meeting, Station
from tests.api._support import API, clock_of, end_of_working_days, sh, ts
from tests.factories import World
from tests.ledger._support import counts, csv_bytes, records, upload, xlsx_bytes

# The ledger, in codes and Shanghai local times; rendered below as each kind of file.
LEDGER: list[dict[str, Any]] = [
    {  # closed; due times computed (across National Day 2025)
        "case_no": "GX-2025-000123",
        "received_at": "2025-09-30 10:00",
        "channel": "meeting",
        "case_type": "help",
        "title": "小区门口路灯不亮",
        "description": "青桐路18号小区门口的路灯坏了一周",
        "petitioner_name": "张三",
        "petitioner_phone": "13812341234",
        "meeting_date": "2025-09-30",
        "meeting_title": "2025年第九期阳光恳谈会",
        "department": "城市管理局",
        "dispatched_at": "2025-09-30 10:30",
        "accepted_at": "2025-09-30 11:00",
        "responded_at": "2025-09-30 15:00",
        "resolved_at": "2025-10-13 10:00",
        "outcome": "solved",
        "reply": "路灯已修复",
        "callback_at": "2025-10-14 10:00",
        "callback_reached": True,
        "solved": True,
        "satisfaction": "satisfied",
        "closed_at": "2025-10-15 10:00",
    },
    {  # reopened after its resolution: open again; due times given
        "case_no": "L-002",
        "received_at": "2025-10-09 09:00",
        "channel": "station",
        "case_type": "complaint",
        "urgency": "urgent",
        "title": "夜间施工噪音扰民",
        "station": "白沙驿站",
        "department": "新区建设局",
        "dispatched_at": "2025-10-09 09:30",
        "accepted_at": "2025-10-09 10:00",
        "responded_at": "2025-10-09 11:00",
        "respond_due_at": "2025-10-09 13:00",
        "resolved_at": "2025-10-20 10:00",
        "resolve_due_at": "2025-10-31 18:00",
        "outcome": "explained",
        "callback_at": "2025-10-21 10:00",
        "callback_reached": True,
        "solved": False,
        "satisfaction": "unsatisfied",
        "reopened_at": "2025-10-21 15:00",
    },
    {  # extended, resolved within the extension
        "case_no": "L-003",
        "received_at": "2025-10-10 10:00",
        "channel": "hotline",
        "case_type": "help",
        "title": "井盖松动有异响",
        "department": "CGJ",
        "dispatched_at": "2025-10-10 10:20",
        "accepted_at": "2025-10-10 10:40",
        "responded_at": "2025-10-10 11:00",
        "resolve_due_at": "2025-10-31 00:00",
        "extended_due_at": "2025-11-07 00:00",
        "resolved_at": "2025-11-05 10:00",
        "outcome": "solved",
    },
    {  # a duplicate of the first, merged into it
        "case_no": "L-004",
        "received_at": "2025-10-01 09:00",
        "channel": "hotline",
        "case_type": "help",
        "title": "小区门口路灯不亮",
        "closed_at": "2025-10-01 09:30",
        "duplicate_of": "GX-2025-000123",
    },
    {  # answered on the spot
        "case_no": "L-005",
        "received_at": "2025-10-09 14:00",
        "channel": "walk_in",
        "case_type": "consult",
        "title": "社保转移接续",
        "resolved_at": "2025-10-09 14:10",
        "outcome": "answered_on_spot",
        "reply": "已当场解答",
        "callback_at": "2025-10-10 10:00",
        "callback_reached": True,
        "solved": True,
        "satisfaction": "basically_satisfied",
        "closed_at": "2025-10-11 10:00",
    },
    {  # an enterprise appeal still open, for an enterprise the zone does not know yet
        "case_no": "L-006",
        "received_at": "2025-10-13 09:00",
        "channel": "enterprise",
        "case_type": "help",
        "title": "奖补资金兑现进度",
        "enterprise_name": "星河新材料有限公司",
        "enterprise_code": "91420100MA4K99999P",
        "department": "企业服务局",
        "dispatched_at": "2025-10-13 09:05",
    },
]
COLUMNS = list(dict.fromkeys(k for row in LEDGER for k in row))
ZH_HEADERS = {
    "case_no": "诉求编号",
    "received_at": "受理时间",
    "channel": "来源渠道",
    "case_type": "诉求类型",
    "urgency": "紧急程度",
    "title": "标题",
    "description": "诉求内容",
    "petitioner_name": "诉求人",
    "petitioner_phone": "联系电话",
    "enterprise_name": "企业名称",
    "enterprise_code": "统一社会信用代码",
    "station": "城市驿站",
    "meeting_date": "恳谈会日期",
    "meeting_title": "恳谈会名称",
    "department": "承办单位",
    "dispatched_at": "派单时间",
    "accepted_at": "签收时间",
    "responded_at": "响应时间",
    "respond_due_at": "响应时限",
    "resolved_at": "办结时间",
    "resolve_due_at": "办结时限",
    "extended_due_at": "延期后时限",
    "outcome": "办理结果",
    "reply": "答复内容",
    "callback_at": "回访时间",
    "callback_reached": "是否联系到",
    "solved": "是否解决",
    "satisfaction": "满意度",
    "reopened_at": "重办时间",
    "closed_at": "归档时间",
    "duplicate_of": "合并到",
}
# Other aliases an office may use (the XLSX variant).
OTHER_HEADERS = {
    **ZH_HEADERS,
    "case_no": "工单编号",
    "received_at": "登记时间",
    "channel": "渠道",
    "case_type": "类型",
    "title": "诉求标题",
    "description": "内容",
    "petitioner_name": "诉求人姓名",
    "petitioner_phone": "电话",
    "meeting_title": "恳谈会",
    "respond_due_at": "响应截止时间",
    "resolve_due_at": "办结截止时间",
    "extended_due_at": "延期截止时间",
    "reply": "办理答复",
    "callback_reached": "回访联系到",
    "duplicate_of": "重复件（合并到）",
}
LABELS = {
    "channel": {
        "meeting": "阳光恳谈会",
        "station": "城市驿站",
        "hotline": "12345热线",
        "walk_in": "来访",
        "enterprise": "企业包保",
    },
    "case_type": {"help": "求助", "complaint": "投诉", "consult": "咨询"},
    "urgency": {"urgent": "紧急"},
    "outcome": {"solved": "已解决", "explained": "已解释说明", "answered_on_spot": "当场答复"},
    "satisfaction": {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"},
}


def chinese(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if key in LABELS:
            value = LABELS[key][value]
        elif isinstance(value, bool):
            value = "是" if value else "否"
        out[key] = value
    return out


def english(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (("true" if v else "false") if isinstance(v, bool) else v) for k, v in row.items()}


def as_cells(row: dict[str, Any]) -> dict[str, Any]:
    """A workbook row: times and days as real date cells, the phone as the number Excel makes of it."""
    out = chinese(row)
    for key, value in row.items():
        if key.endswith("_at") or key == "meeting_date":
            out[key] = datetime.fromisoformat(value)
        elif key == "petitioner_phone":
            out[key] = int(value)
    return out


def ledger_file(kind: str) -> tuple[str, bytes]:
    if kind == "csv-chinese":
        header = [ZH_HEADERS[c] for c in COLUMNS]
        return "台账.csv", csv_bytes(header, records(COLUMNS, [chinese(r) for r in LEDGER]), bom=True)
    if kind == "csv-english":
        return "ledger.csv", csv_bytes(COLUMNS, records(COLUMNS, [english(r) for r in LEDGER]))
    header = [OTHER_HEADERS[c] for c in COLUMNS]
    return "台账.xlsx", xlsx_bytes(header, records(COLUMNS, [as_cells(r) for r in LEDGER]))


KINDS = ["csv-chinese", "csv-english", "xlsx"]


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=sh(2025, 1, 1).tzinfo)


def case(world: World, case_no: str) -> dict[str, Any]:
    return world.get(case_no, "admin")


def timeline(detail: dict[str, Any]) -> list[tuple[str, datetime]]:
    return [(e["action"], ts(e["at"])) for e in detail["timeline"]]  # type: ignore[misc]


@pytest.mark.parametrize("kind", KINDS)
def test_a_ledger_imports_as_cases_with_their_history(world, engine, clock, kind):
    clock.set(sh(2025, 12, 1))  # the case pages say what is late as of now
    filename, data = ledger_file(kind)
    summary = upload(world, filename, data)
    assert {k: summary[k] for k in ("rows", "created", "unchanged", "dry_run", "warnings")} == {
        "rows": 6,
        "created": 6,
        "unchanged": 0,
        "dry_run": False,
        "warnings": [],
    }
    assert summary["new_departments"] == ["新区建设局"]
    assert summary["new_stations"] == ["白沙驿站"]
    assert summary["new_meetings"] == ["2025-09-30 2025年第九期阳光恳谈会"]
    assert summary["new_enterprises"] == ["星河新材料有限公司 (91420100MA4K99999P)"]

    # Closed, with every step at its historical time; due times computed by the workflow.
    first = case(world, "GX-2025-000123")
    assert (first["state"], first["channel"], first["case_type"], first["department"]) == (
        "closed",
        "meeting",
        "help",
        "城市管理局",
    )
    assert (first["outcome"], first["reply"], first["satisfaction"]) == ("solved", "路灯已修复", "satisfied")
    assert (first["callback_reached"], first["callback_solved"]) == (True, True)
    assert timeline(first) == [
        ("intake", local("2025-09-30 10:00")),
        ("dispatch", local("2025-09-30 10:30")),
        ("accept", local("2025-09-30 11:00")),
        ("respond", local("2025-09-30 15:00")),
        ("merged_in", local("2025-10-01 09:30")),  # the fourth row, a duplicate of this one
        ("resolve", local("2025-10-13 10:00")),
        ("callback", local("2025-10-14 10:00")),
        ("close", local("2025-10-15 10:00")),
    ]
    assert [e["to_state"] for e in first["timeline"]] == [
        "received",
        "dispatched",
        "accepted",
        "handling",
        "handling",  # merged_in: the target's state at the merge time
        "resolved",
        "resolved",
        "closed",
    ]
    # 15 working days from 30 September: National Day (1-8 October) off, Saturday 11 October worked.
    resolve = clock_of(first, "resolve")
    assert ts(resolve["due_at"]) == end_of_working_days(date(2025, 9, 30), 15) == sh(2025, 10, 29, 0)
    assert ts(clock_of(first, "respond")["due_at"]) == end_of_working_days(date(2025, 9, 30), 1) == sh(2025, 10, 10, 0)
    assert ts(clock_of(first, "accept")["due_at"]) == end_of_working_days(date(2025, 9, 30), 1)
    assert ts(clock_of(first, "callback")["due_at"]) == end_of_working_days(date(2025, 10, 13), 2)
    assert {c["name"]: c["status"] for c in first["clocks"]} == {
        "respond": "met",
        "resolve": "met",
        "accept": "met",
        "callback": "met",
    }

    # Reopened after the resolution: open again; the file's due times are kept.
    second = case(world, "L-002")
    assert (second["state"], second["urgency"], second["department"]) == ("handling", "urgent", "新区建设局")
    assert [a for a, _ in timeline(second)] == [
        "intake",
        "dispatch",
        "accept",
        "respond",
        "resolve",
        "callback",
        "reopen",
    ]
    assert ts(second["reopened_at"]) == local("2025-10-21 15:00")
    assert second["resolved_at"] is None
    respond = clock_of(second, "respond")
    assert (ts(respond["due_at"]), respond["status"]) == (local("2025-10-09 13:00"), "met")
    resolve = clock_of(second, "resolve")  # the new round, from the reopening
    assert ts(resolve["started_at"]) == local("2025-10-21 15:00")
    assert ts(resolve["due_at"]) == end_of_working_days(date(2025, 10, 21), 15)
    assert resolve["stopped_at"] is None

    # Extended: asked and approved before the original due time, resolved within the extension.
    third = case(world, "L-003")
    assert third["state"] == "resolved"
    steps = timeline(third)
    assert [a for a, _ in steps] == [
        "intake",
        "dispatch",
        "accept",
        "respond",
        "request_extension",
        "approve_extension",
        "resolve",
    ]
    request_at, approve_at = steps[4][1], steps[5][1]
    assert local("2025-10-10 11:00") <= request_at < approve_at < local("2025-10-31 00:00")
    resolve = clock_of(third, "resolve")
    assert (ts(resolve["base_due_at"]), ts(resolve["due_at"])) == (local("2025-10-31 00:00"), local("2025-11-07 00:00"))
    assert resolve["extended_days"] > 0 and resolve["status"] == "met"

    # Merged into the first case.
    fourth = case(world, "L-004")
    assert (fourth["state"], fourth["duplicate_of"]) == ("merged", "GX-2025-000123")
    assert timeline(fourth) == [("intake", local("2025-10-01 09:00")), ("merge", local("2025-10-01 09:30"))]

    # Answered on the spot, called back, archived.
    fifth = case(world, "L-005")
    assert (fifth["state"], fifth["outcome"], fifth["satisfaction"]) == (
        "closed",
        "answered_on_spot",
        "basically_satisfied",
    )
    assert [a for a, _ in timeline(fifth)] == ["intake", "answer_on_spot", "callback", "close"]

    # The enterprise appeal: still waiting to be accepted; responding was due within the hour.
    sixth = case(world, "L-006")
    assert (sixth["state"], sixth["workflow"], sixth["department"]) == ("dispatched", "enterprise", "企业服务局")
    assert ts(clock_of(sixth, "respond")["due_at"]) == local("2025-10-13 10:00")
    assert clock_of(sixth, "respond")["status"] == "overdue"

    # The reference records created for the file.
    with transaction(world.app.state.sessions) as session:
        meeting = session.execute(select(Meeting).where(Meeting.title == "2025年第九期阳光恳谈会")).scalar_one()
        station = session.execute(select(Station).where(Station.name == "白沙驿站")).scalar_one()
        enterprise = session.execute(
            select(Enterprise).where(Enterprise.credit_code == "91420100MA4K99999P")
        ).scalar_one()
        department = session.execute(select(Department).where(Department.name == "新区建设局")).scalar_one()
        rows = {c.case_no: c for c in session.execute(select(Case)).scalars()}
        assert rows["GX-2025-000123"].meeting_id == meeting.id and str(meeting.held_on) == "2025-09-30"
        assert rows["L-002"].station_id == station.id
        assert rows["L-002"].department_id == department.id
        assert (rows["L-006"].enterprise_id, rows["L-006"].petitioner_kind) == (enterprise.id, "enterprise")
        assert enterprise.name == "星河新材料有限公司"
        assert rows["GX-2025-000123"].petitioner_phone == "13812341234"
        assert rows["L-004"].duplicate_of_id == rows["GX-2025-000123"].id
        # Every action bumps the version, as live.
        events = session.execute(select(CaseEvent.case_id)).scalars().all()
        assert all(c.version == events.count(c.id) for c in rows.values())


def test_excel_dates_in_a_csv_and_a_meeting_the_zone_knows(world, engine):
    """Excel (Chinese locale) saves date cells in a CSV as 2025/9/28 9:05; the meeting held on 28 September
    is found however its day is written, not created again."""
    header = [
        "诉求编号",
        "受理时间",
        "来源渠道",
        "诉求类型",
        "标题",
        "恳谈会日期",
        "恳谈会名称",
        "承办单位",
        "派单时间",
    ]
    rows = [
        [
            "M-1",
            "2025/9/28 9:05",
            "阳光恳谈会",
            "求助",
            "一",
            "2025/9/28",
            "第一期阳光恳谈会",
            "CGJ",
            "2025/9/28 10:30",
        ],
        ["M-2", "2025-9-28 9:35:07", "阳光恳谈会", "求助", "二", "2025-9-28", "第一期阳光恳谈会", "", ""],
    ]
    before = counts(engine)["meetings"]
    summary = upload(world, "excel.csv", csv_bytes(header, rows, bom=True))
    assert (summary["created"], summary["new_meetings"]) == (2, [])
    assert counts(engine)["meetings"] == before
    first, second = case(world, "M-1"), case(world, "M-2")
    assert first["meeting_id"] == second["meeting_id"] == world.meeting_id
    assert timeline(first) == [("intake", local("2025-09-28 09:05")), ("dispatch", local("2025-09-28 10:30"))]
    assert ts(second["received_at"]) == local("2025-09-28 09:35:07")


def test_impossible_excel_dates_are_still_errors(world):
    header = ["case_no", "received_at", "channel", "case_type", "title", "meeting_date", "meeting_title"]
    rows = [
        ["M-1", "2025/2/30 9:05", "meeting", "help", "一", "2025/9/28", "第一期阳光恳谈会"],
        ["M-2", "2025/9/28 9:05", "meeting", "help", "二", "2025/9/31", "第一期阳光恳谈会"],
    ]
    body = upload(world, "excel.csv", csv_bytes(header, rows), expect=422)
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(2, "received_at"), (3, "meeting_date")]
    assert "2025/2/30 9:05" in body["errors"][0]["message"]
    assert body["errors"][1]["message_en"] == "row 3, column meeting_date: accepted: YYYY-MM-DD"


def test_importing_the_same_file_again_changes_nothing(world, engine):
    filename, data = ledger_file("csv-chinese")
    upload(world, filename, data)
    before = counts(engine)
    again = upload(world, filename, data)
    assert {k: again[k] for k in ("rows", "created", "unchanged", "dry_run", "inferred")} == {
        "rows": 6,
        "created": 0,
        "unchanged": 6,
        "dry_run": False,
        "inferred": {},
    }
    # Said, not silent: rows already in the system are not applied to their cases.
    [warning] = again["warnings"]
    assert (warning["column"], warning["rows"]) == ("case_no", [2, 3, 4, 5, 6, 7])
    assert "不会更新已有诉求" in warning["message"] and "do not update" in warning["message_en"]
    for key in ("new_departments", "new_stations", "new_meetings", "new_enterprises", "new_categories"):
        assert again[key] == []
    assert counts(engine) == before
    # Written the other way, it is still the same cases.
    filename, data = ledger_file("xlsx")
    assert upload(world, filename, data)["unchanged"] == 6
    assert counts(engine) == before


def test_a_dry_run_validates_and_writes_nothing(world, engine):
    before = counts(engine)
    filename, data = ledger_file("csv-english")
    summary = upload(world, filename, data, dry_run=True)
    assert summary["dry_run"] is True
    assert (summary["rows"], summary["created"], summary["unchanged"]) == (6, 6, 0)
    assert summary["new_departments"] == ["新区建设局"]
    assert summary["new_enterprises"] == ["星河新材料有限公司 (91420100MA4K99999P)"]
    assert counts(engine) == before
    world.get("GX-2025-000123", "admin", expect=404)


def test_our_case_numbers_advance_the_counter(world):
    filename, data = ledger_file("csv-chinese")
    upload(world, filename, data)
    # The next live case of 2025 does not collide with GX-2025-000123.
    assert world.intake()["case_no"] == "GX-2025-000124"
    assert world.intake()["case_no"] == "GX-2025-000125"


def test_a_lower_number_does_not_move_the_counter_back(world):
    for _ in range(3):
        world.intake()
    header = ["case_no", "received_at", "channel", "case_type", "title"]
    upload(
        world, "a.csv", csv_bytes(header, [["GX-2025-000002x", "2025-09-01 10:00", "hotline", "help", "非本系统编号"]])
    )
    upload(world, "b.csv", csv_bytes(header, [["GX-2024-000050", "2024-12-30 10:00", "hotline", "help", "去年的"]]))
    assert world.intake()["case_no"] == "GX-2025-000004"


def test_a_petition_is_accepted_and_notified_first(world):
    """信访: the first routing is 受理并告知 (accept_petition), which stops the acceptance clock and starts
    the 60-day one; `dispatch` is only the re-routing after a return."""
    header = [
        "case_no",
        "received_at",
        "channel",
        "case_type",
        "title",
        "department",
        "dispatched_at",
        "accepted_at",
        "responded_at",
        "resolved_at",
        "outcome",
    ]
    row = [
        "P-1",
        "2025-09-01 10:00",
        "来信",
        "信访",
        "信访件",
        "CGJ",
        "2025-09-03 10:00",
        "2025-09-03 12:00",
        "2025-09-04 10:00",
        "2025-10-20 10:00",
        "不予支持",
    ]
    upload(world, "p.csv", csv_bytes(header, [row]))
    detail = case(world, "P-1")
    assert detail["workflow"] == "petition"
    assert [a for a, _ in timeline(detail)] == ["intake", "accept_petition", "accept", "respond", "resolve"]
    clocks = {c["name"]: c for c in detail["clocks"]}
    assert ts(clocks["acceptance"]["stopped_at"]) == local("2025-09-03 10:00")
    assert ts(clocks["resolve"]["due_at"]) == sh(2025, 9, 3, 0) + timedelta(days=61)  # 60 days from acceptance
    assert {name: c["status"] for name, c in clocks.items() if name != "callback"} == {
        "acceptance": "met",
        "accept": "met",
        "respond": "met",
        "resolve": "met",
    }


def test_imported_cases_show_in_the_lists_and_search(world):
    filename, data = ledger_file("csv-chinese")
    upload(world, filename, data)
    found = world.client.get(f"{API}/cases", params={"q": "路灯"}, headers=world.headers("admin"))
    assert found.status_code == 200, found.text
    assert {c["case_no"] for c in found.json()["items"]} == {"GX-2025-000123", "L-004"}


def test_run_import_reports_progress_and_takes_the_actor(world, engine):
    filename, data = ledger_file("csv-english")
    seen: list[tuple[int, int]] = []
    with transaction(world.app.state.sessions) as session:
        from grievance.users.models import User

        actor = session.execute(select(User).where(User.username == "supervisor")).scalar_one()
        run_import(
            session,
            world.app.state.runtime,
            read_ledger(filename, data),
            actor=actor,
            progress=lambda *a: seen.append(a),
        )
        assert {e.actor_id for e in session.execute(select(CaseEvent)).scalars()} == {actor.id}
    assert seen == [(6, 6)]


def test_import_roles(world, engine):
    filename, data = ledger_file("csv-english")
    for user in ("admin", "supervisor", "dispatcher"):
        assert upload(world, filename, data, dry_run=True, as_user=user)["created"] == 6, user
    before = counts(engine)
    for user in ("intake", "handler", "head", "leader", "liaison"):
        body = upload(world, filename, data, as_user=user, expect=403)
        assert "allowed: Administrator, Supervisor, Dispatcher" in body["message_en"], user
        assert body["allowed"] == ["admin", "supervisor", "dispatcher"], user
    assert counts(engine) == before


def test_import_needs_a_token(world):
    filename, data = ledger_file("csv-english")
    response = world.client.post(f"{API}/ledger/import", files={"file": (filename, data)})
    assert response.status_code == 401
