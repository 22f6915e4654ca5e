"""A report's scope: the period, `as_of` moment and filters of a page as typed, checked and carried into links,
so following a link counts exactly what the page counted; and the monthly report document with its charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from markupsafe import Markup
from sqlmodel import Session, col

from grievance.errors import InvalidInput
from grievance.glossary import Role, label_of, labels_in
from grievance.reference import service as reference
from grievance.reference.models import Category, Department, Enterprise, Meeting, Station
from grievance.reports import exports, service
from grievance.reports.periods import Period, month, month_of
from grievance.reports.queries import Filters
from grievance.workflow.engine import Runtime
from web.pages.common import Viewer, form_errors, gettext_for
from web.pages.leader.words import Words, local_iso

DASHBOARD_ROLES = (Role.leader, Role.supervisor, Role.admin)
REPORT_ROLES = tuple(service.READERS)
# The monthly report covers the whole zone: a department head reads their department's rates on /reports.
MONTHLY_ROLES = tuple(r for r in service.READERS if r != Role.dept_head)

# The filter parameters of a report and the Filters field each one sets.
FILTER_FIELDS = {
    "channel": "channel",
    "case_type": "case_type",
    "petitioner_kind": "petitioner_kind",
    "department": "department_id",
    "station": "station_id",
    "meeting": "meeting_id",
    "category": "category_id",
    "enterprise": "enterprise_id",
}
RANKING_COLUMNS = exports.DEPARTMENT_COLUMNS
EXPORT_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}
TREND_COLUMNS = ("intake_count", "resolution_rate", "on_time_resolution_rate", "satisfaction_rate", "overdue_count")


def now_text(runtime: Runtime) -> str:
    """'Now' as an explicit moment, so the figures on a page and the case lists it links to count the same
    events even when new ones arrive in between."""
    return local_iso(runtime.now(), runtime.settings.timezone)


def last_complete_month(runtime: Runtime) -> str:
    """The assessment month before the current one (YYYY-MM): the last complete month."""
    settings = runtime.settings
    return service.previous_month_key(settings, service.current_month_key(settings, runtime.now()))


def recent_months(runtime: Runtime, count: int = 12) -> list[str]:
    """This assessment month and the `count` before it, newest first."""
    settings = runtime.settings
    current = month(service.current_month_key(settings, runtime.now()), settings.report_period_start_day)
    keys = [current.key]
    for _ in range(count):
        current = month_of(current.start - timedelta(days=1), settings.report_period_start_day)
        keys.append(current.key)
    return keys


# --- a report's scope as link parameters ---------------------------------------------------------------------


@dataclass
class Scope:
    """A report's period, `as_of` and filters as URL parameters: following a link with them counts exactly
    what the page counted."""

    params: dict[str, str]
    period: Period
    start_day: int

    @classmethod
    def of(cls, period: Period, month_key: str | None, filters: Filters, start_day: int) -> Scope:
        params = {"month": month_key} if month_key else {"from": period.start.isoformat(), "to": period.end.isoformat()}
        params["as_of"] = local_iso(period.as_of, period.timezone)
        for name, field in FILTER_FIELDS.items():
            value = getattr(filters, field)
            if value is not None:
                params[name] = str(value)
        return cls(params, period, start_day)

    def query(self, extra: dict[str, Any] | None = None) -> str:
        merged: dict[str, Any] = {**self.params, **(extra or {})}
        return urlencode({k: str(v) for k, v in merged.items() if v is not None and v != ""})

    def cases(self, metric: str, part: str = "numerator", extra: dict[str, Any] | None = None) -> str:
        """The case list behind a figure (enterprises for liaison coverage)."""
        return "/reports/cases?" + self.query({"metric": metric, "part": part, **(extra or {})})

    def cases_xlsx(self, metric: str, part: str = "numerator") -> str:
        """The same case list as a workbook: every case of the figure, not one page."""
        return "/reports/cases.xlsx?" + self.query({"metric": metric, "part": part})

    def group(self, dimension: str, key: Any) -> dict[str, Any] | None:
        """The parameters that narrow the scope to one group of a dimension; None for the "none" group
        (no department yet, no station...), which no filter can name."""
        if key is None:
            return None
        if dimension != "month":
            return {dimension: key}
        m = month(str(key), self.start_day)
        if m.start >= self.period.start and m.end <= self.period.end:
            return {"month": m.key, "from": None, "to": None}
        start, end = max(m.start, self.period.start), min(m.end, self.period.end)
        return {"month": None, "from": start.isoformat(), "to": end.isoformat()}


def typed_values(request: Request) -> dict[str, Any]:
    """What the person typed into the report form (kept as typed for the form shown again)."""
    q = request.query_params
    values: dict[str, Any] = {name: q.get(name, "").strip() for name in ("period", "month", "from", "to", "as_of")}
    values.update({name: q.get(name, "").strip() for name in FILTER_FIELDS})
    values["group_by"] = [d.strip() for item in q.getlist("group_by") for d in item.split(",") if d.strip()]
    if values["period"] not in ("month", "range"):
        values["period"] = "range" if (values["from"] or values["to"]) and not values["month"] else "month"
    return values


@dataclass
class Resolved:
    period: Period | None
    month_key: str | None
    filters: Filters | None
    dimensions: list[str]
    errors: dict[str, str]


def resolve_scope(session: Session, runtime: Runtime, viewer: Viewer, values: dict[str, Any]) -> Resolved:
    """Period, filters and groups from the form; each wrong field gets its own message."""
    _ = gettext_for(viewer)
    settings = runtime.settings
    errors: dict[str, str] = {}
    period, month_key, filters = None, None, None
    by_month = values["period"] == "month"
    if by_month and not values["month"]:
        errors["month"] = _("Choose a month, or switch to a date range")
    else:
        try:
            period = service.make_period(
                settings,
                start=None if by_month else values["from"] or None,
                end=None if by_month else values["to"] or None,
                as_of=values["as_of"] or now_text(runtime),
                month_key=values["month"] if by_month else None,
                now=runtime.now(),
            )
            if by_month:
                month_key = month(values["month"], settings.report_period_start_day).key
        except InvalidInput as exc:
            errors.update(form_errors(exc, viewer.locale))
    try:
        filters = service.scoped_filters(
            viewer.user, service.make_filters(session, **{name: values[name] or None for name in FILTER_FIELDS})
        )
    except InvalidInput as exc:
        errors.update(form_errors(exc, viewer.locale))
    try:
        service.check_dimensions(values["group_by"])
    except InvalidInput as exc:
        errors.update(form_errors(exc, viewer.locale))
    return Resolved(period, month_key, filters, values["group_by"], errors)


# --- the filter choices --------------------------------------------------------------------------------------


def filter_options(session: Session, viewer: Viewer) -> dict[str, list[tuple[Any, str]]]:
    """The choices of each filter: vocabularies by code, reference records by id."""
    categories = reference.list_all(session, Category, col(Category.code))
    departments = reference.list_all(session, Department, col(Department.code))
    if viewer.user.role == Role.dept_head:
        departments = [d for d in departments if d.id == viewer.user.department_id]
    return {
        "channel": list(labels_in(viewer.locale)["Channel"].items()),
        "case_type": list(labels_in(viewer.locale)["CaseType"].items()),
        "petitioner_kind": list(labels_in(viewer.locale)["PetitionerKind"].items()),
        "department": [(d.id, d.name) for d in departments],
        "station": [(s.id, s.name) for s in reference.list_all(session, Station, col(Station.code))],
        "meeting": [
            (m.id, f"{m.held_on:%Y-%m-%d} {m.title}")
            for m in reference.list_all(session, Meeting, col(Meeting.held_on).desc())
        ],
        "category": [(c.id, "\u3000" * (c.level - 1) + c.name) for c in categories],
        "enterprise": [(e.id, e.name) for e in reference.list_all(session, Enterprise, col(Enterprise.name))],
    }


def filter_names(session: Session, filters: Filters, words: Words) -> list[tuple[str, str]]:
    """The filters of a report as (what, which): 承办单位 城市管理局 — names, not ids."""
    _ = words._
    found: list[tuple[str, str]] = []
    titles = {
        "channel": _("Channel"),
        "case_type": _("Case type"),
        "petitioner_kind": _("Petitioner kind"),
        "department": _("Handling department"),
        "station": _("Station"),
        "meeting": _("Meeting"),
        "category": _("Business category"),
        "enterprise": _("Enterprise"),
    }
    vocabularies = {"channel": "Channel", "case_type": "CaseType", "petitioner_kind": "PetitionerKind"}
    for name, field in FILTER_FIELDS.items():
        value = getattr(filters, field)
        if value is None:
            continue
        if name in vocabularies:
            shown = label_of(vocabularies[name], str(value), words.locale)
        elif name == "enterprise":
            shown = reference.get_or_404(session, Enterprise, value, "enterprise").name
        else:
            shown = service.group_labels(session, name, [value]).get(value, str(value))
        found.append((titles[name], shown))
    return found


# --- charts --------------------------------------------------------------------------------------------------


def trend_charts(doc: dict[str, Any], scope: Scope, words: Words) -> dict[str, Markup]:
    """The 12-month trend of a monthly report doc: cases received (bars) and three rates (lines); every bar
    and dot links to the cases behind it."""
    _ = words._
    months = exports.trend_rows(doc)
    # Axis labels carry the year (2025-12, 2026-01): a trend of 12 months spans two years.
    labels = [row["key"] for row in months]
    span = _("%(first)s to %(last)s") % {"first": words.month(months[0]["key"]), "last": words.month(months[-1]["key"])}

    def links(key: str) -> list[str | None]:
        # A published month's frozen figure links to its cases as of the moment it was computed.
        return [
            scope.cases(
                key,
                "numerator",
                {
                    "month": row["key"],
                    "from": None,
                    "to": None,
                    **({"as_of": row["as_of"]} if row.get("published") else {}),
                },
            )
            for row in months
        ]

    def values(key: str) -> list[float | None]:
        return [row["metrics"].get(key, {}).get("value") for row in months]

    rates = TREND_COLUMNS[1:4]
    return {
        "intake": exports.bar_chart(
            _("Cases received per month (%(span)s)") % {"span": span},
            labels,
            values("intake_count"),
            links("intake_count"),
        ),
        "rates": exports.line_chart(
            _("Rates per month (%(span)s)") % {"span": span},
            labels,
            [(words.label(key), values(key)) for key in rates],
            [links(key) for key in rates],
        ),
    }


# --- pages ---------------------------------------------------------------------------------------------------


def monthly_doc(
    session: Session, runtime: Runtime, month_key: str, as_of: str, *, overdue_limit: int | None = 100
) -> tuple[dict[str, Any], Scope]:
    """The monthly report of `month_key` (YYYY-MM) as of `as_of` (ISO text), and its scope for the links."""
    settings = runtime.settings
    period = service.make_period(settings, start=None, end=None, as_of=as_of, month_key=month_key, now=runtime.now())
    key = month(month_key, settings.report_period_start_day).key
    doc = service.monthly_report(session, settings, month_key=key, as_of=period.as_of, overdue_limit=overdue_limit)
    return doc, Scope.of(period, key, Filters(), settings.report_period_start_day)
