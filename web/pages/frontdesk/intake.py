"""The intake form (keyboard first) and its live hints while typing: earlier cases of the phone, possible
duplicates, the suggested department."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from grievance.cases import search
from grievance.cases.access import check_phone_search
from grievance.cases.listing import CaseFilter, list_cases
from grievance.cases.models import Case
from grievance.cases.phones import normalize_phone
from grievance.cases.routing import suggest_departments
from grievance.cases.schemas import CaseSummary
from grievance.cases.service import possible_duplicates
from grievance.errors import NotFound
from grievance.glossary import CaseType, Channel
from grievance.reference.models import Category, Department, Station
from grievance.reference.service import get_or_404
from web.deps import DbSession
from web.pages.common import gettext_for, redirect, render
from web.pages.frontdesk.desk import (
    Desk,
    IntakeDesk,
    Posted,
    blank_form,
    form_context,
    log_case,
    state_label,
)

router = APIRouter(include_in_schema=False)


@router.get("/intake", response_class=HTMLResponse)
def intake_page(
    request: Request,
    desk: IntakeDesk,
    session: DbSession,
    channel: str = "",
    meeting: str = "",
    station: str = "",
    enterprise: str = "",
) -> Response:
    values = blank_form(channel=channel, meeting=meeting, station=station, enterprise=enterprise)
    if desk.liaison_only:
        values["channel"] = Channel.enterprise.value
        values["enterprise"] = values["enterprise"] or desk.enterprises[0].credit_code
    return _render_intake(request, session, desk, values, {})


def _render_intake(
    request: Request, session: Session, desk: Desk, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    return render(
        request,
        "frontdesk/intake.html",
        desk.viewer,
        status_code=status,
        values=values,
        errors=errors,
        liaison_only=desk.liaison_only,
        **form_context(session, desk.enterprises, desk.liaison_only, desk.viewer.locale),
    )


@router.post("/intake", response_class=HTMLResponse)
def intake_submit(posted: Posted, request: Request, desk: IntakeDesk, session: DbSession) -> Response:
    _ = gettext_for(desk.viewer)
    if desk.liaison_only:
        posted.values["channel"] = Channel.enterprise.value
    logged = log_case(request, session, desk.viewer, posted)
    if logged.case is None:
        return _render_intake(request, session, desk, posted.values, logged.errors, logged.status)
    case_no = logged.case.case_no
    return redirect(f"/cases/{case_no}/receipt", flash=_("Logged %(case_no)s") % {"case_no": case_no})


def _clean_phone(phone: str) -> str:
    """The canonical phone, or "" while what is typed is no phone number yet (the hints stay quiet)."""
    return normalize_phone(phone) or ""


@router.get("/intake/lookup", response_class=HTMLResponse)
def petitioner_lookup(request: Request, desk: IntakeDesk, session: DbSession, petitioner_phone: str = "") -> Response:
    """The petitioner's earlier cases, found by phone (only for the roles that may see phone numbers)."""
    check_phone_search(desk.viewer.user, request.app.state.runtime.settings)
    phone = _clean_phone(petitioner_phone)
    items: list[CaseSummary] = []
    more = False
    if phone:
        filters = CaseFilter(phone=phone, limit=10)
        items, cursor = list_cases(session, request.app.state.runtime, desk.viewer.user, filters)
        more = cursor is not None
    return render(request, "frontdesk/_lookup.html", desk.viewer, phone=phone, items=items, more=more)


@router.get("/intake/duplicates", response_class=HTMLResponse)
def duplicate_hints(
    request: Request, desk: IntakeDesk, session: DbSession, title: str = "", petitioner_phone: str = ""
) -> Response:
    """Cases that may be the same appeal, while the clerk types: nothing is logged."""
    runtime = request.app.state.runtime
    title = title.strip()[:200]
    phone = _clean_phone(petitioner_phone)
    found: list[dict[str, Any]] = []
    if title or phone:
        draft = Case(
            title=title,
            petitioner_phone=phone,
            received_at=runtime.now(),
            search_terms=search.search_terms(title),
        )
        found = possible_duplicates(session, runtime, draft, desk.viewer.user)
    labels = {d["case_no"]: state_label(runtime, d, desk.viewer.locale) for d in found}
    return render(request, "frontdesk/_duplicates.html", desk.viewer, found=found, state_labels=labels)


@router.get("/intake/routing", response_class=HTMLResponse)
def routing_hint(
    request: Request,
    desk: IntakeDesk,
    session: DbSession,
    category: str = "",
    station: str = "",
    channel: str = "",
    case_type: str = "",
    accused_department: str = "",
) -> Response:
    """Which department the dispatch centre will likely send the case to: for the clerk's information. A report's
    accused department is never suggested (grievance/cases/routing.py)."""
    draft = Case()
    for ref, model, attr, label in (
        (category, Category, "category_id", "业务分类"),
        (station, Station, "station_id", "驿站"),
        (accused_department, Department, "accused_department_id", "被举报单位"),
    ):
        if not ref or (model is Station and channel != Channel.station.value):
            continue
        if model is Department and case_type != CaseType.report.value:
            continue
        try:
            setattr(draft, attr, get_or_404(session, model, ref, label).id)
        except NotFound:
            continue
    suggestions = suggest_departments(session, draft) if draft.category_id or draft.station_id else []
    return render(request, "frontdesk/_routing.html", desk.viewer, suggestions=suggestions)
