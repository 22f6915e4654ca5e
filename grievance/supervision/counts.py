"""How many urges were automatic (the sweeper's `auto_urge` events) and how many were a person's, for the board.

Case.urge_count counts every urge, automatic or manual (an automatic one adds to it like the workflow's effect
count_urge does), so the manual count is urge_count minus the case's auto_urge events: no action name of a
workflow file is needed to tell them apart."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from grievance.cases.models import Case, CaseEvent
from grievance.supervision.sweeper import AUTO_URGE


@dataclass(frozen=True)
class UrgeSplit:
    """Urges of a case or a department: `automatic` (by the sweeper) and `manual` (by a person)."""

    automatic: int
    manual: int

    @property
    def total(self) -> int:
        return self.automatic + self.manual


def automatic_urges(session: Session, case_ids: Collection[int]) -> dict[int, int]:
    """{case id: number of automatic urges} for the given cases (cases without any are left out). One query."""
    if not case_ids:
        return {}
    rows = session.exec(
        select(CaseEvent.case_id, func.count())
        .where(col(CaseEvent.case_id).in_(list(case_ids)), CaseEvent.action == AUTO_URGE)
        .group_by(col(CaseEvent.case_id))
    ).all()
    return {case_id: int(count) for case_id, count in rows}


def urge_split(urge_count: int, automatic: int) -> UrgeSplit:
    """A case's urges split: automatic ones are part of urge_count, the rest were a person's."""
    return UrgeSplit(automatic=automatic, manual=max(0, urge_count - automatic))


def urges_by_department(session: Session, states: Collection[str]) -> dict[int, UrgeSplit]:
    """{department id: urges} over the cases now in `states` (the open ones) that have a department, only for
    departments with at least one urge. Two grouped queries, whatever the number of cases."""
    # Only urged cases count (a sum of zeros adds nothing): the partial index ix_cases_urged holds just those.
    open_case = (col(Case.state).in_(list(states)), col(Case.department_id).is_not(None), col(Case.urge_count) > 0)
    totals = dict(
        session.exec(
            select(Case.department_id, func.coalesce(func.sum(Case.urge_count), 0))
            .where(*open_case)
            .group_by(col(Case.department_id))
        ).all()
    )
    automatic = dict(
        session.exec(
            select(Case.department_id, func.count())
            .join(CaseEvent, col(CaseEvent.case_id) == Case.id)
            .where(*open_case, CaseEvent.action == AUTO_URGE)
            .group_by(col(Case.department_id))
        ).all()
    )
    result = {}
    for department_id, total in totals.items():
        split = urge_split(int(total or 0), int(automatic.get(department_id, 0)))
        if split.total:
            result[department_id] = split  # type: ignore[index]
    return result
