"""case parts: the assisting departments (协办) of a case, each with its own part to accept, work and report

Issue 12 (lead and assisting departments): a case's lead department (主办) stays `cases.department_id`; every
assisting department gets a row of `case_parts` (status dispatched, accepted, reported, waived or withdrawn), run by
its own case clock (`part:<seq>`). Indexed for the open parts of a department (its queue) and the parts of a case.

Downgrade drops the table.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-21 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import grievance.db
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _string(length: int) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "case_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("status", _string(16), nullable=False),
        sa.Column("dispatched_at", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("dispatched_by_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", grievance.db.UTCDateTime(), nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", grievance.db.UTCDateTime(), nullable=True),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("report_note", sa.Text(), nullable=False),
        sa.Column("attachment_ids", sa.JSON(), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("closed_at", grievance.db.UTCDateTime(), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.ForeignKeyConstraint(["dispatched_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["accepted_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["reported_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "seq", name="uq_case_parts_case_seq"),
    )
    op.create_index("ix_case_parts_department", "case_parts", ["department_id", "status", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_parts_department", table_name="case_parts")
    op.drop_table("case_parts")
