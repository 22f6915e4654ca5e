"""What the front-desk pages share: the clerk at the desk, the posted intake form and the case it logs, the
registers of a meeting or a station, and how a limit and a due time are written."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from pydantic import ValidationError
from sqlmodel import Session, col

from grievance.cases.attachment_content import safe_filename
from grievance.cases.listing import CaseFilter, list_cases
from grievance.cases.merges import target_numbers
from grievance.cases.models import Case
from grievance.cases.registers import CaseTally
from grievance.cases.schemas import CaseCreate, CaseSummary
from grievance.cases.service import INTAKE_ROLES, Upload, intake_case
from grievance.cases.upload_limits import too_large
from grievance.errors import DomainError, Forbidden, field_errors, field_label
from grievance.glossary import CaseType, Channel, PetitionerKind, Role, Urgency, role_label
from grievance.identifiers import halfwidth
from grievance.reference.models import Category, Department, Enterprise, Meeting, Station
from grievance.reference.service import list_all
from grievance.workflow.engine import Runtime
from web.deps import DbSession
from web.i18n import Formatter, in_locale
from web.pages.common import PUNCTUATION, CurrentViewer, Viewer, check_csrf, form_errors, formatter, gettext_for
from web.uploads import over_limit, read_form

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
    "accused_department",
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
# --- who may log -------------------------------------------------------------------------------------


@dataclass
class Desk:
    """The signed-in clerk at the intake form and the enterprises they may log for: every enterprise for the
    front-desk roles, only their own for a liaison cadre (包保干部), who logs enterprise cases only."""

    viewer: Viewer
    enterprises: list[Enterprise]
    liaison_only: bool


def liaison_enterprises(session: Session, viewer: Viewer) -> list[Enterprise]:
    everyone = list_all(session, Enterprise, col(Enterprise.name))
    return [e for e in everyone if e.liaison_user_id == viewer.user.id]


def intake_desk(viewer: CurrentViewer, session: DbSession) -> Desk:
    """Open the form to whoever intake_case would let log a case (INTAKE_ROLES, or a liaison)."""
    if viewer.user.role in INTAKE_ROLES:
        return Desk(viewer, list_all(session, Enterprise, col(Enterprise.name)), liaison_only=False)
    own = liaison_enterprises(session, viewer)
    if own:
        return Desk(viewer, own, liaison_only=True)
    allowed = sorted(INTAKE_ROLES)
    raise Forbidden(
        f"{role_label(viewer.user.role)}不能登记诉求，包保干部只能登记所包保企业的诉求",
        f"the {role_label(viewer.user.role, 'en')} role may not log cases; "
        "a liaison cadre may log their own enterprise's cases",
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
    form = await read_form(request)
    limit = request.app.state.runtime.settings.attachment_max_bytes
    posted = PostedForm(
        values={name: str(form.get(name) or "") for name in FORM_FIELDS},
        csrf_token=str(form.get("csrf_token") or ""),
    )
    for item in form.getlist("files"):
        if isinstance(item, str) or not item.filename:
            continue  # an empty file input still sends a nameless part
        if over_limit(item, limit):
            posted.too_large.append(safe_filename(item.filename))
            continue
        posted.uploads.append(Upload(item.filename, item.content_type or "", await item.read()))
    return posted


Posted = Annotated[PostedForm, Depends(posted_form)]


def local_datetime(value: str, timezone: str) -> datetime:
    """A typed moment ("2025-09-28 09:30", "2025-09-28T09:30", "2025/9/28 9:30") in the deployment's time zone;
    ValueError if malformed. Full-width digits (a Chinese input method's) read as digits."""
    value = halfwidth(value)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        day, _space, clock = value.strip().partition(" ")
        parts = re.split(r"[-/.]", day)
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise
        hour, _colon, minute = clock.strip().partition(":")
        moment = datetime(int(parts[0]), int(parts[1]), int(parts[2]), int(hour or 0), int(minute or 0))
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def case_in(values: dict[str, str], runtime: Runtime, viewer: Viewer) -> tuple[CaseCreate | None, dict[str, str]]:
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
        "accused_department": values["accused_department"] or None,
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
            data["occurred_at"] = local_datetime(values["occurred_at"], runtime.settings.timezone)
        except ValueError:
            errors["occurred_at"] = _("Enter a date and time, for example 2025-09-28 09:30")
    try:
        case_in: CaseCreate | None = CaseCreate.model_validate(data)
    except ValidationError as exc:
        case_in = None
        key = "message_en" if viewer.locale == "en" else "message"
        for err in field_errors(list(exc.errors()), skip_body=False):
            name = str(err["field"]).replace(".", "_")
            text = str(err[key]).removeprefix(f"{err['field']}: ").removeprefix(f"{field_label(err['field'])}：")
            errors.setdefault(name, in_locale(text.removeprefix("Value error, "), viewer.locale))
    return (case_in if not errors else None), errors


@dataclass
class Logged:
    """What became of a posted case: the case, or the message of each field to fix and the page's status."""

    case: Case | None
    errors: dict[str, str]
    status: int = 200


def log_case(request: Request, session: Session, viewer: Viewer, posted: PostedForm) -> Logged:
    """Log the posted case, or say what to fix. A refused case leaves nothing behind: the savepoint rolls
    back whatever intake wrote before it refused (the page's transaction still commits, for the audit)."""
    check_csrf(viewer, {"csrf_token": posted.csrf_token})
    _ = gettext_for(viewer)
    runtime = request.app.state.runtime
    draft, errors = case_in(posted.values, runtime, viewer)
    if posted.too_large:  # worded as the API and the case page word it (grievance/cases/upload_limits.py)
        refused = too_large(posted.too_large, runtime.settings.attachment_max_bytes)
        errors.update(form_errors(refused, viewer.locale))
    if draft is None or errors:
        return Logged(None, errors, 422)
    try:
        with session.begin_nested():
            result = intake_case(
                session,
                runtime,
                case_in=draft,
                actor=viewer.user,
                idempotency_key=posted.values["idempotency_key"][:128] or None,
                uploads=posted.uploads,
            )
    except DomainError as exc:
        found = form_errors(exc, viewer.locale)
        return Logged(None, {name: in_locale(text, viewer.locale) for name, text in found.items()}, exc.status_code)
    return Logged(result.case, {})


# --- what the form offers ----------------------------------------------------------------------------


def category_groups(session: Session, locale: str = "zh_CN") -> list[dict[str, Any]]:
    """The category tree as option groups: one per level-1 category, holding it and its descendants (each with
    its trail in brackets of the reader's language)."""
    p = PUNCTUATION["en" if locale == "en" else "zh_CN"]
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
            text = f"{c.name}{p['open']}{' / '.join(trail)}{p['close']}" if trail else c.name
            groups[top.id]["options"].append((c.code, text))  # type: ignore[index]
    return list(groups.values())


def meeting_label(meeting: Meeting) -> str:
    return f"{meeting.held_on:%Y-%m-%d} {meeting.title}"


def form_context(
    session: Session, desk_enterprises: list[Enterprise], liaison_only: bool, locale: str = "zh_CN"
) -> dict[str, Any]:
    channels = [Channel.enterprise] if liaison_only else list(Channel)
    p = PUNCTUATION["en" if locale == "en" else "zh_CN"]
    return {
        "channel_options": [(c.value, c.label_in(locale)) for c in channels],
        "case_type_options": [(t.value, t.label_in(locale)) for t in CaseType],
        "urgency_options": [(u.value, u.label_in(locale)) for u in Urgency],
        "kind_options": [(k.value, k.label_in(locale)) for k in PetitionerKind],
        "meeting_options": [(m.id, meeting_label(m)) for m in list_all(session, Meeting, col(Meeting.held_on).desc())],
        "station_options": [(s.code, s.name) for s in list_all(session, Station, col(Station.code))],
        "enterprise_options": [
            (e.credit_code, f"{e.name}{p['open']}{e.credit_code}{p['close']}") for e in desk_enterprises
        ],
        "department_options": [(d.code, d.name) for d in list_all(session, Department, col(Department.code))],
        "category_groups": category_groups(session, locale),
    }


def blank_form(**preset: str) -> dict[str, str]:
    """An empty form with a fresh idempotency key: a double Ctrl+Enter logs the case once."""
    values = dict.fromkeys(FORM_FIELDS, "")
    values.update(case_type=CaseType.help.value, urgency=Urgency.normal.value, channel=Channel.walk_in.value)
    values.update({k: v for k, v in preset.items() if v})
    values["idempotency_key"] = secrets.token_urlsafe(16)
    return values


# --- the intake form and its live hints --------------------------------------------------------------


def state_label(runtime: Runtime, hint: dict[str, Any], locale: str = "zh_CN") -> str:
    for workflow in runtime.workflows.definitions.values():
        if hint["state"] in workflow.states:
            return workflow.states[hint["state"]].label_in(locale)
    return str(hint["state"])


def limit_text(viewer: Viewer, limit: str) -> str:
    """A clock's limit ("15 working_days", "0.5 hours") as a person says it."""
    _ = gettext_for(viewer)
    amount, _space, unit = limit.partition(" ")
    try:
        number = float(amount)
    except ValueError:  # a limit given as a day (a 12345 order's deadline): "by 2025-11-20"
        return _("by %(day)s") % {"day": amount} if len(amount) == 10 and amount.count("-") == 2 else limit
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


def due_text(fmt: Formatter, due: datetime, short: bool = False) -> str:
    """A due time as every page writes it (Formatter.due: a limit ending at midnight is "9月30日 24:00")."""
    return fmt.due(due, long=not short)


def register_rows(session: Session, runtime: Runtime, viewer: Viewer, filters: CaseFilter) -> list[dict[str, Any]]:
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
    fmt = formatter(runtime, viewer.locale)
    merged_into = target_numbers(session, [s.id for s in summaries])
    return [
        {
            "case": s,
            "department": departments.get(s.department_id) if s.department_id else None,
            "light": s.light,
            "due_text": due_text(fmt, s.next_due_at, short=True) if s.next_due_at else "",
            "merged_into": merged_into.get(s.id),  # a duplicate is shown as merged, with its target
        }
        for s in summaries
    ]


def progress(tally: CaseTally) -> dict[str, int]:
    """The tally line of a meeting or station page and of the follow-up report, as the rates count it."""
    return {"total": tally.received, "done": tally.resolved, "open": tally.open, "duplicates": tally.duplicates}


async def plain_form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


PlainForm = Annotated[dict[str, str], Depends(plain_form)]


# --- meetings ----------------------------------------------------------------------------------------


def today_here(request: Request) -> date:
    runtime = request.app.state.runtime
    return runtime.now().astimezone(ZoneInfo(runtime.settings.timezone)).date()
