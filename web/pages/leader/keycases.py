"""The lead leader's own page (我包案的件, issue 12): the key cases they lead, earliest due first, with each case's
state, handling department, due time and traffic light (the case's own clocks, as every list) and how its nodes
stand (met on time, late, open)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from grievance.cases import listing
from grievance.glossary import Role
from grievance.keycases.service import node_counts
from web.deps import DbSession
from web.pages.common import Viewer, page_roles, render
from web.pages.work.common import all_departments, runtime_of

router = APIRouter(include_in_schema=False)
PAGE = 200  # a leader leads a few dozen key cases at most: one page, no paging


@router.get("/leader/cases", response_class=HTMLResponse)
def my_key_cases(request: Request, session: DbSession, viewer: Viewer = page_roles(Role.leader)) -> Response:
    runtime = runtime_of(request)
    filters = listing.CaseFilter(key=True, lead_leader_id=viewer.user.id, sort="due", limit=PAGE)
    items, _more = listing.list_cases(session, runtime, viewer.user, filters)
    now = runtime.now()
    counts = node_counts(session, [i.id for i in items], now)
    return render(
        request,
        "leader/keycases.html",
        viewer,
        items=items,
        counts=counts,
        total=listing.count_cases(session, runtime, viewer.user, filters),
        departments={d.id: d.name for d in all_departments(session)},
    )
