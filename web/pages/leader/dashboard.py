"""The leader's dashboard: one assessment month against the month before, the 12-month trend and the
department ranking."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from grievance.reports import exports, service
from grievance.reports.periods import month, month_of
from grievance.workflow.engine import Runtime
from web.deps import DbSession
from web.pages.common import Viewer, page_roles, render
from web.pages.leader.monthly import check_report_month
from web.pages.leader.scope import (
    DASHBOARD_ROLES,
    RANKING_COLUMNS,
    TREND_COLUMNS,
    last_complete_month,
    monthly_doc,
    now_text,
    recent_months,
    trend_charts,
)
from web.pages.leader.words import Words

router = APIRouter(include_in_schema=False)

# The months the selector offers: two years back, so a month and the same month last year are both there.
MONTH_CHOICES = 24


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    session: DbSession,
    month_key: Annotated[str, Query(alias="month")] = "",
    viewer: Viewer = page_roles(*DASHBOARD_ROLES),
) -> Response:
    """One assessment month (?month=YYYY-MM; by default service.opening_month: the month before during the first
    working days of a month, then this month so far) against the month before, the 12-month trend and the
    department ranking with the centre's own row."""
    runtime: Runtime = request.app.state.runtime
    settings, now = runtime.settings, runtime.now()
    start_day = settings.report_period_start_day
    current = service.current_month_key(settings, now)
    if month_key.strip():
        key = check_report_month(runtime, month_key.strip())
    else:
        key = service.opening_month(settings, runtime.calendar(session), now)
    doc, scope = monthly_doc(session, runtime, key, now_text(runtime))
    words = Words(viewer, runtime)
    months = recent_months(runtime, MONTH_CHOICES - 1)
    # Whatever else the address carries stays when another month is chosen.
    kept = [(name, value) for name, value in request.query_params.multi_items() if name != "month"]
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
        current=current,
        months=months if key in months else [*months, key],
        kept=kept,
        previous=service.previous_month_key(settings, key),
        following=None if key == current else month_of(month(key, start_day).end, start_day).key,
        month_link=lambda m: "/dashboard?" + urlencode([*kept, ("month", m)]),
        settling_days=service.SETTLING_WORKING_DAYS,
        # The printable report of the month shown, once complete; else of the last complete month.
        report_month=key if key != current else last_complete_month(runtime),
        headline=[item for item in doc["headline"] if item["key"] != "duplicate_count"],
        liaison=doc["enterprise"]["liaison_coverage"],
    )
