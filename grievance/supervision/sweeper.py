"""The supervision sweeper: finds the running clocks whose warning or due time has passed and records, once per
clock round, the automatic 催办 (`auto_urge`) and the overdue notice (`overdue`) as case events, so that the
outbox (grievance/outbox/writer.py) tells the department's group without anyone pressing a button.

The rule is DOMAIN.md's supervise row: urge when 80% of the time is used (the clock's `warn_at`, which
grievance/workflow/clocks.py counts in working time for a working-day limit, so a holiday inside the window does
not bring it forward; the fraction is the workflow's `warn_at`, default 0.8) and overdue the moment the due time
passes (`due_at <= now`, as clock_status and the lists count it).

Decisions, written down once:
- Once per round: the marks CaseClock.auto_urged_at and overdue_noted_at say it was done; a clock that starts
  again (re-dispatch, reopen: clocks.start_clock) clears them. An extension or a pause/resume is the same round:
  an urged clock is not urged again at its moved warning time.
- A clock found already past its due time (the sweeper was down, or a limit shorter than the sweep interval) gets
  the overdue record only, not an urge as well: an urge then would say "80% used" of a time that is over.
- Urges go to departments: only the department's clocks (owner "department") of a case that has a department
  are urged; a case not yet dispatched (received, returned, in the pool) has nobody to urge. The centre's own
  clock (回访, owner "centre") is the centre's lateness: it gets the overdue record, never an urge.
- Paused (中止) and stopped clocks are neither urged nor recorded overdue.
- A key case's nodes (issue 12) each run a clock of their own ("node:<seq>"): they are urged and recorded overdue
  like any department clock, under the same event names (auto_urge, overdue), the payload naming the node. So do
  the assisting departments' parts ("part:<seq>", keycases/parts.py), the payload naming the part and its
  department.
- An automatic urge counts like a manual one (Case.urge_count += 1; the board splits the two by the events).
  Neither event changes a fact the rates read (case_states), so no CaseState row is written. Both bump the
  case's version as engine.fire does, so a person acting on a case read before the sweep gets a 409 instead of
  a lost update.

Several processes may sweep at once on PostgreSQL: each batch (BATCH_SIZE clocks, one transaction) takes its
clock rows with SELECT ... FOR UPDATE SKIP LOCKED and then the case row with FOR UPDATE SKIP LOCKED; the marks are
checked on the locked rows, so no clock is urged twice. A case locked by a person's action at that moment is
skipped this round and retried at the next sweep. SQLite has no row locks: each batch transaction begins with
BEGIN IMMEDIATE (grievance/db.py), which serialises sweepers and actions alike; run one sweeper there."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, or_
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from grievance.cases.models import Case, CaseClock, CaseEvent
from grievance.db import is_busy, transaction
from grievance.keycases.models import CaseNode, CasePart
from grievance.workflow.definition import NODE_CLOCK_SEPARATOR, is_node_clock
from grievance.workflow.engine import Runtime

log = logging.getLogger(__name__)

AUTO_URGE = "auto_urge"
OVERDUE = "overdue"
CENTRE = "centre"  # a clock's owner: the centre's own time (回访), as ClockDef.owner says
BATCH_SIZE = 200  # clocks per transaction: short locks, and a crash loses at most one batch's work


@dataclass(frozen=True)
class SweepResult:
    """What one sweep recorded: automatic urges, overdue notices, and cases skipped because a concurrent action
    held them (retried at the next sweep)."""

    urged: int = 0
    overdue: int = 0
    skipped: int = 0

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(self.urged + other.urged, self.overdue + other.overdue, self.skipped + other.skipped)


class StopEvent(Protocol):
    """What run_sweeper needs of its stop signal (a threading.Event)."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def sweep_once(
    sessions: sessionmaker[Session], runtime: Runtime, now: datetime | None = None, *, batch_size: int = BATCH_SIZE
) -> SweepResult:
    """One pass over the running clocks as of `now` (UTC; default runtime.now()): an `auto_urge` event for each
    department clock of a dispatched case whose warning time has passed (warn_at <= now < due_at) and that was
    not urged this round, an `overdue` event for each clock whose due time has passed (due_at <= now) and that
    was not recorded overdue this round. Events have no actor and the payload {"automatic": true, "clock": name,
    "due_at": ISO UTC}. Works in batches of `batch_size` clocks, each its own transaction (committed here: the
    sweeper is its own request). Raises what the database raises (DatabaseBusy...) for the caller to retry;
    run_sweeper never lets it end the loop."""
    now = now or runtime.now()
    total = SweepResult()
    after_id = 0
    while True:
        with transaction(sessions) as session:
            clocks = _due_clocks(session, now, after_id, batch_size)
            if clocks:
                after_id = clocks[-1].id or after_id
                total += _sweep_batch(session, clocks, now, runtime.workflows.definitions)
        if len(clocks) < batch_size:
            break
    if total.urged or total.overdue or total.skipped:
        log.info(
            "督办巡查：自动催办 %s 件次，超期记录 %s 件次，跳过 %s 件 (sweep: %s urged, %s overdue, %s skipped)",
            total.urged,
            total.overdue,
            total.skipped,
            total.urged,
            total.overdue,
            total.skipped,
        )
    return total


def run_sweeper(
    sessions: sessionmaker[Session],
    runtime: Runtime,
    stop_event: StopEvent,
    *,
    sweep: Callable[[sessionmaker[Session], Runtime], Any] | None = None,
) -> None:
    """Sweep now and then every Settings.sweep_interval_seconds until `stop_event` is set (`grievance sweep` and
    the in-process background job of `serve`). A failed sweep (database busy or down, anything) is logged and
    the loop goes on: the next sweep picks up what this one left. `sweep` replaces sweep_once (tests)."""
    interval = runtime.settings.sweep_interval_seconds
    sweep = sweep or sweep_once
    while not stop_event.is_set():
        try:
            sweep(sessions, runtime)
        except Exception as exc:  # never end the loop: a sweep that failed is retried at the next interval
            if is_busy(exc):  # a long write or a restart: expected now and then, one line (no traceback)
                log.warning(
                    "数据库正忙，督办巡查将在下次重试 (the database is busy; the sweep retries at the next interval)"
                )
            else:
                log.exception(
                    "督办巡查失败，将在下次重试 (the supervision sweep failed; retrying at the next interval)"
                )
        stop_event.wait(interval)


def _due_clocks(session: Session, now: datetime, after_id: int, limit: int) -> list[CaseClock]:
    """The next batch of clocks (id order, ids above `after_id`) with an urge or an overdue notice to record,
    locked for this transaction; rows another sweeper or an action holds are skipped (PostgreSQL)."""
    urge_due = and_(
        CaseClock.owner != CENTRE,
        col(CaseClock.warn_at) <= now,
        col(CaseClock.due_at) > now,
        col(CaseClock.auto_urged_at).is_(None),
        col(Case.department_id).is_not(None),
    )
    overdue_due = and_(col(CaseClock.due_at) <= now, col(CaseClock.overdue_noted_at).is_(None))
    statement = (
        select(CaseClock)
        .join(Case, col(Case.id) == CaseClock.case_id)
        .where(
            col(CaseClock.id) > after_id,
            col(CaseClock.stopped_at).is_(None),
            col(CaseClock.paused_at).is_(None),
            or_(urge_due, overdue_due),
        )
        .order_by(col(CaseClock.id))
        .limit(limit)
        .with_for_update(of=CaseClock, skip_locked=True)  # type: ignore[arg-type]
        .execution_options(populate_existing=True)
    )
    return list(session.exec(statement).all())


def _sweep_batch(
    session: Session, clocks: list[CaseClock], now: datetime, workflows: dict[str, Any] | None = None
) -> SweepResult:
    by_case: dict[int, list[CaseClock]] = {}
    for clock in clocks:
        by_case.setdefault(clock.case_id, []).append(clock)
    result = SweepResult()
    for case_id, case_clocks in by_case.items():
        case = session.exec(
            select(Case)
            .where(col(Case.id) == case_id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).first()
        if case is None:  # a person's action holds the case right now: next sweep
            result += SweepResult(skipped=1)
            continue
        try:
            with session.begin_nested():
                result += _record(session, case, case_clocks, now, workflows or {})
                session.flush()
        except StaleDataError:
            result += SweepResult(skipped=1)
        except DBAPIError as exc:  # a lock wait that timed out or a deadlock: this case waits for the next sweep
            if not is_busy(exc):
                raise
            result += SweepResult(skipped=1)
    return result


def _record(
    session: Session, case: Case, clocks: list[CaseClock], now: datetime, workflows: dict[str, Any]
) -> SweepResult:
    """The events of one case's due clocks, on locked rows: the marks are read here, inside the lock."""
    urged = overdue = 0
    for clock in clocks:
        if clock.stopped_at is not None or clock.paused_at is not None:
            continue
        if clock.due_at <= now:
            if clock.overdue_noted_at is None:
                _add_event(session, case, clock, OVERDUE, now, workflows)
                clock.overdue_noted_at = now
                overdue += 1
        elif (
            clock.warn_at <= now
            and clock.auto_urged_at is None
            and clock.owner != CENTRE
            and case.department_id is not None
        ):
            _add_event(session, case, clock, AUTO_URGE, now, workflows)
            clock.auto_urged_at = now
            case.urge_count += 1
            urged += 1
    if urged or overdue:
        # The version moves as with every action (engine.fire), even for an overdue notice that changes no column.
        flag_modified(case, "state")
        session.add(case)
    return SweepResult(urged=urged, overdue=overdue)


def _add_event(
    session: Session, case: Case, clock: CaseClock, action: str, now: datetime, workflows: dict[str, Any]
) -> None:
    session.add(clock)
    payload: dict[str, Any] = {"automatic": True, "clock": clock.name, "due_at": clock.due_at.isoformat()}
    payload.update(_node_of(session, case, clock, workflows))
    session.add(
        CaseEvent(
            case_id=case.id,  # type: ignore[arg-type]
            action=action,
            from_state=case.state,
            to_state=case.state,
            actor_id=None,
            at=now,
            payload=payload,
        )
    )


def _node_of(session: Session, case: Case, clock: CaseClock, workflows: dict[str, Any]) -> dict[str, Any]:
    """A node's clock (issue 12: "node:<seq>", workflow/definition.is_node_clock) is urged and recorded overdue under
    the same event names as every clock, so subscriptions and the outbox need no new name; the payload names the
    node ({"node": seq, "node_name": name}). Empty for the case's own clocks."""
    if not is_node_clock(clock.name):
        return {}
    seq_text = clock.name.rsplit(NODE_CLOCK_SEPARATOR, 1)[1]
    if not seq_text.isdigit():
        return {}
    seq = int(seq_text)
    part = session.exec(select(CasePart).where(CasePart.case_id == case.id, CasePart.seq == seq)).first()
    node = session.exec(select(CaseNode).where(CaseNode.case_id == case.id, CaseNode.seq == seq)).first()
    if part is not None and _per(workflows, case, clock.name) == "part":
        # An assisting department's part (协办, "part:<seq>"): the payload names the part and its department, so
        # the outbox tells that department too ({"part": seq, "part_department_id": id}).
        return {"part": seq, "part_department_id": part.department_id}
    return {"node": seq, "node_name": node.name if node else ""}


def _per(workflows: dict[str, Any], case: Case, clock_name: str) -> str:
    """Whether a sub-clock is a node's or a part's, as the case's workflow declares its clock (`per`)."""
    base = clock_name.split(NODE_CLOCK_SEPARATOR, 1)[0]
    definition = workflows.get(case.workflow)
    clock = definition.clocks.get(base) if definition is not None else None
    return clock.per if clock is not None else "node"
