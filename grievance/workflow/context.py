"""What guards and effects see of an action in progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from grievance.cases.models import Case, CaseClock
from grievance.users.models import User
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.definition import WorkflowDef


@dataclass
class ActionContext:
    session: Session
    case: Case
    workflow: WorkflowDef
    action: str
    actor: User
    now: datetime
    calendar: WorkCalendar
    clocks: dict[str, CaseClock]
    # The validated input; None while the engine only asks which actions are possible.
    payload: dict[str, Any] | None = None
    # Records the payload names (a target case of a merge, say), looked up during validation.
    refs: dict[str, Any] = field(default_factory=dict)
    # Working days an approved extension adds; read by the clocks listed to extend on this action.
    extension_days: int = 0
