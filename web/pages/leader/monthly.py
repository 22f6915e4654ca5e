"""The monthly report (月报) of the zone inside the site frame, its month picker and its workbook."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from grievance.errors import InvalidInput
from grievance.reports import exports, service
from grievance.reports.metrics import METRICS
from grievance.reports.periods import month
from grievance.workflow.engine import Runtime
from web.deps import DbSession
from web.pages.common import Viewer, form_errors, gettext_for, page_roles, redirect, render
from web.pages.leader.scope import (
    EXPORT_MEDIA,
    MONTHLY_ROLES,
    RANKING_COLUMNS,
    TREND_COLUMNS,
    last_complete_month,
    monthly_doc,
    now_text,
    recent_months,
    trend_charts,
)
from web.pages.leader.words import Words, input_moment

router = APIRouter(include_in_schema=False)

# The first month a report or the dashboard shows: its trend reaches 12 months back and the month before is
# compared, so an early year such as 1900 would fail on a month nobody typed; no ledger predates 2000.
FIRST_MONTH = "2000-01"


def check_report_month(runtime: Runtime, key: str) -> str:
    """`key` (YYYY-MM) as the month the dashboard or the monthly report shows: InvalidInput (field month) naming
    the month typed and the accepted range for a malformed month, one before FIRST_MONTH, or one that has not
    begun (reports.service.check_month_started: an empty future report would mislead)."""
    settings, now = runtime.settings, runtime.now()
    found = month(key, settings.report_period_start_day).key
    current = service.current_month_key(settings, now)
    if found < FIRST_MONTH:
        raise InvalidInput.field(
            "month",
            f"月份「{key}」超出范围，可选 {FIRST_MONTH} 至 {current}",
            f"the month {key} is out of range; accepted: {FIRST_MONTH} to {current}",
        )
    return service.check_month_started(settings, found, now)


# Long lists (overdue cases, stations, meetings) print their first rows and their totals, so the month fits on
# four A4 pages; the page on screen and the workbook keep them whole.
PRINTED_ROWS = 10


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
        check_report_month(runtime, month_key)
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
    check_report_month(runtime, month_key)
    doc, _scope = monthly_doc(session, runtime, month_key, as_of.strip() or now_text(runtime), overdue_limit=None)
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
    doc, scope = monthly_doc(session, runtime, month_key, as_of.strip() or now_text(runtime))
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
        top=PRINTED_ROWS,
        # Footnotes numbered in reading order: the headline's figures first.
        notes=exports.footnotes([*(item["key"] for item in doc["headline"]), *METRICS]),
    )
