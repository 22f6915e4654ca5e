"""Reports as documents: the rates of a period (with groups), the cases behind any figure, and the monthly
report (月报) that the HTML and XLSX exports render. The API, the CLI and the web pages all call these."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from grievance.cases.models import AuditEntry
from grievance.config import Settings
from grievance.db import find_by_ref
from grievance.errors import Forbidden, InvalidInput
from grievance.glossary import LABELS, CaseType, Channel, LabelledEnum, PetitionerKind, Role, role_label, role_labels
from grievance.reference.models import Category, Department, Enterprise, Meeting, Station
from grievance.reports import queries
from grievance.reports.metrics import FACTS, METRICS, ZONE_METRICS, metric
from grievance.reports.periods import Month, Period, month, month_of, months_between
from grievance.reports.queries import DIMENSIONS, Filters, ReportQuery
from grievance.users.models import User
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.calendar_service import parse_day, parse_moment

DIMENSION_LABELS = {
    "department": ("承办单位", "department"),
    "channel": ("来源渠道", "channel"),
    "station": ("城市驿站", "station"),
    "meeting": ("阳光恳谈会", "meeting"),
    "category": ("业务分类（一级）", "category (level 1)"),
    "case_type": ("诉求类型", "case type"),
    "petitioner_kind": ("诉求人类别", "petitioner kind"),
    "month": ("月份", "month"),
}
# The centre's own row under the department ranking: its clocks (callbacks...) are not a department's lateness.
CENTRE_LABELS = ("指挥中心（回访等）", "Dispatch centre (callbacks etc.)")
NONE_LABELS = {"department": "未派单", "station": "非驿站", "meeting": "非恳谈会", "category": "未分类"}
_ENUMS = {"channel": "Channel", "case_type": "CaseType", "petitioner_kind": "PetitionerKind"}
_TABLES: dict[str, Any] = {"department": Department, "station": Station, "meeting": Meeting, "category": Category}


def report_query(settings: Settings, period: Period, filters: Filters | None = None) -> ReportQuery:
    return ReportQuery(
        period=period,
        filters=filters or Filters(),
        start_day=settings.report_period_start_day,
        basic_weight=settings.satisfaction_basic_weight,
    )


def check_dimensions(group_by: list[str]) -> list[str]:
    unknown = [d for d in group_by if d not in DIMENSIONS]
    if unknown:
        raise InvalidInput.field(
            "group_by",
            f"不能按 {'、'.join(unknown)} 分组，可选：{'、'.join(DIMENSIONS)}",
            f"cannot group by {', '.join(unknown)}; accepted: {', '.join(DIMENSIONS)}",
        )
    return group_by


def metric_values(sums: dict[str, float], *, zone: bool = True) -> dict[str, dict[str, Any]]:
    return {key: m.value(sums) for key, m in METRICS.items() if zone or key not in ZONE_METRICS}


def group_labels(session: Session, dimension: str, keys: list[Any]) -> dict[Any, str]:
    """People's names for the keys of a dimension: department names, channel labels, 2025年3月..."""
    labels: dict[Any, str] = {None: NONE_LABELS.get(dimension, "无")}
    if dimension in _ENUMS:
        labels.update(LABELS[_ENUMS[dimension]])
    elif dimension == "month":
        labels.update({k: month(k, 1).label for k in keys if k})
    else:
        model = _TABLES[dimension]
        name = model.title if model is Meeting else model.name
        ids = [k for k in keys if k is not None]
        if ids:
            rows = session.execute(
                select(model.id, name, *([model.held_on] if model is Meeting else [])).where(model.id.in_(ids))
            )
            for row in rows:
                labels[row[0]] = f"{row[2]:%Y-%m-%d} {row[1]}" if model is Meeting else row[1]
    return labels


def rates(
    session: Session,
    settings: Settings,
    *,
    period: Period,
    filters: Filters | None = None,
    group_by: list[str] | None = None,
) -> dict[str, Any]:
    """The JSON report: every metric over the cohort, and the same per value of each dimension asked for."""
    q = report_query(settings, period, filters)
    groups: dict[str, list[dict[str, Any]]] = {}
    for dimension in check_dimensions(group_by or []):
        groups[dimension] = _rows(session, q, dimension)
    return {
        "period": {
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "as_of": _local(period),
            "timezone": period.timezone,
        },
        "filters": q.filters.as_dict(),
        "metrics": metric_values(queries.totals(session, q)),
        "groups": groups,
    }


PARTS = ("numerator", "denominator")


def _local(period: Period) -> str:
    return period.as_of.astimezone(ZoneInfo(period.timezone)).isoformat()


def explain(
    session: Session,
    settings: Settings,
    *,
    period: Period,
    metric_key: str,
    part: str = "numerator",
    filters: Filters | None = None,
    limit: int | None = None,
    offset: int = 0,
    actor: User | None = None,
) -> dict[str, Any]:
    """The exact cases (or enterprises) behind one figure, so a leader can check it. Listed confidential
    cases are audited; reports (举报) are never listed to the department they accuse."""
    m = metric(metric_key)
    if part not in PARTS or (part == "denominator" and m.denominator is None):
        accepted = PARTS if m.denominator else PARTS[:1]
        raise InvalidInput.field(
            "part",
            f"{m.label}没有「{part}」，可选：{'、'.join(accepted)}",
            f"{metric_key} has no part {part!r}; accepted: {', '.join(accepted)}",
        )
    fact = m.numerator if part == "numerator" else m.denominator
    assert fact is not None
    body: dict[str, Any] = {
        "metric": m.key,
        "label": m.label,
        "part": part,
        "fact": fact,
        "fact_label": FACTS[fact].label,
        "formula": m.formula,
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat(), "as_of": _local(period)},
    }
    if metric_key in ZONE_METRICS:
        rows = queries.enterprise_list(session, period.as_of, fact)
        body.update(unit="enterprise", count=len(rows), items=rows)
        return body
    q = report_query(settings, period, filters)
    if fact == "enterprise":  # enterprises served: the enterprises, each once
        rows = queries.served_enterprises(session, q)
        body.update(unit="enterprise", count=len(rows), items=rows)
        return body
    hidden = actor.department_id if actor is not None else None
    count, rows = queries.case_list(session, q, fact, limit=limit, offset=offset, hidden_from_department=hidden)
    session.add_all(
        AuditEntry(user_id=actor.id if actor else None, action="list_confidential", case_id=row["case_id"])
        for row in rows
        if row["confidential"]
    )
    labels = group_labels(session, "department", list({r["department"] for r in rows}))
    for row in rows:
        row["department_name"] = labels.get(row["department"], "")
        row["channel_label"] = LABELS["Channel"].get(row["channel"], row["channel"])
    body.update(unit="case", count=count, items=rows)
    return body


def month_period(settings: Settings, key: str, as_of: datetime) -> Period:
    m = month(key, settings.report_period_start_day)
    return Period(m.start, m.end, as_of, settings.timezone)


def current_month_key(settings: Settings, now: datetime) -> str:
    local = now.astimezone(ZoneInfo(settings.timezone))
    return month_of(local.date(), settings.report_period_start_day).key


# The first working days of an assessment month still complete the month before (its last cases' callbacks are
# due within 2 working days, DOMAIN.md), so the dashboard opens on that month until they are over.
SETTLING_WORKING_DAYS = 3


def previous_month_key(settings: Settings, key: str) -> str:
    """The assessment month before `key` (YYYY-MM)."""
    this = month(key, settings.report_period_start_day)
    return month_of(this.start - timedelta(days=1), settings.report_period_start_day).key


def opening_month(settings: Settings, calendar: WorkCalendar, now: datetime) -> str:
    """The assessment month (YYYY-MM) the leader's dashboard opens on: during the first SETTLING_WORKING_DAYS
    working days of an assessment month (local days, statutory calendar and local overrides) the month before,
    which is then complete; from the next working day on, the current month so far."""
    key = current_month_key(settings, now)
    start = month(key, settings.report_period_start_day).start
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    worked = sum(calendar.is_workday(start + timedelta(days=n)) for n in range((today - start).days + 1))
    return previous_month_key(settings, key) if worked <= SETTLING_WORKING_DAYS else key


def check_month_started(settings: Settings, key: str, now: datetime) -> str:
    """`key` as YYYY-MM if that assessment month has begun; InvalidInput (field month) for a malformed or future
    month, which has no figures yet."""
    found = month(key, settings.report_period_start_day).key
    current = current_month_key(settings, now)
    if found > current:
        raise InvalidInput.field(
            "month",
            f"考核月 {found} 尚未开始，可选 {current} 及以前的月份",
            f"the assessment month {found} has not begun; accepted: {current} or earlier",
        )
    return found


HEADLINE = (
    "intake_count",
    "response_rate",
    "on_time_response_rate",
    "resolution_rate",
    "on_time_resolution_rate",
    "callback_rate",
    "solved_rate",
    "satisfaction_rate",
    "satisfaction_score",
    "mediation_rate",
    "reopen_rate",
    "overdue_count",
    "duplicate_count",
)
TREND_MONTHS = 12


def _change(now: dict[str, Any], before: dict[str, Any]) -> float | None:
    if now.get("value") is None or before.get("value") is None:
        return None
    return round(now["value"] - before["value"], 6)


def _rows(session: Session, q: ReportQuery, dimension: str) -> list[dict[str, Any]]:
    return _labelled(session, dimension, queries.grouped(session, q, dimension))


def _labelled(session: Session, dimension: str, rows: list[tuple[Any, dict[str, float]]]) -> list[dict[str, Any]]:
    """Grouped sums as report rows: {"key", "label" (group_labels), "metrics" (metric_values)}."""
    labels = group_labels(session, dimension, [key for key, _ in rows])
    return [
        {"key": key, "label": labels.get(key, str(key)), "metrics": metric_values(sums, zone=False)}
        for key, sums in rows
    ]


def _trend(
    session: Session,
    settings: Settings,
    months: list[Month],
    period: Period,
    this: dict[str, Any],
    frozen: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """One row per month of the trend, months without cases included (their rates have no value). A month in
    `frozen` (published by the report's moment) shows its published figures, marked "published": true with their
    "version" and "as_of"; the others are computed live in one grouped query over the months from the first of
    them, or taken from `this` (the report's own month) when that is the only one."""
    live = [m for m in months if m.key not in frozen]
    found: dict[str, dict[str, Any]] = {}
    if [m.key for m in live] == [period_month(settings, period).key]:
        own = live[0]
        found[own.key] = {
            "key": own.key,
            "label": own.label,
            "metrics": {key: value for key, value in this.items() if key not in ZONE_METRICS},
        }
    elif live:
        q = report_query(settings, Period(live[0].start, period.end, period.as_of, settings.timezone))
        found = {row["key"]: row for row in _rows(session, q, "month")}
    rows = []
    for m in months:
        if m.key in frozen:
            published = frozen[m.key]
            rows.append(
                {
                    "key": m.key,
                    "label": m.label,
                    "metrics": published["metrics"],
                    "published": True,
                    "version": published["version"],
                    "as_of": published["as_of"],
                }
            )
        else:
            row = found.get(m.key) or {"key": m.key, "label": m.label, "metrics": metric_values({}, zone=False)}
            rows.append({**row, "published": False})
    return rows


def period_month(settings: Settings, period: Period) -> Month:
    return month_of(period.start, settings.report_period_start_day)


def monthly_report(
    session: Session, settings: Settings, *, month_key: str, as_of: datetime, overdue_limit: int | None = 100
) -> dict[str, Any]:
    """The monthly report (月报) of an assessment month as of a moment: headline rates against the month
    before, a 12-month trend, department ranking (with the centre's own overdue row), overdue cases (the
    `overdue_limit` received first, all with None; their number is always the whole count), top categories,
    meetings, stations and enterprises. Everything in it comes from the same facts, so every figure has its
    case list.

    Published months (reports/published.py): a month of the trend, and the month before for the headline's
    comparison, whose report was published by `as_of` shows its frozen figures (its trend row carries
    "published": true, "version" and "as_of", the moment of those figures); the other months, and always the
    report's own month, are computed as of `as_of`."""
    from grievance.reports import published  # published builds on this module

    period = month_period(settings, month_key, as_of)
    q = report_query(settings, period)
    # The month's figures and its five groupings from one evaluation of its facts (queries.totals_and_groups).
    totals, grouped = queries.totals_and_groups(session, q, ["department", "category", "meeting", "station", "channel"])
    this = metric_values(totals)
    groups = {dimension: _labelled(session, dimension, rows) for dimension, rows in grouped.items()}
    before_period = period.previous(settings.report_period_start_day)
    first = month_of(period.start, settings.report_period_start_day)
    for _ in range(TREND_MONTHS - 1):
        first = month_of(first.start - timedelta(days=1), settings.report_period_start_day)
    months = months_between(first.start, period.end, settings.report_period_start_day)
    # The months before this one read their published figures (as published by the report's moment, so the
    # report regenerates identically as of it); the report's own month is always computed here.
    frozen = published.frozen_figures(session, settings, [m.key for m in months[:-1]], as_of)
    before_key = period_month(settings, before_period).key
    if before_key in frozen:
        before = frozen[before_key]["metrics"]
    else:
        before = rates(session, settings, period=before_period)["metrics"]
    headline = [
        {
            "key": key,
            "label": METRICS[key].label,
            "label_en": METRICS[key].label_en,
            "kind": METRICS[key].kind,
            **this[key],
            "previous": before[key].get("value"),
            "change": _change(this[key], before[key]),
            "formula": METRICS[key].formula,
        }
        for key in HEADLINE
    ]
    departments = sorted(
        (row for row in groups["department"] if row["key"] is not None),
        key=lambda row: (
            -(row["metrics"]["resolution_rate"]["value"] or 0),
            -(row["metrics"]["on_time_resolution_rate"]["value"] or 0),
            -row["metrics"]["intake_count"]["value"],
            row["label"],
        ),
    )
    categories = sorted(groups["category"], key=lambda row: -row["metrics"]["intake_count"]["value"])
    # Overdue is a 0/1 fact: its sum over the month is the number of its cases (no second count).
    overdue_count, overdue = queries.case_list(
        session, q, "overdue", limit=overdue_limit, known_total=int(totals["overdue"])
    )
    names = group_labels(session, "department", list({r["department"] for r in overdue}))
    for row in overdue:
        row["department_name"] = names.get(row["department"], "")
    # The enterprise channel's row of the channel grouping: the same figures as a report filtered to that channel.
    enterprise = next(
        (row["metrics"] for row in groups["channel"] if row["key"] == Channel.enterprise.value),
        metric_values({}, zone=False),
    )
    return {
        "title": f"{month(month_key, 1).label}诉求办理月报",
        "month": month_key,
        "period": {
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "as_of": _local(period),
            "timezone": period.timezone,
            "start_day": settings.report_period_start_day,
        },
        "previous_period": {"from": before_period.start.isoformat(), "to": before_period.end.isoformat()},
        "headline": headline,
        "trend": _trend(session, settings, months, period, this, frozen),
        "departments": departments,
        # The parts each department assisted on (协办), apart from the cases it led that the ranking counts.
        "assisted_parts": assisted_parts(session, settings, period=period),
        # The ranking's overdue column counts department clocks only; the centre's lateness is its own row.
        "centre": {"label": CENTRE_LABELS[0], "label_en": CENTRE_LABELS[1], "overdue": this["centre_overdue_count"]},
        "overdue": {"count": overdue_count, "items": overdue},
        "categories": categories[:10],
        "meetings": [row for row in groups["meeting"] if row["key"] is not None],
        "stations": [row for row in groups["station"] if row["key"] is not None],
        "channels": groups["channel"],
        "enterprise": {
            "enterprises_served": enterprise["enterprises_served"]["value"],
            "services": enterprise["intake_count"]["value"],
            "response_rate": enterprise["response_rate"],
            "resolution_rate": enterprise["resolution_rate"],
            "liaison_coverage": this["liaison_coverage"],
        },
        "metrics": {
            key: {"label": m.label, "formula": m.formula, "formula_en": m.formula_en} for key, m in METRICS.items()
        },
    }


READERS = (Role.leader, Role.supervisor, Role.dispatcher, Role.admin, Role.dept_head)


def _choice(enum: type[LabelledEnum], value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    if value in enum.__members__:
        return value
    raise InvalidInput.field(
        name,
        f"{name} 取值「{value}」无效，可选：{enum.accepted()}",
        f"bad {name} {value!r}; accepted: {enum.accepted()}",
    )


def _ref(session: Session, model: Any, ref: str | int | None, key: str, name: str) -> int | None:
    if ref is None or ref == "":
        return None
    row = find_by_ref(session, model, ref, key)
    if row is None:
        raise InvalidInput.field(name, f"{name}「{ref}」不存在", f"no {name} {ref!r} (give its id or {key})")
    return int(row.id)


def make_filters(
    session: Session,
    *,
    channel: str | None = None,
    case_type: str | None = None,
    petitioner_kind: str | None = None,
    department: str | int | None = None,
    station: str | int | None = None,
    meeting: str | int | None = None,
    enterprise: str | int | None = None,
    category: str | int | None = None,
) -> Filters:
    """Filters from what a person typed: codes for vocabularies, ids or codes for reference records."""
    return Filters(
        channel=_choice(Channel, channel, "channel"),
        case_type=_choice(CaseType, case_type, "case_type"),
        petitioner_kind=_choice(PetitionerKind, petitioner_kind, "petitioner_kind"),
        department_id=_ref(session, Department, department, "code", "department"),
        station_id=_ref(session, Station, station, "code", "station"),
        meeting_id=_ref(session, Meeting, meeting, "title", "meeting"),
        enterprise_id=_ref(session, Enterprise, enterprise, "credit_code", "enterprise"),
        category_id=_ref(session, Category, category, "code", "category"),
    )


def make_period(
    settings: Settings,
    *,
    start: str | None,
    end: str | None,
    as_of: str | None,
    month_key: str | None = None,
    now: datetime,
) -> Period:
    """[from, to) local days, or an assessment month; as of a moment (default now, never in the future)."""
    tz = ZoneInfo(settings.timezone)
    moment = parse_moment(as_of, tz, "as_of").astimezone(UTC) if as_of else now
    if moment > now:
        # A report as of the future would count running clocks as overdue and change when regenerated.
        raise InvalidInput.field(
            "as_of",
            f"统计时点不能晚于现在（{now.astimezone(tz):%Y-%m-%d %H:%M}）",
            f"as_of cannot be in the future (now is {now.astimezone(tz):%Y-%m-%d %H:%M})",
        )
    if month_key:
        m = month(month_key, settings.report_period_start_day)
        return Period(m.start, m.end, moment, settings.timezone)
    missing = [name for name, value in (("from", start), ("to", end)) if not value]
    if missing:
        raise InvalidInput(
            "请给出报表区间：from 和 to（YYYY-MM-DD，区间为 [from, to)），或 month（YYYY-MM）",
            [
                {
                    "field": name,
                    "message": f"{name} 为必填项（YYYY-MM-DD）",
                    "message_en": f"{name} is required (YYYY-MM-DD)",
                }
                for name in missing
            ],
        )
    return Period(parse_day(start or "", "from"), parse_day(end or "", "to"), moment, settings.timezone)


def scoped_filters(actor: User, filters: Filters) -> Filters:
    """Who reads reports: leaders, supervisors, dispatchers and admins see the zone; a department head sees
    the department's own cases only."""
    if actor.role not in READERS:
        raise Forbidden(
            f"{role_label(actor.role)}不能查看报表；可查看的角色：{role_labels(READERS)}",
            f"the {role_label(actor.role, 'en')} role may not read reports; allowed: {role_labels(READERS, 'en')}",
            allowed=list(READERS),  # the codes, for API clients
        )
    if actor.role == Role.dept_head:
        if filters.department_id not in (None, actor.department_id):
            raise Forbidden(
                "单位负责人只能查看本单位的报表", "a department head reads their own department's report only"
            )
        return replace(filters, department_id=actor.department_id)
    return filters


def check_monthly_reader(actor: User) -> None:
    """The monthly report covers the whole zone: a department head reads the rates of their department."""
    allowed = [r for r in READERS if r != Role.dept_head]
    if actor.role not in allowed:
        raise Forbidden(
            f"{role_label(actor.role)}不能查看全区月报；可查看的角色：{role_labels(allowed)}",
            f"the {role_label(actor.role, 'en')} role may not read the zone's monthly report; "
            f"allowed: {role_labels(allowed, 'en')}",
            allowed=list(allowed),  # the codes, for API clients
        )


def audit_export(session: Session, actor: User | None, what: str) -> None:
    session.add(AuditEntry(user_id=actor.id if actor else None, action="export", detail=what[:500]))


def assisted_parts(
    session: Session, settings: Settings, *, period: Period, filters: Filters | None = None
) -> list[dict[str, Any]]:
    """Per department, the assisting parts (协办) of the period's cases as of the moment: [{"key": department id,
    "label": name, "assisted", "reported", "on_time", "waived", "on_time_rate"}] by name. assisted counts every
    part sent (withdrawn ones left out), waived the ones the supervisor waived (免除) by then; on_time_rate is
    on_time ÷ reported (0..1, parts waived or still open in neither; None when none was reported). A department's
    rates count the cases it led; this is the separate count of what it assisted on (queries.assisted_parts)."""
    q = report_query(settings, period, filters)
    found = queries.assisted_parts(session, q)
    labels = group_labels(session, "department", list(found))
    return sorted(
        (
            {
                "key": key,
                "label": labels.get(key, str(key)),
                **counts,
                "on_time_rate": counts["on_time"] / counts["reported"] if counts["reported"] else None,
            }
            for key, counts in found.items()
        ),
        key=lambda row: row["label"],
    )


def assisted_cases(
    session: Session,
    settings: Settings,
    *,
    period: Period,
    department_id: int,
    fact: str,
    filters: Filters | None = None,
    actor: User | None = None,
) -> dict[str, Any]:
    """The cases behind one assisted-parts figure: {"department", "fact", "count", "items"}; `fact` is assisted,
    reported, on_time or waived (InvalidInput otherwise). Listed confidential cases are audited; reports are never listed
    to the department they accuse."""
    if fact not in queries.ASSISTED_FACTS:
        raise InvalidInput.field(
            "fact",
            f"协办统计没有「{fact}」，可选：{'、'.join(queries.ASSISTED_FACTS)}",
            f"no assisted-parts figure {fact!r}; accepted: {', '.join(queries.ASSISTED_FACTS)}",
        )
    q = report_query(settings, period, filters)
    hidden = actor.department_id if actor is not None else None
    rows = queries.assisted_case_list(session, q, department_id, fact, hidden_from_department=hidden)
    session.add_all(
        AuditEntry(user_id=actor.id if actor else None, action="list_confidential", case_id=row["case_id"])
        for row in rows
        if row["confidential"]
    )
    return {"department": department_id, "fact": fact, "count": len(rows), "items": rows}
