"""board indexes: the supervisor's board reads each of its sections from an index, not the whole cases table

Issue 13 (pages at a million cases): the sections "due soon" (a department's warning time, and the centre's
running clocks past theirs), "extension requested" and "supervised" filtered on columns no index covered, so
PostgreSQL and SQLite read every case for each. Four indexes; the queries (grievance/cases/listing.py) were
reshaped so that each branch of "due soon" can use its own.

Downgrade drops them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_cases_warn", "cases", ["next_warn_at", "id"]),
    ("ix_cases_pending_extension", "cases", ["pending_extension_days"]),
    ("ix_cases_supervised", "cases", ["supervised", "state"]),
    ("ix_case_clocks_owner_running", "case_clocks", ["owner", "stopped_at", "warn_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
