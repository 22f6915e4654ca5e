"""A department's queue: its open cases, earliest due first, and the open pool it may claim from."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from grievance.cases import service
from web.deps import DbSession
from web.pages.common import (
    Viewer,
    render,
)
from web.pages.work.common import (
    BOARD_SIZE,
    PAGE_SIZE,
    QUEUE_ROLES,
    Row,
    all_departments,
    department_states,
    rows_of,
    runtime_of,
)

router = APIRouter(include_in_schema=False)


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, session: DbSession, viewer: Viewer = QUEUE_ROLES, cursor: str | None = None) -> Response:
    runtime = runtime_of(request)
    filters = service.CaseFilter(state=department_states(runtime), sort="due", cursor=cursor, limit=PAGE_SIZE)
    items, next_cursor = service.list_cases(session, runtime, viewer.user, filters)
    rows = rows_of(session, runtime, viewer, items)
    open_pool: list[Row] = []
    if not cursor:  # the open pool (揭榜) this department may claim from, under the first page
        pool_items, _more = service.list_cases(
            session, runtime, viewer.user, service.CaseFilter(state=["pool"], sort="due", limit=BOARD_SIZE)
        )
        open_pool = rows_of(session, runtime, viewer, pool_items)
    departments = {d.id: d.name for d in all_departments(session)}
    return render(
        request,
        "work/queue.html",
        viewer,
        rows=rows,
        open_pool=open_pool,
        department=departments.get(viewer.user.department_id, ""),
        tally={s: sum(1 for r in rows if r.light == s) for s in ("overdue", "due_soon", "running")},
        more_url=f"/queue?{urlencode({'cursor': next_cursor})}" if next_cursor else None,
        paged=bool(cursor),
    )
