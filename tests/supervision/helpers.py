"""What the supervision tests share: a case in a known state, sweeping as the app's runtime, reading events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from grievance.cases.models import Case, CaseClock, CaseEvent
from grievance.db import transaction
from grievance.supervision import AUTO_URGE, OVERDUE, SweepResult, sweep_once
from tests.factories import World

SHANGHAI = ZoneInfo("Asia/Shanghai")
MON = datetime(2025, 9, 29, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai, the frozen clock's start


def local(*args: int) -> datetime:
    """A Shanghai wall-clock time as the UTC moment it is."""
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)  # type: ignore[misc]


def sweep(app: Any, now: datetime | None = None, **kwargs: Any) -> SweepResult:
    return sweep_once(app.state.sessions, app.state.runtime, now, **kwargs)


def dispatched(world: World, **overrides: Any) -> str:
    """A case dispatched to CGJ at the frozen clock's now: its accept and respond clocks run (and resolve)."""
    no = world.intake(**overrides)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    return str(no)


def handling(world: World, **overrides: Any) -> str:
    """A case accepted and responded to: only its resolve clock (15 working days for a help case) runs."""
    no = dispatched(world, **overrides)
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已电话联系")
    return no


def system_events(app: Any, case_no: str | None = None) -> list[CaseEvent]:
    """The sweeper's events (auto_urge, overdue), of one case or of all, in id order."""
    with transaction(app.state.sessions) as session:
        query = select(CaseEvent).where(col(CaseEvent.action).in_([AUTO_URGE, OVERDUE]))
        if case_no is not None:
            case_id = session.exec(select(Case.id).where(Case.case_no == case_no)).one()
            query = query.where(CaseEvent.case_id == case_id)
        return list(session.exec(query.order_by(col(CaseEvent.id))).all())


def clock_of(app: Any, case_no: str, name: str) -> CaseClock:
    with transaction(app.state.sessions) as session:
        case_id = session.exec(select(Case.id).where(Case.case_no == case_no)).one()
        return session.exec(select(CaseClock).where(CaseClock.case_id == case_id, CaseClock.name == name)).one()


def case_row(app: Any, case_no: str) -> Case:
    with transaction(app.state.sessions) as session:
        return session.exec(select(Case).where(Case.case_no == case_no)).one()
