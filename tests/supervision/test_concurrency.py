"""Sweepers side by side: two at once never urge one clock twice (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the
write lock serialises them); a case a person's action holds is skipped and taken at the next sweep; a person who
read the case before the sweep gets a 409; the loop survives a failed sweep and stops when told."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
from sqlmodel import select

from grievance.cases.models import Case
from grievance.errors import StaleVersion
from grievance.supervision import SweepResult, run_sweeper, sweep_once
from grievance.users.models import User
from grievance.workflow import engine
from tests.factories import World
from tests.supervision.helpers import case_row, clock_of, dispatched, local, sweep, system_events

ACCEPT_WARN = local(2025, 9, 30, 16, 24)  # accept and respond of a case dispatched Monday 10:00: 80% used
OVERDUE_AT = local(2025, 10, 1, 0, 0)  # ... and their due time (the end of Tuesday 09-30)


def _race(app: Any, now: datetime) -> list[SweepResult]:
    """Two sweepers started together at `now`, then one more sweep for what a held case left."""
    start = threading.Barrier(2)
    results: list[SweepResult] = []
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            start.wait()
            # One clock per batch: many short transactions, so the two interleave.
            results.append(sweep_once(app.state.sessions, app.state.runtime, now, batch_size=1))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    # A clock whose case the other sweeper held at that moment waits for the next sweep.
    return [*results, sweep(app, now)]


def test_two_sweepers_at_once_never_urge_one_clock_twice(world: World, app) -> None:  # type: ignore[no-untyped-def]
    cases = [dispatched(world, title=f"井盖缺失 {i}") for i in range(20)]
    assert sum(r.urged for r in _race(app, ACCEPT_WARN)) == 40
    assert sum(r.overdue for r in _race(app, OVERDUE_AT)) == 40
    per_clock = Counter((e.case_id, e.payload["clock"], e.action) for e in system_events(app))
    assert len(per_clock) == 80 and set(per_clock.values()) == {1}
    assert {case_row(app, no).urge_count for no in cases} == {2}


@pytest.mark.postgresql
def test_a_case_held_by_an_action_is_skipped_and_taken_at_the_next_sweep(world: World, app, database) -> None:  # type: ignore[no-untyped-def]
    if database.backend != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite serialises whole transactions)")
    held, free = dispatched(world), dispatched(world, title="另一件")
    holder = app.state.sessions()
    try:
        holder.exec(select(Case).where(Case.case_no == held).with_for_update()).one()  # an action mid-way
        assert sweep(app, ACCEPT_WARN) == SweepResult(urged=2, skipped=1)
        assert {e.case_id for e in system_events(app)} == {case_row(app, free).id}
    finally:
        holder.rollback()
        holder.close()
    assert sweep(app, ACCEPT_WARN) == SweepResult(urged=2)
    assert clock_of(app, held, "accept").auto_urged_at == ACCEPT_WARN


@pytest.mark.postgresql
def test_an_action_that_read_the_case_before_the_sweep_gets_a_conflict(world: World, app, database) -> None:  # type: ignore[no-untyped-def]
    if database.backend != "postgresql":
        pytest.skip("SQLite: the action's transaction holds the write lock from its first read")
    no = dispatched(world)
    session = app.state.sessions()
    try:
        case = session.exec(select(Case).where(Case.case_no == no)).one()
        handler = session.exec(select(User).where(User.username == "handler")).one()
        assert sweep(app, ACCEPT_WARN) == SweepResult(urged=2)  # commits while the action is under way
        with pytest.raises(StaleVersion):
            engine.fire(session, app.state.runtime, case=case, action="accept", actor=handler, now=ACCEPT_WARN)
    finally:
        session.rollback()
        session.close()
    assert case_row(app, no).state == "dispatched" and case_row(app, no).urge_count == 2


def _fast(runtime: Any) -> Any:
    settings = runtime.settings.model_copy(update={"sweep_interval_seconds": 0.01})
    return dataclasses.replace(runtime, settings=settings)


def test_the_loop_survives_a_failed_sweep_and_stops_when_told(app) -> None:  # type: ignore[no-untyped-def]
    stop = threading.Event()
    calls: list[int] = []

    def flaky(sessions: Any, runtime: Any) -> SweepResult:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        if len(calls) == 3:
            stop.set()
        return SweepResult()

    run_sweeper(app.state.sessions, _fast(app.state.runtime), stop, sweep=flaky)
    assert len(calls) == 3


def test_a_busy_database_is_one_warning_line_a_fault_a_traceback(app, caplog) -> None:  # type: ignore[no-untyped-def]
    """While a long write holds the database the loop says so in one line; anything else keeps its traceback."""
    import sqlite3

    from sqlalchemy import exc as sa_exc

    stop = threading.Event()
    calls: list[int] = []

    def failing(sessions: Any, runtime: Any) -> SweepResult:
        calls.append(1)
        if len(calls) == 1:
            raise sa_exc.OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
        if len(calls) == 2:
            raise RuntimeError("a bug")
        stop.set()
        return SweepResult()

    with caplog.at_level("WARNING", logger="grievance"):
        run_sweeper(app.state.sessions, _fast(app.state.runtime), stop, sweep=failing)
    busy, fault = [r for r in caplog.records if "sweep" in r.getMessage()][:2]
    assert busy.levelname == "WARNING" and busy.exc_info is None and "busy" in busy.getMessage()
    assert fault.levelname == "ERROR" and fault.exc_info is not None


def test_the_loop_urges_on_its_own(world: World, app, clock) -> None:  # type: ignore[no-untyped-def]
    no = dispatched(world)
    clock.set(ACCEPT_WARN)
    stop = threading.Event()
    thread = threading.Thread(target=run_sweeper, args=(app.state.sessions, _fast(app.state.runtime), stop))
    thread.start()
    try:
        deadline = datetime.now().timestamp() + 20
        while len(system_events(app, no)) < 2 and datetime.now().timestamp() < deadline:
            stop.wait(0.02)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert sorted(e.payload["clock"] for e in system_events(app, no)) == ["accept", "respond"]
