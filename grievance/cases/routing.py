"""Routing suggestions for dispatch: the category's department first, then the station's; never the department a
report accuses, nor the department that has just returned the case."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from grievance.cases.models import Case
from grievance.cases.prefetch import events_of
from grievance.reference.models import Category, Department, Station
from grievance.users.models import User


def returned_by(session: Session, case: Case) -> int | None:
    """The department that returned the case (退单), read from its last `return` event: the returning person's
    department, else (an imported return without its actor) the department of the dispatch before it. None when
    the case is not in state `returned` or no department is known."""
    if case.state != "returned":
        return None
    events = events_of(session, case.id)  # type: ignore[arg-type]
    last = max((i for i, e in enumerate(events) if e.action == "return"), default=None)
    if last is None:
        return None
    actor = session.get(User, events[last].actor_id) if events[last].actor_id else None
    if actor is not None and actor.department_id is not None:
        return actor.department_id
    for event in reversed(events[:last]):
        target = event.payload.get("department_id")
        if isinstance(target, int):
            return target
    return None


def routing_reference(session: Session) -> list[Any]:
    """Every category, station and department (three queries): a list page holds them while it asks each row for
    its suggestions, which then read them by primary key from the session instead of querying per row."""
    return [*session.exec(select(Category)), *session.exec(select(Station)), *session.exec(select(Department))]


REASONS = {"category": "业务分类「{name}」的承办单位", "station": "城市驿站「{name}」的属地单位"}


def suggest_departments(session: Session, case: Case) -> list[dict[str, Any]]:
    """Where to send the case, most likely first: [{department_id, code, name, reason, reason_kind, reason_name}]:
    reason_kind "category" (the category's department) or "station" (the station's local department) with the
    category's or station's name, for pages to word in their reader's language; `reason` says it in Chinese.

    Never the department a report (举报) accuses (Case.accused_department_id: the guard not_accused_department
    refuses it), nor, for a returned case, the department that returned it (it may still be chosen by hand)."""
    suggestions: list[tuple[int, str, str]] = []
    category = session.get(Category, case.category_id) if case.category_id else None
    # A level-3 category without its own rule inherits its parent's.
    while category is not None:
        if category.department_id:
            suggestions.append((category.department_id, "category", category.name))
            break
        category = session.get(Category, category.parent_id) if category.parent_id else None
    station = session.get(Station, case.station_id) if case.station_id else None
    if station is not None and station.department_id:
        suggestions.append((station.department_id, "station", station.name))
    excluded = {case.accused_department_id, returned_by(session, case)}
    ids = [d for d, _kind, _name in suggestions if d not in excluded]
    # By primary key: a page of rows has loaded every department once (web/pages/work/common.rows_of).
    names = {d.id: d for d in (session.get(Department, i) for i in ids) if d is not None}
    seen: set[int] = set()
    result = []
    for dept_id, kind, name in suggestions:
        if dept_id in names and dept_id not in seen:
            seen.add(dept_id)
            result.append(
                {
                    "department_id": dept_id,
                    "code": names[dept_id].code,
                    "name": names[dept_id].name,
                    "reason": REASONS[kind].format(name=name),
                    "reason_kind": kind,
                    "reason_name": name,
                }
            )
    return result
