"""The working-day calendar: the local adjustments of a year, a day added, changed or removed (running due
times move with it), a year's statutory holidays loaded from the file `grievance calendar import` reads
(checked first, then applied), and two questions answered: is this a working day, and when does a limit end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session
from starlette.datastructures import UploadFile

from grievance.errors import DomainError, InvalidInput, NothingToChange
from grievance.textfiles import decode_text
from grievance.workflow import calendar_service
from grievance.workflow.calendar import UNITS, statutory_workday
from grievance.workflow.calendar_service import CalendarImport
from web.deps import DbSession
from web.i18n import in_locale
from web.pages.admin.forms import (
    AdminViewer,
    domain_errors,
    is_checked,
    local_today,
    runtime_of,
    values_of,
)
from web.pages.common import Viewer, check_csrf, form_errors, gettext_for, redirect, render

router = APIRouter(prefix="/admin", include_in_schema=False)

UNIT_NAMES = {"working_days": "Working days", "days": "Calendar days", "hours": "Hours"}
MAX_FILE_KB = 256  # a year's holidays take about 2 KB; the checked text travels back in the confirmation form


@dataclass
class _FileImport:
    """The calendar file form: what the file does (checked or applied), the text to apply after a check, or
    the problems to fix."""

    result: CalendarImport | None = None
    text: str = ""
    errors: dict[str, str] | None = None
    problems: list[str] | None = None
    dry_run: bool = True
    notice: str = ""  # a file that changes no day: said, not refused


@dataclass
class _Helper:
    """One of the calendar's question forms: what was asked, the answer, or what to fix."""

    values: dict[str, str]
    errors: dict[str, str]
    answer: Any = None


def _calendar_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    upload: _FileImport | None = None,
    status_code: int = 200,
) -> Response:
    runtime = runtime_of(request)
    calendar = runtime.calendar(session)
    today = local_today(runtime)
    year, year_error = _year_of(request.query_params.get("year", ""), today.year, viewer)
    if upload and upload.result:
        year = upload.result.first_year  # the checked file's year, beside what it would change
    if year_error:
        status_code = max(status_code, 422)
    overrides = calendar_service.list_overrides(session, year)
    rows = [
        {
            "override": o,
            "statutory": statutory_workday(o.day) if statutory_workday(o.day) is not None else o.day.weekday() < 5,
        }
        for o in overrides
    ]
    params = request.query_params
    check = _Helper({"check_day": params.get("check_day", "")}, {})
    if check.values["check_day"]:
        try:
            day = calendar_service.parse_day(check.values["check_day"], "check_day")
            row = next((o for o in calendar_service.list_overrides(session, day.year) if o.day == day), None)
            check.answer = calendar_service.describe_day(calendar, day, row.note if row else "")
        except DomainError as exc:
            check.errors = domain_errors(exc, viewer)
    local_now = runtime.now().astimezone(calendar.tz)
    due = _Helper(
        {
            "start": params.get("start", ""),
            "amount": params.get("amount", ""),
            "unit": params.get("unit", "working_days"),
        },
        {},
    )
    if due.values["start"] or due.values["amount"]:
        due.answer = _due_answer(due, calendar, viewer.locale)
    if not due.values["start"]:
        due.values["start"] = local_now.strftime("%Y-%m-%dT%H:%M")
    if check.errors or due.errors:
        status_code = max(status_code, 422)
    return render(
        request,
        "admin/calendar.html",
        viewer,
        status_code=status_code,
        year=year,
        year_error=year_error,
        today=today,
        known=calendar.knows_year(year),
        rows=rows,
        values=values or {"kind": "holiday"},
        errors=errors or {},
        check=check,
        due=due,
        upload=upload or _FileImport(),
        max_kb=MAX_FILE_KB,
        unit_options=[(u, gettext_for(viewer)(UNIT_NAMES[u])) for u in UNITS],
        last_day=_last_day(due.answer, calendar.tz) if due.answer else None,
        weekday=lambda day: format_date(day, "EEEE", locale=viewer.locale),
    )


def _year_of(text: str, this_year: int, viewer: Viewer) -> tuple[int, str]:
    """The year ?year= asks for, or this year with a message saying why when it is no year the calendar keeps
    (calendar_service.FIRST_DAY to LAST_DAY)."""
    first, last = calendar_service.FIRST_DAY.year, calendar_service.LAST_DAY.year
    if not text.strip():
        return this_year, ""
    try:
        year = int(text.strip())
    except ValueError:
        year = 0
    if first <= year <= last:
        return year, ""
    _ = gettext_for(viewer)
    message = _(
        "There is no calendar for the year %(year)s: the years %(first)s to %(last)s are kept. Showing %(shown)s."
    )
    return this_year, message % {"year": text.strip(), "first": first, "last": last, "shown": this_year}


def _last_day(due: datetime, tz: Any) -> date | None:
    """A due time at midnight means "by the end of the day before": the day people read."""
    local = due.astimezone(tz)
    return (local - timedelta(days=1)).date() if (local.hour, local.minute) == (0, 0) else None


def _due_answer(due: _Helper, calendar: Any, locale: str) -> datetime | None:
    """The due time of the helper form's limit, or None with the fields to fix in due.errors."""
    values = due.values
    start: datetime | None = None
    amount = 0.0
    try:
        start = calendar_service.parse_moment(values["start"], calendar.tz, "start")
    except InvalidInput as exc:
        due.errors.update(form_errors(exc, locale))
    if values["unit"] not in UNITS:
        due.errors["unit"] = in_locale(f"可选：{', '.join(UNITS)} (accepted: {', '.join(UNITS)})", locale)
    try:
        amount = float(values["amount"])
        if values["unit"] in UNITS:
            calendar_service.check_amount(amount, values["unit"])
    except ValueError:
        due.errors["amount"] = in_locale("应为数字，如 15 或 0.5 (a number such as 15 or 0.5)", locale)
    except InvalidInput as exc:
        due.errors.update(form_errors(exc, locale))
    if due.errors or start is None:
        return None
    return calendar.add(start, amount, values["unit"])  # type: ignore[no-any-return]


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    return _calendar_page(request, viewer, session)


@router.post("/calendar", response_class=HTMLResponse)
async def calendar_set(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    runtime = runtime_of(request)
    values = values_of(form, "day", "kind", "note")
    errors: dict[str, str] = {}
    day: date | None = None
    is_workday = False
    try:
        day = calendar_service.parse_day(values["day"], "day")
    except InvalidInput as exc:
        errors.update(form_errors(exc, viewer.locale))
    try:
        is_workday = calendar_service.parse_kind(values["kind"], "kind")
    except InvalidInput as exc:
        errors.update(form_errors(exc, viewer.locale))
    if len(values["note"]) > 200:
        errors["note"] = _("At most 200 characters")
    if errors or day is None:
        return _calendar_page(request, viewer, session, values=values, errors=errors, status_code=422)
    try:
        moved = calendar_service.change_overrides(
            session,
            [(day, is_workday, values["note"])],
            timezone=runtime.settings.timezone,
            now=runtime.now(),
            workflows=runtime.workflows,
        )
    except NothingToChange as exc:
        errors = {"kind": exc.text(viewer.locale)}
        return _calendar_page(request, viewer, session, values=values, errors=errors, status_code=exc.status_code)
    except InvalidInput as exc:  # a day outside the years the calendar keeps
        errors = form_errors(exc, viewer.locale)
        return _calendar_page(request, viewer, session, values=values, errors=errors, status_code=exc.status_code)
    runtime.forget_calendar()
    kind = _("a working day") if is_workday else _("a day off")
    return redirect(
        f"/admin/calendar?year={day.year}",
        flash=_("%(day)s is now %(kind)s; the due times of %(count)s open cases moved")
        % {"day": day.isoformat(), "kind": kind, "count": moved},
    )


@router.post("/calendar/remove", response_class=HTMLResponse)
async def calendar_remove(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    runtime = runtime_of(request)
    day = calendar_service.parse_day(str(form.get("day") or ""), "day")
    moved = calendar_service.change_overrides(
        session, [(day, None, "")], timezone=runtime.settings.timezone, now=runtime.now(), workflows=runtime.workflows
    )
    runtime.forget_calendar()
    return redirect(
        f"/admin/calendar?year={day.year}",
        flash=_("The adjustment of %(day)s was removed; the due times of %(count)s open cases moved")
        % {"day": day.isoformat(), "count": moved},
    )


@router.post("/calendar/import", response_class=HTMLResponse)
async def calendar_import(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    """A calendar file, as `grievance calendar import` reads it: checked first when "dry_run" is ticked (the page
    lists each day it changes and carries the text to a confirmation), applied otherwise, all or nothing."""
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    runtime = runtime_of(request)
    dry_run = is_checked(form, "dry_run")
    item = form.get("file")
    upload = _FileImport(text=str(form.get("text") or ""), dry_run=dry_run)
    try:
        if isinstance(item, UploadFile) and item.filename:
            data = await item.read(MAX_FILE_KB * 1024 + 1)
            if len(data) > MAX_FILE_KB * 1024:
                raise InvalidInput.field(
                    "file",
                    f"文件超过 {MAX_FILE_KB} KB：日历文件每行一天，一年约 2 KB",
                    f"the file is larger than {MAX_FILE_KB} KB; a calendar file has one day a line, about 2 KB a year",
                )
            upload.text = decode_text(data)
        elif not upload.text:
            raise InvalidInput.field("file", "请选择日历文件（.csv 或 .txt）", "choose a calendar file (.csv or .txt)")
        result = upload.result = calendar_service.import_overrides(
            session,
            upload.text,
            timezone=runtime.settings.timezone,
            now=runtime.now(),
            workflows=runtime.workflows,
            dry_run=dry_run,
        )
    except InvalidInput as exc:
        key = "message_en" if viewer.locale == "en" else "message"
        found = exc.detail.get("errors", [])
        upload.problems = [str(e.get(key) or e.get("message")) for e in found if e.get("field") != "file"]
        at_file = [str(e.get(key) or e.get("message")) for e in found if e.get("field") == "file"]
        upload.errors = {"file": at_file[0] if at_file else exc.text(viewer.locale)}
        upload.text = ""
        return _calendar_page(request, viewer, session, upload=upload, status_code=422)
    except NothingToChange:
        # Loading the same file again is no mistake: say that nothing needed changing, in the reader's language.
        days = len(calendar_service.read_calendar_file(upload.text))
        upload.notice = _("All %(count)s days in the file are already as it says: nothing needed importing.") % {
            "count": days
        }
        upload.text = ""
        return _calendar_page(request, viewer, session, upload=upload)
    if dry_run:
        return _calendar_page(request, viewer, session, upload=upload)
    runtime.forget_calendar()
    return redirect(
        f"/admin/calendar?year={result.first_year}",
        flash=_(
            "Calendar file loaded: %(changed)s days changed, %(same)s already so and left alone; "
            "the due times of %(count)s open cases moved"
        )
        % {"changed": len(result.changes), "same": len(result.unchanged), "count": result.moved},
    )
