"""repair report history: bring a database migrated by an earlier text of 0002 to the shape 0002 has now

Migration 0002 was rewritten twice after it had landed, so a database created by an earlier text records revision
0002 (and every later one) but lacks what the current text builds, and fails on every report and write with
"no such table: case_states". The shapes that exist in the wild:

- 0002 as of commit d79c188: `case_clock_changes` (each clock's changes) and `case_events.department_id`, no
  `case_states`;
- 0002 as of commit a42ecc7: `case_states` and `case_events.department_id`;
- 0002 today (commit eec4f9b on): `case_states` only.

This migration inspects the database and does only what is missing, so it is a no-op on a correct one:
`case_states` is created with its two indexes and filled with one row per case from the case's current facts
(the same statement as 0002 today); `case_clock_changes` (read by nothing since a42ecc7) is dropped;
`case_events.department_id` (read by nothing since eec4f9b: reports read `case_states.department_id`) is
dropped. On SQLite the column goes by rebuilding `case_events`; foreign keys are enforced inside the migration's
transaction, so the attachments that point at an event are unlinked for the rebuild and linked again after it.

Downgrade does nothing: the earlier shapes were mistakes, and 0002's downgrade removes `case_states`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import grievance.db
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    found = sa.inspect(op.get_bind())
    tables = set(found.get_table_names())
    if "case_states" not in tables:
        _create_case_states()
    if "case_clock_changes" in tables:
        op.drop_table("case_clock_changes")  # its index goes with it
    if "department_id" in {column["name"] for column in found.get_columns("case_events")}:
        _drop_event_department(found)


def downgrade() -> None:
    pass


def _create_case_states() -> None:
    """case_states as 0002 creates it today, one row per existing case from what it looks like now."""
    op.create_table(
        "case_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("valid_to", grievance.db.UTCDateTime(), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("merged", sa.Boolean(), nullable=False),
        sa.Column("responded", sa.Boolean(), nullable=False),
        sa.Column("responded_on_time", sa.Boolean(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("resolved_on_time", sa.Boolean(), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("callback_reached", sa.Boolean(), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("solved", sa.Boolean(), nullable=True),
        sa.Column("satisfaction", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("next_due_at", grievance.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_states_case", "case_states", ["case_id", "valid_from"])
    op.create_index("ix_case_states_current", "case_states", ["case_id", "valid_to"])
    clock = "SELECT 1 FROM case_clocks k WHERE k.case_id = c.id"
    on_time = "k.stopped_at IS NOT NULL AND k.stopped_at <= k.due_at"
    op.execute(
        "INSERT INTO case_states (case_id, valid_from, valid_to, state, department_id, merged, responded, "
        "responded_on_time, resolved, resolved_on_time, reopened, outcome, callback_reached, reached, solved, "
        "satisfaction, late, next_due_at) "
        "SELECT c.id, c.received_at, NULL, c.state, c.department_id, c.state = 'merged', "
        "c.responded_at IS NOT NULL, "
        f"c.responded_at IS NOT NULL AND EXISTS ({clock} AND k.name = 'respond' AND {on_time}), "
        "c.resolved_at IS NOT NULL, "
        f"c.resolved_at IS NOT NULL AND EXISTS ({clock} AND k.name = 'resolve' AND {on_time}), "
        "c.reopened_at IS NOT NULL, CASE WHEN c.resolved_at IS NOT NULL THEN c.outcome END, "
        "c.resolved_at IS NOT NULL AND c.callback_reached IS TRUE, c.callback_reached IS TRUE, c.callback_solved, "
        "c.satisfaction, "
        f"EXISTS ({clock} AND (k.stopped_at > k.due_at OR (k.stopped_at IS NULL AND k.paused_at >= k.due_at))), "
        "CASE WHEN c.next_due_at < c.centre_due_at THEN c.next_due_at ELSE c.centre_due_at END "
        "FROM cases c ORDER BY c.id"
    )


def _drop_event_department(found: sa.engine.reflection.Inspector) -> None:
    keys = [k["name"] for k in found.get_foreign_keys("case_events") if k["constrained_columns"] == ["department_id"]]
    if op.get_bind().dialect.name != "sqlite":
        op.drop_column("case_events", "department_id")  # PostgreSQL drops the foreign key with it
        return
    # SQLite rebuilds the table; the attachments that reference an event would block dropping the old copy.
    op.execute(
        "CREATE TEMPORARY TABLE repair_0008_links AS SELECT id, event_id FROM attachments WHERE event_id IS NOT NULL"
    )
    op.execute("UPDATE attachments SET event_id = NULL WHERE event_id IS NOT NULL")
    with op.batch_alter_table("case_events", schema=None, recreate="always") as batch_op:
        for name in keys:
            if name:
                batch_op.drop_constraint(name, type_="foreignkey")
        batch_op.drop_column("department_id")
    op.execute(
        "UPDATE attachments SET event_id = (SELECT l.event_id FROM repair_0008_links l WHERE l.id = attachments.id) "
        "WHERE id IN (SELECT id FROM repair_0008_links)"
    )
    op.execute("DROP TABLE repair_0008_links")
