"""report history: each case's facts between two actions, the department after each event, when an
enterprise was recorded

Reports are computed as of any moment, so they need what was true then: the facts every rate counts
(case_states, one row per action with its validity), which department held a case after each event
(case_events.department_id) and which large enterprises the zone knew (enterprises.created_at). Existing rows
are filled from the current values.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 18:13:41.940992
"""

import sqlalchemy as sa
import sqlmodel

import grievance.db
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    # Cases that exist already: one row from their intake on, with what they look like now.
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

    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_case_events_department_id", "departments", ["department_id"], ["id"])
    op.execute(
        "UPDATE case_events SET department_id = (SELECT cases.department_id FROM cases "
        "WHERE cases.id = case_events.case_id)"
    )

    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_at", grievance.db.UTCDateTime(), nullable=True))
    utc_now = "CURRENT_TIMESTAMP" if op.get_bind().dialect.name == "sqlite" else "(now() AT TIME ZONE 'UTC')"
    op.execute(f"UPDATE enterprises SET created_at = {utc_now}")
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.alter_column("created_at", existing_type=grievance.db.UTCDateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_column("created_at")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_case_events_department_id", type_="foreignkey")
        batch_op.drop_column("department_id")
    op.drop_index("ix_case_states_current", table_name="case_states")
    op.drop_index("ix_case_states_case", table_name="case_states")
    op.drop_table("case_states")
