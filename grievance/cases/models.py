"""A case (诉求/工单), its immutable event log, its SLA clocks and its attachments."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from grievance.db import UTCDateTime, utcnow

# Cases without a running clock sort after every real due time; a sentinel instead of NULL keeps
# "ORDER BY next_due_at" index-ordered on SQLite, which cannot index NULLS LAST.
NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)

# Optimistic concurrency: every UPDATE checks and bumps it, so a stale writer gets a conflict.
_case_version = Column("version", Integer, nullable=False, default=1)

URGED = text("urge_count > 0")  # the condition of the partial index of urged cases (migration 0018)


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("created_by_id", "idempotency_key", name="uq_cases_idempotency"),
        Index("ix_cases_queue", "department_id", "next_due_at", "id"),
        Index("ix_cases_department_received", "department_id", "received_at", "id"),
        Index("ix_cases_due", "next_due_at", "id"),
        Index("ix_cases_centre_due", "centre_due_at", "id"),
        Index("ix_cases_state", "state", "received_at", "id"),  # the dispatcher's received/returned/pool lists
        Index("ix_cases_received", "received_at", "id"),
        Index("ix_cases_phone", "petitioner_phone", "received_at"),
        Index("ix_cases_meeting", "meeting_id", "received_at"),
        Index("ix_cases_station", "station_id", "received_at"),
        Index("ix_cases_enterprise", "enterprise_id", "received_at"),
        Index("ix_cases_channel", "channel", "received_at"),
        Index("ix_cases_assignee", "assignee_id", "next_due_at", "id"),  # a handler's own queue (我的)
        # A 12345 order or an Open311 request arrives once however often it is sent (issue 11).
        Index("uq_cases_external", "external_source", "external_id", unique=True),
        Index("ix_cases_lead_leader", "lead_leader_id", "received_at", "id"),  # a leader's own key cases (我包案的件)
        Index("ix_cases_key_reason", "key_reason", "received_at", "id"),  # every key case (key=true)
        # The board's sections (migration 0014): due soon, extension requested, supervised.
        Index("ix_cases_warn", "next_warn_at", "id"),
        Index("ix_cases_pending_extension", "pending_extension_days"),
        Index("ix_cases_supervised", "supervised", "state"),
        Index("ix_cases_duplicate_of", "duplicate_of_id"),  # the duplicates merged into a case (migration 0015)
        Index("ix_cases_department_state", "department_id", "state"),  # a department's open cases (migration 0017)
        # The board's urges per department: only the cases ever urged (migration 0018).
        Index("ix_cases_urged", "state", "department_id", postgresql_where=URGED, sqlite_where=URGED),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_no: str = Field(max_length=32, unique=True)
    query_code: str = Field(max_length=32, unique=True)
    workflow: str = Field(max_length=32)
    state: str = Field(max_length=32)
    version: int = Field(default=1, sa_column=_case_version)
    state_changed_at: datetime = Field(sa_type=UTCDateTime)

    channel: str = Field(max_length=16)
    case_type: str = Field(max_length=16)
    urgency: str = Field(default="normal", max_length=16)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=Text)
    location: str = Field(default="", max_length=200)

    petitioner_name: str = Field(default="", max_length=100)
    petitioner_phone: str = Field(default="", max_length=32)
    petitioner_id_no: str = Field(default="", max_length=32)
    petitioner_kind: str = Field(default="resident", max_length=16)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprises.id")
    meeting_id: int | None = Field(default=None, foreign_key="meetings.id")
    station_id: int | None = Field(default=None, foreign_key="stations.id")
    category_id: int | None = Field(default=None, foreign_key="categories.id", index=True)

    department_id: int | None = Field(default=None, foreign_key="departments.id")
    # The department's handler (承办人) who works the case; set by the effect assign_handler, cleared whenever the
    # case changes department (grievance/workflow/effects.py). NULL: not assigned to a person (未分配).
    assignee_id: int | None = Field(default=None, foreign_key="users.id")
    # For reports (举报): the accused department never sees the case nor who raised it.
    accused_department_id: int | None = Field(default=None, foreign_key="departments.id")
    confidential: bool = False

    received_at: datetime = Field(sa_type=UTCDateTime)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reopened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    dispatch_count: int = 0
    urge_count: int = 0
    supervised: bool = False
    outcome: str | None = Field(default=None, max_length=32)
    reply: str = Field(default="", sa_type=Text)
    callback_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    callback_reached: bool | None = None
    callback_solved: bool | None = None
    satisfaction: str | None = Field(default=None, max_length=32)
    pending_extension_days: int | None = None
    pending_extension_reason: str = Field(default="", max_length=500)
    duplicate_of_id: int | None = Field(default=None, foreign_key="cases.id")

    # The earliest due (and warning) time of the department's running clocks, and of the centre's.
    next_due_at: datetime = Field(default=NO_DUE, sa_type=UTCDateTime)
    next_warn_at: datetime = Field(default=NO_DUE, sa_type=UTCDateTime)
    centre_due_at: datetime = Field(default=NO_DUE, sa_type=UTCDateTime)

    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    idempotency_key: str | None = Field(default=None, max_length=128)
    # A case that came from another system: its source ("12345", "open311"), that system's id (the 12345 order
    # number, the Open311 token) and the due time that system set (the 12345 platform's own deadline).
    external_source: str | None = Field(default=None, max_length=16)
    external_id: str | None = Field(default=None, max_length=64)
    external_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # SHA-256 of the request first sent with idempotency_key (migration 0009): the same key with another request
    # is refused. NULL for cases logged before it.
    idempotency_sha256: str | None = Field(default=None, max_length=64)
    # Key cases (重点件, grievance/keycases): why the case is key (a KeyReason code; NULL: not key), a note (required
    # for "other"), its lead leader (包案领导: a user of role leader) and when it was marked. An inspection referral
    # is key from intake on (cases/intake.new_case) and waits for its leader.
    key_reason: str | None = Field(default=None, max_length=32)
    # NULL rather than "" when there is none: a column default would be written by every insert of a Case row,
    # also into a database migrated only up to an older revision (the migration tests insert such rows).
    key_note: str | None = Field(default=None, max_length=500)
    lead_leader_id: int | None = Field(default=None, foreign_key="users.id")
    key_marked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Space-separated search tokens (Chinese bigrams, words); indexed by FTS5 (SQLite) or a generated
    # tsvector column with a GIN index (PostgreSQL), both made by the migration.
    search_terms: str = Field(default="", sa_type=Text)

    __mapper_args__ = {"version_id_col": _case_version}


class CaseEvent(SQLModel, table=True):
    """One action on a case. Rows are only ever inserted: the timeline is the case's history."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case", "case_id", "id"), Index("ix_case_events_action", "action", "at"))

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    action: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str = Field(max_length=32)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CaseClock(SQLModel, table=True):
    """An SLA clock of a case (accept, respond, resolve, callback...), as its workflow defines them."""

    __tablename__ = "case_clocks"
    __table_args__ = (
        UniqueConstraint("case_id", "name", name="uq_case_clocks_case_name"),
        Index("ix_case_clocks_running", "name", "stopped_at", "due_at"),
        Index("ix_case_clocks_owner_running", "owner", "stopped_at", "warn_at"),  # the centre's clocks due soon
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    name: str = Field(max_length=32)
    limit_text: str = Field(max_length=32)  # e.g. "15 working_days", shown to people
    owner: str = Field(default="department", max_length=16)  # department or centre, from the workflow
    started_at: datetime = Field(sa_type=UTCDateTime)
    base_due_at: datetime = Field(sa_type=UTCDateTime)  # before extensions and pauses
    due_at: datetime = Field(sa_type=UTCDateTime)
    warn_at: datetime = Field(sa_type=UTCDateTime)
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    remaining_seconds: float | None = None  # working (or wall) seconds left when paused
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    extended_days: int = 0
    # The sweeper's marks (automatic supervision): set when it urged this round of the clock at its warning
    # time and when it recorded the clock overdue; a clock that starts again clears them.
    auto_urged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    overdue_noted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaseState(SQLModel, table=True):
    """What a case looked like from `valid_from` until `valid_to` (the next action; NULL while current): the
    facts every rate counts, written with each action. A report as of any moment reads, for each case, the one
    row valid then, so it needs no replay of events and regenerates identically later."""

    __tablename__ = "case_states"
    __table_args__ = (
        Index("ix_case_states_case", "case_id", "valid_from"),
        Index("ix_case_states_current", "case_id", "valid_to"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_to: datetime | None = Field(default=None, sa_type=UTCDateTime)
    state: str = Field(max_length=32)
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    merged: bool = False
    responded: bool = False
    responded_on_time: bool = False  # the respond clock stopped by its due time
    resolved: bool = False  # resolved (or answered on the spot) and not reopened since
    resolved_on_time: bool = False  # the resolve clock's last round stopped by its due time (extensions included)
    reopened: bool = False  # ever reopened
    outcome: str | None = Field(default=None, max_length=32)  # of the last resolution
    callback_reached: bool = False  # a callback after the last resolution reached the petitioner
    reached: bool = False  # the latest callback reached the petitioner
    solved: bool | None = None  # ... and said solved
    satisfaction: str | None = Field(default=None, max_length=32)  # ... and how satisfied
    late: bool = False  # a clock stopped after its due time, or was paused past it
    next_due_at: datetime = Field(default=NO_DUE, sa_type=UTCDateTime)  # earliest due of the running clocks


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="case_events.id")
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    uploaded_by_id: int | None = Field(default=None, foreign_key="users.id")
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CaseNumberCounter(SQLModel, table=True):
    """The last case number issued in a year (GX-2025-000123), incremented in the intake transaction."""

    __tablename__ = "case_number_counters"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0


class AuditEntry(SQLModel, table=True):
    """Who viewed a confidential case or exported data, and when (信访工作条例 confidentiality)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        # The administrator's audit log filtered by person or by action, newest first (grievance/audit.py, 0016).
        Index("ix_audit_log_user", "user_id", "at", "id"),
        Index("ix_audit_log_action", "action", "at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id")
    action: str = Field(max_length=32)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    detail: str = Field(default="", max_length=500)


class CalendarOverride(SQLModel, table=True):
    """A local exception to the statutory calendar: a day off or an extra working day."""

    __tablename__ = "calendar_overrides"

    day: date = Field(primary_key=True)
    is_workday: bool
    note: str = Field(default="", max_length=200)
