"""SLA clocks: start, stop, pause, resume and extend them as the workflow says, and read what is left."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from grievance.cases.deadlines import late_by
from grievance.cases.models import NO_DUE, Case, CaseClock
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.context import ActionContext
from grievance.workflow.definition import NODE_CLOCK_SEPARATOR, RESOLVE_CLOCK, ClockDef, WorkflowDef, is_node_clock


def _unit(clock: CaseClock) -> str:
    return clock.limit_text.split(" ", 1)[1]


def _warn(calendar: WorkCalendar, definition: ClockDef, unit: str, start: datetime, due: datetime) -> datetime:
    """When `warn_at` of the time is used: counted in working time for working-day limits, so a
    holiday inside the window does not bring the warning forward."""
    if unit == "working_days":
        return calendar.add_working_seconds(start, definition.warn_at * calendar.working_seconds_between(start, due))
    return start + (due - start) * definition.warn_at


def _shift(calendar: WorkCalendar, unit: str, moment: datetime, paused_at: datetime, now: datetime) -> datetime:
    """Where a moment after the pause lands once the clock resumes at `now` (working or wall time)."""
    if unit == "working_days":
        return calendar.add_working_seconds(now, calendar.working_seconds_between(paused_at, moment))
    return now + (moment - paused_at)


def start_clock(ctx: ActionContext, name: str, definition: ClockDef) -> None:
    case = ctx.case
    rule = definition.limit_for(urgency=case.urgency, case_type=case.case_type, channel=case.channel)
    due = ctx.calendar.add(ctx.now, rule.amount, rule.unit)
    warn = _warn(ctx.calendar, definition, rule.unit, ctx.now, due)
    limit_text = f"{rule.amount:g} {rule.unit}"
    if name == RESOLVE_CLOCK and case.external_due_at is not None and case.external_due_at < due:
        # A work order from another system (the 12345 platform) is assessed on that system's deadline: the case
        # must be resolved by the earlier of the two, so queues, board, sweeper and the on-time rate read it.
        due = case.external_due_at
        warn = _warn(ctx.calendar, definition, rule.unit, ctx.now, due) if due > ctx.now else due
        # The limit is that day, not N units: pages say "by <day>", and a calendar change never moves it
        # (calendar_service moves only limits given as an amount).
        limit_text = f"{due.astimezone(ctx.calendar.tz).date().isoformat()} {rule.unit}"
    _start_round(ctx, name, definition, due=due, warn=warn, limit_text=limit_text)


def _start_round(
    ctx: ActionContext, name: str, definition: ClockDef, *, due: datetime, warn: datetime, limit_text: str
) -> CaseClock:
    """Start clock `name` afresh (a new row, or a new round of an existing one), due at `due`, warning at `warn`."""
    values = {
        "limit_text": limit_text,
        "owner": definition.owner,
        "started_at": ctx.now,
        "base_due_at": due,
        "due_at": due,
        "warn_at": warn,
        "paused_at": None,
        "remaining_seconds": None,
        "stopped_at": None,
        "extended_days": 0,
        # A new round (re-dispatch, reopen): the sweeper urges it and records it overdue afresh
        # (grievance/supervision/sweeper.py).
        "auto_urged_at": None,
        "overdue_noted_at": None,
    }
    clock = ctx.clocks.get(name)
    if clock is None:
        clock = CaseClock(case_id=ctx.case.id, name=name, **values)  # type: ignore[arg-type]
        if ctx.case.id is not None:  # a case being created adds its clocks once it has an id
            ctx.session.add(clock)
        ctx.clocks[name] = clock
    else:
        for key, value in values.items():
            setattr(clock, key, value)
    return clock


def start_node_clock(ctx: ActionContext, name: str, definition: ClockDef, due: datetime, limit_text: str) -> None:
    """Start (or restart, as a new round the sweeper urges afresh) the clock of one node of a key case's plan, row
    `name` (definition.node_clock_name) of the workflow's `per: node` clock, due at `due` (UTC); `limit_text` says
    how it was set ("5 working_days", or "2025-10-31 days" for a day: calendar changes leave that one alone)."""
    unit = limit_text.split(" ", 1)[1]
    warn = _warn(ctx.calendar, definition, unit, ctx.now, due)
    clock = _start_round(ctx, name, definition, due=due, warn=warn, limit_text=limit_text)
    ctx.session.add(clock)


def start_part_clock(ctx: ActionContext, name: str, definition: ClockDef) -> CaseClock:
    """Start (or restart, as a new round) the clock of one assisting department's part, row `name`
    (definition.part_clock_name) of the workflow's `per: part` clock, from now for the limit the clock gives this
    case (its urgency, type, channel). Returns the row."""
    case = ctx.case
    rule = definition.limit_for(urgency=case.urgency, case_type=case.case_type, channel=case.channel)
    due = ctx.calendar.add(ctx.now, rule.amount, rule.unit)
    warn = _warn(ctx.calendar, definition, rule.unit, ctx.now, due)
    clock = _start_round(ctx, name, definition, due=due, warn=warn, limit_text=f"{rule.amount:g} {rule.unit}")
    ctx.session.add(clock)
    return clock


def stop_node_clock(ctx: ActionContext, clock: CaseClock) -> None:
    """A node completed or removed, or a part reported, waived or withdrawn: its clock stops now (met by its due
    time, or late)."""
    _resume_if_paused(ctx.calendar, clock, ctx.now)
    clock.stopped_at = ctx.now
    ctx.session.add(clock)


def is_dated(clock: CaseClock) -> bool:
    """Whether the clock runs to a fixed date (a node due "by 2025-10-31": limit text "2025-10-31 days") rather than
    for an amount of time: such a clock never pauses (a suspension does not move a date) and calendar changes leave
    it alone."""
    first = clock.limit_text.split(" ", 1)[0]
    return len(first) == 10 and first[4] == "-" and first[7] == "-"


def _apply_node_clocks(ctx: ActionContext, name: str, definition: ClockDef) -> None:
    """A `per: node` (or `per: part`) clock's pause and resume apply to every node's (part's) row: a suspended
    case's nodes and parts wait too, except a node due by a date (is_dated): its date does not move."""
    prefix = f"{name}{NODE_CLOCK_SEPARATOR}"
    for clock in [c for key, c in ctx.clocks.items() if key.startswith(prefix) and c.stopped_at is None]:
        if is_dated(clock) and clock.paused_at is None:
            continue
        if ctx.action in definition.pause and clock.paused_at is None and ctx.now < clock.due_at:
            clock.remaining_seconds = ctx.calendar.remaining(ctx.now, clock.due_at, _unit(clock))
            clock.paused_at = ctx.now
        elif ctx.action in definition.resume and clock.paused_at is not None:
            _resume_if_paused(ctx.calendar, clock, ctx.now)


def apply_clocks(ctx: ActionContext, final: bool) -> None:
    """Move every clock of the workflow as the action requires; a final state stops them all (nodes' included).
    A node whose clock's due time moved (resumed after a suspension, stopped while paused) gets the same due time
    (mirror_node_dues), in the same transaction."""
    before = {key: c.due_at for key, c in ctx.clocks.items() if is_node_clock(key)}
    for name, definition in ctx.workflow.clocks.items():
        if definition.per in ("node", "part"):
            _apply_node_clocks(ctx, name, definition)
            continue
        clock = ctx.clocks.get(name)
        running = clock is not None and clock.stopped_at is None
        if ctx.action in definition.stop and running and _stops(ctx, definition):
            assert clock is not None
            _resume_if_paused(ctx.calendar, clock, ctx.now)
            clock.stopped_at = ctx.now
        elif ctx.action in definition.pause and running and clock and clock.paused_at is None:
            # A clock already past its due time is not paused: the time is missed, so the case stays overdue in
            # the lists and the reports alike, and no extension can be approved after the fact (DOMAIN.md).
            if ctx.now < clock.due_at:
                clock.remaining_seconds = ctx.calendar.remaining(ctx.now, clock.due_at, _unit(clock))
                clock.paused_at = ctx.now
        elif ctx.action in definition.resume and running and clock and clock.paused_at is not None:
            _resume_if_paused(ctx.calendar, clock, ctx.now)
        elif ctx.action in definition.extend and running and clock and ctx.extension_days:
            # The new due time is the end of the Nth working (or calendar) day after the old one.
            unit = "days" if _unit(clock) == "days" else "working_days"
            old_due = clock.due_at
            clock.due_at = ctx.calendar.add(old_due - timedelta(seconds=1), ctx.extension_days, unit)
            if clock.paused_at is not None:
                # A paused clock resumes from what was left: the extension adds to that.
                clock.remaining_seconds = (clock.remaining_seconds or 0.0) + ctx.calendar.remaining(
                    old_due, clock.due_at, _unit(clock)
                )
            clock.extended_days += ctx.extension_days
            clock.warn_at = _warn(ctx.calendar, definition, _unit(clock), clock.started_at, clock.due_at)
        if ctx.action in definition.start:
            start_clock(ctx, name, definition)
    if final:
        for clock in ctx.clocks.values():
            if clock.stopped_at is None:
                _resume_if_paused(ctx.calendar, clock, ctx.now)
                clock.stopped_at = ctx.now
    moved = {key: c.due_at for key, c in ctx.clocks.items() if key in before and c.due_at != before[key]}
    if moved:
        mirror_node_dues(ctx.session, ctx.workflow, ctx.case.id, moved)
    refresh_next_due(ctx.case, ctx.clocks.values())


def mirror_node_dues(session: Any, workflow: WorkflowDef, case_id: int | None, dues: dict[str, datetime]) -> int:
    """The one place a node's due time follows its clock after the node was set (docs/key-cases.md): `dues` maps
    the sub-clock rows of the case whose due time moved ({"node:2": new due UTC}; part clocks are ignored, their
    parts read the clock) to their new due times; each node of the workflow's `per: node` clock gets its row's.
    Every reader of case_nodes.due_at (case page and API, board, leader's page, dispatch sheet, battle map, report)
    then says what the sweeper enforces. No-op without a session (a replay) or a per-node clock. Returns how many
    nodes moved. Reads with autoflush off (the engine flushes the case once)."""
    from grievance.keycases.models import CaseNode

    base = next((name for name, c in workflow.clocks.items() if c.per == "node"), None)
    if session is None or case_id is None or base is None:
        return 0
    prefix = f"{base}{NODE_CLOCK_SEPARATOR}"
    by_seq = {
        int(k[len(prefix) :]): due for k, due in dues.items() if k.startswith(prefix) and k[len(prefix) :].isdigit()
    }
    if not by_seq:
        return 0
    moved = 0
    with session.no_autoflush:
        nodes = session.exec(
            select(CaseNode).where(CaseNode.case_id == case_id, col(CaseNode.seq).in_(sorted(by_seq)))
        ).all()
        for node in nodes:
            if node.due_at != by_seq[node.seq]:
                node.due_at = by_seq[node.seq]
                session.add(node)
                moved += 1
    return moved


def _stops(ctx: ActionContext, definition: ClockDef) -> bool:
    """Whether this action (one of the clock's `stop`) stops it: always, unless the clock's `stop_if` names a bool
    field of the action that must be true (an unreached callback is an attempt and leaves the callback clock
    running, its due time unchanged)."""
    field = definition.stop_if.get(ctx.action)
    return field is None or (ctx.payload or {}).get(field) is True


def _resume_if_paused(calendar: WorkCalendar, clock: CaseClock, now: datetime) -> None:
    if clock.paused_at is None:
        return
    if is_dated(clock):  # paused by older code: a date does not move, the clock just runs on to it
        clock.paused_at = None
        clock.remaining_seconds = None
        return
    remaining = clock.remaining_seconds or 0.0
    unit = _unit(clock)
    if unit == "working_days":
        clock.due_at = calendar.add_working_seconds(now, remaining)
    else:
        clock.due_at = now + timedelta(seconds=remaining)
    # The warning moves with the due time; one already passed at the pause stays passed.
    if clock.warn_at > clock.paused_at:
        clock.warn_at = _shift(calendar, unit, clock.warn_at, clock.paused_at, now)
    clock.paused_at = None
    clock.remaining_seconds = None


def refresh_next_due(case: Case, clocks: Iterable[CaseClock]) -> None:
    """Keep the case's earliest running due times in columns, so queues sort by them through an index:
    the department's clocks in next_due_at/next_warn_at, the centre's (callback...) in centre_due_at. The nodes'
    clocks of a key case count in none of them: a late node changes no list's due time nor any rate."""
    running = [c for c in clocks if c.stopped_at is None and c.paused_at is None and not is_node_clock(c.name)]
    department = [c for c in running if c.owner != "centre"]
    case.next_due_at = min((c.due_at for c in department), default=NO_DUE)
    case.next_warn_at = min((c.warn_at for c in department), default=NO_DUE)
    case.centre_due_at = min((c.due_at for c in running if c.owner == "centre"), default=NO_DUE)


def clock_status(clock: CaseClock, calendar: WorkCalendar, now: datetime) -> dict[str, object]:
    """What a person needs to know of a clock: due, how much is left (seconds, working seconds for a working-day
    limit), late or not. An overdue clock says how late in `late_by` whole units of its limit, counted as every
    list counts it (cases/deadlines.late_by: a begun unit counts; 0 when none has begun, a clock due Friday 24:00
    read on Saturday), so the case page and the lists say the same; None when not overdue."""
    unit = _unit(clock)
    if clock.stopped_at is not None:
        status = "met" if clock.stopped_at <= clock.due_at else "met_late"
        remaining = None
    elif clock.paused_at is not None:
        status, remaining = "paused", clock.remaining_seconds
    else:
        remaining = calendar.remaining(now, clock.due_at, unit)
        status = "overdue" if now >= clock.due_at else ("due_soon" if now >= clock.warn_at else "running")
    return {
        "name": clock.name,
        "owner": clock.owner,
        "limit": clock.limit_text,
        "unit": unit,
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "base_due_at": clock.base_due_at,
        "extended_days": clock.extended_days,
        "stopped_at": clock.stopped_at,
        "paused_at": clock.paused_at,
        "status": status,
        "remaining_seconds": remaining,
        "late_by": late_by(calendar, clock.due_at, now, unit) if status == "overdue" else None,
        "remaining_working_days": (
            round(remaining / 86400, 2) if remaining is not None and unit == "working_days" else None
        ),
    }
