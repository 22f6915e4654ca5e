"""The battle map (挂图作战, issue 12): every key case's nodes on one time axis, read in a few queries and drawn as a
server-side SVG, so the weekly dispatch meeting looks at one chart on the wall.

Here: `map_filter` reads the page's filters (raising InvalidInput, bilingual, per field) and `load_map` reads the
key cases and their nodes (a fixed number of queries, whatever the number of cases) into a `BattleMap`;
grievance/keycases/battlemap_svg.py lays a BattleMap out (pure: data in, SVG text out).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, col, select

from grievance.cases.access import visibility_filter
from grievance.cases.listing import users_by_id
from grievance.cases.models import AuditEntry, Case, CaseClock
from grievance.db import find_by_ref
from grievance.errors import InvalidInput
from grievance.glossary import KeyReason, NodeStatus, Role
from grievance.input_bounds import day_problem, id_problem
from grievance.keycases.models import CaseNode, CasePart
from grievance.keycases.parts import PartStatus
from grievance.keycases.plan import LEFT_PLAN
from grievance.keycases.service import node_status
from grievance.reference.models import Department
from grievance.reference.schemas import written_day
from grievance.reference.service import names_by_id
from grievance.users.models import User
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.definition import WorkflowDef, node_clock_name

MAX_ROWS = 200  # key cases drawn at most; the map says how many more match
MAX_SPAN_DAYS = 366  # the axis covers at most a year (a bounded picture, a bounded loop)
MARGIN_DAYS = 7  # the default axis: a week before the earliest open node and after the latest due
STATES = ("open", "resolved", "all")
WITHDRAWN_PART = PartStatus.withdrawn.value  # a part taken off the case: its department no longer works it

# Mark kinds (CSS classes on the marks, counted by tests and named in the legend).
MET, DUE, SOON, LATE_OPEN, LATE_DONE = "met", "due", "soon", "late-open", "late-done"
MARK_CLASS = {
    MET: "node-mark node-met",
    DUE: "node-mark node-due",
    SOON: "node-mark node-due node-soon",
    LATE_OPEN: "node-mark node-late node-late-open",
    LATE_DONE: "node-mark node-late node-late-done",
}


@dataclass(frozen=True)
class MapFilter:
    """What the map shows: key cases of one lead leader, of one department (the lead department, a node's
    responsible department or an assisting department's part not withdrawn), of one reason (a KeyReason code),
    `state` open (not resolved and in a state that is not final), resolved (resolved, or ended some other way:
    merged, closed) or all, on the axis `start`..`end` (local days, both included; None: chosen from the nodes)."""

    lead_leader_id: int | None = None
    department_id: int | None = None
    reason: str | None = None
    state: str = "open"
    start: date | None = None
    end: date | None = None


# The filters' names in the whole-form message (the page shows each problem next to its field).
FILTER_NAMES = {
    "lead_leader_id": ("包案领导", "lead_leader_id"),
    "department_id": ("部门", "department_id"),
    "reason": ("重点件原因", "reason"),
    "state": ("办理状态", "state"),
    "from": ("开始日期", "from"),
    "to": ("结束日期", "to"),
}


def _problem(errors: list[dict[str, str]], name: str, zh: str, en: str) -> None:
    errors.append({"field": name, "message": zh, "message_en": en})


def _id(errors: list[dict[str, str]], name: str, text: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        _problem(
            errors, name, f"应为编号（整数），收到“{text[:40]}”", f"expected an id (a whole number), got {text[:40]!r}"
        )
        return None
    problem = id_problem(int(text))
    if problem:
        _problem(errors, name, *problem)
        return None
    return int(text)


def _day(errors: list[dict[str, str]], name: str, text: str) -> date | None:
    if not text:
        return None
    try:
        day = written_day(text) or date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None:
        _problem(
            errors,
            name,
            f"应为日期，如 2025-10-06，收到“{text[:40]}”",
            f"expected a day like 2025-10-06, got {text[:40]!r}",
        )
        return None
    problem = day_problem(day)
    if problem:
        _problem(errors, name, *problem)
        return None
    return day


def _department(session: Session, errors: list[dict[str, str]], text: str) -> int | None:
    """A department by id or code (find_by_ref, as the dispatch sheet and the reports take it)."""
    if not text:
        return None
    found = find_by_ref(session, Department, text[:64], "code")
    if found is None:
        _problem(
            errors,
            "department_id",
            f"没有编号或代码为“{text[:40]}”的部门",
            f"no department has the id or code {text[:40]!r}",
        )
        return None
    return int(found.id)


def map_filter(session: Session, params: Mapping[str, str]) -> MapFilter:
    """The map's filters from a query string: `lead_leader_id` (a user of role leader, deactivated or not),
    `department_id` (a department's id or code), `reason` (a KeyReason code), `state` (open, resolved or all; open when blank), `from` / `to`
    (local days YYYY-MM-DD, also 2025/10/6; `from` not after `to`, at most MAX_SPAN_DAYS days apart). Blank
    values are not given. Raises InvalidInput listing every field it cannot use (field names as above), in
    Chinese and English. Reads the leader and the department (two primary-key reads)."""
    errors: list[dict[str, str]] = []
    given = {
        key: str(params.get(key) or "").strip()
        for key in ("lead_leader_id", "department_id", "reason", "state", "from", "to")
    }
    leader_id = _id(errors, "lead_leader_id", given["lead_leader_id"])
    if leader_id is not None:
        leader = session.get(User, leader_id)
        if leader is None or leader.role != Role.leader:
            _problem(errors, "lead_leader_id", f"没有编号为 {leader_id} 的领导", f"no leader has the id {leader_id}")
    department_id = _department(session, errors, given["department_id"])
    reasons = [r.value for r in KeyReason]
    reason = given["reason"] or None
    if reason is not None and reason not in reasons:
        _problem(
            errors,
            "reason",
            f"重点件原因应为 {'、'.join(reasons)} 之一，收到“{reason[:40]}”",
            f"the reason is one of {', '.join(reasons)}; got {reason[:40]!r}",
        )
    state = given["state"] or "open"
    if state not in STATES:
        _problem(
            errors,
            "state",
            "状态应为 open、resolved 或 all",
            f"state is one of open, resolved, all; got {state[:40]!r}",
        )
    start, end = _day(errors, "from", given["from"]), _day(errors, "to", given["to"])
    if start and end and start > end:
        _problem(errors, "to", "结束日期不能早于开始日期", "`to` may not be before `from`")
    elif start and end and (end - start).days + 1 > MAX_SPAN_DAYS:
        _problem(
            errors,
            "to",
            f"时间轴最长 {MAX_SPAN_DAYS} 天，请缩短日期范围",
            f"the axis covers at most {MAX_SPAN_DAYS} days: choose a shorter range",
        )
    if errors:
        raise InvalidInput(
            "挂图筛选条件有误：" + "；".join(f"{FILTER_NAMES[e['field']][0]}：{e['message']}" for e in errors),
            "invalid battle map filters: "
            + "; ".join(f"{FILTER_NAMES[e['field']][1]}: {e['message_en']}" for e in errors),
            errors,
        )
    return MapFilter(leader_id, department_id, reason, state, start, end)


@dataclass(frozen=True)
class MapNode:
    """A node as the map draws it: `kind` one of MET, DUE, SOON, LATE_OPEN, LATE_DONE; `due_day` the local day it
    is due by (a due time of 24:00 belongs to the day before), `done_day` the local day it was completed on (or
    None), `planned_day` the local day it was set; `late_by` working days past due of an open late node."""

    seq: int
    name: str
    department: str | None
    kind: str
    due_day: date
    done_day: date | None
    planned_day: date
    late_by: int | None = None


@dataclass(frozen=True)
class MapRow:
    """One key case: its number, title, reason code, lead leader's and departments' names, whether it is finished
    (a final state), its nodes in plan order (removed ones left out), and whether its lead leader is active."""

    case_no: str
    title: str
    reason: str
    lead_leader: str | None
    department: str | None
    assisting: tuple[str, ...]
    finished: bool
    nodes: tuple[MapNode, ...]
    lead_leader_active: bool = True  # False: the lead leader's account is deactivated (marked 已停用)


@dataclass(frozen=True)
class BattleMap:
    """What map_svg draws: the rows, the axis `start`..`end` (local days, both included), `now` (UTC, the today
    line), the non-working days of the axis (`off_days`), the time zone and how many cases matched in all
    (`total`; more than len(rows) when MAX_ROWS cut the list)."""

    rows: list[MapRow]
    start: date
    end: date
    now: datetime
    timezone: str
    off_days: frozenset[date] = field(default_factory=frozenset)
    total: int = 0

    @property
    def counts(self) -> dict[str, int]:
        """Marks of each kind drawn on the axis: {"met": n, "due": n, "soon": n, "late-open": n, "late-done": n}."""
        found = dict.fromkeys(MARK_CLASS, 0)
        for row in self.rows:
            for node in row.nodes:
                if self.start <= mark_day(node) <= self.end:
                    found[node.kind] += 1
        return found


def mark_day(node: MapNode) -> date:
    return node.done_day if node.done_day is not None else node.due_day


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _due_day(due_at: datetime, tz: ZoneInfo) -> date:
    return local_day(due_at - timedelta(seconds=1), tz)  # due by 24:00 is due that day


def _where(actor: User, filters: MapFilter, open_states: Collection[str]) -> list[Any]:
    where: list[Any] = [col(Case.key_reason).is_not(None), visibility_filter(actor)]
    if filters.lead_leader_id is not None:
        where.append(Case.lead_leader_id == filters.lead_leader_id)
    if filters.reason is not None:
        where.append(Case.key_reason == filters.reason)
    still_open = and_(col(Case.resolved_at).is_(None), col(Case.state).in_(list(open_states)))
    if filters.state == "open":
        where.append(still_open)
    elif filters.state == "resolved":
        where.append(~still_open)
    if filters.department_id is not None:
        dept = filters.department_id
        node_of_dept = exists().where(
            CaseNode.case_id == Case.id, CaseNode.department_id == dept, col(CaseNode.status).notin_(LEFT_PLAN)
        )
        part_of_dept = exists().where(
            CasePart.case_id == Case.id, CasePart.department_id == dept, CasePart.status != WITHDRAWN_PART
        )
        where.append(or_(Case.department_id == dept, node_of_dept, part_of_dept))
    return where


def load_map(
    session: Session,
    *,
    actor: User,
    filters: MapFilter,
    workflows: Mapping[str, WorkflowDef],
    calendar: WorkCalendar,
    now: datetime,
    timezone: str,
    open_states: Collection[str],
) -> BattleMap:
    """The key cases the actor may list (cases/access.visibility_filter) that match `filters`, at most MAX_ROWS
    (oldest received first, then ordered by their next open node's due day), with their nodes, and the axis.

    A node's kind: met (done by its due time), late-done (done after it), late-open (open and past due), soon (open,
    past its clock's warning time), due (open, in time, or paused with the case). Axis: `filters.start`/`end` when
    given; else from a week before the earliest of the open nodes' set and due days (every node's due day when none
    is open) and today, to a week after the latest due or completion day and today; never more than MAX_SPAN_DAYS.
    `now` UTC; days local in `timezone`. Seven queries whatever the number of cases (cases, count, nodes, node
    clocks, parts, leaders' and departments' names). A confidential case listed here is audited as a list shows it
    (AuditEntry list_confidential): the caller's transaction writes it."""
    tz = ZoneInfo(timezone)
    where = _where(actor, filters, open_states)
    cases = list(
        session.exec(select(Case).where(*where).order_by(col(Case.received_at), col(Case.id)).limit(MAX_ROWS)).all()
    )
    total = len(cases)
    if total == MAX_ROWS:
        total = int(session.exec(select(func.count()).select_from(Case).where(*where)).one())
    ids = [c.id for c in cases if c.id is not None]
    nodes: list[CaseNode] = []
    clocks: dict[tuple[int, str], CaseClock] = {}
    parts: dict[int, list[int]] = {}
    if ids:
        nodes = list(
            session.exec(
                select(CaseNode)
                .where(col(CaseNode.case_id).in_(ids), col(CaseNode.status).notin_(LEFT_PLAN))
                .order_by(col(CaseNode.case_id), col(CaseNode.seq))
            ).all()
        )
        open_case_ids = sorted({n.case_id for n in nodes if n.status == NodeStatus.open})
        if open_case_ids:
            running = select(CaseClock).where(
                col(CaseClock.case_id).in_(open_case_ids), col(CaseClock.stopped_at).is_(None)
            )
            clocks = {(c.case_id, c.name): c for c in session.exec(running).all()}
        for case_id, department_id in session.exec(
            select(CasePart.case_id, CasePart.department_id)
            .where(col(CasePart.case_id).in_(ids), CasePart.status != WITHDRAWN_PART)
            .order_by(col(CasePart.case_id), col(CasePart.seq))
        ).all():
            parts.setdefault(case_id, []).append(department_id)
    leaders = users_by_id(session, {c.lead_leader_id for c in cases if c.lead_leader_id})
    departments = names_by_id(
        session,
        Department,
        [c.department_id for c in cases] + [n.department_id for n in nodes] + [d for ds in parts.values() for d in ds],
    )
    per_node = {
        name: next((clock for clock, d in wf.clocks.items() if d.per == "node"), None) for name, wf in workflows.items()
    }
    by_case: dict[int, list[MapNode]] = {}
    workflow_of = {c.id: c.workflow for c in cases}
    for node in nodes:
        clock_name = per_node.get(workflow_of[node.case_id])
        clock = clocks.get((node.case_id, node_clock_name(clock_name, node.seq))) if clock_name else None
        status, late = node_status(node, clock, calendar, now)
        kind = {"met": MET, "met_late": LATE_DONE, "overdue": LATE_OPEN, "due_soon": SOON}.get(status, DUE)
        by_case.setdefault(node.case_id, []).append(
            MapNode(
                seq=node.seq,
                name=node.name,
                department=departments.get(node.department_id) if node.department_id else None,
                kind=kind,
                due_day=_due_day(clock.due_at if clock is not None else node.due_at, tz),
                done_day=local_day(node.completed_at, tz)
                if node.completed_at and node.status == NodeStatus.done
                else None,
                planned_day=local_day(node.created_at, tz),
                late_by=late,
            )
        )
    rows = [
        MapRow(
            case_no=case.case_no,
            title=case.title,
            reason=str(case.key_reason),
            lead_leader=leaders[case.lead_leader_id][0] if case.lead_leader_id in leaders else None,
            lead_leader_active=leaders[case.lead_leader_id][1] if case.lead_leader_id in leaders else True,
            department=departments.get(case.department_id) if case.department_id else None,
            assisting=tuple(departments.get(d, "?") for d in parts.get(case.id or 0, [])),
            finished=case.resolved_at is not None or case.state not in open_states,
            nodes=tuple(by_case.get(case.id or 0, [])),
        )
        for case in cases
    ]
    confidential = [c.id for c in cases if c.confidential]
    if confidential:  # a confidential case seen on the map is a view, as in any list (信访工作条例)
        session.add_all(AuditEntry(user_id=actor.id, action="list_confidential", case_id=i) for i in confidential)
    rows.sort(
        key=lambda r: (
            min((n.due_day for n in r.nodes if n.kind in (DUE, SOON, LATE_OPEN)), default=date.max),
            r.case_no,
        )
    )
    start, end = axis(rows, local_day(now, tz), filters.start, filters.end, every_node=filters.state != "open")
    off = frozenset(d for d in days_of(start, end) if not calendar.is_workday(d))
    return BattleMap(rows=rows, start=start, end=end, now=now, timezone=timezone, off_days=off, total=total)


def days_of(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def axis(
    rows: list[MapRow],
    today: date,
    start: date | None = None,
    end: date | None = None,
    *,
    every_node: bool = False,
) -> tuple[date, date]:
    """The axis' first and last local day: those given, else MARGIN_DAYS before the earliest open node's set or due
    day (every node's due day when none is open; today when there is no node) and after the latest due or completion
    day, today always inside. `every_node` (the map of state all or resolved): from the earliest of every drawn
    node's set, due and completion days, so no node falls off the left edge. At most MAX_SPAN_DAYS long: a default
    range that would be longer keeps today and what follows it; a bound given alone keeps the other one's default
    unless that falls on the wrong side."""
    nodes = [n for r in rows for n in r.nodes]
    open_nodes = [n for n in nodes if n.kind in (DUE, SOON, LATE_OPEN)]
    if every_node:
        firsts = [min(n.planned_day, n.due_day, n.done_day or n.due_day) for n in nodes]
    else:
        firsts = [min(n.planned_day, n.due_day) for n in open_nodes] or [n.due_day for n in nodes]
    lasts = [max(n.due_day, n.done_day or n.due_day) for n in nodes]
    first = min([*firsts, today]) - timedelta(days=MARGIN_DAYS)
    last = max([*lasts, today]) + timedelta(days=MARGIN_DAYS)
    if start is not None and end is not None:
        return start, end
    if start is not None:
        first, last = start, (last if last >= start else start + timedelta(days=4 * MARGIN_DAYS))
        return first, min(last, first + timedelta(days=MAX_SPAN_DAYS - 1))
    if end is not None:
        first, last = (first if first <= end else end - timedelta(days=4 * MARGIN_DAYS)), end
        return max(first, last - timedelta(days=MAX_SPAN_DAYS - 1)), last
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        first = max(first, today - timedelta(days=MAX_SPAN_DAYS // 4))
        last = first + timedelta(days=MAX_SPAN_DAYS - 1)
    return first, last
