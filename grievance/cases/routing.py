"""Routing suggestions for dispatch: the category's department first, then the station's."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from grievance.cases.models import Case
from grievance.reference.models import Category, Department, Station


def suggest_departments(session: Session, case: Case) -> list[dict[str, Any]]:
    suggestions: list[tuple[int, str]] = []
    category = session.get(Category, case.category_id) if case.category_id else None
    # A level-3 category without its own rule inherits its parent's.
    while category is not None:
        if category.department_id:
            suggestions.append((category.department_id, f"业务分类「{category.name}」的承办单位"))
            break
        category = session.get(Category, category.parent_id) if category.parent_id else None
    station = session.get(Station, case.station_id) if case.station_id else None
    if station is not None and station.department_id:
        suggestions.append((station.department_id, f"城市驿站「{station.name}」的属地单位"))
    ids = [d for d, _ in suggestions if d != case.accused_department_id]
    names = {d.id: d for d in session.exec(select(Department).where(Department.id.in_(ids))).all()} if ids else {}  # type: ignore[union-attr]
    seen: set[int] = set()
    result = []
    for dept_id, reason in suggestions:
        if dept_id in names and dept_id not in seen:
            seen.add(dept_id)
            result.append(
                {"department_id": dept_id, "code": names[dept_id].code, "name": names[dept_id].name, "reason": reason}
            )
    return result
