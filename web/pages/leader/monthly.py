"""The monthly report (月报) of the zone inside the site frame, its month picker and its workbook."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from grievance.errors import DomainError, InvalidInput
from grievance.glossary import Role
from grievance.reports import exports, published, service
from grievance.reports.metrics import METRICS
from grievance.reports.periods import Period, month
from grievance.reports.queries import Filters
from grievance.workflow.engine import Runtime
from web.deps import DbSession
from web.pages.common import Viewer, check_csrf, form_errors, gettext_for, page_roles, redirect, render
from web.pages.leader.scope import (
    EXPORT_MEDIA,
    MONTHLY_ROLES,
    RANKING_COLUMNS,
    TREND_COLUMNS,
    Scope,
    last_complete_month,
    now_text,
    recent_months,
    trend_charts,
)
from web.pages.leader.words import Words, as_moment, input_moment

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
    session: DbSession,
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
        return _picker(request, viewer, runtime, session, month_key, as_of, errors)
    return _picker(request, viewer, runtime, session, last_complete_month(runtime), "", {})


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
    request: Request,
    viewer: Viewer,
    runtime: Runtime,
    session: Session,
    month_key: str,
    as_of: str,
    errors: dict[str, str],
) -> Response:
    return render(
        request,
        "leader/monthly_picker.html",
        viewer,
        status_code=422 if errors else 200,
        values={"month": month_key, "as_of": input_moment(as_of, runtime.settings.timezone) if as_of else ""},
        errors=errors,
        months=recent_months(runtime),
        published_months={row["month"] for row in published.list_published(session, runtime.settings)},
        current=service.current_month_key(runtime.settings, runtime.now()),
        w=Words(viewer, runtime),
    )


def _version(text: str) -> int | None:
    """The ?version= of a page: a published version number, or None."""
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 10000:
        raise InvalidInput.field("version", f"版本「{text}」无效，应为正整数", f"bad version {text!r}; give a number")
    return int(text)


def reader_doc(
    session: Session,
    runtime: Runtime,
    month_key: str,
    *,
    as_of: str,
    live: bool,
    version: str,
    overdue_limit: int | None,
) -> tuple[dict[str, Any], Scope, dict[str, Any] | None, str]:
    """The monthly report a page shows and the scope of its links: the frozen official report of a published
    month (or its `version`), else, or when `live` or `as_of` asks, the report computed as of that moment (now by
    default). Returns (doc, scope, publication info or None, "published" or "live"); the scope carries the
    document's own as_of, so a frozen figure links to its cases as they were when it was published."""
    settings = runtime.settings
    key = month(month_key, settings.report_period_start_day).key
    period = service.make_period(
        settings, start=None, end=None, as_of=as_of or now_text(runtime), month_key=key, now=runtime.now()
    )
    recompute = live or bool(as_of)
    doc, shown, source = published.monthly_for_reader(
        session,
        settings,
        key,
        now=period.as_of,
        as_of=period.as_of if recompute else None,
        live=recompute,
        version=_version(version),
        overdue_limit=overdue_limit,
    )
    moment = as_moment(doc["period"]["as_of"])
    scope = Scope.of(
        Period(period.start, period.end, moment, settings.timezone), key, Filters(), settings.report_period_start_day
    )
    return doc, scope, shown, source


# The workbook's route comes first: "/reports/monthly/{month}" would also match "2025-09.xlsx".
@router.get("/reports/monthly/{month_key}.xlsx", response_model=None)
def monthly_xlsx(
    month_key: str,
    request: Request,
    session: DbSession,
    as_of: str = "",
    live: str = "",
    version: str = "",
    viewer: Viewer = page_roles(*MONTHLY_ROLES),
) -> Response:
    """The monthly report as a workbook (audited): a published month's is its stored document, byte for byte."""
    service.check_monthly_reader(viewer.user)
    runtime: Runtime = request.app.state.runtime
    check_report_month(runtime, month_key)
    doc, _scope, shown, source = reader_doc(
        session, runtime, month_key, as_of=as_of.strip(), live=live == "1", version=version, overdue_limit=None
    )
    frozen = f" published v{shown['shown_version']}" if shown and source == "published" else ""
    service.audit_export(session, viewer.user, f"monthly {doc['month']} xlsx{frozen} as of {doc['period']['as_of']}")
    return Response(
        exports.render_monthly(doc, "xlsx"),
        media_type=EXPORT_MEDIA["xlsx"],
        headers={"Content-Disposition": f'attachment; filename="monthly-{doc["month"]}.xlsx"'},
    )


def can_publish(runtime: Runtime, viewer: Viewer, key: str) -> bool:
    """Whether the page offers the publish button: to a supervisor, for a month that is over."""
    if viewer.user.role not in published.PUBLISHERS:
        return False
    try:
        published.check_complete(runtime.settings, key, runtime.now())
    except InvalidInput:
        return False
    return True


@router.get("/reports/monthly/{month_key}", response_class=HTMLResponse)
def monthly_page(
    month_key: str,
    request: Request,
    session: DbSession,
    as_of: str = "",
    live: str = "",
    version: str = "",
    viewer: Viewer = page_roles(*MONTHLY_ROLES),
) -> Response:
    """The monthly report in the site frame, every figure linked to its cases; ?as_of= regenerates it as it
    was at that moment. A published month shows its frozen official report (?version= an earlier one) with the
    publication and its history; ?live=1 computes it again from the current data."""
    service.check_monthly_reader(viewer.user)
    runtime: Runtime = request.app.state.runtime
    errors = _check_month(runtime, viewer, month_key, as_of.strip())
    if not errors:
        try:
            doc, scope, shown, source = reader_doc(
                session, runtime, month_key, as_of=as_of.strip(), live=live == "1", version=version, overdue_limit=100
            )
        except InvalidInput as exc:
            errors = form_errors(exc, viewer.locale)
    if errors:
        return _picker(request, viewer, runtime, session, month_key, as_of, errors)
    if source == "published":  # the stored report lists every overdue case; the page the first 100, as live
        doc["overdue"]["items"] = doc["overdue"]["items"][:100]
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
        fixed=bool(as_of.strip()) or source == "published",
        top=PRINTED_ROWS,
        # Footnotes numbered in reading order: the headline's figures first.
        notes=exports.footnotes([*(item["key"] for item in doc["headline"]), *METRICS]),
        publication=shown,
        source=source,
        may_publish=can_publish(runtime, viewer, doc["month"]),
    )


# --- publishing a month (发布月报) ------------------------------------------------------------------------------


def _publish_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    runtime: Runtime,
    key: str,
    reason: str,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "leader/monthly_publish.html",
        viewer,
        status_code=status_code,
        key=key,
        publication=published.info(session, runtime.settings, key),
        complete=can_publish(runtime, viewer, key),
        values={"reason": reason},
        errors=errors,
        w=Words(viewer, runtime),
    )


@router.get("/reports/monthly/{month_key}/publish", response_class=HTMLResponse)
def publish_confirm(
    month_key: str, request: Request, session: DbSession, viewer: Viewer = page_roles(Role.supervisor)
) -> Response:
    """The confirmation step before publishing a month: what will be frozen, and the reason a correction needs."""
    runtime: Runtime = request.app.state.runtime
    key = check_report_month(runtime, month_key)
    errors: dict[str, str] = {}
    try:
        published.check_complete(runtime.settings, key, runtime.now())
    except InvalidInput as exc:
        errors = form_errors(exc, viewer.locale)
    return _publish_page(request, viewer, session, runtime, key, "", errors, 422 if errors else 200)


@router.post("/reports/monthly/{month_key}/publish", response_class=HTMLResponse)
async def publish_post(
    month_key: str, request: Request, session: DbSession, viewer: Viewer = page_roles(Role.supervisor)
) -> Response:
    """Publish the month (after the confirmation): back to its report, now the official one."""
    form = await request.form()
    check_csrf(viewer, form)
    runtime: Runtime = request.app.state.runtime
    key = check_report_month(runtime, month_key)
    reason = str(form.get("reason") or "")
    try:
        row = published.publish_month(session, runtime.settings, key, viewer.user, reason=reason, now=runtime.now())
    except DomainError as exc:
        errors = form_errors(exc, viewer.locale)
        return _publish_page(request, viewer, session, runtime, key, reason, errors, exc.status_code)
    _ = gettext_for(viewer)
    words = Words(viewer, runtime)
    return redirect(
        f"/reports/monthly/{key}",
        flash=_("The report of %(month)s is published (version %(n)s)") % {"month": words.month(key), "n": row.version},
    )


@router.get("/reports/monthly/{month_key}/changes", response_class=HTMLResponse)
def monthly_changes(
    month_key: str,
    request: Request,
    session: DbSession,
    version: str = "",
    viewer: Viewer = page_roles(*MONTHLY_ROLES),
) -> Response:
    """What changed since the month was published, for its own cases: each figure frozen and now, and the
    cases whose facts, state or department changed (404 for a month never published)."""
    service.check_monthly_reader(viewer.user)
    runtime: Runtime = request.app.state.runtime
    key = check_report_month(runtime, month_key)
    body = published.what_changed(
        session, runtime.settings, key, now=runtime.now(), version=_version(version), actor=viewer.user
    )
    return render(request, "leader/monthly_changes.html", viewer, body=body, w=Words(viewer, runtime))
