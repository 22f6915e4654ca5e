"""The facts of every case of a report's cohort, as of a moment, in one portable SQL query (SQLite and
PostgreSQL), and the sums, groups and case lists built on it. Nothing here loads cases into Python.

A case's facts come from the CaseState row valid at `as_of` (written with every action: department, state,
responded, resolved, callbacks, clocks met or late, the earliest running due time). So a past month's report
regenerates identically, whatever happened to its cases since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql import Select, Subquery
from sqlmodel import Session

from grievance.cases.models import Case, CaseClock, CaseState
from grievance.reference.models import Category, Enterprise, LiaisonAssignment
from grievance.reports.metrics import FACTS
from grievance.reports.periods import Period, local_midnight, months_between
from grievance.workflow.definition import NODE_CLOCK_SEPARATOR

SATISFIED = ("satisfied", "basically_satisfied")

cases = Case.__table__  # type: ignore[attr-defined]
case_states = CaseState.__table__  # type: ignore[attr-defined]
case_clocks = CaseClock.__table__  # type: ignore[attr-defined]
categories = Category.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Filters:
    """Which cases of the period a report covers. Department is the one holding the case as of the moment."""

    channel: str | None = None
    case_type: str | None = None
    petitioner_kind: str | None = None
    department_id: int | None = None
    station_id: int | None = None
    meeting_id: int | None = None
    enterprise_id: int | None = None
    category_id: int | None = None  # any level: its subcategories are included

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class ReportQuery:
    period: Period
    filters: Filters = field(default_factory=Filters)
    start_day: int = 1
    basic_weight: float = 0.9


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _cohort(q: ReportQuery) -> list[ColumnElement[bool]]:
    """Conditions on the cases table: received in the period (and by the moment), and the case filters."""
    f = q.filters
    where: list[ColumnElement[bool]] = [
        cases.c.received_at >= q.period.start_utc,
        cases.c.received_at < q.period.end_utc,
        cases.c.received_at <= q.period.as_of,
    ]
    for name in ("channel", "case_type", "petitioner_kind", "station_id", "meeting_id", "enterprise_id"):
        value = getattr(f, name)
        if value is not None:
            where.append(cases.c[name] == value)
    if f.category_id is not None:
        parent = categories.alias("filter_parent")
        where.append(
            cases.c.category_id.in_(
                select(categories.c.id)
                .outerjoin(parent, parent.c.id == categories.c.parent_id)
                .where(
                    or_(
                        categories.c.id == f.category_id,
                        categories.c.parent_id == f.category_id,
                        parent.c.parent_id == f.category_id,
                    )
                )
            )
        )
    return where


def _month(q: ReportQuery) -> ColumnElement[str]:
    """The assessment month of received_at, as a CASE over the months' UTC bounds (portable, and exact for
    a period start day of 19)."""
    months = months_between(q.period.start, q.period.end, q.start_day)
    if len(months) == 1:
        return literal(months[0].key)
    whens = [(cases.c.received_at < local_midnight(m.end, q.period.timezone), m.key) for m in months[:-1]]
    return case(*whens, else_=months[-1].key)


def _clock_late(as_of: datetime, *, centre: bool) -> ColumnElement[bool]:
    """Whether one of the case's clocks of the centre (callback, acceptance notice... `owner: centre` in the
    workflow files) or of the department was missed as of the moment: due by then and not stopped by its due
    time (a clock paused before its due time is not late).

    A CaseClock row holds a clock's latest round only, so a round replaced by a restart after `as_of` (re-dispatch,
    reopen) is not seen here; the case-level fact stays the CaseState's (see `facts`), this only says whose it is."""
    owner = case_clocks.c.owner == "centre" if centre else case_clocks.c.owner != "centre"
    return (
        select(case_clocks.c.id)
        .where(
            case_clocks.c.case_id == cases.c.id,
            owner,
            ~case_clocks.c.name.contains(NODE_CLOCK_SEPARATOR),  # a key case's nodes count in no rate (issue 12)
            case_clocks.c.started_at <= as_of,
            case_clocks.c.due_at <= as_of,
            or_(case_clocks.c.stopped_at.is_(None), case_clocks.c.stopped_at > case_clocks.c.due_at),
            or_(case_clocks.c.paused_at.is_(None), case_clocks.c.paused_at >= case_clocks.c.due_at),
        )
        .exists()
    )


def facts(q: ReportQuery) -> Subquery:
    """One row per case of the cohort: its group keys as of the moment and a 0/1 column per fact, from the one
    CaseState row valid at that moment (ix_case_states_case: one index probe per case)."""
    return facts_query(q).subquery("facts")


def facts_query(q: ReportQuery) -> Select[Any]:
    """The SELECT behind facts(q), for a statement that uses it as a CTE (totals_and_groups)."""
    as_of = q.period.as_of
    st = case_states
    parent = categories.alias("parent_category")
    grandparent = categories.alias("grandparent_category")

    received = st.c.merged.is_(False)
    resolved = and_(received, st.c.resolved.is_(True))
    reached = and_(received, st.c.reached.is_(True))
    dispute = and_(received, cases.c.case_type == "dispute")
    # Overdue from the due moment on, as the case page (clock_status) and the extension guard say.
    overdue = and_(received, or_(st.c.late.is_(True), st.c.next_due_at <= as_of))
    centre_late = _clock_late(as_of, centre=True)
    columns: dict[str, ColumnElement[Any]] = {
        "received": _flag(received),
        "duplicate": _flag(st.c.merged.is_(True)),
        "responded": _flag(and_(received, st.c.responded.is_(True))),
        "responded_on_time": _flag(and_(received, st.c.responded_on_time.is_(True))),
        "resolved": _flag(resolved),
        "resolved_on_time": _flag(and_(resolved, st.c.resolved_on_time.is_(True))),
        "overdue": _flag(overdue),
        # Whose lateness: the centre's when one of its clocks was missed; the department's when one of the
        # department's was, or when the centre's clocks do not explain it (a round missed before a restart).
        "department_overdue": _flag(and_(overdue, or_(_clock_late(as_of, centre=False), ~centre_late))),
        "centre_overdue": _flag(and_(overdue, centre_late)),
        "callback_reached": _flag(and_(resolved, st.c.callback_reached.is_(True))),
        "reached": _flag(reached),
        "solved": _flag(and_(reached, st.c.solved.is_(True))),
        "satisfied": _flag(and_(reached, st.c.satisfaction.in_(SATISFIED))),
        "satisfaction_points": case(
            (and_(reached, st.c.satisfaction == "satisfied"), cast(literal(1.0), Float)),
            (and_(reached, st.c.satisfaction == "basically_satisfied"), cast(literal(q.basic_weight), Float)),
            else_=cast(literal(0.0), Float),
        ),
        "dispute": _flag(dispute),
        "mediated": _flag(and_(dispute, resolved, st.c.outcome == "mediated")),
        "reopened": _flag(and_(resolved, st.c.reopened.is_(True))),
        # Distinct enterprises are counted from this column, not summed.
        "enterprise": case((received, cases.c.enterprise_id), else_=null()),
    }
    query = (
        select(
            cases.c.id.label("case_id"),
            cases.c.case_no,
            cases.c.title,
            cases.c.received_at,
            cases.c.confidential,
            cases.c.accused_department_id,
            st.c.state.label("state"),
            st.c.department_id.label("department"),
            cases.c.channel.label("channel"),
            cases.c.station_id.label("station"),
            cases.c.meeting_id.label("meeting"),
            func.coalesce(grandparent.c.id, parent.c.id, categories.c.id).label("category"),
            cases.c.case_type.label("case_type"),
            cases.c.petitioner_kind.label("petitioner_kind"),
            _month(q).label("month"),
            *(column.label(name) for name, column in columns.items()),
        )
        .select_from(cases)
        .join(
            st,
            and_(
                st.c.case_id == cases.c.id,
                st.c.valid_from <= as_of,
                or_(st.c.valid_to.is_(None), st.c.valid_to > as_of),
            ),
        )
        .outerjoin(categories, categories.c.id == cases.c.category_id)
        .outerjoin(parent, parent.c.id == categories.c.parent_id)
        .outerjoin(grandparent, grandparent.c.id == parent.c.parent_id)
        .where(*_cohort(q))
    )
    if q.filters.department_id is not None:
        query = query.where(st.c.department_id == q.filters.department_id)
    return query


CASE_FACTS = [key for key in FACTS if key not in ("enterprise", "large_enterprise", "liaison_covered")]


def _sums(f: Subquery) -> list[ColumnElement[Any]]:
    return [
        *(func.coalesce(func.sum(f.c[key]), 0).label(key) for key in CASE_FACTS),
        func.count(func.distinct(f.c.enterprise)).label("enterprise"),
    ]


def totals(session: Session, q: ReportQuery) -> dict[str, float]:
    """The sums of every case fact over the cohort, and the zone's enterprise facts as of the moment."""
    f = facts(q)
    row = session.execute(select(*_sums(f))).one()
    found = {key: float(value or 0) for key, value in row._mapping.items()}
    found.update(liaison_facts(session, q.period.as_of))
    return found


def totals_and_groups(
    session: Session, q: ReportQuery, dimensions: list[str]
) -> tuple[dict[str, float], dict[str, list[tuple[Any, dict[str, float]]]]]:
    """What totals() and grouped() give for each of `dimensions`, from one evaluation of the cohort's facts: one
    statement, the facts a materialized CTE (WITH facts AS MATERIALIZED, PostgreSQL 12+ and SQLite 3.35+) read
    once by a UNION ALL of the totals and one GROUP BY per dimension. For a report that groups one cohort many
    ways (the monthly report): each facts evaluation reads one case_states row per case, the costly part.

    Returns (totals as totals() gives them, {dimension: [(key, sums)] in grouped()'s order: keys ascending, the
    "none" group last})."""
    f = facts_query(q).cte("facts").prefix_with("MATERIALIZED")
    parts = [select(literal("").label("dimension"), cast(null(), String).label("key"), *_sums(f))]  # type: ignore[arg-type]
    for dimension in dimensions:
        key = f.c[dimension]
        parts.append(
            select(literal(dimension).label("dimension"), cast(key, String).label("key"), *_sums(f)).group_by(key)  # type: ignore[arg-type]
        )
    totals_row: dict[str, float] = {}
    found: dict[str, list[tuple[Any, dict[str, float]]]] = {dimension: [] for dimension in dimensions}
    for row in session.execute(union_all(*parts)).all():
        sums = {k: float(v or 0) for k, v in row._mapping.items() if k not in ("dimension", "key")}
        if row.dimension == "":
            totals_row = sums
        else:
            found[row.dimension].append((_typed_key(f.c[row.dimension], row.key), sums))
    for rows in found.values():
        rows.sort(key=lambda item: (item[0] is None, item[0] if item[0] is not None else 0))
    totals_row.update(liaison_facts(session, q.period.as_of))
    return totals_row, found


def _typed_key(column: Any, text: str | None) -> Any:
    """A group key as grouped() returns it, from its text in the union (ids back to int)."""
    if text is None:
        return None
    return int(text) if isinstance(column.type, Integer) else text


DIMENSIONS = ("department", "channel", "station", "meeting", "category", "case_type", "petitioner_kind", "month")


def grouped(session: Session, q: ReportQuery, dimension: str) -> list[tuple[Any, dict[str, float]]]:
    """The sums per value of a dimension (a NULL key is "none": no station, no department yet...)."""
    f = facts(q)
    key = f.c[dimension]
    # The "none" group last on every database (SQLite sorts NULL first, PostgreSQL last).
    rows = session.execute(select(key.label("key"), *_sums(f)).group_by(key).order_by(key.is_(None), key)).all()
    return [(row.key, {k: float(v or 0) for k, v in row._mapping.items() if k != "key"}) for row in rows]


def case_list(
    session: Session,
    q: ReportQuery,
    fact: str,
    *,
    limit: int | None = None,
    offset: int = 0,
    hidden_from_department: int | None = None,
    known_total: int | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """The cases a fact counts (the numerator or denominator of a rate), oldest first, and how many. Reports
    (举报) accusing `hidden_from_department` are left out: its people never see them, not even in a list.
    `known_total`: their number when the caller has it already (a 0/1 fact's sum over the same cohort), which
    spares the count (one more evaluation of the facts)."""
    f = facts(q)
    condition = f.c[fact].is_not(None) if fact == "enterprise" else f.c[fact] > 0
    if hidden_from_department is not None:
        condition = and_(
            condition,
            or_(f.c.accused_department_id.is_(None), f.c.accused_department_id != hidden_from_department),
        )
    if known_total is not None and hidden_from_department is None:
        total = known_total
    else:
        total = session.execute(select(func.count()).select_from(f).where(condition)).scalar_one()
    query = (
        select(
            f.c.case_id,
            f.c.case_no,
            f.c.title,
            f.c.received_at,
            f.c.state,
            f.c.department,
            f.c.channel,
            f.c.confidential,
            # Whose lateness an overdue case is (both may be): for the overdue lists.
            f.c.department_overdue,
            f.c.centre_overdue,
        )
        .where(condition)
        .order_by(f.c.received_at, f.c.case_id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return int(total), [dict(row._mapping) for row in session.execute(query)]


enterprises = Enterprise.__table__  # type: ignore[attr-defined]
assignments = LiaisonAssignment.__table__  # type: ignore[attr-defined]


def _active_liaison(as_of: datetime) -> ColumnElement[bool]:
    return (
        select(assignments.c.id)
        .where(
            assignments.c.enterprise_id == enterprises.c.id,
            assignments.c.started_at <= as_of,
            or_(assignments.c.ended_at.is_(None), assignments.c.ended_at > as_of),
        )
        .exists()
    )


def liaison_facts(session: Session, as_of: datetime) -> dict[str, float]:
    large = and_(enterprises.c.is_large.is_(True), enterprises.c.created_at <= as_of)
    row = session.execute(
        select(
            func.count().label("large_enterprise"),
            func.coalesce(func.sum(cast(_flag(_active_liaison(as_of)), Integer)), 0).label("liaison_covered"),
        ).where(large)
    ).one()
    return {"large_enterprise": float(row.large_enterprise), "liaison_covered": float(row.liaison_covered)}


def enterprise_list(session: Session, as_of: datetime, fact: str) -> list[dict[str, Any]]:
    """The large enterprises as of the moment (denominator of coverage), or those with an active liaison."""
    query = select(enterprises.c.id, enterprises.c.name, enterprises.c.credit_code).where(
        enterprises.c.is_large.is_(True), enterprises.c.created_at <= as_of
    )
    if fact == "liaison_covered":
        query = query.where(_active_liaison(as_of))
    return [dict(row._mapping) for row in session.execute(query.order_by(enterprises.c.id))]


def served_enterprises(session: Session, q: ReportQuery) -> list[dict[str, Any]]:
    """The enterprises of the cohort's cases (the figure of enterprises_served), each once, with their cases."""
    f = facts(q)
    rows = session.execute(
        select(enterprises.c.id, enterprises.c.name, enterprises.c.credit_code, func.count().label("cases"))
        .join(f, f.c.enterprise == enterprises.c.id)
        .group_by(enterprises.c.id, enterprises.c.name, enterprises.c.credit_code)
        .order_by(enterprises.c.id)
    )
    return [dict(row._mapping) for row in rows]


# ------------------------------------------------------------------------------------------ assisted parts (协办)
# A department's figures count the cases it led (CaseState.department_id, as every rate). The parts it assisted on
# (grievance/keycases/parts.py) are counted apart, here: the parts of the cohort's cases sent to it by the moment
# (withdrawn ones left out once withdrawn), those reported by then, those reported by their due time, and those the
# supervisor waived by then (免除: never reported, shown apart so they do not read as the department's failures).
# The on-time rate is on_time ÷ reported: parts waived or still open are in neither (docs/key-cases.md).
ASSISTED_FACTS = ("assisted", "reported", "on_time", "waived")


def _assisted_rows(q: ReportQuery) -> Any:
    """One row per assisting part of the cohort's cases, as of the moment: part's department, its case, and 0/1
    columns assisted / reported / on_time / waived. A part withdrawn by then is left out (it was never worked)."""
    from grievance.keycases.models import CasePart

    parts = CasePart.__table__  # type: ignore[attr-defined]
    as_of = q.period.as_of
    reported = and_(parts.c.reported_at.is_not(None), parts.c.reported_at <= as_of)
    where = [
        *_cohort(q),
        parts.c.dispatched_at <= as_of,
        ~and_(parts.c.status == "withdrawn", parts.c.closed_at <= as_of),
    ]
    if q.filters.department_id is not None:
        where.append(parts.c.department_id == q.filters.department_id)
    return (
        select(
            parts.c.department_id.label("department"),
            cases.c.id.label("case_id"),
            cases.c.accused_department_id,
            literal(1).label("assisted"),
            _flag(reported).label("reported"),
            _flag(and_(reported, parts.c.on_time.is_(True))).label("on_time"),
            _flag(and_(parts.c.status == "waived", parts.c.closed_at <= as_of)).label("waived"),
        )
        .select_from(parts)
        .join(cases, cases.c.id == parts.c.case_id)
        .where(*where)
        .subquery("assisted_parts")
    )


def assisted_parts(session: Session, q: ReportQuery) -> dict[int, dict[str, int]]:
    """{department id: {"assisted", "reported", "on_time", "waived"}}: the assisting parts (协办) of the cohort's
    cases per department as of the moment (ASSISTED_FACTS; assisted counts every part sent, waived ones included).
    One query."""
    f = _assisted_rows(q)
    rows = session.execute(
        select(f.c.department, *(func.sum(f.c[k]).label(k) for k in ASSISTED_FACTS)).group_by(f.c.department)
    ).all()
    return {row.department: {k: int(getattr(row, k) or 0) for k in ASSISTED_FACTS} for row in rows}


def assisted_case_list(
    session: Session, q: ReportQuery, department_id: int, fact: str, *, hidden_from_department: int | None = None
) -> list[dict[str, Any]]:
    """The cases behind one assisted-parts figure of a department (fact one of ASSISTED_FACTS), oldest first: each
    case once per counted part ({case_id, case_no, title, received_at, state (now), confidential}); their number
    is the figure. Reports accusing `hidden_from_department` are left out."""
    f = _assisted_rows(q)
    condition = and_(f.c.department == department_id, f.c[fact] > 0)
    if hidden_from_department is not None:
        condition = and_(
            condition, or_(f.c.accused_department_id.is_(None), f.c.accused_department_id != hidden_from_department)
        )
    query = (
        select(cases.c.id.label("case_id"), cases.c.case_no, cases.c.title, cases.c.received_at, cases.c.confidential)
        .select_from(f)
        .join(cases, cases.c.id == f.c.case_id)
        .where(condition)
        .order_by(cases.c.received_at, cases.c.id)
    )
    return [dict(row._mapping) for row in session.execute(query)]
