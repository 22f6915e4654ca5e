"""Rules a detour must not bypass (issue 8, section 6): an extension not approved before the resolve due time is
refused afterwards whatever the clock's state, and suspending an overdue case neither hides it from the overdue
list nor lets the late approval through; the list and the reports agree."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from grievance.cases.models import NO_DUE
from grievance.config import PROJECT_ROOT
from tests.api._support import API, actions, clock_of, due, end_of_working_days, fire, sh, ts
from tests.factories import World
from tests.web.support import Browser, text_of

MON = sh(2025, 11, 3)  # a quiet working week
NOVEMBER = {"from": "2025-11-01", "to": "2025-12-01"}


def handling_case(world: World) -> str:
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已电话联系诉求人")
    return no


def overdue_list(world: World, username: str) -> list[str]:
    response = world.client.get(f"{API}/cases", params={"overdue": "true"}, headers=world.headers(username))
    assert response.status_code == 200, response.text
    return [item["case_no"] for item in response.json()["items"]]


def overdue_in_reports(world: World) -> tuple[int, list[str]]:
    headers = world.headers("leader")
    rates = world.client.get(f"{API}/reports/rates", params=NOVEMBER, headers=headers).json()
    listed = world.client.get(f"{API}/reports/rates/overdue_count/cases", params=NOVEMBER, headers=headers).json()
    return rates["metrics"]["overdue_count"]["value"], [item["case_no"] for item in listed["items"]]


def test_suspending_an_overdue_case_neither_lets_a_late_approval_through_nor_hides_it(app: Any, world, clock):
    clock.set(MON)
    no = handling_case(world)
    world.act(no, "request_extension", "handler", days=3, reason="需协调供电公司")  # asked in time
    resolve_due = end_of_working_days(MON.date(), 15)
    assert due(world.get(no, "handler"), "resolve") == resolve_due

    clock.set(resolve_due + timedelta(hours=2))  # nobody approved it before the due time
    refused = fire(world, no, "approve_extension", "supervisor")
    assert refused.status_code == 409 and "已超过办结时限" in refused.json()["message"]

    suspended = world.act(no, "suspend", "handler", reason="等待诉求人补充材料")
    assert suspended["state"] == "suspended"
    resolve = clock_of(suspended, "resolve")
    # The time is already missed: the clock keeps its due time in the past and is not paused.
    assert (resolve["status"], resolve["paused_at"], ts(resolve["due_at"])) == ("overdue", None, resolve_due)
    assert "approve_extension" not in actions(world.get(no, "supervisor"))
    again = fire(world, no, "approve_extension", "supervisor", note="同意")
    assert again.status_code == 409 and "已超过办结时限" in again.json()["message"]
    assert clock_of(world.get(no, "handler"), "resolve")["extended_days"] == 0

    # The overdue list (API, department and centre) and the board still show it, and the reports count it.
    assert no in overdue_list(world, "handler") and no in overdue_list(world, "supervisor")
    board = Browser(app, "supervisor").page("/board")
    assert no in text_of(board.find(id="h-overdue").find_parent("section"))
    assert overdue_in_reports(world) == (1, [no])

    # Resuming changes nothing: the case is as late as before.
    clock.set(resolve_due + timedelta(days=1))
    resumed = world.act(no, "resume", "handler", note="材料已补齐")
    assert ts(clock_of(resumed, "resolve")["due_at"]) == resolve_due
    assert no in overdue_list(world, "handler") and overdue_in_reports(world) == (1, [no])


def test_a_clock_paused_before_its_due_time_stands_still_and_may_still_be_extended(world, clock):
    """The control: suspended in time, the clock is paused with its time left, so the original due moment passing
    during the suspension is not lateness, and the pending extension may be approved."""
    clock.set(MON)
    no = handling_case(world)
    world.act(no, "request_extension", "handler", days=3, reason="需协调")
    world.act(no, "suspend", "handler", reason="等待材料")
    resolve_due = end_of_working_days(MON.date(), 15)
    clock.set(resolve_due + timedelta(days=2))
    case = world.get(no, "supervisor")
    assert clock_of(case, "resolve")["status"] == "paused" and "approve_extension" in actions(case)
    assert no not in overdue_list(world, "supervisor") and overdue_in_reports(world) == (0, [])
    approved = world.act(no, "approve_extension", "supervisor")
    assert clock_of(approved, "resolve")["extended_days"] == 3
    resumed = world.act(no, "resume", "handler")  # Thursday 27 November, 00:00
    # What was left at the pause (Monday 10:00-24:00 and 15 working days) plus the 3 approved: 18 working days and
    # 14 hours from Thursday 00:00 end on Tuesday 23 December at 14:00.
    assert ts(clock_of(resumed, "resolve")["due_at"]) == sh(2025, 12, 23, 14)
    assert clock_of(resumed, "resolve")["status"] == "running"


def _run_migration(engine: Any, file_suffix: str) -> None:
    """Run one migration's upgrade() on the database as it is (the data step alone, leaving the version table)."""
    (path,) = (PROJECT_ROOT / "alembic" / "versions").glob(f"*{file_suffix}")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
        module.upgrade()


def test_the_migration_sets_clocks_paused_past_due_by_older_code_running_again(app: Any, world, clock):
    clock.set(MON)
    no = handling_case(world)
    fresh = handling_case(world)  # suspended in time: its paused clock stays paused
    resolve_due = end_of_working_days(MON.date(), 15)
    world.act(fresh, "suspend", "handler", reason="等待材料")
    clock.set(resolve_due + timedelta(hours=2))
    world.act(no, "suspend", "handler", reason="等待诉求人补充材料")
    # What older code wrote for `no`: the resolve clock paused past its due time, the case off every due column.
    engine = app.state.engine
    with engine.begin() as connection:
        case_id = connection.execute(text("SELECT id FROM cases WHERE case_no = :no"), {"no": no}).scalar_one()
        connection.execute(
            text(
                "UPDATE case_clocks SET paused_at = due_at, remaining_seconds = 0 "
                "WHERE case_id = :id AND name = 'resolve'"
            ),
            {"id": case_id},
        )
        connection.execute(
            text("UPDATE cases SET next_due_at = :none, next_warn_at = :none WHERE id = :id"),
            {"none": NO_DUE.replace(tzinfo=None), "id": case_id},
        )
    assert no not in overdue_list(world, "handler")  # the hidden case the issue reports

    _run_migration(engine, "_overdue_clocks_stay_running.py")

    case = world.get(no, "handler")
    resolve = clock_of(case, "resolve")
    assert (resolve["status"], resolve["paused_at"], ts(case["next_due_at"])) == ("overdue", None, resolve_due)
    assert no in overdue_list(world, "handler") and fresh not in overdue_list(world, "handler")
    assert clock_of(world.get(fresh, "handler"), "resolve")["status"] == "paused"
