"""Writes the outbox row of every live case event in the event's own transaction, so that no state change can
commit without its way out (at-least-once delivery starts here; grievance/outbox/worker.py sends it).

It is a `before_flush` hook installed on every session factory (grievance/db.py), not a call at each place an
event is made: an event added by a new code path cannot forget its message. The ledger importer writes history
with bulk Core inserts, which this hook does not see: a case of last year imported today is not news."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from grievance.cases.models import NO_DUE, Case, CaseEvent
from grievance.outbox.models import OutboxMessage
from grievance.reference.models import Department

# Event inputs that may carry personal data never leave in a message (DOMAIN.md, privacy).
_PERSONAL = ("petitioner", "phone", "id_no", "name_of_petitioner")


def install(factory: sessionmaker[Any]) -> None:
    """Hook the outbox writer into every session the factory makes."""
    sa_event.listen(factory, "before_flush", _before_flush)


def _iso(moment: Any) -> str | None:
    if moment is None or moment == NO_DUE:
        return None
    return moment.isoformat()


def _public_input(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if not any(part in key for part in _PERSONAL)}


def event_body(session: OrmSession, case: Case, event: CaseEvent) -> dict[str, Any]:
    """Our event JSON (the `json` format's body; other formats are made from it), as of the event:

    {"event": action, "automatic": bool, "at": ISO UTC, "from_state", "to_state", "actor_role": str | None (None:
     the system), "input": the event's payload without personal data, "case": {"id", "case_no", "title",
     "workflow", "state", "channel", "case_type", "urgency", "department": {"code", "name"} | None,
     "due_at": earliest running department due time (ISO UTC) | None, "centre_due_at": ISO | None,
     "external": {"source", "id", "due_at"} | None, "path": "/cases/<case_no>"}}

    Petitioner's name, phone and ID never appear. One query when the case has a department."""
    department = None
    if case.department_id is not None:
        found = session.get(Department, case.department_id)
        if found is not None:
            department = {"code": found.code, "name": found.name}
    external = None
    if case.external_source:
        external = {"source": case.external_source, "id": case.external_id, "due_at": _iso(case.external_due_at)}
    actor_role = None
    if event.actor_id is not None:
        from grievance.users.models import User

        actor = session.get(User, event.actor_id)
        actor_role = actor.role if actor is not None else None
    return {
        "event": event.action,
        "automatic": bool((event.payload or {}).get("automatic")),
        "at": _iso(event.at),
        "from_state": event.from_state,
        "to_state": event.to_state,
        "actor_role": actor_role,
        "input": _public_input(dict(event.payload or {})),
        "case": {
            "id": case.id,
            "case_no": case.case_no,
            "title": case.title,
            "workflow": case.workflow,
            "state": case.state,
            "channel": case.channel,
            "case_type": case.case_type,
            "urgency": case.urgency,
            "department": department,
            "due_at": _iso(case.next_due_at),
            "centre_due_at": _iso(case.centre_due_at),
            "external": external,
            "path": f"/cases/{case.case_no}",
        },
    }


def _lock_case(session: OrmSession, case_id: int, locked: set[int]) -> None:
    """PostgreSQL: hold the case's row until commit before its message takes an id, so that the messages of one
    case commit in id order (an attachment, which does not move the case's version, and an action on the same
    case would otherwise commit in either order, and the worker, which sends by id, could send them reversed).
    SQLite has one writer at a time already."""
    if case_id in locked or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": case_id})
    locked.add(case_id)


def _before_flush(session: OrmSession, flush_context: Any, instances: Any) -> None:
    locked: set[int] = set()  # per flush; a second lock of a row this transaction holds returns at once
    for obj in list(session.new):
        if not isinstance(obj, CaseEvent) or obj.case_id is None:
            continue
        _lock_case(session, obj.case_id, locked)
        case = session.get(Case, obj.case_id)
        if case is None:
            continue
        body = event_body(session, case, obj)
        session.add(OutboxMessage(case_id=case.id, event=obj.action, body=body, case_event=obj))  # type: ignore[arg-type]
