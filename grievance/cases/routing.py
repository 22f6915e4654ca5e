"""Routing suggestions for dispatch: the category's department first, then the station's; never the department a
report accuses, nor a department that has returned the case (退单) and not taken it on again since.

Why every returning department and not only the latest: a return says "not ours, and here is why". A case
returned by 城市管理局 and then by 青桐街道 would otherwise be suggested to 城市管理局 again, which already
refused it: a dispatcher following the suggestion sends it back and forth, and each dispatch uses up one of the
workflow's few (max_dispatches: the third is the supervisor's designation, after which no return is allowed).
A department's return stands until it takes the case on again (accepts or claims it): then its refusal is over.
A department left out is not hidden: `routing_of` says which suggestion was withheld and why, and every return
that stands (department, reason, who, when), so the page can show them; it may still be chosen by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from grievance.cases.models import Case
from grievance.cases.prefetch import events_of
from grievance.reference.models import Category, Department, Station
from grievance.users.models import User

# Event actions the routing reads (the workflow files' names, as the rest of the case code reads them).
RETURN, ACCEPT, CLAIM = "return", "accept", "claim"


@dataclass(frozen=True)
class StandingReturn:
    """A return (退单) that still stands: the department that returned the case (None when no department is known:
    an imported return without its actor or dispatch), the name of that department as it is now, the reason
    given, who returned it (their display name, None when unknown) and when (UTC)."""

    department_id: int | None
    department: str | None
    reason: str
    actor: str | None
    at: datetime


@dataclass
class Routing:
    """What the dispatch forms show of a case's routing: `suggestions` (where to send it, most likely first),
    `withheld` (suggestions left out because their department returned the case; same keys as a suggestion),
    `returns` (the returns that stand, in time order)."""

    suggestions: list[dict[str, Any]] = field(default_factory=list)
    withheld: list[dict[str, Any]] = field(default_factory=list)
    returns: list[StandingReturn] = field(default_factory=list)


def _department_of(session: Session, actor_id: int | None, holder: int | None) -> int | None:
    """Whose act an event is: its actor's department, else (an imported event without its actor) the department
    that had the case then."""
    actor = session.get(User, actor_id) if actor_id is not None else None
    if actor is not None and actor.department_id is not None:
        return actor.department_id
    return holder


def standing_returns(session: Session, case: Case) -> list[StandingReturn]:
    """The case's returns that still stand, in time order: for each department, its last return, unless the
    department accepted or claimed the case after it. The department of a return is the returning person's
    department, else the department the case was sent to last before it (a `department_id` in an event's
    payload: dispatch, the petition's acceptance, an imported dispatch). One query for the events (none when
    rows_of prefetched them, cases/prefetch.py); a case never dispatched has none."""
    if case.dispatch_count == 0 and case.state != "returned":
        return []
    latest: dict[int | None, StandingReturn] = {}
    holder: int | None = None
    for event in events_of(session, case.id):  # type: ignore[arg-type]
        target = event.payload.get("department_id")
        if isinstance(target, int) and not isinstance(target, bool):
            holder = target
        if event.action == CLAIM:
            holder = _department_of(session, event.actor_id, None)
        if event.action in (ACCEPT, CLAIM):
            latest.pop(_department_of(session, event.actor_id, holder), None)
        elif event.action == RETURN:
            department_id = _department_of(session, event.actor_id, holder)
            actor = session.get(User, event.actor_id) if event.actor_id is not None else None
            department = session.get(Department, department_id) if department_id is not None else None
            latest.pop(department_id, None)  # re-inserted: the dict keeps the returns in time order
            latest[department_id] = StandingReturn(
                department_id=department_id,
                department=department.name if department is not None else None,
                reason=str(event.payload.get("reason", "")),
                actor=actor.display_name if actor is not None else None,
                at=event.at,
            )
            holder = None
    return list(latest.values())


def routing_reference(session: Session) -> list[Any]:
    """Every category, station and department (three queries): a list page holds them while it asks each row for
    its suggestions, which then read them by primary key from the session instead of querying per row."""
    return [*session.exec(select(Category)), *session.exec(select(Station)), *session.exec(select(Department))]


REASONS = {"category": "业务分类「{name}」的承办单位", "station": "城市驿站「{name}」的属地单位"}


def routing_of(session: Session, case: Case) -> Routing:
    """The case's suggestions, the suggestions withheld because their department returned the case, and the
    returns that stand (Routing). A suggestion (or withheld one) is {department_id, code, name, reason,
    reason_kind, reason_name}: reason_kind "category" (the category's department) or "station" (the station's
    local department) with the category's or station's name, for pages to word in their reader's language;
    `reason` says it in Chinese. Each department appears once, first reason first.

    Never the department a report (举报) accuses (Case.accused_department_id: the guard not_accused_department
    refuses it; it is not listed as withheld either, it may not be chosen at all)."""
    candidates: list[tuple[int, str, str]] = []
    category = session.get(Category, case.category_id) if case.category_id else None
    # A level-3 category without its own rule inherits its parent's.
    while category is not None:
        if category.department_id:
            candidates.append((category.department_id, "category", category.name))
            break
        category = session.get(Category, category.parent_id) if category.parent_id else None
    station = session.get(Station, case.station_id) if case.station_id else None
    if station is not None and station.department_id:
        candidates.append((station.department_id, "station", station.name))
    returns = standing_returns(session, case)
    returned = {r.department_id for r in returns}
    routing = Routing(returns=returns)
    seen: set[int] = set()
    for dept_id, kind, name in candidates:
        # By primary key: a page of rows has loaded every department once (web/pages/work/common.rows_of).
        department = session.get(Department, dept_id)
        if department is None or dept_id in seen or dept_id == case.accused_department_id:
            continue
        seen.add(dept_id)
        suggestion = {
            "department_id": dept_id,
            "code": department.code,
            "name": department.name,
            "reason": REASONS[kind].format(name=name),
            "reason_kind": kind,
            "reason_name": name,
        }
        (routing.withheld if dept_id in returned else routing.suggestions).append(suggestion)
    return routing


def suggest_departments(session: Session, case: Case) -> list[dict[str, Any]]:
    """Where to send the case, most likely first: routing_of(...).suggestions, [{department_id, code, name, reason,
    reason_kind, reason_name}]. Never the department a report accuses, nor any department whose return of the
    case stands (it may still be chosen by hand)."""
    return routing_of(session, case).suggestions
