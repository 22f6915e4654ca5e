"""The audit log page (审计日志): who viewed a confidential case, and where, who saw one in a list or a duplicate
hint, who exported data, filtered by person, action, case and local days, one page at a time, and the filtered
entries as CSV (itself audited as an export). Administrators only: the page reads grievance/audit.py, as
GET /api/v1/admin/audit does, with the same filters and the same refusals."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from grievance import audit
from grievance.errors import InvalidInput
from grievance.reports.service import audit_export
from grievance.users.models import User
from web.deps import DbSession
from web.pages.admin.forms import AdminViewer, local_today, runtime_of
from web.pages.common import Viewer, form_errors, render

router = APIRouter(prefix="/admin", include_in_schema=False)

PAGE_SIZE = 50
FILTER_KEYS = ("user", "action", "case_no", "date_from", "date_to")


def _filters(
    request: Request, viewer: Viewer, session: Session
) -> tuple[audit.AuditFilter | None, dict[str, str], dict[str, str]]:
    """The form's values as resolved filters (None when refused), the values to show again, and a message next to
    each field it cannot use (the cursor's, which is no field of the form, for the whole form)."""
    params = request.query_params
    values = {key: params.get(key, "").strip() for key in FILTER_KEYS}
    given: dict[str, object] = {**values, "cursor": params.get("cursor") or None, "limit": PAGE_SIZE}
    try:
        query = audit.AuditQuery.from_form(given)
        filters = query.to_filter(session, runtime_of(request).settings.timezone)
    except InvalidInput as exc:
        errors = form_errors(exc, viewer.locale)
        if "cursor" in errors:
            errors["_"] = errors.pop("cursor")
        return None, values, errors
    for key in ("date_from", "date_to"):  # a day typed 2025/9/28 is shown back as the date field's 2025-09-28
        day = getattr(query, key)
        if isinstance(day, date) and not isinstance(day, datetime):
            values[key] = day.isoformat()
    return filters, values, {}


def _people(session: Session) -> list[tuple[str, str]]:
    """(account name, name shown) of every account, for the person field's suggestions."""
    rows = session.exec(select(User.username, User.display_name).order_by(col(User.username))).all()
    return [(username, display_name) for username, display_name in rows]


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    return _audit_page(request, viewer, session)


def _audit_page(request: Request, viewer: Viewer, session: Session, refusal: str | None = None) -> Response:
    """The page for the request's filters; `refusal` (a download refused) is shown above the form, with no rows."""
    runtime = runtime_of(request)
    filters, values, errors = _filters(request, viewer, session)
    if refusal is not None:
        errors = {**errors, "_": refusal}
    page = (
        audit.list_entries(session, filters, timezone=runtime.settings.timezone)
        if filters is not None and refusal is None
        else audit.AuditPage(items=[], next_cursor=None)
    )
    kept = [(k, v) for k, v in request.query_params.multi_items() if k in FILTER_KEYS and v.strip()]
    query = f"?{urlencode(kept)}" if kept else ""
    more_url = "/admin/audit?" + urlencode([*kept, ("cursor", page.next_cursor)]) if page.next_cursor else None
    return render(
        request,
        "admin/audit.html",
        viewer,
        status_code=422 if errors else 200,
        entries=page.items,
        values=values,
        errors=errors,
        more_url=more_url,
        first_url="/admin/audit" + query,
        paged=bool(filters and filters.after),
        csv_url="/admin/audit.csv" + query,
        filtered=bool(kept),
        action_options=[(code, audit.action_label(code, viewer.locale)) for code in audit.ACTIONS],
        channel_label=audit.channel_label,
        system_actor=audit.SYSTEM_ACTOR[1 if viewer.locale == "en" else 0],
        people=_people(session),
    )


@router.get("/audit.csv")
def audit_csv(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    """Every entry the filters select (not one page) as CSV in the reader's language; the download is itself an
    export in the audit log (DOMAIN.md: every export is audited). More than audit.CSV_MAX_ROWS entries: the page
    (422) asks for narrower filters. Refused filters: the page again with the message beside each field."""
    runtime = runtime_of(request)
    filters, _values, _errors = _filters(request, viewer, session)
    if filters is None:
        return _audit_page(request, viewer, session)
    try:
        entries = audit.all_entries(session, filters, timezone=runtime.settings.timezone)
    except InvalidInput as exc:
        return _audit_page(request, viewer, session, refusal=exc.text(viewer.locale))
    shown = " ".join(f"{k}={request.query_params[k]}" for k in FILTER_KEYS if request.query_params.get(k, "").strip())
    audit_export(session, viewer.user, f"audit log csv {shown or 'all'} {len(entries)} rows")
    name = f"audit-log-{local_today(runtime).isoformat()}.csv"
    return Response(
        audit.to_csv(entries, viewer.locale),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
