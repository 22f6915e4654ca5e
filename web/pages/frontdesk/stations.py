"""Urban stations (城市驿站): the list and one station's register."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col

from grievance.cases.listing import CaseFilter
from grievance.cases.registers import CaseTally, count_cases_by
from grievance.cases.service import INTAKE_ROLES
from grievance.glossary import Channel
from grievance.reference.models import Department, Station
from grievance.reference.service import get_or_404, list_all, meetings_at
from web.deps import DbSession
from web.pages.common import Viewer, gettext_for, page_roles, redirect, render
from web.pages.frontdesk.desk import (
    DESK_ROLES,
    Posted,
    blank_form,
    form_context,
    log_case,
    progress,
    register_rows,
)

router = APIRouter(include_in_schema=False)


@router.get("/stations", response_class=HTMLResponse)
def stations_page(request: Request, session: DbSession, viewer: Viewer = page_roles(*DESK_ROLES)) -> Response:
    counts = count_cases_by(session, viewer.user, "station")
    departments = {d.id: d.name for d in list_all(session, Department, col(Department.code))}
    stations = [
        {"station": s, "department": departments.get(s.department_id), "counts": counts.get(s.id, CaseTally())}  # type: ignore[arg-type]
        for s in list_all(session, Station, col(Station.code))
    ]
    return render(request, "frontdesk/stations.html", viewer, stations=stations)


def _render_station(
    request: Request,
    session: Session,
    viewer: Viewer,
    station: Station,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    runtime = request.app.state.runtime
    rows = register_rows(session, runtime, viewer, CaseFilter(station_id=station.id))
    department = get_or_404(session, Department, station.department_id, "单位") if station.department_id else None
    meetings = meetings_at(session, station.id)  # type: ignore[arg-type]
    return render(
        request,
        "frontdesk/station.html",
        viewer,
        status_code=status,
        station=station,
        department=department,
        meetings=meetings,
        rows=rows,
        progress=progress(count_cases_by(session, viewer.user, "station", station.id).get(station.id, CaseTally())),  # type: ignore[arg-type]
        values=values,
        errors=errors,
        may_log=viewer.user.role in INTAKE_ROLES,
        **form_context(session, [], False, viewer.locale),
    )


@router.get("/stations/{code}", response_class=HTMLResponse)
def station_page(code: str, request: Request, session: DbSession, viewer: Viewer = page_roles(*DESK_ROLES)) -> Response:
    station = get_or_404(session, Station, code, "驿站")
    values = blank_form(channel=Channel.station.value, station=station.code)
    return _render_station(request, session, viewer, station, values, {})


@router.post("/stations/{code}/cases", response_class=HTMLResponse)
def log_station_case(
    code: str,
    posted: Posted,
    request: Request,
    session: DbSession,
    viewer: Viewer = page_roles(*sorted(INTAKE_ROLES)),
) -> Response:
    _ = gettext_for(viewer)
    station = get_or_404(session, Station, code, "驿站")
    posted.values.update(channel=Channel.station.value, station=station.code)
    logged = log_case(request, session, viewer, posted)
    if logged.case is None:
        return _render_station(request, session, viewer, station, posted.values, logged.errors, logged.status)
    return redirect(f"/stations/{station.code}", flash=_("Logged %(case_no)s") % {"case_no": logged.case.case_no})
