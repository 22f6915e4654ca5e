"""Writes the outbox row of every live case event in the event's own transaction, so that no state change can
commit without its way out (at-least-once delivery starts here; grievance/outbox/worker.py sends it).

It is a `before_flush` hook installed on every session factory (grievance/db.py), not a call at each place an
event is made: an event added by a new code path cannot forget its message. The ledger importer writes history
with bulk Core inserts, which this hook does not see: a case of last year imported today is not news."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from grievance.cases.models import NO_DUE, Case, CaseClock, CaseEvent
from grievance.outbox.models import OutboxMessage
from grievance.outbox.privacy import mask_text, public_input
from grievance.reference.models import Department
from grievance.workflow.definition import INTAKE, RESOLVE_CLOCK

# Event inputs that may carry personal data never leave in a message (DOMAIN.md, privacy).
_PERSONAL = ("petitioner", "phone", "id_no", "name_of_petitioner")
# A self-reported or platform callback's actor_role by its source (grievance/cases/ratings.py records both as system accounts).
SELF_REPORTED_ROLES = {"petitioner": "petitioner", "12345": "hotline12345"}


def install(factory: sessionmaker[Any]) -> None:
    """Hook the outbox writer into every session the factory makes."""
    sa_event.listen(factory, "before_flush", _before_flush)


def _iso(moment: Any) -> str | None:
    if moment is None or moment == NO_DUE:
        return None
    return moment.isoformat()


def _department(session: OrmSession, department_id: Any) -> dict[str, str] | None:
    if not isinstance(department_id, int) or isinstance(department_id, bool):
        return None
    found = session.get(Department, department_id)
    return {"code": found.code, "name": found.name} if found is not None else None


def _named_departments(session: OrmSession, value: Any) -> Any:
    """The input with every `department_id` / `…_department_id` (an internal id) turned into `department` /
    `…_department`: {"code", "name"}, the names receivers know, in nested dicts and lists too; a list
    `…_department_ids` into `…_departments` (assisting departments)."""
    if isinstance(value, list):
        return [_named_departments(session, item) for item in value]
    if not isinstance(value, dict):
        return value
    named: dict[str, Any] = {}
    for key, item in value.items():
        if key == "department_id" or key.endswith("_department_id"):
            named[key.removesuffix("_id")] = _department(session, item)
        elif key.endswith("_department_ids") and isinstance(item, list):  # assisting departments (协办)
            named[key.removesuffix("_ids") + "s"] = [_department(session, i) for i in item]
        else:
            named[key] = _named_departments(session, item)
    return named


def _public_input(session: OrmSession, case: Case, event: CaseEvent) -> dict[str, Any]:
    payload = {k: v for k, v in (event.payload or {}).items() if not any(part in k for part in _PERSONAL)}
    return public_input(event.action, _named_departments(session, payload), names=[case.petitioner_name or ""])


def event_body(session: OrmSession, case: Case, event: CaseEvent) -> dict[str, Any]:
    """Our event JSON (the `json` format's body; other formats are made from it), as of the event:

    {"event": action, "automatic": bool, "at": ISO UTC, "from_state", "to_state", "actor_role": str | None (None:
     the system), "input": the event's payload without personal data, "case": {"id", "case_no", "title",
     "workflow", "state", "channel", "case_type", "urgency", "confidential": bool, "department": {"code",
     "name"} | None, "due_at": earliest running department due time (ISO UTC) | None, "centre_due_at": ISO |
     None, "resolve_due_at": the running resolve clock's due time (办结时限) | None, "external": {"source", "id",
     "due_at"} | None, "path": "/cases/<case_no>"}, "actor_department": {"code", "name"} of the actor's
     department | None}

    The petitioner's name, phone and ID never appear as fields; in the title and the input's texts they are
    masked, and callback comments are left out (grievance/outbox/privacy.py). Departments named in the input
    are {"code", "name"}, never internal ids. A self-reported rating's actor_role is its source ("petitioner").
    A confidential case's title is kept here (the 12345 format may need it) and withheld by the formats."""
    department = _department(session, case.department_id)
    external = None
    if case.external_source:
        external = {"source": case.external_source, "id": case.external_id, "due_at": _iso(case.external_due_at)}
    actor_role = actor_department = None
    if event.actor_id is not None:
        from grievance.users.models import User

        # Whom the actor acted for: the department that returned a case, which the case no longer names.
        found = session.execute(
            select(User.role, Department.code, Department.name)  # type: ignore[call-overload]
            .outerjoin(Department, Department.id == User.department_id)
            .where(User.id == event.actor_id)
        ).first()
        if found is not None:
            actor_role = found.role
            actor_department = {"code": found.code, "name": found.name} if found.code is not None else None
    payload = event.payload or {}
    if payload.get("self_reported") is True and payload.get("source") in SELF_REPORTED_ROLES:
        actor_role = SELF_REPORTED_ROLES[payload["source"]]
    return {
        "event": event.action,
        "automatic": bool(payload.get("automatic")),
        "at": _iso(event.at),
        "from_state": event.from_state,
        "to_state": event.to_state,
        "actor_role": actor_role,
        "actor_department": actor_department,
        "input": _public_input(session, case, event),
        "case": {
            "id": case.id,
            "case_no": case.case_no,
            "title": mask_text(case.title, names=[case.petitioner_name or ""]),
            "workflow": case.workflow,
            "state": case.state,
            "channel": case.channel,
            "case_type": case.case_type,
            "urgency": case.urgency,
            "confidential": bool(case.confidential or case.accused_department_id is not None),
            "department": department,
            "due_at": _iso(case.next_due_at),
            "centre_due_at": _iso(case.centre_due_at),
            "resolve_due_at": _resolve_due(session, case),
            "external": external,
            "path": f"/cases/{case.case_no}",
        },
    }


def _resolve_due(session: OrmSession, case: Case) -> str | None:
    """The case's resolve clock's due time (办结时限, ISO UTC) as of the event (a new extension included), or None
    when it is stopped, paused (its due time moves when it resumes) or absent. The clock as this flush writes it:
    a new one is in session.new; a loaded one comes back from the identity map with its changes."""
    clock = next(
        (c for c in session.new if isinstance(c, CaseClock) and c.case_id == case.id and c.name == RESOLVE_CLOCK), None
    )
    if clock is None:
        query = select(CaseClock).where(CaseClock.case_id == case.id, CaseClock.name == RESOLVE_CLOCK)  # type: ignore[arg-type]
        clock = session.scalars(query).first()
    if clock is None or clock.stopped_at is not None or clock.paused_at is not None:
        return None
    return _iso(clock.due_at)


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
        # A case's intake event is written by the transaction inserting the case: no one else sees it yet.
        if obj.action != INTAKE:
            _lock_case(session, obj.case_id, locked)
        case = session.get(Case, obj.case_id)
        if case is None:
            continue
        body = event_body(session, case, obj)
        session.add(OutboxMessage(case_id=case.id, event=obj.action, body=body, case_event=obj))  # type: ignore[arg-type]
