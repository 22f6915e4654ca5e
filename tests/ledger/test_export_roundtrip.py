"""Cases made through the live API, exported as a ledger and imported into an empty second database, give
the same report: the round trip the ledger exists for."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest

from grievance.ledger import exporter
from tests.api._support import sh
from tests.factories import World
from tests.ledger._roundtrip import (
    accused_departments,
    comparable,
    export_all,
    import_into,
    leader_token,
    rates,
    seen_cases,
    token_for,
)
from tests.ledger._support import counts


def at(clock: Any, moment: datetime) -> None:
    clock.set(moment)


def build_year_end(world: World, clock: Any) -> dict[str, str]:
    """The life of each kind of case, through the live API at known moments (November 2025, no holiday)."""
    no: dict[str, str] = {}

    def intake(key: str, moment: datetime, **body: Any) -> str:
        at(clock, moment)
        no[key] = world.intake(**body)["case_no"]
        return no[key]

    def act(key: str, moment: datetime, action: str, user: str, **fields: Any) -> None:
        at(clock, moment)
        world.act(no[key], action, user, **fields)

    def handled(key: str, moment: datetime, department: str = "CGJ", user: str = "handler") -> None:
        act(key, moment, "dispatch", "dispatcher", department_id=department)
        act(key, moment.replace(minute=moment.minute + 20), "accept", user)
        act(key, moment.replace(minute=moment.minute + 40), "respond", user, note="已电话联系")

    # Closed: resolved, reached and satisfied, archived.
    intake("closed", sh(2025, 11, 3, 9))
    handled("closed", sh(2025, 11, 3, 10))
    act("closed", sh(2025, 11, 5, 15), "resolve", "handler", outcome="solved", reply="路灯已修复")
    act("closed", sh(2025, 11, 6, 10), "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    act("closed", sh(2025, 11, 7, 10), "close", "dispatcher", note="归档")

    # Extended by 5 working days, resolved after the first due time but within the extension.
    intake("extended", sh(2025, 11, 3, 11), channel="hotline", case_type="complaint", meeting=None)
    handled("extended", sh(2025, 11, 3, 14))
    act("extended", sh(2025, 11, 20, 10), "request_extension", "handler", days=5, reason="需协调多个部门")
    act("extended", sh(2025, 11, 21, 10), "approve_extension", "supervisor", note="同意")
    act("extended", sh(2025, 11, 27, 10), "resolve", "handler", outcome="explained", reply="已解释")
    act(
        "extended",
        sh(2025, 11, 28, 10),
        "callback",
        "dispatcher",
        reached=True,
        solved=False,
        satisfaction="basically_satisfied",
    )

    # Reopened after an unsatisfied callback, then resolved again by another department.
    intake("redone", sh(2025, 11, 4, 9), channel="station", station="ZS01", meeting=None)
    handled("redone", sh(2025, 11, 4, 10), department="JD1", user="other_handler")
    act("redone", sh(2025, 11, 6, 10), "resolve", "other_handler", outcome="solved", reply="已清理")
    act("redone", sh(2025, 11, 7, 10), "callback", "dispatcher", reached=True, solved=False, satisfaction="unsatisfied")
    act("redone", sh(2025, 11, 7, 11), "reopen", "dispatcher", reason="诉求人不满意")
    act("redone", sh(2025, 11, 12, 16), "resolve", "other_handler", outcome="solved", reply="已彻底清理")
    act("redone", sh(2025, 11, 13, 10), "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    act("redone", sh(2025, 11, 14, 10), "close", "supervisor")

    # Reopened and still being handled again.
    intake("reopened", sh(2025, 11, 4, 11), channel="online", meeting=None)
    handled("reopened", sh(2025, 11, 4, 14))
    act("reopened", sh(2025, 11, 10, 10), "resolve", "handler", outcome="solved", reply="已处理")
    act(
        "reopened",
        sh(2025, 11, 11, 10),
        "callback",
        "dispatcher",
        reached=True,
        solved=False,
        satisfaction="unsatisfied",
    )
    act("reopened", sh(2025, 11, 11, 15), "reopen", "supervisor", reason="未解决")

    # A duplicate of the first case, merged into it.
    intake("duplicate", sh(2025, 11, 5, 9), channel="hotline", meeting=None)
    act("duplicate", sh(2025, 11, 5, 9, 30), "merge", "intake", into=no["closed"])

    # Answered on the spot at the front desk, called back, archived.
    intake("on_spot", sh(2025, 11, 5, 14), channel="walk_in", case_type="consult", meeting=None)
    act("on_spot", sh(2025, 11, 5, 14, 10), "answer_on_spot", "intake", reply="已当场解答")
    act("on_spot", sh(2025, 11, 6, 11), "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    act("on_spot", sh(2025, 11, 7, 11), "close", "dispatcher")

    # Late: responded after a working day, resolved after 15; the callback did not reach the petitioner.
    intake("late", sh(2025, 11, 3, 15), channel="letter", meeting=None)
    act("late", sh(2025, 11, 3, 16), "dispatch", "dispatcher", department_id="CGJ")
    act("late", sh(2025, 11, 4, 9), "accept", "handler")
    act("late", sh(2025, 11, 6, 9), "respond", "handler", note="联系上了")
    act("late", sh(2025, 11, 28, 9), "resolve", "handler", outcome="solved", reply="已完成")
    act("late", sh(2025, 12, 1, 10), "callback", "dispatcher", reached=False)

    # Still open: an enterprise appeal accepted and responded to, and a hotline case never accepted.
    intake("open_enterprise", sh(2025, 11, 10, 9), channel="enterprise", enterprise=world.enterprise_id, meeting=None)
    handled("open_enterprise", sh(2025, 11, 10, 9), department="QFJ", user="liaison")
    intake("open_hotline", sh(2025, 11, 24, 20), channel="hotline", urgency="urgent", meeting=None)
    act("open_hotline", sh(2025, 11, 24, 21), "dispatch", "dispatcher", department_id="CGJ")

    # Returned by the department (退单), waiting to be dispatched again.
    intake("returned", sh(2025, 11, 25, 9), channel="online", meeting=None)
    act("returned", sh(2025, 11, 25, 10), "dispatch", "dispatcher", department_id="CGJ")
    act("returned", sh(2025, 11, 25, 11), "return", "handler", reason="不属于本单位职责")

    # A dispute mediated, and one not.
    for key, outcome, day in (("mediated", "mediated", 17), ("not_mediated", "not_mediated", 18)):
        intake(key, sh(2025, 11, day, 9), channel="walk_in", case_type="dispute", meeting=None)
        handled(key, sh(2025, 11, day, 10), department="JD1", user="other_handler")
        act(key, sh(2025, 11, day + 2, 10), "resolve", "other_handler", outcome=outcome, reply="调解")
        act(key, sh(2025, 11, day + 3, 10), "callback", "intake", reached=True, solved=True, satisfaction="satisfied")

    # A petition (信访): accepted and notified, then handled.
    intake("petition", sh(2025, 11, 19, 9), channel="letter", case_type="petition", meeting=None)
    act("petition", sh(2025, 11, 21, 9), "accept_petition", "dispatcher", department_id="CGJ", notice="受理告知书")
    act("petition", sh(2025, 11, 21, 10), "accept", "handler")
    act("petition", sh(2025, 11, 24, 10), "respond", "handler", note="已约谈")
    act("petition", sh(2025, 12, 10, 10), "resolve", "handler", outcome="rejected", reply="处理意见书")

    # Received in December: outside the period, but in the export; a report (举报) accusing 青桐街道.
    intake(
        "december", sh(2025, 12, 2, 9), channel="hotline", case_type="report", accused_department="JD1", meeting=None
    )
    return no


@pytest.fixture
def live(world: World, clock: Any) -> dict[str, str]:
    return build_year_end(world, clock)


def test_export_then_import_into_an_empty_database_gives_the_same_report(world, live, app, empty_app, clock):
    clock.set(sh(2026, 1, 20))  # after AS_OF: a report as of the future is refused
    m = rates(world.client, world.tokens["leader"])["metrics"]
    # The cases cover what the round trip must carry.
    assert m["intake_count"]["value"] == 12  # 13 in November, one merged
    assert m["duplicate_count"]["value"] == 1
    assert (m["reopen_rate"]["numerator"], m["resolution_rate"]["numerator"]) == (1, 8)
    assert m["overdue_count"]["value"] >= 2
    assert (m["mediation_rate"]["numerator"], m["mediation_rate"]["denominator"]) == (1, 2)
    before = comparable(rates(world.client, world.tokens["leader"]), app)
    numbers = sorted(live.values())
    seen = seen_cases(app, world.client, world.tokens["supervisor"], numbers)
    # What the comparison below relies on: the cases differ from each other in what a user sees.
    assert seen[live["closed"]]["state"] != seen[live["open_hotline"]]["state"]
    assert seen[live["redone"]]["department"] == "JD1" and seen[live["closed"]]["department"] == "CGJ"
    assert seen[live["redone"]]["reply"] == "已彻底清理"
    assert seen[live["extended"]]["petitioner"] == ("张三", "13812341234")
    original = export_all(app)
    for kind, body in (("csv", exporter.to_csv(original)), ("xlsx", exporter.to_xlsx(original))):
        second = empty_app()
        assert counts(second.state.engine)["cases"] == 0
        summary = import_into(second, f"ledger.{kind}", body)
        assert (summary["created"], summary["unchanged"]) == (len(live), 0), kind
        assert sorted(summary["new_departments"]) == ["CGJ", "JD1", "QFJ"]
        assert summary["new_stations"] == ["ZS01"]
        assert summary["new_meetings"] == ["2025-09-28 第一期阳光恳谈会"]
        assert summary["new_enterprises"] == ["云帆光电科技有限公司 (91420100MA4K00001U)"]
        after = rates(second.state.client, leader_token(second))
        assert comparable(after, second) == before, kind
        # Every case as its page shows it: title, state, department, every time, reply, clocks.
        imported = seen_cases(second, second.state.client, token_for(second, "supervisor"), numbers)
        returned = live["returned"]
        for case_no in numbers:
            if case_no != returned:
                assert imported[case_no] == seen[case_no], (kind, case_no)
        # The one thing the ledger cannot carry: it has no column for a return (退单), so a returned case comes
        # back as waiting for dispatch, not dispatched, with the same title, times and open clocks otherwise.
        lost = {"state", "state_label", "dispatched_at", "clocks"}
        assert {k: v for k, v in imported[returned].items() if k not in lost} == {
            k: v for k, v in seen[returned].items() if k not in lost
        }
        assert (seen[returned]["state"], imported[returned]["state"]) == ("returned", "received")
        assert imported[returned]["dispatched_at"] is None
        assert imported[returned]["clocks"] == [c for c in seen[returned]["clocks"] if c[0] != "accept"]
        assert accused_departments(second) == accused_departments(app) == {live["december"]: "JD1"}, kind
        # The ledger the second database writes is the one it read.
        assert export_all(second) == original, kind


def test_the_export_describes_each_case_and_reimports_unchanged(world, live, app, engine, empty_app):
    rows = export_all(app)
    body = exporter.to_csv(rows)
    assert body.startswith("\ufeff".encode())
    by_no = {row["case_no"]: row for row in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    assert set(by_no) == set(live.values())
    received = [row["received_at"] for row in by_no.values()]
    assert received == sorted(received)  # oldest first
    extended = by_no[live["extended"]]
    assert extended["resolve_due_at"] == "2025-11-25T00:00:00+08:00"  # 15 working days from 3 November
    assert extended["extended_due_at"] == "2025-12-02T00:00:00+08:00"  # and 5 more
    assert by_no[live["duplicate"]]["duplicate_of"] == live["closed"]
    redone = by_no[live["redone"]]
    assert (redone["reopened_at"], redone["resolved_at"]) == ("2025-11-07T11:00:00+08:00", "2025-11-12T16:00:00+08:00")
    assert (redone["department"], redone["station"], redone["satisfaction"]) == ("JD1", "ZS01", "satisfied")
    reopened = by_no[live["reopened"]]
    assert reopened["reopened_at"] > reopened["resolved_at"] != ""
    assert by_no[live["on_spot"]]["outcome"] == "answered_on_spot"
    assert by_no[live["late"]]["callback_reached"] == "否"
    assert by_no[live["open_hotline"]]["resolved_at"] == ""
    assert by_no[live["december"]]["accused_department"] == "JD1"
    assert {row["accused_department"] for no, row in by_no.items() if no != live["december"]} == {""}
    # Returned (退单): back at the centre; the ledger has no column for a return, so it reads "not
    # dispatched" rather than a dispatch without a department, which no import would accept.
    returned = by_no[live["returned"]]
    assert (returned["department"], returned["dispatched_at"], returned["accepted_at"]) == ("", "", "")

    # The workbook: Chinese headers, vocabularies as their Chinese labels.
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(exporter.to_xlsx(rows))).worksheets[0]
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert table[0][:4] == ["诉求编号", "受理时间", "来源渠道", "诉求类型"]
    assert table[0][table[0].index("承办单位") + 1] == "被举报单位"
    first = dict(zip(table[0], table[1], strict=True))
    assert (first["诉求编号"], first["来源渠道"], first["诉求类型"]) == (live["closed"], "阳光恳谈会", "求助")
    assert (first["办理结果"], first["满意度"], first["是否联系到"]) == ("已解决", "满意", "是")

    # Imported back into the same database, every case is already there, and the ledger it then writes is the same.
    before = counts(engine)
    summary = import_into(app, "same.csv", body)
    assert (summary["created"], summary["unchanged"]) == (0, len(live))
    assert summary["new_departments"] == summary["new_stations"] == summary["new_enterprises"] == []
    assert counts(engine) == before
    assert_same_ledger(export_all(app), rows, "csv into the same database")

    # Imported into an empty database, each file gives back every column of every row.
    for kind, data in (("csv", body), ("xlsx", exporter.to_xlsx(rows))):
        second = empty_app()
        summary = import_into(second, f"ledger.{kind}", data)
        assert (summary["created"], summary["unchanged"]) == (len(live), 0), kind
        assert_same_ledger(export_all(second), rows, f"{kind} into an empty database")


def assert_same_ledger(again: list[dict[str, Any]], rows: list[dict[str, Any]], how: str) -> None:
    """Every column of every row, each difference named by case number and column."""
    assert [row["case_no"] for row in again] == [row["case_no"] for row in rows], how
    assert all(row["title"] and row["received_at"] and row["channel"] for row in rows)  # the ledger is not blank
    differences = [
        (row["case_no"], column, row[column], back.get(column))
        for row, back in zip(rows, again, strict=True)
        for column in row
        if back.get(column) != row[column]
    ]
    assert differences == [], how
    assert [list(row) for row in again] == [list(row) for row in rows], how  # the same columns, in order
