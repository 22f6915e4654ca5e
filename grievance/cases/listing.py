"""Case lists: the filters every list and search takes (CaseFilter), one page of cases in keyset order, their
total, and a case as a list row shows it (CaseSummary: due time, traffic light, how late).

Every function works inside the caller's transaction and never commits.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, tuple_
from sqlalchemy import case as case_when
from sqlmodel import Session, col, select

from grievance.cases import search
from grievance.cases.access import POOL_STATE, visibility_filter
from grievance.cases.deadlines import deadline, running_clocks, traffic_light
from grievance.cases.models import NO_DUE, AuditEntry, Case, CaseClock
from grievance.cases.phones import INVALID_EN, INVALID_ZH, normalize_phone
from grievance.cases.schemas import CaseSummary
from grievance.errors import InvalidInput
from grievance.glossary import DEPARTMENT_ROLES
from grievance.input_bounds import id_problem, moment_problem
from grievance.keycases.models import NodePlanChange
from grievance.users.models import User
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.definition import is_node_clock
from grievance.workflow.engine import Runtime


@dataclass
class CaseFilter:
    state: list[str] | None = None
    department_id: int | None = None
    channel: str | None = None
    station_id: int | None = None
    meeting_id: int | None = None
    enterprise_id: int | None = None
    category_id: int | None = None
    case_type: str | None = None
    urgency: str | None = None
    overdue: bool | None = None
    due_soon: bool | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    q: str | None = None
    phone: str | None = None
    mine: bool = False  # only the cases this user logged
    pending_extension: bool | None = None  # an extension request awaits the supervisor
    supervised: bool | None = None  # key cases: supervised (督办), inspection referrals included
    assignee_id: int | None = None  # the cases of one handler (我的)
    unassigned: bool | None = None  # True: no handler yet (未分配); False: some handler has it
    key: bool | None = None  # key cases (重点件: key_reason set), whatever their reason
    lead_leader_id: int | None = None  # the key cases of one lead leader (包案领导)
    # True: a key case without an active lead leader (重点件未定包案领导): none yet, or a deactivated one; among open
    # cases (not in a final state) unless `state` says which. False: every other case.
    no_lead_leader: bool | None = None
    pending_node_change: bool | None = None  # a change to the plan of nodes awaits the supervisor
    duplicate: bool | None = None  # False: not merged into another case; True: merged duplicates only
    assisting_department_id: int | None = None  # cases where this department's 协办 part is still open
    sort: str = "received"  # "received" (newest first) or "due" (earliest due first, for queues)
    cursor: str | None = None
    limit: int = 50


def encode_cursor(sort: str, at: datetime, case_id: int) -> str:
    raw = json.dumps([sort, at.isoformat(), case_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, at, case_id = json.loads(raw)
        moment = datetime.fromisoformat(at)
        # Bounded as every input (grievance.input_bounds; NO_DUE is the due time of a case without one): a crafted
        # cursor must not reach the database as a 500.
        out_of_range = moment.tzinfo is not None and moment != NO_DUE and moment_problem(moment) is not None
        if kind != sort or moment.tzinfo is None or out_of_range or id_problem(int(case_id)):
            raise ValueError
        return moment, int(case_id)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise InvalidInput.field(
            "cursor", "分页游标无效，请从第一页重新开始", "invalid cursor: use the next_cursor of the previous page"
        ) from None


def open_states(runtime: Runtime) -> list[str]:
    """The states of every workflow that are not final (a case in one is open: resolved ones included)."""
    return sorted({code for w in runtime.workflows.definitions.values() for code, s in w.states.items() if not s.final})


def _filtered(
    session: Session, runtime: Runtime, actor: User, filters: CaseFilter, now: datetime
) -> tuple[Any, list[ColumnElement[bool]]]:
    """The conditions of a list's filters, shared by a page of it and its count. Raises InvalidInput on the field
    `sort` or `phone` (see list_cases)."""
    open_states_ = open_states(runtime)
    if filters.sort not in ("received", "due"):
        raise InvalidInput.field("sort", "排序应为 received 或 due", "sort must be 'received' or 'due'")
    phone = None if filters.phone is None else normalize_phone(filters.phone)
    if filters.phone is not None and not phone:
        raise InvalidInput.field("phone", INVALID_ZH, INVALID_EN)
    # Department staff list their own cases, or the open pool when they ask for state=pool.
    where: list[ColumnElement[bool]] = [visibility_filter(actor, pool=filters.state == [POOL_STATE], mine=filters.mine)]
    equal = {
        "department_id": Case.department_id,
        "channel": Case.channel,
        "station_id": Case.station_id,
        "meeting_id": Case.meeting_id,
        "enterprise_id": Case.enterprise_id,
        "category_id": Case.category_id,
        "case_type": Case.case_type,
        "urgency": Case.urgency,
        "assignee_id": Case.assignee_id,
    }
    for name, column in equal.items():
        value = getattr(filters, name)
        if value is not None:
            where.append(column == value)
    if phone:
        where.append(Case.petitioner_phone == phone)
    if filters.state:
        where.append(col(Case.state).in_(filters.state))
    if filters.overdue is not None:
        # A department is late on its own clocks; the centre and supervisors also on the centre's.
        late = Case.next_due_at <= now
        if actor.role not in DEPARTMENT_ROLES:
            late = or_(late, Case.centre_due_at <= now)
        where.append(late if filters.overdue else ~late)
    if filters.due_soon is not None:
        due_soon = and_(Case.next_warn_at <= now, Case.next_due_at > now)  # ix_cases_warn
        if actor.role not in DEPARTMENT_ROLES:
            # The centre's clocks keep no warning column: a running one past its warning time, read from the clock
            # (ix_case_clocks_owner_running). Two id lists in one union, each from its own index (an OR of the
            # two would read every case).
            centre_soon = select(CaseClock.case_id).where(
                CaseClock.owner == "centre",
                col(CaseClock.stopped_at).is_(None),
                col(CaseClock.paused_at).is_(None),
                CaseClock.warn_at <= now,
                CaseClock.due_at > now,
            )
            due_soon = col(Case.id).in_(select(Case.id).where(due_soon).union(centre_soon))
        where.append(due_soon if filters.due_soon else ~due_soon)
    if filters.pending_extension is not None:
        pending = col(Case.pending_extension_days).is_not(None)
        where.append(pending if filters.pending_extension else ~pending)
    if filters.supervised is not None:
        where.append(Case.supervised == filters.supervised)
    if filters.key is not None:
        where.append(col(Case.key_reason).is_not(None) if filters.key else col(Case.key_reason).is_(None))
    if filters.lead_leader_id is not None:
        where.append(Case.lead_leader_id == filters.lead_leader_id)
    if filters.no_lead_leader is not None:
        inactive = select(User.id).where(User.id == Case.lead_leader_id, User.active == False).exists()  # noqa: E712
        no_leader = and_(col(Case.key_reason).is_not(None), or_(col(Case.lead_leader_id).is_(None), inactive))
        where.append(no_leader if filters.no_lead_leader else ~no_leader)
        if filters.no_lead_leader and not filters.state:
            # A closed or merged case can never be given a leader: the search means the open ones.
            where.append(col(Case.state).in_(open_states_))
    if filters.duplicate is not None:
        merged = col(Case.duplicate_of_id).is_not(None)
        where.append(merged if filters.duplicate else ~merged)
    if filters.assisting_department_id is not None:
        from grievance.keycases.parts import OPEN_STATUSES, assisted_case_ids

        where.append(col(Case.id).in_(assisted_case_ids(filters.assisting_department_id, OPEN_STATUSES)))
    if filters.pending_node_change is not None:
        pending = col(Case.id).in_(select(NodePlanChange.case_id).where(NodePlanChange.status == "pending"))
        where.append(pending if filters.pending_node_change else ~pending)
    if filters.unassigned is not None:
        where.append(col(Case.assignee_id).is_(None) if filters.unassigned else col(Case.assignee_id).is_not(None))
    if filters.received_from:
        where.append(Case.received_at >= filters.received_from)
    if filters.received_to:
        where.append(Case.received_at < filters.received_to)
    if filters.q:
        where.append(search.matches(session, filters.q))
    return _due_key(actor), where


def _due_key(actor: User) -> Any:
    """What "earliest due first" sorts on for this reader: a department's own due time; for the centre and the
    other roles the earlier of the department's and the centre's (a callback due today comes before a resolve
    due next week). The department's key walks ix_cases_queue; the centre's is computed per row."""
    if actor.role in DEPARTMENT_ROLES:
        return Case.next_due_at
    return case_when((Case.centre_due_at < Case.next_due_at, Case.centre_due_at), else_=Case.next_due_at)


def list_cases(
    session: Session, runtime: Runtime, actor: User, filters: CaseFilter, now: datetime | None = None
) -> tuple[list[CaseSummary], str | None]:
    """One page of the cases this actor may see, filtered, in keyset order.

    `filters.phone` is matched in its canonical form (cases/phones.py), so 138-1234-5678 finds 13812345678;
    text that is no phone number raises InvalidInput on the field `phone`, naming the accepted forms.
    Each summary's due time, light and lateness count the clocks the reader answers for (cases/deadlines.py):
    sort="due" orders by that same due time."""
    now = now or runtime.now()
    rows, next_cursor = list_case_rows(session, runtime, actor, filters, now)
    return summarize_page(session, runtime, rows, actor, now), next_cursor


def list_case_rows(
    session: Session, runtime: Runtime, actor: User, filters: CaseFilter, now: datetime | None = None
) -> tuple[list[Case], str | None]:
    """list_cases without the summaries: the page's Case rows and the next cursor, for a page that lists several
    sections and summarizes their cases together (summarize_page, one query for all their clocks: the board).
    The listing of a confidential case is audited here, as list_cases's is."""
    now = now or runtime.now()
    due_key, where = _filtered(session, runtime, actor, filters, now)
    stmt = select(Case).where(*where)
    if filters.cursor:
        at, last_id = decode_cursor(filters.cursor, filters.sort)
        if filters.sort == "received":
            stmt = stmt.where(tuple_(Case.received_at, Case.id) < tuple_(at, last_id))
        else:
            stmt = stmt.where(tuple_(due_key, Case.id) > tuple_(at, last_id))
    if filters.sort == "received":
        stmt = stmt.order_by(col(Case.received_at).desc(), col(Case.id).desc())
    else:
        stmt = stmt.order_by(due_key, col(Case.id))
    limit = max(1, min(filters.limit, 200))
    rows = list(session.exec(stmt.limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        if filters.sort == "received":
            at = last.received_at
        else:
            at = last.next_due_at if actor.role in DEPARTMENT_ROLES else min(last.next_due_at, last.centre_due_at)
        next_cursor = encode_cursor(filters.sort, at, last.id)  # type: ignore[arg-type]
    confidential = [c.id for c in rows if c.confidential]
    if confidential:  # a confidential case seen in a list is a view too (信访工作条例 confidentiality)
        session.add_all(AuditEntry(user_id=actor.id, action="list_confidential", case_id=i) for i in confidential)
    return rows, next_cursor


def count_cases(
    session: Session,
    runtime: Runtime,
    actor: User,
    filters: CaseFilter,
    now: datetime | None = None,
    *,
    at_most: int | None = None,
) -> int:
    """How many cases list_cases would list over all its pages (cursor and limit ignored): one COUNT query, so a
    list or a board section states its true total. With `at_most` the counting stops after at_most + 1 cases: a
    result above at_most means "more than at_most" (a search for one common word matches a tenth of a million
    cases; counting them all costs more than the page). Raises InvalidInput like list_cases."""
    now = now or runtime.now()
    _key, where = _filtered(session, runtime, actor, filters, now)
    if at_most is not None:
        first = select(Case.id).where(*where).limit(at_most + 1).subquery()
        return int(session.exec(select(func.count()).select_from(first)).one())
    return int(session.exec(select(func.count()).select_from(Case).where(*where)).one())


def summarize_page(
    session: Session, runtime: Runtime, cases: list[Case], actor: User, now: datetime
) -> list[CaseSummary]:
    """The summaries of a page of cases, their running clocks read in one query."""
    clocks = running_clocks(session, [c.id for c in cases if c.id is not None])
    calendar = runtime.calendar(session)
    summaries = [summarize(runtime, c, now, actor, clocks.get(c.id or 0, []), calendar) for c in cases]
    people = {c.assignee_id for c in cases if c.assignee_id is not None}
    people |= {c.lead_leader_id for c in cases if c.lead_leader_id is not None}
    found = users_by_id(session, people)
    for summary in summaries:
        if summary.assignee_id is not None and summary.assignee_id in found:
            summary.assignee = found[summary.assignee_id][0]
        if summary.lead_leader_id is not None and summary.lead_leader_id in found:
            summary.lead_leader, active = found[summary.lead_leader_id]
            summary.lead_leader_active = active
    return summaries


def user_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Display names of these users, in one query (a page's assignees)."""
    return {user_id: name for user_id, (name, _active) in users_by_id(session, ids).items()}


def lead_leaders(session: Session) -> list[User]:
    """Every user of role leader, the active ones first, by name: what a list's 包案领导 filter offers (a deactivated
    leader too, so the key cases still under them can be found and given another leader)."""
    from grievance.glossary import Role

    return list(
        session.exec(
            select(User).where(User.role == Role.leader).order_by(col(User.active).desc(), col(User.display_name))
        ).all()
    )


def users_by_id(session: Session, ids: set[int]) -> dict[int, tuple[str, bool]]:
    """{id: (display name, active)} of these users, in one query (a page's assignees and lead leaders)."""
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.display_name, User.active).where(col(User.id).in_(ids))).all()
    return {int(i): (str(name), bool(active)) for i, name, active in rows}  # type: ignore[arg-type]


def summarize(
    runtime: Runtime, case: Case, now: datetime, actor: User, clocks: list[CaseClock], calendar: WorkCalendar
) -> CaseSummary:
    """A case as a list row shows it to `actor`; `clocks` are its clocks not yet stopped (deadlines.deadline). The
    nodes' clocks of a key case are left out: a list's due time and light are the case's own (issue 12)."""
    workflow = runtime.workflows.get(case.workflow)
    due = deadline([c for c in clocks if not is_node_clock(c.name)], actor.role, calendar, now)
    return CaseSummary(
        id=case.id,  # type: ignore[arg-type]
        case_no=case.case_no,
        title=case.title,
        state=case.state,
        state_label=workflow.states[case.state].label,
        workflow=case.workflow,
        channel=case.channel,
        case_type=case.case_type,
        urgency=case.urgency,
        department_id=case.department_id,
        assignee_id=case.assignee_id,
        received_at=case.received_at,
        next_due_at=due.due_at,
        due_clock=due.clock,
        due_clock_label=workflow.clocks[due.clock].label if due.clock in workflow.clocks else due.clock,
        overdue=due.overdue,
        due_soon=due.due_soon,
        paused=due.paused,
        overdue_by=due.late_by,
        overdue_unit=due.late_unit,
        final=workflow.is_final(case.state),
        light=traffic_light(due, final=workflow.is_final(case.state)),
        confidential=case.confidential,
        version=case.version,
        key=case.key_reason is not None,
        key_reason=case.key_reason,
        lead_leader_id=case.lead_leader_id,
    )
