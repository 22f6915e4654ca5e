"""report history: the department after each event, each clock's changes, when an enterprise was recorded

Reports are computed as of any moment, so they need what was true then: which department held a case
(case_events.department_id), what each clock's due time was (case_clock_changes) and which large
enterprises the zone knew (enterprises.created_at). Existing rows are filled from the current values.

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
        "case_clock_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("at", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("due_at", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("paused_at", grievance.db.UTCDateTime(), nullable=True),
        sa.Column("stopped_at", grievance.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_clock_changes_case", "case_clock_changes", ["case_id", "name", "id"])
    # Clocks that exist already: one change at their start, with what they look like now.
    op.execute(
        "INSERT INTO case_clock_changes (case_id, name, at, due_at, paused_at, stopped_at) "
        "SELECT case_id, name, started_at, due_at, paused_at, stopped_at FROM case_clocks ORDER BY id"
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
    op.drop_index("ix_case_clock_changes_case", table_name="case_clock_changes")
    op.drop_table("case_clock_changes")
