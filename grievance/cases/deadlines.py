"""What a work list says of a case's deadline: which running clocks count for the reader, the earliest due time,
the traffic light and how late it is in the clock's own unit ("超期 3 个工作日"), read for a whole page at once."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from grievance.cases.models import CaseClock
from grievance.glossary import DEPARTMENT_ROLES
from grievance.workflow.calendar import DAY, WorkCalendar

# Seconds in one unit of a clock's limit (working days count working seconds, see WorkCalendar.remaining).
UNIT_SECONDS = {"working_days": DAY, "days": DAY, "hours": 3600.0}


@dataclass(frozen=True)
class Deadline:
    """A case's deadline as a list row shows it. `due_at` (UTC) and `clock` name the earliest running clock that
    counts; `late_by` is how far past its due time that clock is, in whole `late_unit`s rounded up (a clock 2
    working hours late is 1 working day late); 0 when overdue but no time of its unit has passed yet (a clock due
    on Friday, read on Saturday, is 0 working days late; pages say "已超期不足1个工作日"). Every other field is
    None or False when nothing runs."""

    due_at: datetime | None = None
    clock: str | None = None
    overdue: bool = False
    due_soon: bool = False
    paused: bool = False
    late_by: int | None = None
    late_unit: str | None = None


def unit_of(clock: CaseClock) -> str:
    return clock.limit_text.split(" ", 1)[1]


def counts_for(clock: CaseClock, role: str) -> bool:
    """Whose lateness a reader sees: a department its own clocks only (the centre's callback is not its lateness),
    the centre and the other roles every clock of the case (DOMAIN.md: clocks, owner)."""
    return role not in DEPARTMENT_ROLES or clock.owner != "centre"


def running_clocks(session: Session, case_ids: Iterable[int]) -> dict[int, list[CaseClock]]:
    """The clocks not yet stopped of these cases, by case id: one query for a whole page."""
    ids = list(case_ids)
    by_case: dict[int, list[CaseClock]] = {i: [] for i in ids}
    if not ids:
        return by_case
    query = select(CaseClock).where(col(CaseClock.case_id).in_(ids), col(CaseClock.stopped_at).is_(None))
    for clock in session.exec(query):
        by_case[clock.case_id].append(clock)
    return by_case


def late_by(calendar: WorkCalendar, due_at: datetime, now: datetime, unit: str) -> int:
    """How late, the one count of every page (lists and the case page's clocks, workflow/clocks.clock_status):
    whole units (working days on the working-day calendar, calendar days or hours) from `due_at` to `now`, rounded
    up, so a begun unit counts ("已超期 1个工作日" two working hours after the due time); 0 when `now` is not past
    `due_at` or no time of the unit has passed since: due Friday 24:00, read on Saturday or Sunday, a clock is
    late but no working day has begun, and pages say "已超期不足1个工作日" (work/_work.html overdue_by)."""
    seconds = -calendar.remaining(now, due_at, unit)
    return max(0, math.ceil(seconds / UNIT_SECONDS[unit] - 1e-9))


def deadline(clocks: Iterable[CaseClock], role: str, calendar: WorkCalendar, now: datetime) -> Deadline:
    """The deadline a reader of this role sees for a case with these (not stopped) clocks: the earliest due of the
    running ones that count for the role, red if any of them is past due, amber if one has passed its warning
    time. A case whose counting clocks are all paused (中止) is `paused`; one with none has no deadline."""
    counted = [c for c in clocks if c.stopped_at is None and counts_for(c, role)]
    running = [c for c in counted if c.paused_at is None]
    if not running:
        return Deadline(paused=bool(counted))
    first = min(running, key=lambda c: c.due_at)
    late = [c for c in running if now >= c.due_at]
    overdue = bool(late)
    # How late: the clock that has been late longest (the earliest due among the late ones is `first`).
    return Deadline(
        due_at=first.due_at,
        clock=first.name,
        overdue=overdue,
        due_soon=not overdue and any(now >= c.warn_at for c in running),
        late_by=late_by(calendar, first.due_at, now, unit_of(first)) if overdue else None,
        late_unit=unit_of(first) if overdue else None,
    )


def traffic_light(due: Deadline, *, final: bool) -> str:
    """The one traffic light of a list row (case lists, queue, pool, board, callbacks, a meeting's or station's
    register): overdue, due_soon, running, paused (every counting clock paused), finished (a final state with nothing
    running) or none (an open case with no clock running for the reader)."""
    if due.overdue:
        return "overdue"
    if due.due_soon:
        return "due_soon"
    if due.due_at is not None:
        return "running"
    if due.paused:
        return "paused"
    return "finished" if final else "none"
