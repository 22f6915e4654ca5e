"""What the work pages share: the lists' size, the roles of each list, a case row with the actions the viewer
may take now, and the workflow facts the lists filter on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from grievance.cases.duplicates import DuplicateFlag, duplicate_flags
from grievance.cases.models import Case
from grievance.cases.prefetch import events_of, prefetch_events, prefetch_for_actions
from grievance.cases.routing import StandingReturn, routing_of, routing_reference
from grievance.cases.schemas import CaseSummary
from grievance.glossary import DEPARTMENT_ROLES, Role
from grievance.reference import service as reference
from grievance.reference.models import Department
from grievance.users.models import User
from grievance.workflow import engine
from grievance.workflow.definition import WorkflowDef
from grievance.workflow.engine import Runtime
from web import uploads
from web.pages.common import (
    LoginRequired,
    Viewer,
    optional_viewer,
    page_roles,
)

PAGE_SIZE = 50
BOARD_SIZE = 20  # each list of the board; the full list is a link to /cases with the same filter
POOL_STATES = ["received", "returned", "pool"]
CENTRE_BOARD = page_roles(Role.supervisor, Role.dispatcher)
POOL_ROLES = page_roles(Role.dispatcher, Role.supervisor)
QUEUE_ROLES = page_roles(Role.handler, Role.dept_head)
CALLBACK_ROLES = page_roles(Role.dispatcher, Role.supervisor)  # the centre calls petitioners back


async def read_form(request: Request) -> FormData:
    return await uploads.read_form(request)  # with the file-count and field caps


def viewer_before_body(request: Request) -> Viewer:
    """The signed-in viewer read in a short transaction of its own, for the upload form: the file arrives
    before the page's transaction starts, so no lock is held while a slow phone sends it."""
    viewer = optional_viewer(request)
    if viewer is None:
        raise LoginRequired()
    return viewer


PostedForm = Annotated[FormData, Depends(read_form)]
ViewerBeforeBody = Annotated[Viewer, Depends(viewer_before_body)]


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def all_departments(session: Session) -> list[Department]:
    return reference.list_all(session, Department, col(Department.code))


def workflows_of(runtime: Runtime) -> list[WorkflowDef]:
    return sorted(runtime.workflows.definitions.values(), key=lambda w: w.priority)


def state_labels(runtime: Runtime, locale: str = "zh_CN") -> dict[str, str]:
    """Each state code with its label(s) in the locale: 待派单 / 待受理 when two workflows name it differently."""
    labels: dict[str, list[str]] = {}
    for workflow in workflows_of(runtime):
        for code, state in workflow.states.items():
            if state.label_in(locale) not in labels.setdefault(code, []):
                labels[code].append(state.label_in(locale))
    return {code: " / ".join(names) for code, names in labels.items()}


def department_states(runtime: Runtime) -> list[str]:
    """The states in which a department has something to do on its own cases: its queue."""
    states: set[str] = set()
    for workflow in workflows_of(runtime):
        for action in workflow.actions.values():
            if set(action.roles) & DEPARTMENT_ROLES and action.scope == "department":
                states.update(action.from_)
    return sorted(states)


def open_states(runtime: Runtime) -> list[str]:
    return sorted({code for w in workflows_of(runtime) for code, s in w.states.items() if not s.final})


def light_of(item: CaseSummary) -> str:
    """The row's traffic light, as every list shows it (cases/deadlines.py traffic_light)."""
    return item.light


def back_to(target: Any) -> str | None:
    """An inline form's way back (the queue, the pool, the board): a path on this site only."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return None
    return target if not urlsplit(target).netloc else None


@dataclass
class Row:
    """One case in a work list, with what the viewer may do on it now."""

    item: CaseSummary
    case: Case
    light: str
    actions: list[dict[str, Any]]
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    returned: dict[str, Any] | None = None
    # The actions a rule refuses now, with why (engine.actions_for): the pool says why a case cannot be dispatched.
    unavailable: list[dict[str, Any]] = field(default_factory=list)
    withheld: list[dict[str, Any]] = field(default_factory=list)  # suggestions left out: their department returned it
    returns: list[StandingReturn] = field(default_factory=list)  # the returns that stand (cases/routing.py)
    duplicates: list[DuplicateFlag] = field(default_factory=list)  # cases it may duplicate (pool, dispatch forms)

    @property
    def names(self) -> set[str]:
        return {a["action"] for a in self.actions}

    @property
    def quick(self) -> list[dict[str, Any]]:
        """Actions that ask for nothing (accept, claim): one button each, right in the list."""
        return [a for a in self.actions if not a["fields"]]


def last_return(session: Session, case: Case) -> dict[str, Any] | None:
    for event in reversed(events_of(session, case.id)):  # type: ignore[arg-type]
        if event.action == "return":
            actor = session.get(User, event.actor_id) if event.actor_id is not None else None
            return {
                "reason": event.payload.get("reason", ""),
                "actor": actor.display_name if actor else None,
                "at": event.at,
            }
    return None


def rows_of(
    session: Session,
    runtime: Runtime,
    viewer: Viewer,
    items: list[CaseSummary],
    *,
    suggestions: bool = False,
    duplicates: bool = False,
) -> list[Row]:
    """The rows of a work list; with `suggestions` the routing (suggestions, those withheld and the returns
    that stand, cases/routing.py), with `duplicates` the possible duplicates of each case (one query for the page,
    cases/duplicates.py)."""
    if not items:
        return []  # an empty section reads nothing (not even the routing's reference rows)
    now = runtime.now()
    # The rows themselves, for what a summary leaves out (the actions, routing, a return), and what the actions'
    # guards read, each in one query for the page (cases/prefetch.py).
    ids = [item.id for item in items]
    cases = {c.id: c for c in session.exec(select(Case).where(col(Case.id).in_(ids)))}
    prefetch_for_actions(session, ids)
    # Events: who returned a case and why; for the routing, every return of a case ever dispatched.
    routed = [i for i, c in cases.items() if c.state == "returned" or (suggestions and c.dispatch_count)]
    prefetch_events(session, routed)
    # Reference rows the routing suggestions read by primary key, loaded once for the page (kept alive here).
    routing_rows = routing_reference(session) if suggestions else []
    rows = []
    for item in items:
        case = cases[item.id]
        available, unavailable = engine.actions_for(session, runtime, case, viewer.user, now)
        row = Row(item, case, light_of(item), available, unavailable=unavailable)
        if suggestions:
            routing = routing_of(session, case)
            row.suggestions, row.withheld, row.returns = routing.suggestions, routing.withheld, routing.returns
        if case.state == "returned":
            row.returned = last_return(session, case)
        rows.append(row)
    del routing_rows
    if duplicates:
        flags = duplicate_flags(session, runtime, [r.case for r in rows], viewer.user)
        for row in rows:
            row.duplicates = flags.get(row.item.id, [])
    return rows


def department_options(departments: list[Department], accused_id: int | None = None) -> list[tuple[int, str]]:
    # A report is never sent to the department it accuses: that department is not offered at all.
    return [(d.id, d.name) for d in departments if d.id is not None and d.id != accused_id]


# ---------------------------------------------------------------------------------------------- case list
