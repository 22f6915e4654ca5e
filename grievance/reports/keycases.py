"""The key-case report (重点件报表, issue 12): key cases received, resolved, resolved on time, backlog cases cleared,
nodes met on time, open key cases and late nodes of a period, as of a moment, each figure with the exact cases (or
nodes) it counts. One SQL query per figure set, on SQLite and PostgreSQL alike; nothing is counted in Python.

Definitions (docs/key-cases.md, "Key-case report"); a period is [from, to) in local time, read as of `as_of` (UTC):

- A case is **key as of the moment** when its `key_marked_at` (the mark_key event's time; the intake time of an
  inspection referral) is at or before it. Being key is never undone (mark_key is refused on a key case), so this is
  exact. Duplicates merged into another case (as of the moment) are left out of everything, as in every rate.
- **received**: key cases whose `key_marked_at` falls in the period (an inspection referral: its intake).
- **resolved**: key cases resolved as of the moment — resolved and not reopened since, the CaseState fact every
  resolution figure counts — whose standing resolution (the moment the case last became resolved: the end of its
  last unresolved CaseState row, or its first row for a case answered at intake) falls in the period.
- **resolved on time**: of those, the ones whose last resolve was by the resolve clock's due time, extensions
  included (CaseState.resolved_on_time, the fact of the on-time resolution rate).
- **backlog cleared**: resolved cases (as above) whose reason is backlog (积案). Closing (归档) is not required.
- **nodes due** / **nodes met on time**: nodes of key cases whose due time falls in the period and has passed by the
  moment — due times are compared as (from, to], since a due time of D 24:00 (stored as D+1 00:00 local) is D's; met = completed at or before the due time (and by the moment). Missed = due minus met.
- **open**: key cases neither resolved nor in a final state as of the moment (a snapshot, whatever the period).
- **late nodes**: nodes of the open key cases not completed by the moment and due by then (a snapshot).

Nodes are read as of the moment by their creation and completion times. A node removed by an approved plan change
counts nowhere (it left the plan), and a node re-dated by a change counts with its new due time: the plan of
nodes keeps no history of its due times except in the events (known limit, docs/key-cases.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, null, or_, select
from sqlalchemy.sql import Subquery
from sqlmodel import Session

from grievance.cases.models import AuditEntry, Case, CaseEvent, CaseState
from grievance.config import Settings
from grievance.db import find_by_ref
from grievance.errors import InvalidInput
from grievance.glossary import LABELS, KeyReason, label_of
from grievance.keycases.models import CaseNode
from grievance.keycases.plan import LEFT_PLAN
from grievance.reference.models import Department
from grievance.reference.service import names_by_id
from grievance.reports import service
from grievance.reports.metrics import Metric
from grievance.reports.periods import Period, month
from grievance.users.models import User
from grievance.workflow.loader import Workflows

cases = Case.__table__  # type: ignore[attr-defined]
case_states = CaseState.__table__  # type: ignore[attr-defined]
case_events = CaseEvent.__table__  # type: ignore[attr-defined]
case_nodes = CaseNode.__table__  # type: ignore[attr-defined]

# The effects that set a key case's lead leader (their event's payload holds `lead_leader_id`).
LEADER_EFFECTS = ("mark_key", "set_lead_leader")
GROUPS = ("lead_leader", "reason")
GROUP_LABELS = {"lead_leader": ("包案领导", "lead leader"), "reason": ("重点件原因", "reason")}
NO_LEADER = ("未定包案领导", "no lead leader yet")


@dataclass(frozen=True)
class KeyFact:
    """A per-case figure of the key-case report: a 0/1 flag (unit case) or a number of nodes (unit node)."""

    key: str
    label: str
    label_en: str
    unit: Literal["case", "node"] = "case"


KEY_FACTS: dict[str, KeyFact] = {
    f.key: f
    for f in [
        KeyFact("received", "期间内成为重点件", "became key in the period"),
        KeyFact("resolved", "期间内办结（此后未重办）", "resolved in the period and not reopened since"),
        KeyFact(
            "resolved_on_time", "在办结时限内办结（含延期）", "resolved by the resolve due time (extensions included)"
        ),
        KeyFact("resolved_late", "超过办结时限办结", "resolved after the resolve due time"),
        KeyFact("backlog_cleared", "期间内办结的积案", "backlog cases (积案) resolved in the period"),
        KeyFact("open", "统计时点未办结的重点件", "key cases not resolved at the moment"),
        KeyFact("nodes_due", "期间内到期的节点", "nodes due in the period", "node"),
        KeyFact("nodes_met", "按时完成的节点", "nodes completed by their due time", "node"),
        KeyFact("nodes_missed", "未按时完成的节点", "nodes not completed by their due time", "node"),
        KeyFact("late_nodes", "统计时点逾期未完成的节点", "nodes past due and not completed at the moment", "node"),
    ]
}


class KeyMetric(Metric):
    """A figure of the key-case report: the registry's Metric (value, rate without a denominator = null) over the
    key-case facts."""

    @property
    def formula(self) -> str:
        top = KEY_FACTS[self.numerator].label
        if self.denominator is None:
            return f"{self.label} = {top}数"
        return f"{self.label} = {top} ÷ {KEY_FACTS[self.denominator].label}"

    @property
    def formula_en(self) -> str:
        top = KEY_FACTS[self.numerator].label_en
        if self.denominator is None:
            return f"{self.label_en} = number of {top}"
        return f"{self.label_en} = {top} / {KEY_FACTS[self.denominator].label_en}"


KEY_METRICS: dict[str, KeyMetric] = {
    m.key: m
    for m in [
        KeyMetric("key_received", "新增重点件", "key cases received", "count", "received"),
        KeyMetric("key_resolved", "办结重点件", "key cases resolved", "count", "resolved"),
        KeyMetric(
            "key_on_time_resolution_rate",
            "重点件按时办结率",
            "on-time resolution rate",
            "rate",
            "resolved_on_time",
            "resolved",
        ),
        KeyMetric("backlog_cleared", "化解积案", "backlog cases cleared", "count", "backlog_cleared"),
        KeyMetric("node_on_time_rate", "节点按时完成率", "nodes met on time", "rate", "nodes_met", "nodes_due"),
        KeyMetric("nodes_missed", "未按时完成节点", "nodes missed", "count", "nodes_missed"),
        KeyMetric("key_open", "在办重点件", "key cases open", "count", "open"),
        KeyMetric("late_nodes", "逾期节点", "late nodes", "count", "late_nodes"),
    ]
}
# Figures of the moment rather than of the period: open key cases and late nodes at `as_of`.
SNAPSHOT = frozenset({"key_open", "late_nodes"})


@dataclass(frozen=True)
class KeyFilters:
    """Which key cases: by lead leader (as of the moment; 0 = none yet), reason, department holding the case as of
    the moment (a department head's own, always)."""

    lead_leader_id: int | None = None
    reason: str | None = None
    department_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class KeyQuery:
    """A key-case report's period and moment, filters, and what the workflow files say (open states, the actions
    that set a lead leader): build it with key_query()."""

    period: Period
    filters: KeyFilters = field(default_factory=KeyFilters)
    open_states: tuple[str, ...] = ()  # states not final in some workflow (as the board counts open cases)
    leader_actions: tuple[str, ...] = ("mark_key", "set_lead_leader")


def key_query(workflows: Workflows, period: Period, filters: KeyFilters | None = None) -> KeyQuery:
    """The query of a period with the open states and the actions that set a lead leader read from the workflow
    files (never from their names)."""
    definitions = list(workflows.definitions.values())
    open_states = sorted({code for w in definitions for code, s in w.states.items() if not s.final})
    actions = sorted(
        {name for w in definitions for name, a in w.actions.items() if set(a.effects) & set(LEADER_EFFECTS)}
    )
    return KeyQuery(period, filters or KeyFilters(), tuple(open_states), tuple(actions))


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _leader_as_of(q: KeyQuery) -> ColumnElement[Any]:
    """The lead leader as of the moment: the `lead_leader_id` of the case's latest mark_key / set_lead_leader event
    by then; for a case no such event ever named (marked outside the workflow), the case's column."""
    ev = case_events.alias("leader_events")
    latest = (
        select(ev.c.payload["lead_leader_id"].as_integer())
        .where(ev.c.case_id == cases.c.id, ev.c.action.in_(q.leader_actions), ev.c.at <= q.period.as_of)
        .order_by(ev.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    anyone = select(ev.c.id).where(ev.c.case_id == cases.c.id, ev.c.action.in_(q.leader_actions)).exists()
    return func.coalesce(latest, case((~anyone, cases.c.lead_leader_id), else_=null()))


def _resolution_at(as_of: datetime) -> ColumnElement[Any]:
    """When the case last became resolved, as of the moment: CaseState rows are contiguous, so it is the end of its
    last unresolved row ended by then, or (resolved from its first row: answered at intake) its first row's start.
    Meaningful only for a case resolved as of the moment."""
    before = case_states.alias("unresolved_rows")
    first = case_states.alias("first_rows")
    ended = (
        select(func.max(before.c.valid_to))
        .where(before.c.case_id == cases.c.id, before.c.resolved.is_(False), before.c.valid_to <= as_of)
        .scalar_subquery()
    )
    started = select(func.min(first.c.valid_from)).where(first.c.case_id == cases.c.id).scalar_subquery()
    return func.coalesce(ended, started)


def _node_conditions(q: KeyQuery, nodes: Any) -> dict[str, ColumnElement[bool]]:
    """The node facts over a case_nodes alias, as of the moment (see the module's definitions)."""
    p = q.period
    live = and_(nodes.c.created_at <= p.as_of, nodes.c.status.notin_(LEFT_PLAN))  # removed, withdrawn: off the plan
    done = and_(nodes.c.completed_at.is_not(None), nodes.c.completed_at <= p.as_of)
    # A node is due in the period when its due time is in (start, end]: a due time of D 24:00 is stored as D+1 00:00
    # local, and belongs to day D, so to D's period (a node due 30 Nov 24:00 is November's, not December's).
    due = and_(live, nodes.c.due_at > p.start_utc, nodes.c.due_at <= p.end_utc, nodes.c.due_at <= p.as_of)
    met = and_(due, done, nodes.c.completed_at <= nodes.c.due_at)
    return {
        "nodes_due": due,
        "nodes_met": met,
        "nodes_missed": and_(due, ~met),
        "late_nodes": and_(live, ~done, nodes.c.due_at <= p.as_of),
    }


def _node_count(q: KeyQuery, fact: str) -> ColumnElement[int]:
    nodes = case_nodes.alias(f"{fact}_nodes")
    condition = _node_conditions(q, nodes)[fact]
    return select(func.count()).select_from(nodes).where(nodes.c.case_id == cases.c.id, condition).scalar_subquery()


def facts(q: KeyQuery) -> Subquery:
    """One row per case key as of the moment (duplicates left out): its group keys as of then and a column per
    KEY_FACTS entry (0/1 for a case fact, a number of nodes for a node fact)."""
    p = q.period
    st = case_states

    def in_period(moment: ColumnElement[Any]) -> ColumnElement[bool]:
        return and_(moment >= p.start_utc, moment < p.end_utc, moment <= p.as_of)

    resolved_at = _resolution_at(p.as_of)
    resolved = and_(st.c.resolved.is_(True), in_period(resolved_at))
    open_ = and_(st.c.resolved.is_(False), st.c.state.in_(q.open_states))
    leader = _leader_as_of(q)
    columns: dict[str, ColumnElement[Any]] = {
        "received": _flag(in_period(cases.c.key_marked_at)),
        "resolved": _flag(resolved),
        "resolved_on_time": _flag(and_(resolved, st.c.resolved_on_time.is_(True))),
        "resolved_late": _flag(and_(resolved, st.c.resolved_on_time.is_(False))),
        "backlog_cleared": _flag(and_(resolved, cases.c.key_reason == KeyReason.backlog.value)),
        "open": _flag(open_),
        "nodes_due": _node_count(q, "nodes_due"),
        "nodes_met": _node_count(q, "nodes_met"),
        "nodes_missed": _node_count(q, "nodes_missed"),
        "late_nodes": case((open_, _node_count(q, "late_nodes")), else_=0),
    }
    query = (
        select(
            cases.c.id.label("case_id"),
            cases.c.case_no,
            cases.c.title,
            cases.c.received_at,
            cases.c.key_marked_at,
            cases.c.confidential,
            cases.c.accused_department_id,
            cases.c.key_reason.label("reason"),
            leader.label("lead_leader"),
            st.c.state.label("state"),
            st.c.department_id.label("department"),
            case((st.c.resolved.is_(True), resolved_at), else_=null()).label("resolved_at"),
            *(column.label(name) for name, column in columns.items()),
        )
        .select_from(cases)
        .join(
            st,
            and_(
                st.c.case_id == cases.c.id,
                st.c.valid_from <= p.as_of,
                or_(st.c.valid_to.is_(None), st.c.valid_to > p.as_of),
            ),
        )
        .where(cases.c.key_reason.is_not(None), cases.c.key_marked_at <= p.as_of, st.c.merged.is_(False))
    )
    f = q.filters
    if f.reason is not None:
        query = query.where(cases.c.key_reason == f.reason)
    if f.department_id is not None:
        query = query.where(st.c.department_id == f.department_id)
    if f.lead_leader_id is not None:
        query = query.where(leader.is_(None) if f.lead_leader_id == 0 else leader == f.lead_leader_id)
    return query.subquery("key_facts")


def _sums(f: Subquery) -> list[ColumnElement[Any]]:
    return [func.coalesce(func.sum(f.c[key]), 0).label(key) for key in KEY_FACTS]


def totals(session: Session, q: KeyQuery) -> dict[str, float]:
    """{fact: sum} over the key cases of the query. One query."""
    row = session.execute(select(*_sums(facts(q)))).one()
    return {key: float(value or 0) for key, value in row._mapping.items()}


def grouped(session: Session, q: KeyQuery, dimension: str) -> list[tuple[Any, dict[str, float]]]:
    """[(group key, {fact: sum})] per lead leader (user id; None: no leader yet) or reason (KeyReason code)."""
    f = facts(q)
    key = f.c["lead_leader" if dimension == "lead_leader" else "reason"]
    rows = session.execute(select(key.label("key"), *_sums(f)).group_by(key).order_by(key.is_(None), key)).all()
    return [(row.key, {k: float(v or 0) for k, v in row._mapping.items() if k != "key"}) for row in rows]


def _visible(f: Any, hidden_from_department: int | None) -> ColumnElement[bool]:
    if hidden_from_department is None:
        return literal(True)
    return or_(f.c.accused_department_id.is_(None), f.c.accused_department_id != hidden_from_department)


def case_items(
    session: Session, q: KeyQuery, fact: str, *, limit: int | None = None, offset: int = 0, hidden: int | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """(how many, the rows) of the key cases a case fact counts, in the order they became key. Reports (举报)
    accusing department `hidden` are left out."""
    f = facts(q)
    condition = and_(f.c[fact] > 0, _visible(f, hidden))
    total = session.execute(select(func.count()).select_from(f).where(condition)).scalar_one()
    query = (
        select(
            f.c.case_id,
            f.c.case_no,
            f.c.title,
            f.c.received_at,
            f.c.key_marked_at,
            f.c.resolved_at,
            f.c.reason,
            f.c.lead_leader,
            f.c.state,
            f.c.department,
            f.c.confidential,
        )
        .where(condition)
        .order_by(f.c.key_marked_at, f.c.case_id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return int(total), [dict(row._mapping) for row in session.execute(query)]


def node_items(
    session: Session, q: KeyQuery, fact: str, *, limit: int | None = None, offset: int = 0, hidden: int | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """(how many, the rows) of the nodes a node fact counts, by due time: each with its case (received_at and
    key_marked_at included), responsible department, due time and completion as of the moment (None when completed
    later)."""
    f = facts(q)
    nodes = case_nodes.alias("listed_nodes")
    condition = and_(_node_conditions(q, nodes)[fact], _visible(f, hidden))
    if fact == "late_nodes":
        condition = and_(condition, f.c.open > 0)
    joined = nodes.join(f, f.c.case_id == nodes.c.case_id)
    total = session.execute(select(func.count()).select_from(joined).where(condition)).scalar_one()
    as_of = q.period.as_of
    query = (
        select(
            f.c.case_id,
            f.c.case_no,
            f.c.title,
            f.c.received_at,
            f.c.key_marked_at,
            f.c.reason,
            f.c.lead_leader,
            f.c.state,
            f.c.department,
            f.c.confidential,
            nodes.c.seq,
            nodes.c.name.label("node_name"),
            nodes.c.department_id.label("node_department"),
            nodes.c.due_at,
            case((nodes.c.completed_at <= as_of, nodes.c.completed_at), else_=null()).label("completed_at"),
        )
        .select_from(joined)
        .where(condition)
        .order_by(nodes.c.due_at, f.c.case_id, nodes.c.seq)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return int(total), [dict(row._mapping) for row in session.execute(query)]


# --- the report as a document ----------------------------------------------------------------------------------


def names_of(session: Session, model: Any, ids: set[Any]) -> dict[int, str]:
    """{id: name} of users (display name) or departments among `ids` (None, 0 and non-ids skipped). One query."""
    return names_by_id(session, model, (i for i in ids if isinstance(i, int) and i))


def group_label(dimension: str, key: Any, leaders: dict[int, str], locale: str = "zh_CN") -> str:
    """A group's name: a reason's label, a leader's name (from `leaders`), or "no lead leader yet"."""
    en = locale == "en"
    if dimension == "reason":
        return label_of("KeyReason", str(key), locale) if key is not None else ""
    if key is None:
        return NO_LEADER[1] if en else NO_LEADER[0]
    return leaders.get(key, str(key))


def metric_values(sums: dict[str, float]) -> dict[str, dict[str, Any]]:
    return {key: m.value(sums) for key, m in KEY_METRICS.items()}


def _period_json(period: Period) -> dict[str, str]:
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "as_of": period.as_of.astimezone(ZoneInfo(period.timezone)).isoformat(),
        "timezone": period.timezone,
    }


def report(session: Session, q: KeyQuery, group_by: list[str] | None = None) -> dict[str, Any]:
    """The key-case report: {"period": {from, to, as_of (local ISO), timezone}, "filters": {...}, "metrics": {key:
    {value} or {numerator, denominator, value}}, "groups": {dimension: [{key, label, metrics}]}, "formulas": {key:
    {label, label_en, kind, unit, formula, formula_en, snapshot}}}. InvalidInput (group_by) for an unknown group."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for dimension in check_groups(group_by or []):
        rows = grouped(session, q, dimension)
        leaders = names_of(session, User, {k for k, _ in rows}) if dimension == "lead_leader" else {}
        groups[dimension] = [
            {"key": key, "label": group_label(dimension, key, leaders), "metrics": metric_values(sums)}
            for key, sums in rows
        ]
    return {
        "period": _period_json(q.period),
        "filters": q.filters.as_dict(),
        "metrics": metric_values(totals(session, q)),
        "groups": groups,
        "formulas": formulas(),
    }


def formulas() -> dict[str, dict[str, Any]]:
    return {
        key: {
            "label": m.label,
            "label_en": m.label_en,
            "kind": m.kind,
            "unit": KEY_FACTS[m.numerator].unit,
            "formula": m.formula,
            "formula_en": m.formula_en,
            "snapshot": key in SNAPSHOT,
        }
        for key, m in KEY_METRICS.items()
    }


def check_groups(group_by: list[str]) -> list[str]:
    unknown = [g for g in group_by if g not in GROUPS]
    if unknown:
        raise InvalidInput.field(
            "group_by",
            f"不能按 {'、'.join(unknown)} 分组，可选：{'、'.join(GROUPS)}",
            f"cannot group by {', '.join(unknown)}; accepted: {', '.join(GROUPS)}",
        )
    return group_by


def key_metric(key: str) -> KeyMetric:
    found = KEY_METRICS.get(key)
    if found is None:
        raise InvalidInput.field(
            "metric",
            f"重点件报表没有指标 {key}，可选：{'、'.join(KEY_METRICS)}",
            f"the key-case report has no figure {key!r}; accepted: {', '.join(KEY_METRICS)}",
        )
    return found


def explain(
    session: Session,
    q: KeyQuery,
    metric_key: str,
    part: str = "numerator",
    *,
    limit: int | None = None,
    offset: int = 0,
    actor: User | None = None,
) -> dict[str, Any]:
    """The exact key cases (unit case) or nodes (unit node) behind one figure's numerator or denominator: {metric,
    label, part, fact, fact_label, formula, unit, period, count, items}. Listed confidential cases are audited;
    reports (举报) are never listed to the department they accuse. InvalidInput for an unknown metric or part."""
    m = key_metric(metric_key)
    if part not in service.PARTS or (part == "denominator" and m.denominator is None):
        accepted = service.PARTS if m.denominator else service.PARTS[:1]
        raise InvalidInput.field(
            "part",
            f"{m.label}没有「{part}」，可选：{'、'.join(accepted)}",
            f"{metric_key} has no part {part!r}; accepted: {', '.join(accepted)}",
        )
    fact = m.numerator if part == "numerator" else m.denominator
    assert fact is not None
    unit = KEY_FACTS[fact].unit
    hidden = actor.department_id if actor is not None else None
    lister = node_items if unit == "node" else case_items
    count, rows = lister(session, q, fact, limit=limit, offset=offset, hidden=hidden)
    session.add_all(
        AuditEntry(user_id=actor.id if actor else None, action="list_confidential", case_id=row["case_id"])
        for row in rows
        if row["confidential"]
    )
    departments = names_of(
        session, Department, {r["department"] for r in rows} | {r.get("node_department") for r in rows}
    )
    leaders = names_of(session, User, {r["lead_leader"] for r in rows})
    for row in rows:
        row["department_name"] = departments.get(row["department"], "")
        row["lead_leader_name"] = leaders.get(row["lead_leader"], "") if row["lead_leader"] else ""
        row["reason_label"] = LABELS["KeyReason"].get(row["reason"], row["reason"])
        if unit == "node":
            row["node_department_name"] = departments.get(row["node_department"], "")
    return {
        "metric": m.key,
        "label": m.label,
        "label_en": m.label_en,
        "part": part,
        "fact": fact,
        "fact_label": KEY_FACTS[fact].label,
        "fact_label_en": KEY_FACTS[fact].label_en,
        "formula": m.formula,
        "unit": unit,
        "period": _period_json(q.period),
        "filters": q.filters.as_dict(),
        "count": count,
        "items": rows,
    }


# --- what people type ------------------------------------------------------------------------------------------


def quarter_days(key: str, start_day: int) -> tuple[date, date]:
    """The days [start, end) of a quarter "2025-Q3": its three assessment months."""
    try:
        year, q = key.upper().split("-Q")
        number = int(q)
        if not 1 <= number <= 4:
            raise ValueError
        first = month(f"{int(year):04d}-{3 * number - 2:02d}", start_day)
    except (ValueError, InvalidInput):
        raise InvalidInput.field(
            "quarter",
            f"季度「{key}」无效，格式为 YYYY-Qn，如 2025-Q3",
            f"bad quarter {key!r}; accepted: YYYY-Qn, e.g. 2025-Q3",
        ) from None
    last = month(f"{int(year):04d}-{3 * number:02d}", start_day)
    return first.start, last.end


def year_days(key: str, start_day: int) -> tuple[date, date]:
    """The days [start, end) of a year "2025": its twelve assessment months."""
    try:
        year = int(key)
        first, last = month(f"{year:04d}-01", start_day), month(f"{year:04d}-12", start_day)
    except (ValueError, InvalidInput):
        raise InvalidInput.field(
            "year", f"年份「{key}」无效，格式为 YYYY，如 2025", f"bad year {key!r}; accepted: YYYY, e.g. 2025"
        ) from None
    return first.start, last.end


def make_period(
    settings: Settings,
    *,
    start: str | None = None,
    end: str | None = None,
    month_key: str | None = None,
    quarter: str | None = None,
    year: str | None = None,
    as_of: str | None = None,
    now: datetime,
) -> Period:
    """The period of one of: an assessment month (YYYY-MM), a quarter (YYYY-Qn), a year (YYYY) or days [from, to);
    as of a moment (ISO; default now, never in the future). InvalidInput (fields from and to, naming the four
    kinds) when none is given, naming the second when several are."""
    given = [name for name, value in (("month", month_key), ("quarter", quarter), ("year", year)) if value]
    if start or end:
        given.append("from")
    if not given:
        zh = "请给出统计区间：考核月 month=YYYY-MM、季度 quarter=YYYY-Qn、年度 year=YYYY，或日期 from 与 to（YYYY-MM-DD，区间为 [from, to)）"
        en = "give a period: month=YYYY-MM, quarter=YYYY-Qn, year=YYYY, or days from and to (YYYY-MM-DD, [from, to))"
        raise InvalidInput(zh, en, [{"field": name, "message": zh, "message_en": en} for name in ("from", "to")])
    if len(given) > 1:
        raise InvalidInput.field(
            given[1],
            f"请只给出一种区间：{'、'.join(given)} 只能选一个",
            f"give one period only: one of {', '.join(given)}",
        )
    if quarter or year:
        days = quarter_days if quarter else year_days
        first, last = days(quarter or year or "", settings.report_period_start_day)
        start, end = first.isoformat(), last.isoformat()
    return service.make_period(settings, start=start, end=end, as_of=as_of, month_key=month_key, now=now)


def make_filters(
    session: Session, *, leader: str | int | None = None, reason: str | None = None, department: str | int | None = None
) -> KeyFilters:
    """Filters from what a person typed: a leader's id or username ("none": no leader yet), a KeyReason code, a
    department's id or code. InvalidInput naming the field otherwise."""
    leader_id: int | None = None
    if leader not in (None, ""):
        if leader == "none":
            leader_id = 0
        else:
            user = find_by_ref(session, User, leader, "username")
            if user is None:
                raise InvalidInput.field(
                    "leader",
                    f"包案领导「{leader}」不存在",
                    f"no leader {leader!r} (give a user id or username, or none)",
                )
            leader_id = int(user.id)
    if reason in ("", None):
        reason = None
    elif reason not in KeyReason.__members__:
        raise InvalidInput.field(
            "reason",
            f"重点件原因「{reason}」无效，可选：{KeyReason.accepted()}",
            f"bad reason {reason!r}; accepted: {KeyReason.accepted()}",
        )
    department_id = service._ref(session, Department, department, "code", "department")
    return KeyFilters(lead_leader_id=leader_id, reason=reason, department_id=department_id)


def scoped(actor: User, filters: KeyFilters) -> KeyFilters:
    """Who reads the key-case report: whoever reads the other reports (service.READERS); a department head reads the
    key cases their department holds. Forbidden otherwise."""
    from dataclasses import replace

    from grievance.reports.queries import Filters

    checked = service.scoped_filters(actor, Filters(department_id=filters.department_id))
    return replace(filters, department_id=checked.department_id)
