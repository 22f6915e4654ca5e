"""The facts of a case after each action (CaseState rows), computed the same way by the workflow engine, the
calendar service when due times move, and the ledger importer, so reports read one row per case."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from grievance.cases.models import NO_DUE, Case, CaseClock, CaseState
from grievance.errors import Conflict


def state_after(
    case: Case,
    clocks: Iterable[CaseClock],
    at: datetime,
    *,
    previous: CaseState | None = None,
    action: str | None = None,
    payload: dict[str, Any] | None = None,
) -> CaseState:
    """The case's facts from `at` on. The latest callback's answers carry over from the previous row until a
    new callback (the case's own columns are cleared by a new resolution)."""
    by_name = {c.name: c for c in clocks}

    def stopped_on_time(name: str) -> bool:
        clock = by_name.get(name)
        return clock is not None and clock.stopped_at is not None and clock.stopped_at <= clock.due_at

    running = [c for c in by_name.values() if c.stopped_at is None and c.paused_at is None]
    # Once a due time was missed the case stays "met late", even when the clock restarts (re-dispatch, reopen).
    late = (previous is not None and previous.late) or any(
        (c.stopped_at is not None and c.stopped_at > c.due_at)
        or (c.stopped_at is None and c.paused_at is not None and c.paused_at >= c.due_at)
        for c in by_name.values()
    )
    reached, solved, satisfaction = (
        (previous.reached, previous.solved, previous.satisfaction) if previous else (False, None, None)
    )
    if action == "callback" and payload is not None:
        reached = bool(payload.get("reached"))
        solved = payload.get("solved") if reached else None
        satisfaction = payload.get("satisfaction") if reached else None
    resolved = case.resolved_at is not None
    return CaseState(
        case_id=case.id,  # type: ignore[arg-type]
        valid_from=at,
        state=case.state,
        department_id=case.department_id,
        merged=case.state == "merged",
        responded=case.responded_at is not None,
        responded_on_time=case.responded_at is not None and stopped_on_time("respond"),
        resolved=resolved,
        resolved_on_time=resolved and stopped_on_time("resolve"),
        reopened=case.reopened_at is not None,
        outcome=case.outcome if resolved else None,
        callback_reached=resolved and case.callback_reached is True,
        reached=reached,
        solved=solved,
        satisfaction=satisfaction,
        late=late,
        next_due_at=min((c.due_at for c in running), default=NO_DUE),
    )


def current_state(session: Session, case_id: int) -> CaseState | None:
    return session.exec(
        select(CaseState).where(CaseState.case_id == case_id, col(CaseState.valid_to).is_(None))
    ).first()


def record_state(session: Session, new: CaseState, previous: CaseState | None) -> None:
    """Close the previous row at the new one's start and add the new one (the caller's transaction). Exactly
    one row per case is current: if another writer closed the previous row first, this one is refused."""
    if previous is not None:
        # Never before the previous row (clock skew between hosts would leave a row ending before it starts).
        new.valid_from = max(new.valid_from, previous.valid_from)
        closed = session.execute(
            update(CaseState)
            .where(col(CaseState.id) == previous.id, col(CaseState.valid_to).is_(None))
            .values(valid_to=new.valid_from)
        )
        if closed.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("诉求同时被他人修改，请刷新后重试 (the case was changed concurrently; reload and retry)")
    session.add(new)
