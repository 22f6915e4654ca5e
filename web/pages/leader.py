"""The leader's pages: the dashboard of this assessment month, the rates report with its groups and downloads,
the exact cases behind every figure, and the monthly report (月报) inside the site frame.

Every figure comes from grievance/reports/service.py, as the JSON API's do, and every figure links to its case
list with the same period, filters and `as_of` moment, so the list always counts what the figure counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlmodel import Session, col

from grievance.errors import InvalidInput, NotFound
from grievance.glossary import LABELS, Role
from grievance.reference import service as reference
from grievance.reference.models import Category, Department, Enterprise, Meeting, Station
from grievance.reports import exports, service
from grievance.reports.metrics import FACTS, METRICS, ZONE_METRICS
from grievance.reports.periods import Period, month, month_of
from grievance.reports.queries import DIMENSIONS, Filters
from grievance.workflow.engine import Runtime
from web.deps import DbSession
from web.pages.common import Viewer, form_errors, gettext_for, page_roles, redirect, render

router = APIRouter(include_in_schema=False)

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
# The columns of a group table and of the department ranking: the figures people compare across groups.
GROUP_COLUMNS = (
    "intake_count",
    "response_rate",
    "on_time_response_rate",
    "resolution_rate",
    "on_time_resolution_rate",
    "callback_rate",
    "satisfaction_rate",
    "mediation_rate",
    "overdue_count",
)
RANKING_COLUMNS = exports.DEPARTMENT_COLUMNS
TREND_COLUMNS = ("intake_count", "resolution_rate", "on_time_resolution_rate", "satisfaction_rate", "overdue_count")
# Figures where a rise is bad news (shown red when they go up).
LOWER_IS_BETTER = frozenset({"overdue_count", "reopen_rate"})
NEUTRAL = frozenset({"intake_count", "duplicate_count"})
EXPORT_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}
PAGE_SIZE = 50


# --- moments and periods -------------------------------------------------------------------------------------


def local_iso(moment: datetime, timezone: str) -> str:
    """An `as_of` link parameter: local time to the second, with its offset (2025-09-30T10:00:00+08:00)."""
    return moment.astimezone(ZoneInfo(timezone)).replace(microsecond=0).isoformat()


def now_text(runtime: Runtime) -> str:
    """'Now' as an explicit moment, so the figures on a page and the case lists it links to count the same
    events even when new ones arrive in between."""
    return local_iso(runtime.now(), runtime.settings.timezone)


def as_moment(value: str | datetime) -> datetime:
    """A moment from the service's JSON (ISO text) or a row (a datetime; UTC when the driver drops the zone)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def input_moment(text: str, timezone: str) -> str:
    """The value of a datetime-local field: local time without zone (what a person typed stays as typed when
    it is not a time at all, so the error can quote it)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo:
        moment = moment.astimezone(ZoneInfo(timezone))
    return moment.replace(tzinfo=None, microsecond=0).isoformat()


def last_complete_month(runtime: Runtime) -> str:
    settings = runtime.settings
    this = month(service.current_month_key(settings, runtime.now()), settings.report_period_start_day)
    return month_of(this.start - timedelta(days=1), settings.report_period_start_day).key


def recent_months(runtime: Runtime, count: int = 12) -> list[str]:
    """This assessment month and the `count` before it, newest first."""
    settings = runtime.settings
    current = month(service.current_month_key(settings, runtime.now()), settings.report_period_start_day)
    keys = [current.key]
    for _ in range(count):
        current = month_of(current.start - timedelta(days=1), settings.report_period_start_day)
        keys.append(current.key)
    return keys


# --- figures as the reader reads them ------------------------------------------------------------------------


class Words:
    """Figures, labels and dates in the reader's language (metric labels have their own English)."""

    def __init__(self, viewer: Viewer, runtime: Runtime) -> None:
        self.locale = viewer.locale
        self.en = viewer.locale == "en"
        self._ = gettext_for(viewer)
        self.tz = runtime.settings.timezone
        self.workflows = runtime.workflows

    def label(self, key: str) -> str:
        m = METRICS.get(key)
        return (m.label_en if self.en else m.label) if m else key

    def formula(self, key: str) -> str:
        m = METRICS.get(key)
        return (m.formula_en if self.en else m.formula) if m else key

    def fact(self, key: str) -> str:
        f = FACTS.get(key)
        return (f.label_en if self.en else f.label) if f else key

    def numerator(self, key: str) -> str:
        return self.fact(METRICS[key].numerator)

    def denominator(self, key: str) -> str:
        found = METRICS[key].denominator
        return self.fact(found) if found else ""

    def kind(self, key: str) -> str:
        return exports.kind_of(key)

    def dimension(self, key: str) -> str:
        zh, en = service.DIMENSION_LABELS.get(key, (key, key))
        return en if self.en else zh

    def figure(self, value: float | int | None, kind: str) -> str:
        """96.1% for a rate, 95.0 for a score out of 100, 12 for a count, — when a rate has no value."""
        if value is None:
            return exports.DASH
        if kind == "rate":
            return f"{value * 100:.1f}%"
        if kind == "score":
            return f"{value * 100:.1f}"
        return exports.number(value)

    def number(self, value: float | int | None) -> str:
        return exports.number(value)

    def change(self, value: float | int | None, kind: str) -> str:
        """▲1.2 percentage points, ▼3 (cases), no change, or — when either month has no value."""
        if value is None:
            return exports.DASH
        amount = value if kind == "count" else round(value * 100, 1)
        if amount == 0:
            return str(self._("No change"))
        arrow = "▲" if amount > 0 else "▼"
        if kind == "rate":
            return arrow + self._("%(n)s percentage points") % {"n": f"{abs(amount):.1f}"}
        if kind == "score":
            return arrow + self._("%(n)s points") % {"n": f"{abs(amount):.1f}"}
        return arrow + exports.number(abs(amount))

    def trend_class(self, key: str, value: float | int | None) -> str:
        """good / bad / flat for the colour of a change (a rise of overdue cases is bad; more cases received is
        neither)."""
        if not value or key in NEUTRAL:
            return "flat"
        rising = value > 0
        return "bad" if rising == (key in LOWER_IS_BETTER) else "good"

    def month(self, key: str) -> str:
        """2025年9月 / September 2025"""
        return format_skeleton("yMMMM", date.fromisoformat(key + "-01"), locale=self.locale)

    def short_month(self, key: str) -> str:
        """9月 / Sep"""
        return format_skeleton("MMM", date.fromisoformat(key + "-01"), locale=self.locale)

    def day(self, value: str | date) -> str:
        day = date.fromisoformat(value) if isinstance(value, str) else value
        return format_skeleton("yMMMd", day, locale=self.locale)

    def period(self, start: str | date, end: str | date) -> str:
        """The days [start, end) as people say them: from the first to the last day."""
        last = (date.fromisoformat(end) if isinstance(end, str) else end) - timedelta(days=1)
        return self._("%(first)s to %(last)s") % {"first": self.day(start), "last": self.day(last)}

    def moment(self, value: str | datetime) -> str:
        local = as_moment(value).astimezone(ZoneInfo(self.tz))
        return f"{self.day(local.date())} {local:%H:%M:%S}"

    def short(self, value: str | datetime) -> str:
        local = as_moment(value).astimezone(ZoneInfo(self.tz))
        return f"{self.day(local.date())} {local:%H:%M}"

    def state(self, state: str) -> str:
        """A case state's label from the workflows (domain vocabulary: Chinese in both languages)."""
        for definition in self.workflows.definitions.values():
            if state in definition.states:
                return definition.states[state].label
        return state


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


def _typed(request: Request) -> dict[str, Any]:
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


def _resolve(session: Session, runtime: Runtime, viewer: Viewer, values: dict[str, Any]) -> Resolved:
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


def _options(session: Session, viewer: Viewer) -> dict[str, list[tuple[Any, str]]]:
    """The choices of each filter: vocabularies by code, reference records by id."""
    categories = reference.list_all(session, Category, col(Category.code))
    departments = reference.list_all(session, Department, col(Department.code))
    if viewer.user.role == Role.dept_head:
        departments = [d for d in departments if d.id == viewer.user.department_id]
    return {
        "channel": list(LABELS["Channel"].items()),
        "case_type": list(LABELS["CaseType"].items()),
        "petitioner_kind": list(LABELS["PetitionerKind"].items()),
        "department": [(d.id, d.name) for d in departments],
        "station": [(s.id, s.name) for s in reference.list_all(session, Station, col(Station.code))],
        "meeting": [
            (m.id, f"{m.held_on:%Y-%m-%d} {m.title}")
            for m in reference.list_all(session, Meeting, col(Meeting.held_on).desc())
        ],
        "category": [(c.id, "\u3000" * (c.level - 1) + c.name) for c in categories],
        "enterprise": [(e.id, e.name) for e in reference.list_all(session, Enterprise, col(Enterprise.name))],
    }


def _filter_names(session: Session, filters: Filters, words: Words) -> list[tuple[str, str]]:
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
            shown = LABELS[vocabularies[name]].get(value, value)
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
    labels = [words.short_month(row["key"]) for row in months]
    span = _("%(first)s to %(last)s") % {"first": words.month(months[0]["key"]), "last": words.month(months[-1]["key"])}

    def links(key: str) -> list[str | None]:
        return [scope.cases(key, "numerator", {"month": row["key"], "from": None, "to": None}) for row in months]

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


def _monthly_doc(session: Session, runtime: Runtime, month_key: str, as_of: str) -> tuple[dict[str, Any], Scope]:
    settings = runtime.settings
    period = service.make_period(settings, start=None, end=None, as_of=as_of, month_key=month_key, now=runtime.now())
    key = month(month_key, settings.report_period_start_day).key
    doc = service.monthly_report(session, settings, month_key=key, as_of=period.as_of)
    return doc, Scope.of(period, key, Filters(), settings.report_period_start_day)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, session: DbSession, viewer: Viewer = page_roles(*DASHBOARD_ROLES)) -> Response:
    """This assessment month so far against last month, the 12-month trend and the department ranking."""
    runtime: Runtime = request.app.state.runtime
    key = service.current_month_key(runtime.settings, runtime.now())
    doc, scope = _monthly_doc(session, runtime, key, now_text(runtime))
    words = Words(viewer, runtime)
    return render(
        request,
        "leader/dashboard.html",
        viewer,
        doc=doc,
        scope=scope,
        w=words,
        charts=trend_charts(doc, scope, words),
        trend_rows=exports.trend_rows(doc),
        trend_columns=TREND_COLUMNS,
        ranking_columns=RANKING_COLUMNS,
        last_month=last_complete_month(runtime),
        headline=[item for item in doc["headline"] if item["key"] != "duplicate_count"],
        liaison=doc["enterprise"]["liaison_coverage"],
    )


def _report_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    values: dict[str, Any],
    errors: dict[str, str],
    report: dict[str, Any] | None = None,
    scope: Scope | None = None,
    filters: Filters | None = None,
) -> Response:
    runtime: Runtime = request.app.state.runtime
    words = Words(viewer, runtime)
    shown = dict(values)
    shown["as_of"] = input_moment(values["as_of"], runtime.settings.timezone) if values["as_of"] else ""
    return render(
        request,
        "leader/reports.html",
        viewer,
        status_code=422 if errors else 200,
        values=shown,
        errors=errors,
        options=_options(session, viewer),
        dimensions=DIMENSIONS,
        report=report,
        scope=scope,
        w=words,
        group_columns=GROUP_COLUMNS,
        filter_names=_filter_names(session, filters, words) if filters else [],
        notes={key: n for n, key in enumerate(METRICS, start=1)},
        own_department=viewer.user.department_id if viewer.user.role == Role.dept_head else None,
    )


@router.get("/reports", response_class=HTMLResponse)
def reports(request: Request, session: DbSession, viewer: Viewer = page_roles(*REPORT_ROLES)) -> Response:
    """The rates of any period with filters and groups; without parameters, this assessment month by
    department."""
    runtime: Runtime = request.app.state.runtime
    values = _typed(request)
    if not request.query_params:
        values.update(month=service.current_month_key(runtime.settings, runtime.now()), group_by=["department"])
    found = _resolve(session, runtime, viewer, values)
    if found.errors or found.period is None or found.filters is None:
        return _report_page(request, session, viewer, values, found.errors)
    report = service.rates(
        session, runtime.settings, period=found.period, filters=found.filters, group_by=found.dimensions
    )
    scope = Scope.of(found.period, found.month_key, found.filters, runtime.settings.report_period_start_day)
    return _report_page(request, session, viewer, values, {}, report, scope, found.filters)


@router.get("/reports/export.{fmt}", response_model=None)
def reports_export(
    fmt: str, request: Request, session: DbSession, viewer: Viewer = page_roles(*REPORT_ROLES)
) -> Response:
    """The same report as a CSV, XLSX or printable HTML file; every download is written to the audit log."""
    if fmt not in EXPORT_MEDIA:
        raise NotFound(f"没有 {fmt} 格式 (no such format; accepted: {', '.join(EXPORT_MEDIA)})")
    runtime: Runtime = request.app.state.runtime
    values = _typed(request)
    found = _resolve(session, runtime, viewer, values)
    if found.errors or found.period is None or found.filters is None:
        return _report_page(request, session, viewer, values, found.errors)
    report = service.rates(
        session, runtime.settings, period=found.period, filters=found.filters, group_by=found.dimensions
    )
    service.audit_export(session, viewer.user, f"rates {fmt} {report['period']} {report['filters']}")
    body = exports.render_rates(report, fmt)
    name = f"rates-{found.period.start}-{found.period.end}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'} if fmt != "html" else None
    return Response(body, media_type=EXPORT_MEDIA[fmt], headers=headers)


@router.get("/reports/cases", response_class=HTMLResponse)
def report_cases(
    request: Request,
    session: DbSession,
    metric: str = "",
    part: str = "numerator",
    limit: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE,
    offset: Annotated[int, Query(ge=0)] = 0,
    viewer: Viewer = page_roles(*REPORT_ROLES),
) -> Response:
    """The exact cases (or enterprises, for liaison coverage) that a figure counts."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    values = _typed(request)
    found = _resolve(session, runtime, viewer, values)
    if found.errors or found.period is None or found.filters is None:
        message = "；".join(found.errors.values())
        raise InvalidInput(message, [{"field": k, "message": v} for k, v in found.errors.items()])
    body = service.explain(
        session,
        settings,
        period=found.period,
        metric_key=metric,
        part=part,
        filters=found.filters,
        limit=limit,
        offset=offset,
        actor=viewer.user,
    )
    scope = Scope.of(found.period, found.month_key, found.filters, settings.report_period_start_day)
    words = Words(viewer, runtime)
    m = METRICS[metric]
    pages = {
        "previous": scope.cases(metric, part, {"offset": max(offset - limit, 0), "limit": limit}) if offset else None,
        "next": scope.cases(metric, part, {"offset": offset + limit, "limit": limit})
        if body["unit"] == "case" and offset + limit < body["count"]
        else None,
    }
    return render(
        request,
        "leader/cases.html",
        viewer,
        body=body,
        metric=m,
        scope=scope,
        w=words,
        offset=offset,
        pages=pages,
        zone=metric in ZONE_METRICS,
        filter_names=[] if metric in ZONE_METRICS else _filter_names(session, found.filters, words),
        month_key=found.month_key,
    )


@router.get("/reports/monthly", response_class=HTMLResponse)
def monthly_picker(
    request: Request,
    month_key: Annotated[str, Query(alias="month")] = "",
    as_of: str = "",
    viewer: Viewer = page_roles(*MONTHLY_ROLES),
) -> Response:
    """Choose the month (last complete month by default); opening it goes to /reports/monthly/{month}."""
    service.check_monthly_reader(viewer.user)
    runtime: Runtime = request.app.state.runtime
    if "month" in request.query_params:
        errors = _check_month(runtime, viewer, month_key.strip(), as_of.strip())
        if not errors:
            key = month(month_key.strip(), runtime.settings.report_period_start_day).key
            query = f"?{urlencode({'as_of': as_of.strip()})}" if as_of.strip() else ""
            return redirect(f"/reports/monthly/{key}{query}")
        return _picker(request, viewer, runtime, month_key, as_of, errors)
    return _picker(request, viewer, runtime, last_complete_month(runtime), "", {})


def _check_month(runtime: Runtime, viewer: Viewer, month_key: str, as_of: str) -> dict[str, str]:
    _ = gettext_for(viewer)
    if not month_key:
        return {"month": _("Choose a month")}
    try:
        service.make_period(
            runtime.settings, start=None, end=None, as_of=as_of or None, month_key=month_key, now=runtime.now()
        )
    except InvalidInput as exc:
        return form_errors(exc, viewer.locale)
    return {}


def _picker(
    request: Request, viewer: Viewer, runtime: Runtime, month_key: str, as_of: str, errors: dict[str, str]
) -> Response:
    return render(
        request,
        "leader/monthly_picker.html",
        viewer,
        status_code=422 if errors else 200,
        values={"month": month_key, "as_of": input_moment(as_of, runtime.settings.timezone) if as_of else ""},
        errors=errors,
        months=recent_months(runtime),
        current=service.current_month_key(runtime.settings, runtime.now()),
        w=Words(viewer, runtime),
    )


# The workbook's route comes first: "/reports/monthly/{month}" would also match "2025-09.xlsx".
@router.get("/reports/monthly/{month_key}.xlsx", response_model=None)
def monthly_xlsx(
    month_key: str,
    request: Request,
    session: DbSession,
    as_of: str = "",
    viewer: Viewer = page_roles(*MONTHLY_ROLES),
) -> Response:
    """The monthly report as a workbook (audited)."""
    service.check_monthly_reader(viewer.user)
    runtime: Runtime = request.app.state.runtime
    doc, _scope = _monthly_doc(session, runtime, month_key, as_of.strip() or now_text(runtime))
    service.audit_export(session, viewer.user, f"monthly {doc['month']} xlsx as of {doc['period']['as_of']}")
    return Response(
        exports.render_monthly(doc, "xlsx"),
        media_type=EXPORT_MEDIA["xlsx"],
        headers={"Content-Disposition": f'attachment; filename="monthly-{doc["month"]}.xlsx"'},
    )


@router.get("/reports/monthly/{month_key}", response_class=HTMLResponse)
def monthly_page(
    month_key: str,
    request: Request,
    session: DbSession,
    as_of: str = "",
    viewer: Viewer = page_roles(*MONTHLY_ROLES),
) -> Response:
    """The monthly report in the site frame, every figure linked to its cases; ?as_of= regenerates it as it
    was at that moment."""
    service.check_monthly_reader(viewer.user)
    runtime: Runtime = request.app.state.runtime
    errors = _check_month(runtime, viewer, month_key, as_of.strip())
    if errors:
        return _picker(request, viewer, runtime, month_key, as_of, errors)
    doc, scope = _monthly_doc(session, runtime, month_key, as_of.strip() or now_text(runtime))
    words = Words(viewer, runtime)
    return render(
        request,
        "leader/monthly.html",
        viewer,
        doc=doc,
        scope=scope,
        w=words,
        charts=trend_charts(doc, scope, words),
        trend_rows=exports.trend_rows(doc),
        trend_columns=TREND_COLUMNS,
        ranking_columns=RANKING_COLUMNS,
        category_columns=exports.CATEGORY_COLUMNS,
        as_of_input=input_moment(doc["period"]["as_of"], runtime.settings.timezone),
        fixed=bool(as_of.strip()),
        # Footnotes numbered in reading order: the headline's figures first.
        notes=exports.footnotes([*(item["key"] for item in doc["headline"]), *METRICS]),
    )
