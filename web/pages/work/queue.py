"""A department's queue: its open cases, earliest due first, as 我的 / 本单位 / 未分配 (mine, the whole department,
nobody's yet) of the cases it leads, 协办 (the cases where it assists another department with a part still to
report, each due by its part's own clock), the head's view of each handler's load, and the open pool it may claim
from."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from grievance.cases import listing
from grievance.cases.assignment import Workload, department_handlers, department_workload
from grievance.glossary import Role
from grievance.keycases.parts import open_parts_of_department
from grievance.users.models import User
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

View = Literal["mine", "all", "unassigned", "assisting"]
VIEWS: tuple[View, ...] = ("mine", "all", "unassigned", "assisting")


def default_view(viewer: Viewer, workload: dict[int | None, Workload], assisting: int) -> View:
    """A handler opens on their own cases (我的) once they have any: that is their day's work. Until then, and in a
    department that does not assign cases to people, they open on the whole department, so an empty 我的 never
    hides the work; a department that leads nothing open but has parts to do for others (`assisting`: how many)
    opens on 协办. A head opens on the whole department, with each handler's load above it."""
    if viewer.user.role == Role.handler and viewer.user.id in workload:
        return "mine"
    if not workload and assisting:
        return "assisting"
    return "all"


def workload_rows(
    session: Session, handlers: list[User], workload: dict[int | None, Workload]
) -> list[tuple[User | None, Workload]]:
    """The head's table: every active handler of the department (none left out for having no case), whoever
    still has cases but is no longer an active handler here (deactivated, moved), then the cases nobody has."""
    known = {h.id for h in handlers}
    former = [w.assignee_id for w in workload.values() if w.assignee_id is not None and w.assignee_id not in known]
    others = [u for u in (session.get(User, i) for i in former) if u is not None]
    rows: list[tuple[User | None, Workload]] = [(u, workload.get(u.id, Workload(u.id))) for u in [*handlers, *others]]
    if None in workload:
        rows.append((None, workload[None]))
    return rows


def tally_of(
    view: View, workload: dict[int | None, Workload], user_id: int | None, rows: list[Row], parts: dict[int, Any]
) -> dict[str, Any]:
    """The lights summed above the list: {overdue, due_soon, rest, page_only}. For 我的 / 本单位 / 未分配 over the
    whole view, from the workload's one GROUP BY (the department's clocks, as the tabs and the filters read them),
    so it agrees with the total on every page; `rest` is the view's other cases (in time, paused or without a
    deadline). For 协办 each part runs on its own clock, read for the rows shown: summed over this page
    (`page_only`)."""
    if view == "assisting":
        lights = [parts[r.item.id].light if r.item.id in parts else r.light for r in rows]
        overdue, due_soon = lights.count("overdue"), lights.count("due_soon")
        return {"overdue": overdue, "due_soon": due_soon, "rest": len(lights) - overdue - due_soon, "page_only": True}
    keys = {"mine": [user_id], "unassigned": [None], "all": list(workload)}[view]
    entries = [workload[k] for k in keys if k in workload]
    overdue, due_soon = sum(w.overdue for w in entries), sum(w.due_soon for w in entries)
    return {
        "overdue": overdue,
        "due_soon": due_soon,
        "rest": sum(w.open for w in entries) - overdue - due_soon,
        "page_only": False,
    }


@router.get("/queue", response_class=HTMLResponse)
def queue(
    request: Request,
    session: DbSession,
    viewer: Viewer = QUEUE_ROLES,
    cursor: str | None = None,
    view: str | None = None,
) -> Response:
    runtime = runtime_of(request)
    user = viewer.user
    states = department_states(runtime)
    workload = department_workload(session, user, states, runtime.now()) if user.department_id else {}
    # 我的 / 本单位 / 未分配 are the cases the department leads; 协办 those where its part is still open.
    led = listing.CaseFilter(state=states, sort="due", cursor=cursor, limit=PAGE_SIZE, department_id=user.department_id)
    assisting = listing.CaseFilter(
        state=states, sort="due", limit=PAGE_SIZE, assisting_department_id=user.department_id
    )
    assisting_count = listing.count_cases(session, runtime, user, assisting) if user.department_id else 0
    default = default_view(viewer, workload, assisting_count)
    view = view if view in VIEWS else default  # an old or mistyped link opens the usual view
    filters = led
    if view == "mine":
        filters.assignee_id = user.id
    elif view == "unassigned":
        filters.unassigned = True
    elif view == "assisting":
        filters, assisting.cursor = assisting, cursor
    items, next_cursor = listing.list_cases(session, runtime, user, filters)
    rows = rows_of(session, runtime, viewer, items)
    parts = (
        open_parts_of_department(session, runtime, user.department_id, [i.id for i in items], runtime.now())
        if view == "assisting" and user.department_id
        else {}
    )
    open_pool: list[Row] = []
    if not cursor:  # the open pool (揭榜) this department may claim from, under the first page
        pool_items, _more = listing.list_cases(
            session, runtime, user, listing.CaseFilter(state=["pool"], sort="due", limit=BOARD_SIZE)
        )
        open_pool = rows_of(session, runtime, viewer, pool_items)
    departments = {d.id: d.name for d in all_departments(session)}
    handlers = department_handlers(session, user.department_id)
    here = "/queue" if view == default else f"/queue?{urlencode({'view': view})}"  # where a row's form comes back
    # Each view's count, from the workload's one GROUP BY (the same filters) and the 协办 count.
    tabs = {
        "mine": workload[user.id].open if user.id in workload else 0,
        "all": sum(w.open for w in workload.values()),
        "unassigned": workload[None].open if None in workload else 0,
        "assisting": assisting_count,
    }
    return render(
        request,
        "work/queue.html",
        viewer,
        rows=rows,
        total=tabs[view],  # the true count of this view
        open_pool=open_pool,
        department=departments.get(user.department_id, ""),
        tally=tally_of(view, workload, user.id, rows, parts),
        parts=parts,
        more_url=f"/queue?{urlencode({'view': view, 'cursor': next_cursor})}" if next_cursor else None,
        paged=bool(cursor),
        view=view,
        here=here,
        tabs=tabs,
        handler_options=[(h.id, h.display_name) for h in handlers],
        workload=workload_rows(session, handlers, workload) if user.role == Role.dept_head else [],
    )
