"""The case list and search every role has: the form's values as a CaseFilter, one page at a time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from grievance.cases import service
from grievance.cases.schemas import CaseSummary
from grievance.errors import InvalidInput
from grievance.glossary import DEPARTMENT_ROLES, LABELS
from grievance.workflow.engine import Runtime
from web.deps import DbSession
from web.pages.common import (
    CurrentViewer,
    Viewer,
    form_errors,
    gettext_for,
    render,
)
from web.pages.work.common import (
    PAGE_SIZE,
    all_departments,
    department_options,
    light_of,
    runtime_of,
    state_labels,
)

router = APIRouter(include_in_schema=False)

LIST_KEYS = (
    "q",
    "state",
    "channel",
    "case_type",
    "urgency",
    "department_id",
    "overdue",
    "due_soon",
    "pending_extension",
    "supervised",
    "received_from",
    "received_to",
    "phone",
    "mine",
    "sort",
)


def _local_midnight(runtime: Runtime, day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(runtime.settings.timezone))


def _list_filter(
    request: Request, viewer: Viewer, runtime: Runtime
) -> tuple[service.CaseFilter, dict[str, str], dict[str, str]]:
    """The search form's values as a CaseFilter, with a message next to each field it cannot use."""
    _ = gettext_for(viewer)
    params = request.query_params
    values = {key: params.get(key, "").strip() for key in LIST_KEYS}
    errors: dict[str, str] = {}
    filters = service.CaseFilter(limit=PAGE_SIZE, cursor=params.get("cursor") or None)
    filters.q = values["q"][:100] or None
    if values["state"]:
        if values["state"] in state_labels(runtime):
            filters.state = [values["state"]]
        else:
            errors["state"] = _("Choose a state from the list")
    for key, vocabulary in (("channel", "Channel"), ("case_type", "CaseType"), ("urgency", "Urgency")):
        if values[key]:
            if values[key] in LABELS[vocabulary]:
                setattr(filters, key, values[key])
            else:
                errors[key] = _("Choose a value from the list")
    if values["department_id"]:
        if values["department_id"].isdigit():
            filters.department_id = int(values["department_id"])
        else:
            errors["department_id"] = _("Choose a department from the list")
    for flag in ("overdue", "due_soon", "pending_extension", "supervised", "mine"):
        if values[flag]:
            setattr(filters, flag, True)
    for key in ("received_from", "received_to"):
        if values[key]:
            try:
                day = date.fromisoformat(values[key])
            except ValueError:
                errors[key] = _("Enter a date like 2025-03-05")
                continue
            # "to" includes its whole day.
            moment = _local_midnight(runtime, day + timedelta(days=1 if key == "received_to" else 0))
            setattr(filters, key, moment)
    if values["phone"]:
        if viewer.user.role in runtime.settings.personal_data_roles:
            filters.phone = values["phone"]  # any written form: list_cases normalises it, or names the forms
        else:
            errors["phone"] = _("Your role may not search by phone number")
    filters.sort = "due" if values["sort"] == "due" else "received"
    return filters, values, errors


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, viewer: CurrentViewer, session: DbSession) -> Response:
    runtime = runtime_of(request)
    filters, values, errors = _list_filter(request, viewer, runtime)
    items: list[CaseSummary] = []
    next_cursor = None
    if not errors:
        try:
            items, next_cursor = service.list_cases(session, runtime, viewer.user, filters)
        except InvalidInput as exc:
            errors = form_errors(exc, viewer.locale)
            if "cursor" in errors:  # not a field of the form: the whole list
                errors["_"] = errors.pop("cursor")
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor" and v]
    more_url = "/cases?" + urlencode([*kept, ("cursor", next_cursor)]) if next_cursor else None
    departments = all_departments(session)
    return render(
        request,
        "work/cases.html",
        viewer,
        status_code=422 if errors else 200,
        items=items,
        light_of=light_of,
        values=values,
        errors=errors,
        more_url=more_url,
        first_url="/cases?" + urlencode(kept),
        paged=bool(filters.cursor),
        departments={d.id: d.name for d in departments},
        department_options=department_options(departments),
        state_labels=state_labels(runtime),
        department_role=viewer.user.role in DEPARTMENT_ROLES,
        may_search_phone=viewer.user.role in runtime.settings.personal_data_roles,
        filtered=any(values.values()),
    )


# ---------------------------------------------------------------------------------------------- case page
