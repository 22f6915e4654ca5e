"""What a merge leaves behind to read: the case a duplicate went into and the duplicates a case absorbed, so the
case page, the API, the public /track page and the meeting and station registers all point to the one case
that carries the answer. Merges are written by the workflow (effect merge_into, guard merge_target_valid)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from grievance.audit import view_detail
from grievance.cases.access import in_scope, is_hidden_from
from grievance.cases.models import AuditEntry, Case
from grievance.users.models import User
from grievance.workflow.loader import Workflows

# A chain arises when a case that absorbed duplicates is merged in turn (A into B, later B into C); it is followed
# this far (a merge refuses a target that is itself a duplicate, so each link was a live case when made).
MAX_CHAIN = 20


def answering_case(session: Session, case: Case) -> Case | None:
    """The case whose state and replies stand for a duplicate: the case it was merged into, or, if that one was
    merged in turn, the end of the chain. None for a case that is no duplicate."""
    target = None
    current = case
    for _ in range(MAX_CHAIN):
        if current.duplicate_of_id is None:
            break
        following = session.get(Case, current.duplicate_of_id)
        if following is None or following.id == case.id:
            break
        target = current = following
    return target


def merge_target(session: Session, workflows: Workflows, case: Case, actor: User) -> dict[str, Any] | None:
    """What a duplicate's page says of where it went: `case_no` of the case it was merged into, and of the case
    that answers it (the end of a chain) `answering_case_no`, `state`, `state_label`, `resolved_at` and `reply`
    (the reply once resolved) if `actor` may see that case, else None for those. None for no duplicate."""
    if case.duplicate_of_id is None:
        return None
    direct = session.get(Case, case.duplicate_of_id)
    answering = answering_case(session, case)
    shown = answering if answering is not None and in_scope(answering, actor) else None
    if shown is not None and shown.confidential:
        # Seen through the duplicate's page or API answer: the entry names the duplicate.
        detail = view_detail("merge_view", via=case.case_no)
        session.add(AuditEntry(user_id=actor.id, action="view_confidential", case_id=shown.id, detail=detail))
    return {
        "case_no": direct.case_no if direct else None,
        "answering_case_no": answering.case_no if answering else None,
        "state": shown.state if shown else None,
        "state_label": workflows.get(shown.workflow).states[shown.state].label if shown else None,
        "resolved_at": shown.resolved_at if shown else None,
        "reply": shown.reply if shown and shown.resolved_at else None,
    }


def merged_cases(session: Session, case: Case, actor: User) -> list[dict[str, Any]]:
    """The duplicates merged into this case, oldest first: number, title, when received and when merged (the
    moment the duplicate entered its final state). Whoever may see the case sees what it absorbed (a department
    answers them with it), except a report about their own department; a confidential one listed is audited."""
    rows = [
        c
        for c in session.exec(
            select(Case).where(Case.duplicate_of_id == case.id).order_by(col(Case.received_at), col(Case.id))
        ).all()
        if not is_hidden_from(c, actor)
    ]
    session.add_all(
        AuditEntry(user_id=actor.id, action="list_confidential", case_id=c.id) for c in rows if c.confidential
    )
    return [
        {"case_no": c.case_no, "title": c.title, "received_at": c.received_at, "merged_at": c.state_changed_at}
        for c in rows
    ]


def target_numbers(session: Session, case_ids: Iterable[int]) -> dict[int, str]:
    """For each of these cases that is a duplicate: the number of the case it was merged into (one query)."""
    ids = list(case_ids)
    if not ids:
        return {}
    target = select(Case.id, Case.case_no).subquery("target")
    rows = session.execute(
        select(Case.id, target.c.case_no).join(target, target.c.id == Case.duplicate_of_id).where(col(Case.id).in_(ids))
    ).all()
    return {int(case_id): str(case_no) for case_id, case_no in rows}
