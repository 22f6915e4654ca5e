"""The lead leader's own page (我包案的件, issue 12): the key cases they lead, earliest due first — the open ones, or
every one with 显示已办结 — with each case's state, handling department, due time and traffic light (the case's own
clocks, as every list), how its nodes stand (met on time, met late, open, of which late) and a red marker when a
node is late. Merged duplicates are never listed (grievance/keycases/leader_cases.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from grievance.glossary import Role
from grievance.keycases.leader_cases import leader_cases
from web.deps import DbSession
from web.pages.common import Viewer, page_roles, render
from web.pages.work.common import all_departments, runtime_of

router = APIRouter(include_in_schema=False)


@router.get("/leader/cases", response_class=HTMLResponse)
def my_key_cases(request: Request, session: DbSession, viewer: Viewer = page_roles(Role.leader)) -> Response:
    runtime = runtime_of(request)
    finished = request.query_params.get("finished") in ("1", "true", "on")
    items, total, tallies = leader_cases(session, runtime, viewer.user, finished=finished)
    return render(
        request,
        "leader/keycases.html",
        viewer,
        items=items,
        counts=tallies,
        total=total,
        finished=finished,
        departments={d.id: d.name for d in all_departments(session)},
    )
