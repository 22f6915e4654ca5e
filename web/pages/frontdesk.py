"""The front desk: the intake form (keyboard first, with live hints while typing), the printable receipt, and
the meeting (阳光恳谈会) and station (城市驿站) pages where a clerk logs one case after another."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col

from grievance.cases import search
from grievance.cases.access import in_scope
from grievance.cases.merges import answering_case, target_numbers
from grievance.cases.models import Case
from grievance.cases.phones import normalize_phone
from grievance.cases.registers import CaseTally, count_cases_by
from grievance.cases.routing import suggest_departments
from grievance.cases.schemas import CaseCreate, CaseSummary
from grievance.cases.service import (
    INTAKE_ROLES,
    CaseFilter,
    Upload,
    case_detail,
    get_case,
    intake_case,
    list_cases,
    possible_duplicates,
)
from grievance.errors import DomainError, Forbidden, NotFound, field_errors
from grievance.glossary import CaseType, Channel, PetitionerKind, Role, Urgency
from grievance.reference.models import Category, Department, Enterprise, Meeting, Station
from grievance.reference.schemas import MeetingIn
from grievance.reference.service import create_meeting, get_or_404, list_all, meetings_at
from grievance.workflow.engine import Runtime
from web.deps import DbSession
from web.i18n import Formatter
from web.pages.common import CurrentViewer, Viewer, check_csrf, form_errors, gettext_for, page_roles, redirect, render

router = APIRouter(include_in_schema=False)

# Who keeps the meeting and station registers (the API lets the same roles open a meeting).
DESK_ROLES = (Role.intake, Role.dispatcher, Role.supervisor, Role.admin)
# The record a channel's case must point at.
LINK_OF_CHANNEL = {c.value: c.value for c in (Channel.meeting, Channel.station, Channel.enterprise)}
FORM_FIELDS = (
    "channel",
    "meeting",
    "station",
    "enterprise",
    "title",
    "description",
    "case_type",
    "urgency",
    "location",
    "petitioner_phone",
    "petitioner_name",
    "petitioner_id_no",
    "petitioner_kind",
    "category",
    "occurred_at",
    "idempotency_key",
)
# Enough for any meeting or station page; a register longer than this is read on the case list.
LIST_CAP = 1000
_BILINGUAL = re.compile(r"^(?P<zh>[^()]*[\u4e00-\u9fff][^()]*?)\s*\((?P<en>[^()]+)\)\s*$")


# --- who may log -------------------------------------------------------------------------------------


@dataclass
class Desk:
    """The signed-in clerk at the intake form and the enterprises they may log for: every enterprise for the
    front-desk roles, only their own for a liaison cadre (包保干部), who logs enterprise cases only."""

    viewer: Viewer
    enterprises: list[Enterprise]
    liaison_only: bool


def _liaison_enterprises(session: Session, viewer: Viewer) -> list[Enterprise]:
    everyone = list_all(session, Enterprise, col(Enterprise.name))
    return [e for e in everyone if e.liaison_user_id == viewer.user.id]


def intake_desk(viewer: CurrentViewer, session: DbSession) -> Desk:
    """Open the form to whoever intake_case would let log a case (INTAKE_ROLES, or a liaison)."""
    if viewer.user.role in INTAKE_ROLES:
        return Desk(viewer, list_all(session, Enterprise, col(Enterprise.name)), liaison_only=False)
    own = _liaison_enterprises(session, viewer)
    if own:
        return Desk(viewer, own, liaison_only=True)
    allowed = sorted(INTAKE_ROLES)
    raise Forbidden(
        f"角色 {viewer.user.role} 不能登记诉求，包保干部只能登记所包保企业的诉求 (role {viewer.user.role!r} may not "
        "log cases; a liaison cadre may log their own enterprise's cases)",
        allowed=allowed,
    )


IntakeDesk = Annotated[Desk, Depends(intake_desk)]


# --- reading a posted form ---------------------------------------------------------------------------


@dataclass
class PostedForm:
    values: dict[str, str]
    csrf_token: str
    uploads: list[Upload] = field(default_factory=list)
    too_large: list[str] = field(default_factory=list)  # names of files over the size limit


async def posted_form(request: Request) -> PostedForm:
    """The form and its files, read before the page opens its transaction (no lock while a file arrives)."""
    form = await request.form()
    limit = request.app.state.runtime.settings.attachment_max_bytes
    posted = PostedForm(
        values={name: str(form.get(name) or "") for name in FORM_FIELDS},
        csrf_token=str(form.get("csrf_token") or ""),
    )
    for item in form.getlist("files"):
        if isinstance(item, str) or not item.filename:
            continue  # an empty file input still sends a nameless part
        if item.size is not None and item.size > limit:
            posted.too_large.append(item.filename)
            continue
        posted.uploads.append(Upload(item.filename, item.content_type or "", await item.read()))
    return posted


Posted = Annotated[PostedForm, Depends(posted_form)]


def _one_language(message: str, locale: str) -> str:
    """Service messages are "中文 (English)": show the reader's half."""
    found = _BILINGUAL.match(message)
    if not found:
        return message
    return found["en"] if locale == "en" else found["zh"]


def _local_datetime(value: str, timezone: str) -> datetime:
    """A datetime-local field ("2025-09-28T09:30") in the deployment's time zone; ValueError if malformed."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def _case_in(values: dict[str, str], runtime: Runtime, viewer: Viewer) -> tuple[CaseCreate | None, dict[str, str]]:
    """The CaseCreate of a posted form, or the message of each field to fix (every problem at once)."""
    _ = gettext_for(viewer)
    errors: dict[str, str] = {}
    channel = values["channel"]
    data: dict[str, Any] = {
        "channel": channel,
        "case_type": values["case_type"],
        "urgency": values["urgency"] or Urgency.normal.value,
        "title": values["title"],
        "description": values["description"],
        "location": values["location"],
        "petitioner": {
            "name": values["petitioner_name"],
            "phone": values["petitioner_phone"],
            "id_no": values["petitioner_id_no"],
            "kind": values["petitioner_kind"] or None,
        },
        "category": values["category"] or None,
    }
    link = LINK_OF_CHANNEL.get(channel)
    if link:
        data[link] = values[link] or None
        if not values[link]:
            errors[link] = {
                "meeting": _("Choose the meeting the case was raised at"),
                "station": _("Choose the station the case was raised at"),
                "enterprise": _("Choose the enterprise"),
            }[link]
    if values["occurred_at"]:
        try:
            data["occurred_at"] = _local_datetime(values["occurred_at"], runtime.settings.timezone)
        except ValueError:
            errors["occurred_at"] = _("Enter a date and time, for example 2025-09-28 09:30")
    try:
        case_in: CaseCreate | None = CaseCreate.model_validate(data)
    except ValidationError as exc:
        case_in = None
        key = "message_en" if viewer.locale == "en" else "message"
        for err in field_errors(list(exc.errors()), skip_body=False):
            name = str(err["field"]).replace(".", "_")
            text = str(err[key]).removeprefix(f"{err['field']}: ").removeprefix(f"{err['field']} ")
            errors.setdefault(name, _one_language(text.removeprefix("Value error, "), viewer.locale))
    return (case_in if not errors else None), errors


@dataclass
class Logged:
    """What became of a posted case: the case, or the message of each field to fix and the page's status."""

    case: Case | None
    errors: dict[str, str]
    status: int = 200


def _log_case(request: Request, session: Session, viewer: Viewer, posted: PostedForm) -> Logged:
    """Log the posted case, or say what to fix. A refused case leaves nothing behind: the savepoint rolls
    back whatever intake wrote before it refused (the page's transaction still commits, for the audit)."""
    check_csrf(viewer, {"csrf_token": posted.csrf_token})
    _ = gettext_for(viewer)
    runtime = request.app.state.runtime
    case_in, errors = _case_in(posted.values, runtime, viewer)
    if posted.too_large:
        limit_mb = runtime.settings.attachment_max_bytes // 1048576
        errors["files"] = _("These files are larger than %(mb)s MB: %(names)s") % {
            "mb": limit_mb,
            "names": "、".join(posted.too_large),
        }
    if case_in is None or errors:
        return Logged(None, errors, 422)
    try:
        with session.begin_nested():
            result = intake_case(
                session,
                runtime,
                case_in=case_in,
                actor=viewer.user,
                idempotency_key=posted.values["idempotency_key"][:128] or None,
                uploads=posted.uploads,
            )
    except DomainError as exc:
        found = form_errors(exc, viewer.locale)
        return Logged(None, {name: _one_language(text, viewer.locale) for name, text in found.items()}, exc.status_code)
    return Logged(result.case, {})


# --- what the form offers ----------------------------------------------------------------------------


def _category_groups(session: Session) -> list[dict[str, Any]]:
    """The category tree as option groups: one per level-1 category, holding it and its descendants."""
    categories = list_all(session, Category, col(Category.code))
    by_id = {c.id: c for c in categories}
    groups: dict[int, dict[str, Any]] = {}
    for c in categories:
        if c.level == 1:
            groups[c.id] = {"label": c.name, "options": [(c.code, c.name)]}  # type: ignore[index]
    for c in categories:
        if c.level == 1:
            continue
        top, trail = c, []
        while top.parent_id is not None and top.parent_id in by_id:
            top = by_id[top.parent_id]
            if top.level > 1:
                trail.append(top.name)
        if top.id in groups:
            text = f"{c.name}（{' / '.join(trail)}）" if trail else c.name
            groups[top.id]["options"].append((c.code, text))  # type: ignore[index]
    return list(groups.values())


def _meeting_label(meeting: Meeting) -> str:
    return f"{meeting.held_on:%Y-%m-%d} {meeting.title}"


def _form_context(session: Session, desk_enterprises: list[Enterprise], liaison_only: bool) -> dict[str, Any]:
    channels = [Channel.enterprise] if liaison_only else list(Channel)
    return {
        "channel_options": [(c.value, c.label) for c in channels],
        "case_type_options": [(t.value, t.label) for t in CaseType],
        "urgency_options": [(u.value, u.label) for u in Urgency],
        "kind_options": [(k.value, k.label) for k in PetitionerKind],
        "meeting_options": [(m.id, _meeting_label(m)) for m in list_all(session, Meeting, col(Meeting.held_on).desc())],
        "station_options": [(s.code, s.name) for s in list_all(session, Station, col(Station.code))],
        "enterprise_options": [(e.credit_code, e.name) for e in desk_enterprises],
        "category_groups": _category_groups(session),
    }


def _blank_form(**preset: str) -> dict[str, str]:
    """An empty form with a fresh idempotency key: a double Ctrl+Enter logs the case once."""
    values = dict.fromkeys(FORM_FIELDS, "")
    values.update(case_type=CaseType.help.value, urgency=Urgency.normal.value, channel=Channel.walk_in.value)
    values.update({k: v for k, v in preset.items() if v})
    values["idempotency_key"] = secrets.token_urlsafe(16)
    return values


# --- the intake form and its live hints --------------------------------------------------------------


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
    values = _blank_form(channel=channel, meeting=meeting, station=station, enterprise=enterprise)
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
        **_form_context(session, desk.enterprises, desk.liaison_only),
    )


@router.post("/intake", response_class=HTMLResponse)
def intake_submit(posted: Posted, request: Request, desk: IntakeDesk, session: DbSession) -> Response:
    _ = gettext_for(desk.viewer)
    if desk.liaison_only:
        posted.values["channel"] = Channel.enterprise.value
    logged = _log_case(request, session, desk.viewer, posted)
    if logged.case is None:
        return _render_intake(request, session, desk, posted.values, logged.errors, logged.status)
    case_no = logged.case.case_no
    return redirect(f"/cases/{case_no}/receipt", flash=_("Logged %(case_no)s") % {"case_no": case_no})


def _require_phone_reader(request: Request, viewer: Viewer) -> None:
    roles = request.app.state.runtime.settings.personal_data_roles
    if viewer.user.role not in roles:
        raise Forbidden(
            f"角色 {viewer.user.role} 不能按电话号码查询 (role {viewer.user.role!r} may not search by phone)",
            allowed=list(roles),
        )


def _clean_phone(phone: str) -> str:
    """The canonical phone, or "" while what is typed is no phone number yet (the hints stay quiet)."""
    return normalize_phone(phone) or ""


@router.get("/intake/lookup", response_class=HTMLResponse)
def petitioner_lookup(request: Request, desk: IntakeDesk, session: DbSession, petitioner_phone: str = "") -> Response:
    """The petitioner's earlier cases, found by phone (only for the roles that may see phone numbers)."""
    _require_phone_reader(request, desk.viewer)
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
    labels = {d["case_no"]: _state_label(runtime, d) for d in found}
    return render(request, "frontdesk/_duplicates.html", desk.viewer, found=found, state_labels=labels)


def _state_label(runtime: Runtime, hint: dict[str, Any]) -> str:
    for workflow in runtime.workflows.definitions.values():
        if hint["state"] in workflow.states:
            return str(workflow.states[hint["state"]].label)
    return str(hint["state"])


@router.get("/intake/routing", response_class=HTMLResponse)
def routing_hint(
    request: Request, desk: IntakeDesk, session: DbSession, category: str = "", station: str = "", channel: str = ""
) -> Response:
    """Which department the dispatch centre will likely send the case to: for the clerk's information."""
    draft = Case()
    for ref, model, attr, label in (
        (category, Category, "category_id", "业务分类"),
        (station, Station, "station_id", "驿站"),
    ):
        if not ref or (model is Station and channel != Channel.station.value):
            continue
        try:
            setattr(draft, attr, get_or_404(session, model, ref, label).id)
        except NotFound:
            continue
    suggestions = suggest_departments(session, draft) if draft.category_id or draft.station_id else []
    return render(request, "frontdesk/_routing.html", desk.viewer, suggestions=suggestions)


# --- the receipt -------------------------------------------------------------------------------------


def _limit_text(viewer: Viewer, limit: str) -> str:
    """A clock's limit ("15 working_days", "0.5 hours") as a person says it."""
    _ = gettext_for(viewer)
    amount, _space, unit = limit.partition(" ")
    try:
        number = float(amount)
    except ValueError:
        return limit
    if unit == "hours" and number < 1:
        return _("%(n)s minutes") % {"n": f"{number * 60:g}"}
    n = f"{number:g}"
    texts = {
        "hours": (_("%(n)s hour"), _("%(n)s hours")),
        "days": (_("%(n)s day"), _("%(n)s days")),
        "working_days": (_("%(n)s working day"), _("%(n)s working days")),
    }
    if unit not in texts:
        return limit
    one, many = texts[unit]
    return (one if number == 1 else many) % {"n": n}


def _due_text(fmt: Formatter, due: datetime, short: bool = False) -> str:
    """A working-day limit ends at midnight: "30 September 24:00" reads right, "1 October 00:00" misleads."""
    local = due.astimezone(fmt.tz)
    if (local.hour, local.minute) == (0, 0):
        day_before = local - timedelta(minutes=1)
        return f"{fmt.short(day_before)[:-6] if short else fmt.date(day_before)} 24:00"
    return fmt.short(due) if short else fmt.datetime(due)


@router.get("/cases/{case_no}/receipt", response_class=HTMLResponse)
def receipt(case_no: str, request: Request, viewer: CurrentViewer, session: DbSession) -> Response:
    """The printable receipt (回执) the petitioner takes home: number, query code, what happens next and when."""
    runtime = request.app.state.runtime
    case = get_case(session, case_no, viewer.user)
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
    fmt = Formatter(viewer.locale, runtime.settings.timezone)
    clocks = [
        {**c, "limit_text": _limit_text(viewer, str(c["limit"])), "due_text": _due_text(fmt, c["due_at"])}
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
        state_labels={d["case_no"]: _state_label(runtime, d) for d in duplicates},
        back=back,
        may_log=viewer.user.role in INTAKE_ROLES or case.created_by_id == viewer.user.id,  # a liaison's too
    )


# --- registers of a meeting or a station -------------------------------------------------------------


def _light(runtime: Runtime, summary: CaseSummary) -> str:
    """The case's traffic light as the case lists show it (its workflow's clocks, read at list time)."""
    if summary.overdue:
        return "overdue"
    if summary.due_soon:
        return "due_soon"
    if summary.next_due_at:
        return "running"
    workflow = runtime.workflows.get(summary.workflow)
    return "met" if summary.state == "resolved" or workflow.is_final(summary.state) else "paused"


def _register(session: Session, runtime: Runtime, viewer: Viewer, filters: CaseFilter) -> list[dict[str, Any]]:
    """Every case of a meeting or station this viewer may see, newest first, with department and light."""
    summaries: list[CaseSummary] = []
    filters.limit = 200
    while True:
        page, cursor = list_cases(session, runtime, viewer.user, filters)
        summaries += page
        if cursor is None or len(summaries) >= LIST_CAP:
            break
        filters.cursor = cursor
    departments = {d.id: d.name for d in list_all(session, Department, col(Department.code))}
    fmt = Formatter(viewer.locale, runtime.settings.timezone)
    merged_into = target_numbers(session, [s.id for s in summaries])
    return [
        {
            "case": s,
            "department": departments.get(s.department_id) if s.department_id else None,
            "light": _light(runtime, s),
            "due_text": _due_text(fmt, s.next_due_at, short=True) if s.next_due_at else "",
            "merged_into": merged_into.get(s.id),  # a duplicate is shown as merged, with its target
        }
        for s in summaries
    ]


def _progress(tally: CaseTally) -> dict[str, int]:
    """The tally line of a meeting or station page and of the follow-up report, as the rates count it."""
    return {"total": tally.received, "done": tally.resolved, "open": tally.open, "duplicates": tally.duplicates}


async def plain_form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


PlainForm = Annotated[dict[str, str], Depends(plain_form)]


# --- meetings ----------------------------------------------------------------------------------------


MEETING_FIELDS = ("title", "held_on", "venue", "hosts", "attendee_count", "station")


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


def _today(request: Request) -> date:
    runtime = request.app.state.runtime
    return runtime.now().astimezone(ZoneInfo(runtime.settings.timezone)).date()


@router.get("/meetings", response_class=HTMLResponse)
def meetings_page(request: Request, session: DbSession, viewer: Viewer = page_roles(*DESK_ROLES)) -> Response:
    values = dict.fromkeys(MEETING_FIELDS, "")
    values["held_on"] = _today(request).isoformat()
    return _render_meetings(request, session, viewer, values, {})


@router.post("/meetings", response_class=HTMLResponse)
def open_meeting(
    form: PlainForm, request: Request, session: DbSession, viewer: Viewer = page_roles(*DESK_ROLES)
) -> Response:
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    values = {name: form.get(name, "") for name in MEETING_FIELDS}
    data = {name: value for name, value in values.items() if value.strip()}
    errors: dict[str, str] = {}
    try:
        meeting_in = MeetingIn.model_validate(data)
    except ValidationError as exc:
        key = "message_en" if viewer.locale == "en" else "message"
        for err in field_errors(list(exc.errors()), skip_body=False):
            text = str(err[key]).removeprefix(f"{err['field']}: ").removeprefix(f"{err['field']} ")
            errors.setdefault(str(err["field"]), _one_language(text, viewer.locale))
        if "title" in errors and not values["title"].strip():
            errors["title"] = _("Give the meeting a title")
        if "held_on" in errors and not values["held_on"].strip():
            errors["held_on"] = _("Enter the date of the meeting")
        return _render_meetings(request, session, viewer, values, errors, 422)
    try:
        with session.begin_nested():
            meeting = create_meeting(session, meeting_in=meeting_in)
    except DomainError as exc:
        found = form_errors(exc, viewer.locale)
        errors = {
            ("station" if name == "_" else name): _one_language(text, viewer.locale) for name, text in found.items()
        }
        return _render_meetings(request, session, viewer, values, errors, exc.status_code)
    return redirect(f"/meetings/{meeting.id}", flash=_("Meeting opened: log its cases below"))


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
    rows = _register(session, runtime, viewer, CaseFilter(meeting_id=meeting.id))
    station = get_or_404(session, Station, meeting.station_id, "驿站") if meeting.station_id else None
    return render(
        request,
        "frontdesk/meeting.html",
        viewer,
        status_code=status,
        meeting=meeting,
        station=station,
        rows=rows,
        progress=_progress(count_cases_by(session, viewer.user, "meeting", meeting.id).get(meeting.id, CaseTally())),  # type: ignore[arg-type]
        values=values,
        errors=errors,
        may_log=viewer.user.role in INTAKE_ROLES,
        **_form_context(session, [], False),
    )


@router.get("/meetings/{meeting_id}", response_class=HTMLResponse)
def meeting_page(
    meeting_id: int, request: Request, session: DbSession, viewer: Viewer = page_roles(*DESK_ROLES)
) -> Response:
    """Meeting mode: the meeting's cases, and a form to log the next one without leaving the page."""
    meeting = get_or_404(session, Meeting, meeting_id, "恳谈会")
    values = _blank_form(channel=Channel.meeting.value, meeting=str(meeting.id))
    return _render_meeting(request, session, viewer, meeting, values, {})


@router.post("/meetings/{meeting_id}/cases", response_class=HTMLResponse)
def log_meeting_case(
    meeting_id: int,
    posted: Posted,
    request: Request,
    session: DbSession,
    viewer: Viewer = page_roles(*sorted(INTAKE_ROLES)),
) -> Response:
    _ = gettext_for(viewer)
    meeting = get_or_404(session, Meeting, meeting_id, "恳谈会")
    posted.values.update(channel=Channel.meeting.value, meeting=str(meeting.id))
    logged = _log_case(request, session, viewer, posted)
    if logged.case is None:
        return _render_meeting(request, session, viewer, meeting, posted.values, logged.errors, logged.status)
    return redirect(f"/meetings/{meeting.id}", flash=_("Logged %(case_no)s") % {"case_no": logged.case.case_no})


@router.get("/meetings/{meeting_id}/report", response_class=HTMLResponse)
def meeting_report(
    meeting_id: int, request: Request, session: DbSession, viewer: Viewer = page_roles(*DESK_ROLES)
) -> Response:
    """The follow-up report to the attendees: each case raised, where it stands, and the reply once resolved;
    a duplicate says which case it was merged into and carries that case's reply. The tally is the meeting
    page's (count_cases_by), as the rates count it. No personal data: it is read out and handed round."""
    runtime = request.app.state.runtime
    meeting = get_or_404(session, Meeting, meeting_id, "恳谈会")
    station = get_or_404(session, Station, meeting.station_id, "驿站") if meeting.station_id else None
    rows = list(reversed(_register(session, runtime, viewer, CaseFilter(meeting_id=meeting.id))))
    for row in rows:
        case = get_case(session, row["case"].id, viewer.user)
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
        progress=_progress(tally),
        printed_at=runtime.now(),
    )


# --- stations ----------------------------------------------------------------------------------------


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
    rows = _register(session, runtime, viewer, CaseFilter(station_id=station.id))
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
        progress=_progress(count_cases_by(session, viewer.user, "station", station.id).get(station.id, CaseTally())),  # type: ignore[arg-type]
        values=values,
        errors=errors,
        may_log=viewer.user.role in INTAKE_ROLES,
        **_form_context(session, [], False),
    )


@router.get("/stations/{code}", response_class=HTMLResponse)
def station_page(code: str, request: Request, session: DbSession, viewer: Viewer = page_roles(*DESK_ROLES)) -> Response:
    station = get_or_404(session, Station, code, "驿站")
    values = _blank_form(channel=Channel.station.value, station=station.code)
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
    logged = _log_case(request, session, viewer, posted)
    if logged.case is None:
        return _render_station(request, session, viewer, station, posted.values, logged.errors, logged.status)
    return redirect(f"/stations/{station.code}", flash=_("Logged %(case_no)s") % {"case_no": logged.case.case_no})
