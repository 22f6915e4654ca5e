"""integrations: the outbox, subscriptions, Open311 keys, external orders, the sweeper's marks

Issue 11 opens the service to the systems around the office:
- `outbox_messages`: one row per live case event, written in the event's transaction; `subscriptions` (URL,
  secret, events, departments, format); `outbox_deliveries`: one per (message, subscription), with attempts.
- `open311_api_keys`: hashed keys for Open311 GeoReport v2 clients.
- cases gain `external_source`, `external_id` (unique together: a 12345 order arrives once) and
  `external_due_at` (the 12345 platform's own deadline).
- case_clocks gain `auto_urged_at` and `overdue_noted_at`: the automatic supervision's once-per-clock marks.
  Clocks already past their warning or due time are not marked: the first sweep urges and records them.
- categories gain `accepts_public_requests` (true: every leaf category is an Open311 service until withdrawn).

Downgrade drops them all.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import grievance.db
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _string(length: int) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("event", _string(32), nullable=False),
        sa.Column("created_at", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("fanned_out_at", grievance.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["case_events.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_messages_pending", "outbox_messages", ["fanned_out_at", "id"], unique=False)
    op.create_index("ix_outbox_messages_case", "outbox_messages", ["case_id", "id"], unique=False)
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _string(100), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", _string(200), nullable=False),
        sa.Column("format", _string(16), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("department_ids", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "outbox_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("status", _string(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", grievance.db.UTCDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", _string(500), nullable=False),
        sa.Column("delivered_at", grievance.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", grievance.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["outbox_messages.id"]),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", "subscription_id", name="uq_outbox_deliveries_message_subscription"),
    )
    op.create_index("ix_outbox_deliveries_due", "outbox_deliveries", ["status", "next_attempt_at", "id"])
    op.create_index("ix_outbox_deliveries_order", "outbox_deliveries", ["subscription_id", "case_id", "message_id"])
    op.create_table(
        "open311_api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _string(100), nullable=False),
        sa.Column("key_prefix", _string(12), nullable=False),
        sa.Column("key_sha256", _string(64), nullable=False),
        sa.Column("created_at", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", grievance.db.UTCDateTime(), nullable=True),
        sa.Column("last_used_at", grievance.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_sha256"),
    )
    # Plain ALTER TABLE ADD/DROP COLUMN on both databases: a batch copy of `cases` on SQLite would be refused
    # (other tables point at it) and would rewrite the foreign keys earlier migrations added.
    op.add_column("cases", sa.Column("external_source", _string(16), nullable=True))
    op.add_column("cases", sa.Column("external_id", _string(64), nullable=True))
    op.add_column("cases", sa.Column("external_due_at", grievance.db.UTCDateTime(), nullable=True))
    op.create_index("uq_cases_external", "cases", ["external_source", "external_id"], unique=True)
    op.add_column("case_clocks", sa.Column("auto_urged_at", grievance.db.UTCDateTime(), nullable=True))
    op.add_column("case_clocks", sa.Column("overdue_noted_at", grievance.db.UTCDateTime(), nullable=True))
    op.add_column(
        "categories", sa.Column("accepts_public_requests", sa.Boolean(), nullable=False, server_default=sa.true())
    )


def downgrade() -> None:
    op.drop_column("categories", "accepts_public_requests")
    op.drop_column("case_clocks", "overdue_noted_at")
    op.drop_column("case_clocks", "auto_urged_at")
    op.drop_index("uq_cases_external", table_name="cases")
    op.drop_column("cases", "external_due_at")
    op.drop_column("cases", "external_id")
    op.drop_column("cases", "external_source")
    op.drop_table("open311_api_keys")
    op.drop_index("ix_outbox_deliveries_order", table_name="outbox_deliveries")
    op.drop_index("ix_outbox_deliveries_due", table_name="outbox_deliveries")
    op.drop_table("outbox_deliveries")
    op.drop_table("subscriptions")
    op.drop_index("ix_outbox_messages_case", table_name="outbox_messages")
    op.drop_index("ix_outbox_messages_pending", table_name="outbox_messages")
    op.drop_table("outbox_messages")
