"""The centre's callback (回访) work list: resolved cases whose callback clock runs, earliest due first, so no
callback waits unseen. Which clocks are callback clocks is read from the workflows (the clocks that an action with
the effect record_callback stops), never from a clock or action name (STYLE.md, item 2). A case the petitioner rated
dissatisfied on the public page (cases/ratings.py) is here for a call, and its row carries that rating."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, func, tuple_
from sqlmodel import Session, col, select

from grievance.cases.access import visibility_filter
from grievance.cases.listing import decode_cursor, encode_cursor, summarize_page
from grievance.cases.models import AuditEntry, Case, CaseClock
from grievance.cases.ratings import CALLBACK_EFFECT, ratings_since_resolution
from grievance.cases.schemas import CaseSummary
from grievance.users.models import User
from grievance.workflow.engine import Runtime
from grievance.workflow.loader import Workflows

CURSOR_KIND = "callback"


def callback_actions(workflows: Workflows) -> dict[str, set[str]]:
    """For each workflow, the actions that record a callback (effect record_callback)."""
    return {
        name: {a for a, action in workflow.actions.items() if CALLBACK_EFFECT in action.effects}
        for name, workflow in workflows.definitions.items()
    }


def callback_clocks(workflows: Workflows) -> set[str]:
    """The names of the clocks that recording a callback stops: the callback deadlines of every workflow."""
    names: set[str] = set()
    actions = callback_actions(workflows)
    for name, workflow in workflows.definitions.items():
        names.update(c for c, clock in workflow.clocks.items() if set(clock.stop) & actions[name])
    return names


class SelfRatingNote(BaseModel):
    """A rating the centre did not take itself (the petitioner's on the public page, or the 12345 platform's
    callback result), as the callback list shows it: the latest since the case's resolution."""

    source: str = Field(description="petitioner (诉求人自评) or 12345 (the platform's callback result)")
    at: datetime
    reached: bool
    solved: bool | None
    satisfaction: str | None = Field(description="satisfied, basically_satisfied or unsatisfied")
    comment: str = Field(description="the petitioner's words as given; empty for none")
    wants_call: bool = Field(description="dissatisfied or not solved: the centre calls the petitioner")


class CallbackItem(CaseSummary):
    """A row of the callback list: the case's summary and the latest self-reported rating of its resolution."""

    self_rating: SelfRatingNote | None = None


@dataclass
class CallbackPage:
    """One page of the callback list: summaries (next_due_at and light count every clock, cases/deadlines.py) with
    the case rows they came from, the cursor of the next page (None on the last) and the true total."""

    items: list[CallbackItem]
    cases: list[Case]
    next_cursor: str | None
    total: int


def _where(runtime: Runtime, actor: User) -> list[ColumnElement[bool]]:
    return [
        col(CaseClock.name).in_(sorted(callback_clocks(runtime.workflows))),
        col(CaseClock.stopped_at).is_(None),
        visibility_filter(actor),
    ]


def list_callbacks(
    session: Session,
    runtime: Runtime,
    actor: User,
    *,
    cursor: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
) -> CallbackPage:
    """The cases whose callback clock runs, by that clock's due time (earliest first, then id), in keyset pages of
    `limit` (1-200), each with the latest self-reported rating of its resolution (`self_rating`, one query).
    Raises InvalidInput on the field `cursor` for a cursor not made by this list."""
    now = now or runtime.now()
    where = _where(runtime, actor)
    stmt = select(Case, CaseClock.due_at).join(CaseClock, col(CaseClock.case_id) == col(Case.id)).where(*where)
    if cursor:
        at, last_id = decode_cursor(cursor, CURSOR_KIND)
        stmt = stmt.where(tuple_(CaseClock.due_at, Case.id) > tuple_(at, last_id))
    limit = max(1, min(limit, 200))
    rows: list[Any] = list(session.exec(stmt.order_by(col(CaseClock.due_at), col(Case.id)).limit(limit + 1)).all())
    next_cursor = encode_cursor(CURSOR_KIND, rows[limit - 1][1], rows[limit - 1][0].id) if len(rows) > limit else None
    cases = [case for case, _due in rows[:limit]]
    total = session.exec(
        select(func.count()).select_from(Case).join(CaseClock, col(CaseClock.case_id) == col(Case.id)).where(*where)
    ).one()
    session.add_all(
        AuditEntry(user_id=actor.id, action="list_confidential", case_id=c.id) for c in cases if c.confidential
    )
    ratings = ratings_since_resolution(session, runtime, cases)
    items = []
    for summary in summarize_page(session, runtime, cases, actor, now):
        latest = ratings.get(summary.id, [])[-1:]
        note = None
        if latest:
            r = latest[0]
            note = SelfRatingNote(**vars(r), wants_call=r.wants_call)
        items.append(CallbackItem(**summary.model_dump(), self_rating=note))
    return CallbackPage(items, cases, next_cursor, int(total))
