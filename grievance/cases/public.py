"""What a petitioner sees on the public /track page with the query code from the receipt: status and the replies
addressed to them, never personal data; for a duplicate, the case it was merged into, which carries the answer."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from grievance.cases import query_codes
from grievance.cases.merges import answering_case
from grievance.cases.models import Case, CaseEvent
from grievance.errors import NotFound
from grievance.workflow.engine import Runtime

# The input fields of an action that are addressed to the petitioner (答复, 告知书): a resolution's or an on-the-spot
# answer's reply (effects record_resolution, record_answer_on_spot), a review's opinion, a petition's notices.
# Keyed on the fields, not on action names a workflow file may rename; notes and reasons stay internal.
PUBLIC_FIELDS = ("reply", "notice")


def _replies(session: Session, case: Case) -> list[dict[str, Any]]:
    events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))).all()
    return [
        {"at": e.at, "reply": text}
        for e in events
        if (text := next((str(e.payload[f]) for f in PUBLIC_FIELDS if e.payload.get(f)), None))
    ]


def find_by_query_code(session: Session, typed: str) -> Case | None:
    """The case whose query code a person typed, as they typed it: a current code in any case, with or without
    blanks and dashes (O, I, L read as 0, 1, 1), or a code of the old format exactly (cases.query_codes)."""
    candidates = query_codes.lookup_candidates(typed)
    if not candidates:
        return None
    found = {c.query_code: c for c in session.exec(select(Case).where(col(Case.query_code).in_(candidates))).all()}
    return next((found[code] for code in candidates if code in found), None)


def public_status(session: Session, runtime: Runtime, query_code: str) -> dict[str, Any]:
    """The case with this query code (as typed: find_by_query_code): `case_no`, `title`, `state`, `state_label`,
    `received_at`, `resolved_at`, `replies` [{at, reply}], and `merged_into` (None unless the case is a duplicate):
    the number, state, resolution time and replies of the case that answers it (the case it was merged into, or the
    end of a chain of merges), without its title or anything of its petitioner. A confidential target's replies are
    not shown. Raises NotFound for an unknown code."""
    case = find_by_query_code(session, query_code)
    if case is None:
        raise NotFound("查询码无效", "no case has this query code")
    workflows = runtime.workflows
    workflow = workflows.get(case.workflow)
    target = answering_case(session, case)
    merged_into = None
    if target is not None:
        merged_into = {
            "case_no": target.case_no,
            "state": target.state,
            "state_label": workflows.get(target.workflow).states[target.state].label,
            "resolved_at": target.resolved_at,
            "replies": [] if target.confidential else _replies(session, target),
        }
    return {
        "case_no": case.case_no,
        "title": case.title,
        "state": case.state,
        "state_label": workflow.states[case.state].label,
        "received_at": case.received_at,
        "resolved_at": case.resolved_at,
        "replies": _replies(session, case),
        "merged_into": merged_into,
    }
