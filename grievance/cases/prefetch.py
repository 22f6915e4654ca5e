"""The rows a list page's cases need for their actions (clocks, assisting parts, nodes, a pending plan change),
read in one query per kind for the whole page, so that asking each row what its reader may do runs no query per
row (issue 13: the queue page at most 1.5x the API list).

The readers (keycases.parts.parts_of, keycases.plan.nodes_of and pending_change, workflow.engine's clocks) look
here first. What is kept lives on the session until its next flush or the end of its transaction: after a write
in the same session every reader goes to the database again."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from grievance.cases.models import CaseClock

_KEY = "grievance_prefetched"
CLOCKS, PARTS, NODES, PENDING_CHANGES, EVENTS = "clocks", "parts", "nodes", "pending_changes", "events"


def prefetched(session: Session, kind: str, case_id: int | None) -> list[Any] | None:
    """The rows of `kind` (CLOCKS, PARTS, NODES, PENDING_CHANGES, EVENTS) kept for this case (an empty list: it has none),
    or None when nothing was kept for it: the caller then queries."""
    cache = session.info.get(_KEY)
    if cache is None or case_id is None:
        return None
    found = cache.get(kind, {}).get(case_id)
    return None if found is None else list(found)


def keep(session: Session, kind: str, case_ids: Iterable[int], rows_by_case: dict[int, list[Any]]) -> None:
    """Keep rows of `kind` for these cases ({case id: rows in the reader's order}; a case missing has none)."""
    kept = session.info.setdefault(_KEY, {}).setdefault(kind, {})
    for case_id in case_ids:
        kept[case_id] = rows_by_case.get(case_id, [])


def prefetch_for_actions(session: Session, case_ids: Collection[int]) -> None:
    """Read, for these cases, everything the workflow's scope checks and guards read (four queries in all)."""
    from grievance.keycases.models import CaseNode, NodePlanChange
    from grievance.keycases.parts import parts_by_case

    ids = sorted(set(case_ids))
    if not ids:
        return
    clocks = session.exec(select(CaseClock).where(col(CaseClock.case_id).in_(ids)).order_by(col(CaseClock.id))).all()
    nodes = session.exec(
        select(CaseNode).where(col(CaseNode.case_id).in_(ids)).order_by(col(CaseNode.case_id), col(CaseNode.seq))
    ).all()
    changes = session.exec(
        select(NodePlanChange).where(col(NodePlanChange.case_id).in_(ids), NodePlanChange.status == "pending")
    ).all()
    keep(session, CLOCKS, ids, _by_case(clocks))
    keep(session, PARTS, ids, parts_by_case(session, ids))
    keep(session, NODES, ids, _by_case(nodes))
    keep(session, PENDING_CHANGES, ids, _by_case(changes))


def prefetch_events(session: Session, case_ids: Collection[int]) -> None:
    """Read the events of these cases (EVENTS, in time order), with their actors into the session, in two queries:
    for the rows of returned cases (who returned them, why)."""
    from grievance.cases.models import CaseEvent
    from grievance.users.models import User

    ids = sorted(set(case_ids))
    if not ids:
        return
    events = session.exec(
        select(CaseEvent).where(col(CaseEvent.case_id).in_(ids)).order_by(col(CaseEvent.at), col(CaseEvent.id))
    ).all()
    actors = {e.actor_id for e in events if e.actor_id is not None}
    # Kept alive with the events, so that session.get(User, id) finds them in the identity map.
    session.info.setdefault(_KEY, {})["actors"] = list(session.exec(select(User).where(col(User.id).in_(actors))))
    keep(session, EVENTS, ids, _by_case(events))


def events_of(session: Session, case_id: int) -> list[Any]:
    """The case's events in time order (CaseEvent rows): those kept by prefetch_events, else one query."""
    from grievance.cases.models import CaseEvent

    kept = prefetched(session, EVENTS, case_id)
    if kept is not None:
        return kept
    query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.at), col(CaseEvent.id))
    return list(session.exec(query).all())


def _by_case(rows: Iterable[Any]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {}
    for row in rows:
        found.setdefault(row.case_id, []).append(row)
    return found


def forget(session: OrmSession, *_args: Any) -> None:
    """before_flush and after_transaction_end: what was kept may be stale now."""
    session.info.pop(_KEY, None)
