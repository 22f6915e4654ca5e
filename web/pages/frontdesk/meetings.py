"""Public dialogue meetings (阳光恳谈会): the list, one meeting's register where a clerk logs case after case,
the correction of a meeting's record, and its follow-up report."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col

from grievance.cases.access import in_scope
from grievance.cases.listing import CaseFilter
from grievance.cases.merges import answering_case
from grievance.cases.registers import CaseTally, count_cases_by
from grievance.cases.service import INTAKE_ROLES, get_case
from grievance.errors import DomainError, NotFound, field_errors, field_label
from grievance.glossary import Channel
from grievance.reference.models import Meeting, Station
from grievance.reference.schemas import MeetingIn
from grievance.reference.service import create_meeting, get_or_404, list_all, update_meeting
from web.deps import DbSession
from web.i18n import in_locale
from web.pages.common import Viewer, check_csrf, form_errors, gettext_for, page_roles, redirect, render
from web.pages.frontdesk.desk import (
    DESK_ROLES,
    PlainForm,
    Posted,
    blank_form,
    form_context,
    log_case,
    progress,
    register_rows,
    today_here,
)
from web.params import refuse_impossible_id

router = APIRouter(include_in_schema=False)

MEETING_FIELDS = ("title", "held_on", "venue", "hosts", "attendee_count", "station")


def meeting_in_url(session: Session, meeting_id: str) -> Meeting:
    """The meeting a page's path names by its id; NotFound (the 404 page 「没有这个恳谈会」) for an id that is no
    meeting's, a word such as "abc" included, as /cases/abc is a 404 rather than a message about types."""
    refuse_impossible_id(meeting_id, "meeting_id")  # a number no id column holds: 422, as in the API
    meeting = session.get(Meeting, int(meeting_id)) if meeting_id.isascii() and meeting_id.isdigit() else None
    if meeting is None:
        raise NotFound(f"没有这个恳谈会：{meeting_id}", f"no such meeting: {meeting_id}")
    return meeting


def _render_meetings(
    request: Request,
    session: Session,
    viewer: Viewer,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    counts = count_cases_by(session, viewer.user, "meeting")
    stations = list_all(session, Station, col(Station.code))
    names = {s.id: s.name for s in stations}
    meetings = [
        {"meeting": m, "station": names.get(m.station_id), "counts": counts.get(m.id, CaseTally())}  # type: ignore[arg-type]
        for m in list_all(session, Meeting, col(Meeting.held_on).desc())
    ]
    meetings.sort(key=lambda row: (row["meeting"].held_on, row["meeting"].id), reverse=True)
    return render(
        request,
        "frontdesk/meetings.html",
        viewer,
        status_code=status,
        meetings=meetings,
        values=values,
        errors=errors,
        station_options=[(s.code, s.name) for s in stations],
    )


@router.get("/meetings", response_class=HTMLResponse)
def meetings_page(request: Request, session: DbSession, viewer: Viewer = page_roles(*DESK_ROLES)) -> Response:
    values = dict.fromkeys(MEETING_FIELDS, "")
    values["held_on"] = today_here(request).isoformat()
    return _render_meetings(request, session, viewer, values, {})


def meeting_in_of(form: dict[str, str], viewer: Viewer) -> tuple[dict[str, str], MeetingIn | None, dict[str, str]]:
    """The posted meeting form: the values to show again, the MeetingIn (None when refused) and the message of
    each field to fix, in the reader's language. The create and edit forms read it the same way."""
    _ = gettext_for(viewer)
    values = {name: form.get(name, "") for name in MEETING_FIELDS}
    data = {name: value for name, value in values.items() if value.strip()}
    errors: dict[str, str] = {}
    try:
        return values, MeetingIn.model_validate(data), errors
    except ValidationError as exc:
        key = "message_en" if viewer.locale == "en" else "message"
        for err in field_errors(list(exc.errors()), skip_body=False):
            text = str(err[key]).removeprefix(f"{err['field']}: ").removeprefix(f"{field_label(err['field'])}：")
            errors.setdefault(str(err["field"]), in_locale(text.removeprefix("Value error, "), viewer.locale))
        if "title" in errors and not values["title"].strip():
            errors["title"] = _("Give the meeting a title")
        # A day that does not exist keeps its own message; anything unreadable is told the form to use.
        unreadable = any(e["loc"] == ("held_on",) and e["type"] != "value_error" for e in exc.errors())
        if unreadable:
            errors["held_on"] = _("Enter the date of the meeting, for example 2025-09-28")
        return values, None, errors


def _station_errors(exc: DomainError, viewer: Viewer) -> dict[str, str]:
    """A refusal of the service (an unknown station) as the form's field messages."""
    found = form_errors(exc, viewer.locale)
    return {("station" if name == "_" else name): in_locale(text, viewer.locale) for name, text in found.items()}


@router.post("/meetings", response_class=HTMLResponse)
def open_meeting(
    form: PlainForm, request: Request, session: DbSession, viewer: Viewer = page_roles(*DESK_ROLES)
) -> Response:
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    values, meeting_in, errors = meeting_in_of(form, viewer)
    if meeting_in is None:
        return _render_meetings(request, session, viewer, values, errors, 422)
    try:
        with session.begin_nested():
            meeting = create_meeting(session, meeting_in=meeting_in)
    except DomainError as exc:
        return _render_meetings(request, session, viewer, values, _station_errors(exc, viewer), exc.status_code)
    return redirect(f"/meetings/{meeting.id}", flash=_("Meeting opened: log its cases below"))


def _render_edit(
    request: Request,
    session: Session,
    viewer: Viewer,
    meeting: Meeting,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    stations = list_all(session, Station, col(Station.code))
    return render(
        request,
        "frontdesk/meeting_edit.html",
        viewer,
        status_code=status,
        meeting=meeting,
        values=values,
        errors=errors,
        station_options=[(s.code, s.name) for s in stations],
    )


@router.get("/meetings/{meeting_id}/edit", response_class=HTMLResponse)
def edit_meeting_page(
    meeting_id: str, request: Request, session: DbSession, viewer: Viewer = page_roles(*DESK_ROLES)
) -> Response:
    """The meeting's record in the form that opened it, to correct a title, a date, a venue or the hosts."""
    meeting = meeting_in_url(session, meeting_id)
    station = session.get(Station, meeting.station_id) if meeting.station_id else None
    values = {
        "title": meeting.title,
        "held_on": meeting.held_on.isoformat(),
        "venue": meeting.venue,
        "hosts": meeting.hosts,
        "attendee_count": str(meeting.attendee_count),
        "station": station.code if station else "",
    }
    return _render_edit(request, session, viewer, meeting, values, {})


@router.post("/meetings/{meeting_id}/edit", response_class=HTMLResponse)
def edit_meeting(
    meeting_id: str,
    form: PlainForm,
    request: Request,
    session: DbSession,
    viewer: Viewer = page_roles(*DESK_ROLES),
) -> Response:
    """Save the corrected record (the same checks as opening one); the change is written to the audit log."""
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    meeting = meeting_in_url(session, meeting_id)
    values, meeting_in, errors = meeting_in_of(form, viewer)
    if meeting_in is None:
        return _render_edit(request, session, viewer, meeting, values, errors, 422)
    try:
        with session.begin_nested():
            changed = update_meeting(
                session, meeting=meeting, meeting_in=meeting_in, actor=viewer.user, now=request.app.state.runtime.now()
            )
    except DomainError as exc:
        session.refresh(meeting)
        return _render_edit(request, session, viewer, meeting, values, _station_errors(exc, viewer), exc.status_code)
    flash = _("Meeting record saved") if changed else _("Nothing changed")
    return redirect(f"/meetings/{meeting.id}", flash=flash)


def _render_meeting(
    request: Request,
    session: Session,
    viewer: Viewer,
    meeting: Meeting,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    runtime = request.app.state.runtime
    rows = register_rows(session, runtime, viewer, CaseFilter(meeting_id=meeting.id))
    station = get_or_404(session, Station, meeting.station_id, "驿站") if meeting.station_id else None
    return render(
        request,
        "frontdesk/meeting.html",
        viewer,
        status_code=status,
        meeting=meeting,
        station=station,
        rows=rows,
        progress=progress(count_cases_by(session, viewer.user, "meeting", meeting.id).get(meeting.id, CaseTally())),  # type: ignore[arg-type]
        values=values,
        errors=errors,
        may_log=viewer.user.role in INTAKE_ROLES,
        **form_context(session, [], False, viewer.locale),
    )


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(
    meeting_id: str, request: Request, session: DbSession, viewer: Viewer = page_roles(*DESK_ROLES)
) -> Response:
    """Meeting mode: the meeting's cases, and a form to log the next one without leaving the page."""
    meeting = meeting_in_url(session, meeting_id)
    values = blank_form(channel=Channel.meeting.value, meeting=str(meeting.id))
    return _render_meeting(request, session, viewer, meeting, values, {})


@router.post("/meetings/{meeting_id}/cases", response_class=HTMLResponse)
def log_meeting_case(
    meeting_id: str,
    posted: Posted,
    request: Request,
    session: DbSession,
    viewer: Viewer = page_roles(*sorted(INTAKE_ROLES)),
) -> Response:
    _ = gettext_for(viewer)
    meeting = meeting_in_url(session, meeting_id)
    posted.values.update(channel=Channel.meeting.value, meeting=str(meeting.id))
    logged = log_case(request, session, viewer, posted)
    if logged.case is None:
        return _render_meeting(request, session, viewer, meeting, posted.values, logged.errors, logged.status)
    return redirect(f"/meetings/{meeting.id}", flash=_("Logged %(case_no)s") % {"case_no": logged.case.case_no})


@router.get("/meetings/{meeting_id}/report", response_class=HTMLResponse)
def meeting_report(
    meeting_id: str, request: Request, session: DbSession, viewer: Viewer = page_roles(*DESK_ROLES)
) -> Response:
    """The follow-up report to the attendees: each case raised, where it stands, and the reply once resolved;
    a duplicate says which case it was merged into and carries that case's reply. The tally is the meeting
    page's (count_cases_by), as the rates count it. No personal data: it is read out and handed round."""
    runtime = request.app.state.runtime
    meeting = meeting_in_url(session, meeting_id)
    station = get_or_404(session, Station, meeting.station_id, "驿站") if meeting.station_id else None
    rows = list(reversed(register_rows(session, runtime, viewer, CaseFilter(meeting_id=meeting.id))))
    for row in rows:
        case = get_case(session, row["case"].id, viewer.user, seen_in="meeting_report")
        answering = answering_case(session, case) or case
        visible = answering is case or in_scope(answering, viewer.user)
        row["resolved"] = visible and answering.resolved_at is not None
        row["reply"] = answering.reply if row["resolved"] and not answering.confidential else ""
    tally = count_cases_by(session, viewer.user, "meeting", meeting.id).get(meeting.id, CaseTally())  # type: ignore[arg-type]
    return render(
        request,
        "frontdesk/meeting_report.html",
        viewer,
        meeting=meeting,
        station=station,
        rows=rows,
        progress=progress(tally),
        printed_at=runtime.now(),
    )


# --- stations ----------------------------------------------------------------------------------------
