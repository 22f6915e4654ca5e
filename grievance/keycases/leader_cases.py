"""The lead leader's own list (我包案的件, issue 12): the key cases they lead, and each one's nodes counted so that the
figures add up (met on time + met late + open = all; late is the part of open past its due time).

Every function reads inside the caller's transaction and writes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from grievance.cases import listing
from grievance.cases.schemas import CaseSummary
from grievance.glossary import NodeStatus
from grievance.keycases.models import CaseNode
from grievance.users.models import User
from grievance.workflow.engine import Runtime

PAGE = 200  # a leader leads a few dozen key cases at most: one page, no paging


@dataclass(frozen=True)
class NodeTally:
    """A key case's nodes (removed and withdrawn ones left out): `met` done by their due time, `met_late` done after
    it, `open` not done yet, of which `late` are past their due time. met + met_late + open == total."""

    met: int = 0
    met_late: int = 0
    open: int = 0
    late: int = 0

    @property
    def total(self) -> int:
        return self.met + self.met_late + self.open


def node_tallies(session: Session, case_ids: Collection[int], now: datetime) -> dict[int, NodeTally]:
    """{case id: NodeTally} for these cases (cases without nodes are left out); `now` (UTC) decides which open
    nodes are late. One query."""
    if not case_ids:
        return {}
    rows = session.exec(
        select(CaseNode.case_id, CaseNode.status, CaseNode.due_at, CaseNode.completed_at).where(
            col(CaseNode.case_id).in_(list(case_ids)), col(CaseNode.status).in_([NodeStatus.open, NodeStatus.done])
        )
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for case_id, status, due_at, completed_at in rows:
        c = counts.setdefault(case_id, {"met": 0, "met_late": 0, "open": 0, "late": 0})
        if status == NodeStatus.done:
            c["met_late" if completed_at is not None and completed_at > due_at else "met"] += 1
        else:
            c["open"] += 1
            c["late"] += int(now >= due_at)
    return {case_id: NodeTally(**c) for case_id, c in counts.items()}


def leader_filter(leader: User, runtime: Runtime, *, finished: bool) -> listing.CaseFilter:
    """The list of the key cases `leader` leads, earliest due first: the open ones (not in a final state), or with
    `finished` every one; a case merged into another as a duplicate never (its key status went to that case)."""
    return listing.CaseFilter(
        key=True,
        lead_leader_id=leader.id,
        state=None if finished else listing.open_states(runtime),
        duplicate=False,
        sort="due",
        limit=PAGE,
    )


def leader_cases(
    session: Session, runtime: Runtime, leader: User, *, finished: bool = False
) -> tuple[list[CaseSummary], int, dict[int, NodeTally]]:
    """(the cases as list rows, how many in all, their node tallies) of `leader_filter`, read as `leader`."""
    filters = leader_filter(leader, runtime, finished=finished)
    items, _more = listing.list_cases(session, runtime, leader, filters)
    total = listing.count_cases(session, runtime, leader, filters)
    return items, total, node_tallies(session, [i.id for i in items], runtime.now())
