"""People, not only departments: who of a department may be given its cases, and how much each one has."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func
from sqlalchemy import case as case_when
from sqlmodel import Session, col, select

from grievance.cases.access import visibility_filter
from grievance.cases.models import Case
from grievance.glossary import DEPARTMENT_ROLES
from grievance.users.models import User


def department_handlers(session: Session, department_id: int | None) -> list[User]:
    """The active handlers and heads of a department, by name: whom its cases may be assigned to (the engine's
    "handler" field accepts exactly these). None (no department): nobody."""
    if department_id is None:
        return []
    stmt = select(User).where(
        User.department_id == department_id,
        col(User.active).is_(True),
        col(User.role).in_([r.value for r in DEPARTMENT_ROLES]),
    )
    return list(session.exec(stmt.order_by(col(User.display_name), col(User.id))).all())


@dataclass
class Workload:
    """One handler's open cases in the department's queue (None: the unassigned ones), and how many of them are
    overdue or due soon on the department's clocks."""

    assignee_id: int | None
    open: int = 0
    due_soon: int = 0
    overdue: int = 0


def department_workload(session: Session, actor: User, states: list[str], now: datetime) -> dict[int | None, Workload]:
    """Open, due-soon and overdue counts per assignee of the cases in `states` (the queue's states) of the actor's
    department that the actor may list (grievance/cases/access.py), in one GROUP BY query; key None holds the
    unassigned cases. Overdue and due soon are read as the queue's
    filters read them (CaseFilter overdue / due_soon for department roles): the earliest due time of the
    department's running clocks (next_due_at) has passed, or its warning time (next_warn_at) has and the due
    time has not. A handler with no case has no entry."""
    overdue = Case.next_due_at <= now
    due_soon = and_(Case.next_warn_at <= now, Case.next_due_at > now)
    stmt = (
        select(
            Case.assignee_id,
            func.count(),
            func.sum(case_when((due_soon, 1), else_=0)),
            func.sum(case_when((overdue, 1), else_=0)),
        )
        .where(visibility_filter(actor), Case.department_id == actor.department_id, col(Case.state).in_(states))
        .group_by(col(Case.assignee_id))
    )
    return {
        assignee: Workload(assignee, int(total), int(soon or 0), int(late or 0))
        for assignee, total, soon, late in session.exec(stmt).all()
    }
