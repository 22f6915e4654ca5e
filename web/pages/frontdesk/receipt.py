"""The printable receipt (回执) the petitioner takes home."""

from __future__ import annotations

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from grievance.cases import query_codes
from grievance.cases.service import (
    INTAKE_ROLES,
    case_detail,
    possible_duplicates,
)
from grievance.reference.models import Enterprise, Meeting, Station
from grievance.reference.service import get_or_404
from web.deps import DbSession
from web.pages.common import CurrentViewer, ViewedCase, formatter, render
from web.pages.frontdesk.desk import (
    due_text,
    limit_text,
    state_label,
)

router = APIRouter(include_in_schema=False)


def tracking_url(request: Request, query_code: str) -> str:
    """The public page that looks this code up, with the code in the fragment (#code=...), which a browser never
    sends to the server: it stays out of access logs; the page's script posts it (web/pages/public.py). The host
    is Settings.public_base_url when set (the front desk may use an intranet address phones cannot reach)."""
    base = request.app.state.runtime.settings.public_base_url or str(request.base_url)
    return f"{base.rstrip('/')}/track#code={query_codes.grouped(query_code)}"


def qr_svg(url: str) -> Markup:
    """The URL as a QR code (error correction M or better), inline SVG with a viewBox and no size, so the
    stylesheet sizes it (about 4 cm on paper): no image request, sharp in print."""
    return Markup(segno.make(url, error="m").svg_inline(omitsize=True, svgclass="fd-qr", title=url))


@router.get("/cases/{case_no}/receipt", response_class=HTMLResponse)
def receipt(case: ViewedCase, request: Request, viewer: CurrentViewer, session: DbSession) -> Response:
    """The printable receipt (回执) the petitioner takes home: number, query code, what happens next and when."""
    runtime = request.app.state.runtime
    detail = case_detail(session, runtime, case, viewer.user)
    meeting = get_or_404(session, Meeting, case.meeting_id, "恳谈会") if case.meeting_id else None
    station = get_or_404(session, Station, case.station_id, "驿站") if case.station_id else None
    enterprise = get_or_404(session, Enterprise, case.enterprise_id, "企业") if case.enterprise_id else None
    workflow = runtime.workflows.get(case.workflow)
    # Shown on screen only, to the clerk: a duplicate is merged before it is dispatched.
    duplicates = (
        possible_duplicates(session, runtime, case, viewer.user)
        if viewer.user.role in INTAKE_ROLES and case.state == workflow.initial_state
        else []
    )
    fmt = formatter(runtime, viewer.locale)
    clocks = [
        {**c, "limit_text": limit_text(viewer, str(c["limit"])), "due_text": due_text(fmt, c["due_at"])}
        for c in detail["clocks"]
    ]
    logged_by = detail["timeline"][0]["actor"] if detail["timeline"] else None
    back = f"/meetings/{case.meeting_id}" if meeting else f"/stations/{station.code}" if station else "/intake"
    return render(
        request,
        "frontdesk/receipt.html",
        viewer,
        case=case,
        detail=detail,
        clocks=clocks,
        meeting=meeting,
        station=station,
        enterprise=enterprise,
        logged_by=logged_by,
        duplicates=duplicates,
        state_labels={d["case_no"]: state_label(runtime, d, viewer.locale) for d in duplicates},
        back=back,
        may_log=viewer.user.role in INTAKE_ROLES or case.created_by_id == viewer.user.id,  # a liaison's too
        # Only who sees the query code (the front desk) prints the QR code that carries it.
        qr=qr_svg(tracking_url(request, detail["query_code"])) if detail.get("query_code") else None,
    )


# --- registers of a meeting or a station -------------------------------------------------------------
