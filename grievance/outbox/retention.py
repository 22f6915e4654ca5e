"""How long the outbox keeps what it has sent: a message whose every delivery went out (or that no subscription
wanted) is deleted with its deliveries once it is older than settings.outbox_retention_days, so the outbox tables
stay bounded by recent traffic. Dead and pending deliveries are never pruned: they are the admin's to resend.

The case's own record is the event (case_events), which is never pruned; an outbox message is only a copy on its
way out."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from grievance.db import transaction
from grievance.outbox.models import Delivery, OutboxMessage

PRUNE_BATCH = 500  # messages per transaction: a long prune never holds the write lock for long


def prunable_messages(session: Session, *, before: datetime, limit: int) -> list[int]:
    """Ids (ascending, at most `limit`) of messages fanned out before `before` (UTC) with no delivery still
    pending or dead."""
    unfinished = exists().where(
        col(Delivery.message_id) == col(OutboxMessage.id), col(Delivery.status).in_(("pending", "dead"))
    )
    query = (
        select(OutboxMessage.id)
        .where(col(OutboxMessage.fanned_out_at).is_not(None), col(OutboxMessage.fanned_out_at) < before, ~unfinished)
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    return [int(i) for i in session.exec(query).all() if i is not None]


def prune_sent(sessions: sessionmaker[Session], *, now: datetime, retention_days: int, batch: int = PRUNE_BATCH) -> int:
    """Delete the messages `prunable_messages` finds older than `retention_days` days before `now` (UTC), with
    their delivered and skipped deliveries, `batch` messages per transaction; returns how many messages went.

    Raises ValueError if retention_days < 1 (the CLI and Settings refuse that first)."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    before = now - timedelta(days=retention_days)
    total = 0
    while True:
        with transaction(sessions) as session:
            ids = prunable_messages(session, before=before, limit=batch)
            if ids:
                # Again under the delete: a dead delivery resent meanwhile is pending and keeps its message.
                session.exec(  # type: ignore[call-overload]
                    delete(Delivery).where(
                        col(Delivery.message_id).in_(ids), col(Delivery.status).in_(("delivered", "skipped"))
                    )
                )
                still = select(Delivery.message_id).where(col(Delivery.message_id).in_(ids))
                session.exec(  # type: ignore[call-overload]
                    delete(OutboxMessage).where(col(OutboxMessage.id).in_(ids), col(OutboxMessage.id).not_in(still))
                )
        total += len(ids)
        if len(ids) < batch:
            return total
