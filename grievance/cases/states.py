"""The facts of a case after each action (CaseState rows), computed the same way by the workflow engine, the
calendar service when due times move, and the ledger importer, so reports read one row per case."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from grievance.cases.models import NO_DUE, Case, CaseClock, CaseState
from grievance.errors import StaleVersion
from grievance.workflow.definition import MERGE_EFFECT, RESOLVE_CLOCK, RESPOND_CLOCK, is_node_clock


def state_after(
    case: Case,
    clocks: Iterable[CaseClock],
    at: datetime,
    *,
    previous: CaseState | None = None,
    effects: Collection[str] = (),
) -> CaseState:
    """The case's facts from `at` on, read from what the effects wrote on the case and its clocks, never from
    the names of actions or states (a workflow file may rename those).

    - A duplicate (counted apart, in no denominator) is a case whose duplicate_of_id is set by merge_into, or
      whose action just taken has that effect (`effects`: a ledger replay that links the target after insert).
    - The latest callback's answers are the case's callback columns (record_callback writes them, a new
      resolution clears them); while they are clear, the previous row's answers carry over.
    - On time: the clocks the code names (definition.REQUIRED_CLOCKS, which the loader insists on).
    - The nodes' clocks of a key case (definition.is_node_clock) count in nothing here: not `late`, not
      `next_due_at`, so a late node changes no rate (issue 12)."""
    by_name = {c.name: c for c in clocks if not is_node_clock(c.name)}

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
    if case.callback_at is not None:
        reached = case.callback_reached is True
        solved = case.callback_solved if reached else None
        satisfaction = case.satisfaction if reached else None
    elif previous is not None:
        reached, solved, satisfaction = previous.reached, previous.solved, previous.satisfaction
    else:
        reached, solved, satisfaction = False, None, None
    merged = case.duplicate_of_id is not None or MERGE_EFFECT in effects or (previous is not None and previous.merged)
    resolved = case.resolved_at is not None
    return CaseState(
        case_id=case.id,  # type: ignore[arg-type]
        valid_from=at,
        state=case.state,
        department_id=case.department_id,
        merged=merged,
        responded=case.responded_at is not None,
        responded_on_time=case.responded_at is not None and stopped_on_time(RESPOND_CLOCK),
        resolved=resolved,
        resolved_on_time=resolved and stopped_on_time(RESOLVE_CLOCK),
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
            raise StaleVersion(
                "诉求同时被他人修改，请刷新后重试", "the case was changed concurrently; reload and retry"
            )
    session.add(new)
