"""The case list and search every role has: the form's values as a CaseFilter, one page at a time."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from grievance.cases import listing
from grievance.cases.access import may_read_personal_data
from grievance.cases.schemas import CaseSummary
from grievance.errors import Forbidden, InvalidInput
from grievance.glossary import DEPARTMENT_ROLES
from grievance.input_bounds import EARLIEST_DAY, MAX_ID
from grievance.workflow.engine import Runtime
from web.case_query import CaseQuery
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

COUNT_LIMIT = 1000  # a list's total is counted up to here; past it the page says "more than 1,000" (reports count all)

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
    "key",
    "no_lead_leader",
    "pending_node_change",
    "lead_leader_id",
    "received_from",
    "received_to",
    "phone",
    "mine",
    "sort",
)


# The page's own words for a field it cannot use (the API answers with the model's messages).
HINTS = {
    "state": "Choose a state from the list",
    "channel": "Choose a value from the list",
    "case_type": "Choose a value from the list",
    "urgency": "Choose a value from the list",
    "department_id": "Choose a department from the list",
    "lead_leader_id": "Choose a leader from the list",
    "received_from": "Enter a date like 2025-03-05",
    "received_to": "Enter a date like 2025-03-05",
    "phone": "Your role may not search by phone number",
}


def _list_filter(
    request: Request, viewer: Viewer, runtime: Runtime
) -> tuple[listing.CaseFilter, dict[str, str], dict[str, str]]:
    """The search form's values as a CaseFilter (the API's CaseQuery), with a message next to each field it
    cannot use."""
    _ = gettext_for(viewer)
    params = request.query_params
    values = {key: params.get(key, "").strip() for key in LIST_KEYS}
    given: dict[str, object] = {**values, "cursor": params.get("cursor"), "limit": PAGE_SIZE}
    # A board section's 查看全部 names several states (state repeated); the form's select shows a single one.
    states = [s.strip() for s in params.getlist("state") if s.strip()]
    given["state"] = states or None
    if len(states) > 1:
        values["state"] = ""
    given["sort"] = "due" if values["sort"] == "due" else "received"
    try:
        query = CaseQuery.from_form(given)
        filters = query.to_filter(runtime, viewer.user)
    except (InvalidInput, Forbidden) as exc:
        found = {"phone": ""} if isinstance(exc, Forbidden) else form_errors(exc, viewer.locale)
        # A value out of range (grievance.input_bounds) keeps its own message: it names the accepted range.
        ranged = (str(MAX_ID), EARLIEST_DAY.isoformat())
        errors = {
            name: _(HINTS[name]) if name in HINTS and not any(r in text for r in ranged) else text
            for name, text in found.items()
        }
        return listing.CaseFilter(limit=PAGE_SIZE), values, errors
    for key in ("received_from", "received_to"):  # a day typed 2025/9/28 is shown back as the date field's 2025-09-28
        day = getattr(query, key)
        if isinstance(day, date) and not isinstance(day, datetime):
            values[key] = day.isoformat()
    return filters, values, {}


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, viewer: CurrentViewer, session: DbSession) -> Response:
    runtime = runtime_of(request)
    filters, values, errors = _list_filter(request, viewer, runtime)
    _ = gettext_for(viewer)
    items: list[CaseSummary] = []
    next_cursor = None
    total: int | None = None  # over all pages, as the pool and the queues state theirs; none for a refused search
    if not errors:
        try:
            items, next_cursor = listing.list_cases(session, runtime, viewer.user, filters)
            total = len(items)  # one page holds them all, or the count stops past COUNT_LIMIT (shown as "1000+")
            if next_cursor or filters.cursor:
                total = listing.count_cases(session, runtime, viewer.user, filters, at_most=COUNT_LIMIT)
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
        total=total,
        count_limit=COUNT_LIMIT,
        light_of=light_of,
        values=values,
        errors=errors,
        more_url=more_url,
        first_url="/cases?" + urlencode(kept),
        paged=bool(filters.cursor),
        departments={d.id: d.name for d in departments},
        department_options=department_options(departments),
        state_labels=state_labels(runtime, viewer.locale),
        department_role=viewer.user.role in DEPARTMENT_ROLES,
        may_search_phone=may_read_personal_data(viewer.user, runtime.settings),
        leader_options=[
            (u.id, u.display_name if u.active else _("%(name)s (deactivated)") % {"name": u.display_name})
            for u in listing.lead_leaders(session)
        ],
        filtered=any(values.values()),
        with_key=any(item.key for item in items),  # the 包案领导 column when a key case is listed
    )


# ---------------------------------------------------------------------------------------------- case page
