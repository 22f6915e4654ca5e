"""The outbox's tables: a message per live case event, the subscriptions that want them, and one delivery per
(message, subscription) with its attempts, so nothing leaves the service unrecorded or twice at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlalchemy.orm import relationship
from sqlmodel import Field, Relationship, SQLModel

from grievance.cases.models import CaseEvent
from grievance.db import UTCDateTime, utcnow


class OutboxMessage(SQLModel, table=True):
    """One live case event on its way out, written in the event's own transaction (grievance/outbox/writer.py).
    `body` is the event JSON as it was at that moment (no personal data); the worker fans it out to the
    matching subscriptions and sets `fanned_out_at`."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_pending", "fanned_out_at", "id"),
        Index("ix_outbox_messages_case", "case_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    event_id: int | None = Field(default=None, foreign_key="case_events.id")
    event: str = Field(max_length=32)  # the event's action: dispatch, accept, auto_urge, overdue, ...
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fanned_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set with the event object before its INSERT; the unit of work then writes the event first and fills event_id.
    case_event: CaseEvent | None = Relationship(sa_relationship=relationship(CaseEvent))


class Subscription(SQLModel, table=True):
    """Where events go: a URL, its secret (HMAC key, DingTalk signing secret), which events and departments,
    and the body format (json, dingtalk, wecom, hotline12345)."""

    __tablename__ = "subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    url: str = Field(sa_type=Text)
    secret: str = Field(default="", max_length=200)
    format: str = Field(max_length=16)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [] = every event
    department_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [] = all
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")


class Delivery(SQLModel, table=True):
    """One message for one subscription: pending until the receiver answers 2xx (delivered), retried with
    exponential backoff, dead after the configured number of attempts (the admin may send it again)."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "subscription_id", name="uq_outbox_deliveries_message_subscription"),
        Index("ix_outbox_deliveries_due", "status", "next_attempt_at", "id"),
        Index("ix_outbox_deliveries_order", "subscription_id", "case_id", "message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="outbox_messages.id")
    subscription_id: int = Field(foreign_key="subscriptions.id")
    case_id: int = Field(foreign_key="cases.id")
    status: str = Field(default="pending", max_length=16)  # pending, delivered, dead
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str = Field(default="", max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
