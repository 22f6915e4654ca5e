"""published months: a month's report frozen as the official record (发布月报), with its corrections

Issue 13 (published months): a supervisor publishes an assessment month's report; its document (the JSON of the
monthly report), the month's own figures and their as_of are stored, one row per version. A correction is a new
version with a reason; the highest version of a month is the official one. Unique (month, version).

Downgrade drops the table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-28 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import grievance.db
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _string(length: int) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "published_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", _string(7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("as_of", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("published_at", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("content_hash", _string(64), nullable=False),
        sa.ForeignKeyConstraint(["published_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("month", "version", name="uq_published_months_month_version"),
    )


def downgrade() -> None:
    op.drop_table("published_months")
