"""The weekly dispatch sheet (每周调度, issue 12): for one ISO week, every key case with its lead leader and
departments, its nodes due last week and this week, its late nodes, what the departments reported and what changed
since the last sheet, and the dispatch meeting's decisions (the workflow action `record_dispatch_decision`).

Definitions (docs/key-cases.md, "Weekly dispatch"):
- A week is an ISO week, Monday 00:00 to the next Monday 00:00 in the deployment's time zone (Settings.timezone),
  named "2025-W42". Times are stored and compared in UTC.
- "Since the last sheet" (the window) runs from the last meeting to the sheet's `as_of`: it starts at the moment of
  the last decision recorded, before `as_of`, for an earlier week (that meeting; a decision withdrawn before `as_of`
  does not count), at the latest the sheet's Monday 00:00; with no such decision, at the previous week's Monday
  00:00. It ends at `as_of`. So the current week's sheet shows this week's progress up to now, and a past week's
  sheet reads the same every time (only what was recorded before its end counts).
- Node figures are as of the end of the sheet's week, or now for the current week (`as_of`): a node completed after
  that counts as open on that sheet. Due times are compared as (start, end]: a node due D 24:00 (stored as D+1
  00:00 local) belongs to D's week, and is late only after that moment. Names, the case's state and its departments are as they are now. Removed nodes
  (dropped by an approved plan change) are left out.
- The sheet lists the key cases the reader may see that were key before the week's end, except those already in a
  final state (closed, merged...) before the window began.
- Decisions are events whose payload names the week of the meeting (canonical "2025-W42"; older lowercase ones are
  read as their week); the sheet of week W shows those of W (this meeting) and of the last meeting's week (W-1 when
  none). A decision withdrawn by `withdraw_dispatch_decision` (payload `decision_event`: its event id) leaves every
  sheet.

Everything is read in a few queries for all the cases at once (cases, nodes, parts, events of the window, decisions,
names); nothing is written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, false, or_
from sqlmodel import Session, col, select

from grievance.cases.access import visibility_filter
from grievance.cases.deadlines import late_by
from grievance.cases.models import Case, CaseEvent
from grievance.errors import InvalidInput
from grievance.glossary import DEPARTMENT_ROLES
from grievance.keycases.models import CaseNode
from grievance.keycases.plan import LEFT_PLAN, NODE_UNIT
from grievance.reference.models import Department
from grievance.users.models import User
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.definition import WorkflowDef

# The workflow action that records a decision of the meeting (workflows/*.yaml); its payload is the record.
DECISION_ACTION = "record_dispatch_decision"
# The workflow action that withdraws one (payload `decision_event`: the decision's event id, `reason`).
WITHDRAW_ACTION = "withdraw_dispatch_decision"
FIRST_WEEK = "2000-W01"  # no ledger predates 2000
_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$", re.IGNORECASE)

# What changed on a case, by the effect of the action that changed it (effects are checked by the loader; action
# names are a workflow's own). A state change is read from the event's states; a case becoming key from its
# key_marked_at (an inspection referral is key from intake on, without a mark_key event).
CHANGE_EFFECTS: dict[str, str] = {
    "set_lead_leader": "leader_changed",
    "set_node_plan": "plan_set",
    "approve_node_plan": "plan_changed",
    "complete_node": "node_completed",
    "dispatch_parts": "parts_dispatched",
    "report_part": "part_reported",
    "waive_parts": "parts_waived",
}


# ------------------------------------------------------------------------------------------------------------- weeks
@dataclass(frozen=True, order=True)
class Week:
    """An ISO week (Monday to Sunday) of the deployment's calendar: `key` "2025-W42"."""

    year: int
    number: int

    @property
    def key(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def start(self, timezone: str) -> datetime:
        """Monday 00:00 local time, in UTC."""
        return datetime.combine(self.monday, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)

    def end(self, timezone: str) -> datetime:
        """The next Monday 00:00 local time, in UTC (the week is [start, end))."""
        return self.next.start(timezone)

    @property
    def previous(self) -> Week:
        return Week.of_day(self.monday - timedelta(days=7))

    @property
    def next(self) -> Week:
        return Week.of_day(self.monday + timedelta(days=7))

    @classmethod
    def of_day(cls, day: date) -> Week:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def of_moment(cls, moment: datetime, timezone: str) -> Week:
        """The week a UTC moment falls in, by its local date."""
        return cls.of_day(moment.astimezone(ZoneInfo(timezone)).date())


def weeks_in(year: int) -> int:
    """52 or 53: the ISO weeks of a year (28 December is always in its last week)."""
    return date(year, 12, 28).isocalendar().week


def parse_week(text: Any, name: str = "week") -> Week:
    """Parse "2025-W42" (also "2025-w42", "2025-W5") as a Week, or InvalidInput (422, field `name`) saying what is
    accepted. Checks the form and that the year has that week; not its range (check_sheet_week, week_problem)."""
    value = text.strip() if isinstance(text, str) else ""
    found = _WEEK.match(value)
    if not found:
        raise InvalidInput.field(
            name,
            f"调度周「{value or text}」格式有误，应为 2025-W42 这样的 ISO 周（年份-W周次）",
            f"the week {value or text!r} is not an ISO week; give it like 2025-W42 (year-W week number)",
        )
    year, number = int(found.group(1)), int(found.group(2))
    if year < 1900 or not 1 <= number <= weeks_in(year):
        last = weeks_in(year) if year >= 1900 else 52
        raise InvalidInput.field(
            name,
            f"调度周「{value}」不存在：{year} 年共 {last} 周",
            f"there is no week {value}: {year} has {last} ISO weeks",
        )
    return Week(year, number)


def _range_problem(week: Week, latest: Week, what_zh: str, what_en: str) -> tuple[str, str] | None:
    first = parse_week(FIRST_WEEK)
    if first <= week <= latest:
        return None
    return (
        f"{what_zh}「{week.key}」超出范围，可选 {FIRST_WEEK} 至 {latest.key}",
        f"the {what_en} {week.key} is out of range; accepted: {FIRST_WEEK} to {latest.key}",
    )


def check_sheet_week(text: str, now: datetime, timezone: str) -> Week:
    """The week a sheet shows: `text` ("2025-W42"; blank: the current week), from FIRST_WEEK to the week after the
    current one (to prepare the next meeting). InvalidInput (422, field week) otherwise."""
    if not text.strip():
        return Week.of_moment(now, timezone)
    week = parse_week(text)
    problem = _range_problem(week, Week.of_moment(now, timezone).next, "调度周", "week")
    if problem:
        raise InvalidInput.field("week", *problem)
    return week


def week_problem(text: Any, now: datetime, timezone: str, key_since: datetime | None = None) -> tuple[str, str] | None:
    """Why `text` is not the week of a meeting whose decision may be recorded now, (Chinese, English), or None: an
    ISO week ("2025-W42", read as parse_week reads it) from FIRST_WEEK to the current week (a meeting is not held
    ahead of its week) and, given `key_since` (UTC, when the case became key), not before that moment's week."""
    try:
        week = parse_week(text)
    except InvalidInput as exc:
        return exc.message, exc.message_en
    problem = _range_problem(week, Week.of_moment(now, timezone), "调度周", "week")
    if problem is None and key_since is not None:
        first = Week.of_moment(key_since, timezone)
        if week < first:
            return (
                f"调度周「{week.key}」早于该件成为重点件的那一周（{first.key}），可选 {first.key} 及以后",
                f"the week {week.key} is before the case became key ({first.key}); accepted: {first.key} or later",
            )
    return problem


def key_since(case: Case) -> datetime:
    """When a key case became key (UTC): its key_marked_at, or its receipt for one key from intake on."""
    return case.key_marked_at or case.received_at


def _week_of(text: Any) -> Week | None:
    """A stored decision's week, read as parse_week reads it ("2026-w48" is 2026-W48), or None if unreadable."""
    try:
        return parse_week(text)
    except InvalidInput:
        return None


# ------------------------------------------------------------------------------------------------------ sheet rows
@dataclass(frozen=True)
class SheetNode:
    """A node as the sheet shows it: `status` met (done by its due time), met_late (done after it), late (open and
    past due at the sheet's as_of) or open (not yet due); `late_by` whole working days past due for a late node at
    as_of, or for a node met late at its completion (a begun day counts, as every list counts it); None otherwise.
    Times UTC."""

    seq: int
    name: str
    department: str | None
    due_at: datetime
    due_text: str
    status: str
    completed_at: datetime | None
    completion_note: str
    late_by: int | None


@dataclass(frozen=True)
class SheetChange:
    """Something that changed on the case in the window. kind: became_key, leader_changed, plan_set, plan_changed,
    node_completed, state_changed, parts_dispatched, part_reported, parts_waived. `details`: leader / previous_leader
    (names), node / node_name, from_state / to_state (codes of the case's workflow), reason (a KeyReason code; for
    parts_waived the supervisor's reason text), departments (names: the assisting departments sent, the one that
    reported, those waived), department (the lead department a state change sent the case to), nodes (the plan's
    rows as the event keeps them)."""

    at: datetime
    kind: str
    action: str
    actor: str | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SheetNote:
    """What a department reported in the window: the text fields of one of its actions (a progress note, a node's
    completion, a reply...), in the order the workflow declares them."""

    at: datetime
    action: str
    actor: str | None
    department: str | None
    text: str


@dataclass(frozen=True)
class Decision:
    """A decision of the dispatch meeting of `week` on a case (event record_dispatch_decision)."""

    event_id: int
    at: datetime
    week: str
    text: str
    actor: str | None


@dataclass(frozen=True)
class DispatchItem:
    """One key case of the sheet."""

    case_id: int
    case_no: str
    title: str
    workflow: str
    state: str
    key_reason: str
    key_note: str | None
    lead_leader_id: int | None
    lead_leader: str | None
    lead_leader_active: bool  # False: the leader's account is deactivated (the sheet marks it 已停用)
    lead_department: str | None
    assisting_departments: list[str]
    node_departments: list[str]  # responsible departments of its nodes other than the lead department
    due_last_week: list[SheetNode]
    due_this_week: list[SheetNode]
    late: list[SheetNode]  # every node open and past due at as_of, whenever it was due
    notes: list[SheetNote]
    changes: list[SheetChange]
    previous_decisions: list[Decision]  # of the last meeting (DispatchSheet.last_meeting_week)
    decisions: list[Decision]  # of this week's meeting


@dataclass(frozen=True)
class DispatchSheet:
    """The sheet of `week`: the window [window_start, window_end) the notes and changes come from (window_end is
    as_of), the moment the node figures are as of, when it was made (`made_at`, UTC) and its items in case-number
    order. `last_meeting_at` is the moment of the last meeting that opened the window (None: none before, the window
    opens at the previous week's Monday) and `last_meeting_week` that meeting's week (the previous week if none)."""

    week: Week
    timezone: str
    window_start: datetime
    window_end: datetime
    last_meeting_at: datetime | None
    last_meeting_week: Week
    as_of: datetime
    made_at: datetime
    lead_leader_id: int | None
    items: list[DispatchItem]

    @property
    def late_count(self) -> int:
        return sum(len(i.late) for i in self.items)


# ---------------------------------------------------------------------------------------------------------- reading


def _finished_before(workflows: dict[str, WorkflowDef], moment: datetime) -> Any:
    """SQL: the case reached a final state of its workflow before `moment`."""
    finished = [
        and_(Case.workflow == name, col(Case.state).in_([s for s in w.states if w.is_final(s)]))
        for name, w in workflows.items()
        if any(w.is_final(s) for s in w.states)
    ]
    return and_(or_(*finished) if finished else false(), col(Case.state_changed_at) < moment)


def _node_row(node: CaseNode, as_of: datetime, calendar: WorkCalendar, departments: dict[int, str]) -> SheetNode:
    done = node.completed_at is not None and node.completed_at < as_of
    late_days: int | None = None
    if done:
        assert node.completed_at is not None
        status = "met_late" if node.completed_at > node.due_at else "met"
        if status == "met_late":
            late_days = late_by(calendar, node.due_at, node.completed_at, NODE_UNIT)
    else:
        status = "late" if as_of > node.due_at else "open"  # due D 24:00: late only after that moment
        if status == "late":
            late_days = late_by(calendar, node.due_at, as_of, NODE_UNIT)
    return SheetNode(
        seq=node.seq,
        name=node.name,
        department=departments.get(node.department_id) if node.department_id else None,
        due_at=node.due_at,
        due_text=node.due_text,
        status=status,
        completed_at=node.completed_at if done else None,
        completion_note=node.completion_note if done else "",
        late_by=late_days,
    )


def _text_of(workflow: WorkflowDef | None, action: str, payload: dict[str, Any]) -> str:
    """The text fields of an action's input, in the order the workflow declares them."""
    declared = workflow.actions[action].fields if workflow and action in workflow.actions else {}
    texts = [str(payload[k]) for k, f in declared.items() if f.type == "text" and payload.get(k)]
    return "\n".join(texts)


def _names(rows: Any) -> list[str]:
    """The department names of an event's list of parts ([{"seq", "department"}]), as the event keeps them."""
    if not isinstance(rows, list):
        return []
    return [str(r["department"]) for r in rows if isinstance(r, dict) and r.get("department")]


def _changes_of(
    workflow: WorkflowDef | None, event: CaseEvent, actor: str | None, departments: dict[int, str]
) -> list[SheetChange]:
    """The sheet's lines for one event: the change its effect makes (by CHANGE_EFFECTS) and its state change, if
    any; an assisting-department change that names no department (a plain dispatch) is no line of its own."""
    definition = workflow.actions.get(event.action) if workflow else None
    payload = event.payload or {}
    kind = next((CHANGE_EFFECTS[e] for e in (definition.effects if definition else []) if e in CHANGE_EFFECTS), None)
    found: list[SheetChange] = []
    if event.from_state and event.to_state and event.from_state != event.to_state:
        details: dict[str, Any] = {"from_state": event.from_state, "to_state": event.to_state}
        lead = payload.get("department_id")
        if isinstance(lead, int) and not isinstance(lead, bool) and lead in departments:
            details["department"] = departments[lead]
        found.append(SheetChange(at=event.at, kind="state_changed", action=event.action, actor=actor, details=details))
    if kind is None:
        return found
    details = {}
    for key in ("lead_leader", "previous_leader", "node", "node_name", "nodes"):
        if key in payload:
            details[key] = payload[key]
    if kind == "parts_dispatched":
        names = _names(payload.get("parts"))
        if not names:
            ids = payload.get("assisting_department_ids") or []
            names = [departments.get(i, str(i)) for i in ids if isinstance(i, int)] if isinstance(ids, list) else []
        if not names:
            return found
        details["departments"] = names
    elif kind == "part_reported":
        name = payload.get("part_department")
        details["departments"] = [str(name)] if name else []
    elif kind == "parts_waived":
        details["departments"] = _names(payload.get("parts"))
        details["reason"] = str(payload.get("reason") or "")
    found.append(SheetChange(at=event.at, kind=kind, action=event.action, actor=actor, details=details))
    return found


def _decision_events(session: Session) -> list[tuple[CaseEvent, User | None]]:
    """Every decision and withdrawal event of every case (with its actor), in the order recorded: one query. Few
    rows (a decision per key case per meeting); read whole so that the last meeting is the same for every reader."""
    return list(
        session.exec(
            select(CaseEvent, User)
            .join(User, col(User.id) == CaseEvent.actor_id, isouter=True)
            .where(col(CaseEvent.action).in_([DECISION_ACTION, WITHDRAW_ACTION]))
            .order_by(col(CaseEvent.at), col(CaseEvent.id))
        ).all()
    )


def _withdrawn(events: list[tuple[CaseEvent, User | None]], before: datetime | None = None) -> set[int]:
    """Event ids of the decisions withdrawn (by a withdrawal recorded before `before`, if given)."""
    return {
        int((e.payload or {}).get("decision_event") or 0)
        for e, _ in events
        if e.action == WITHDRAW_ACTION and (before is None or e.at < before)
    }


def _last_meeting(
    events: list[tuple[CaseEvent, User | None]], week: Week, as_of: datetime
) -> tuple[datetime, Week] | None:
    """(moment, week) of the last decision recorded before `as_of` for a week before `week`, not withdrawn before
    `as_of`: the last meeting. None if there is none."""
    gone = _withdrawn(events, as_of)
    last: tuple[datetime, Week] | None = None
    for event, _ in events:
        if event.action != DECISION_ACTION or event.at >= as_of or event.id in gone:
            continue
        decided = _week_of((event.payload or {}).get("week"))
        if decided is not None and decided < week and (last is None or event.at >= last[0]):
            last = (event.at, decided)
    return last


def dispatch_sheet(
    session: Session,
    *,
    user: User,
    workflows: dict[str, WorkflowDef],
    calendar: WorkCalendar,
    week: Week,
    now: datetime,
    timezone: str,
    lead_leader_id: int | None = None,
) -> DispatchSheet:
    """The sheet of `week` as `user` may see it (visibility_filter: a report never reaches the department it
    accuses), optionally only the cases of one lead leader. `now` UTC; `timezone` the deployment's (Settings).
    Seven queries whatever the number of cases: decisions, cases, nodes, parts, the window's events, leaders,
    department names."""
    week_start, week_end = week.start(timezone), week.end(timezone)
    last_week_start = week.previous.start(timezone)
    as_of = min(week_end, now)
    decision_events = _decision_events(session)
    last = _last_meeting(decision_events, week, as_of)
    window_start = min(last[0], week_start) if last else last_week_start
    window_start = min(window_start, as_of)
    window_end = as_of
    last_meeting_week = last[1] if last else week.previous
    conditions = [
        col(Case.key_reason).is_not(None),
        or_(col(Case.key_marked_at).is_(None), col(Case.key_marked_at) < week_end),
        ~_finished_before(workflows, window_start),
        visibility_filter(user),
    ]
    if lead_leader_id is not None:
        conditions.append(Case.lead_leader_id == lead_leader_id)
    cases = list(session.exec(select(Case).where(*conditions).order_by(col(Case.case_no))).all())
    ids = [c.id for c in cases if c.id is not None]
    nodes: dict[int, list[CaseNode]] = {}
    events: list[tuple[CaseEvent, User | None]] = []
    if ids:
        for node in session.exec(
            select(CaseNode)
            .where(
                col(CaseNode.case_id).in_(ids),
                col(CaseNode.status).notin_(LEFT_PLAN),  # removed or withdrawn: off the plan
                col(CaseNode.due_at) <= week_end,  # due by the week's Sunday 24:00
            )
            .order_by(col(CaseNode.case_id), col(CaseNode.seq))
        ).all():
            nodes.setdefault(node.case_id, []).append(node)
        events = list(
            session.exec(
                select(CaseEvent, User)
                .join(User, col(User.id) == CaseEvent.actor_id, isouter=True)
                .where(
                    col(CaseEvent.case_id).in_(ids),
                    col(CaseEvent.at) >= window_start,
                    col(CaseEvent.at) < window_end,
                    col(CaseEvent.action).notin_([DECISION_ACTION, WITHDRAW_ACTION]),
                )
                .order_by(col(CaseEvent.at), col(CaseEvent.id))
            ).all()
        )
    parts = _assisting(session, ids)
    departments = dict(session.exec(select(Department.id, Department.name)).all())  # type: ignore[arg-type]
    leaders = _leaders(session, [c.lead_leader_id for c in cases])

    by_case_events: dict[int, list[tuple[CaseEvent, User | None]]] = {}
    for event, actor in events:
        by_case_events.setdefault(event.case_id, []).append((event, actor))
    gone = _withdrawn(decision_events)
    wanted = set(ids)
    by_case_decisions: dict[int, list[Decision]] = {}
    for event, actor in decision_events:
        if event.action != DECISION_ACTION or event.case_id not in wanted or event.id in gone:
            continue
        decided = _week_of((event.payload or {}).get("week"))
        if decided is None:
            continue
        by_case_decisions.setdefault(event.case_id, []).append(
            Decision(
                event_id=event.id or 0,
                at=event.at,
                week=decided.key,
                text=str((event.payload or {}).get("decision", "")),
                actor=actor.display_name if actor else None,
            )
        )

    items = []
    for case in cases:
        assert case.id is not None
        workflow = workflows.get(case.workflow)
        rows = [_node_row(n, as_of, calendar, departments) for n in nodes.get(case.id, [])]
        lead = departments.get(case.department_id) if case.department_id else None
        notes: list[SheetNote] = []
        changes: list[SheetChange] = []
        marked: tuple[CaseEvent, str | None] | None = None
        for event, actor in by_case_events.get(case.id, []):
            name = actor.display_name if actor else None
            if actor is not None and actor.role in DEPARTMENT_ROLES:
                text = _text_of(workflow, event.action, event.payload or {})
                if text:
                    department = departments.get(actor.department_id) if actor.department_id else None
                    notes.append(SheetNote(event.at, event.action, name, department, text))
            if _marks_key(workflow, event):
                marked = (event, name)  # its line is the case's became_key below
                continue
            changes.extend(_changes_of(workflow, event, name, departments))
        # Became key in the window: by mark_key, or at intake (an inspection referral), from the case's own column.
        if case.key_marked_at is not None and window_start <= case.key_marked_at < window_end:
            details: dict[str, Any] = {"reason": case.key_reason}
            if marked is not None:
                details["lead_leader"] = (marked[0].payload or {}).get("lead_leader")
            changes.append(
                SheetChange(
                    at=case.key_marked_at,
                    kind="became_key",
                    action=marked[0].action if marked else "",
                    actor=marked[1] if marked else None,
                    details=details,
                )
            )
        changes.sort(key=lambda c: (c.at, c.kind != "became_key"))
        node_departments = sorted({r.department for r in rows if r.department and r.department != lead})
        all_decisions = by_case_decisions.get(case.id, [])
        leader = leaders.get(case.lead_leader_id) if case.lead_leader_id else None
        items.append(
            DispatchItem(
                case_id=case.id,
                case_no=case.case_no,
                title=case.title,
                workflow=case.workflow,
                state=case.state,
                key_reason=case.key_reason or "",
                key_note=case.key_note,
                lead_leader_id=case.lead_leader_id,
                lead_leader=leader[0] if leader else None,
                lead_leader_active=leader[1] if leader else True,
                lead_department=lead,
                assisting_departments=[departments.get(d, str(d)) for d in parts.get(case.id, [])],
                node_departments=node_departments,
                # Due times as (start, end]: due D 24:00 (D+1 00:00) is in D's week.
                due_last_week=[r for r in rows if last_week_start < r.due_at <= week_start],
                due_this_week=[r for r in rows if week_start < r.due_at],
                late=[r for r in rows if r.status == "late"],
                notes=notes,
                changes=changes,
                previous_decisions=[d for d in all_decisions if d.week == last_meeting_week.key],
                decisions=[d for d in all_decisions if d.week == week.key],
            )
        )
    return DispatchSheet(
        week=week,
        timezone=timezone,
        window_start=window_start,
        window_end=window_end,
        last_meeting_at=last[0] if last else None,
        last_meeting_week=last_meeting_week,
        as_of=as_of,
        made_at=now,
        lead_leader_id=lead_leader_id,
        items=items,
    )


def _leaders(session: Session, ids: list[int | None]) -> dict[int, tuple[str, bool]]:
    """{user id: (display name, active)} of these lead leaders, in one query."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.exec(select(User.id, User.display_name, User.active).where(col(User.id).in_(wanted))).all()
    return {int(i): (str(n), bool(a)) for i, n, a in rows}


def _marks_key(workflow: WorkflowDef | None, event: CaseEvent) -> bool:
    definition = workflow.actions.get(event.action) if workflow else None
    return definition is not None and "mark_key" in definition.effects


def _assisting(session: Session, case_ids: list[int]) -> dict[int, list[int]]:
    """{case id: department ids of its assisting departments (协办), parts withdrawn left out}. One query; empty
    while grievance/keycases/parts.py is absent."""
    try:
        from grievance.keycases.parts import VISIBLE_STATUSES, parts_by_case
    except ImportError:  # the assisting-department slice not installed
        return {}
    found: dict[int, list[int]] = {}
    for case_id, parts in parts_by_case(session, case_ids).items():
        for part in parts:
            if part.status in VISIBLE_STATUSES and part.department_id not in found.get(case_id, []):
                found.setdefault(case_id, []).append(part.department_id)
    return found


def leaders_on_sheets(session: Session) -> list[tuple[int, str, bool]]:
    """(id, name, active) of every user who leads a key case, by name: the sheet's leader filter (a deactivated
    leader stays listed, marked by the page, as on /cases)."""
    rows = session.exec(
        select(User.id, User.display_name, User.active)
        .where(col(User.id).in_(select(Case.lead_leader_id).where(col(Case.key_reason).is_not(None))))
        .order_by(col(User.display_name))
    ).all()
    return [(int(i), str(n), bool(a)) for i, n, a in rows]
