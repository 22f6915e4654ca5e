"""audit_log indexes: the administrator's audit log filtered by person or by action reads an index

The audit log page and GET /api/v1/admin/audit (grievance/audit.py) list entries newest first, one page at a time,
filtered by person, action, case and local days. `at` and `case_id` were indexed (0001); a filter by person or by
action read the whole table (or walked ix_audit_log_at over every newer entry of others) on each page. Two
indexes in keyset order, (user_id, at, id) and (action, at, id), so each page is one index range.

Downgrade drops them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_audit_log_user", "audit_log", ["user_id", "at", "id"]),
    ("ix_audit_log_action", "audit_log", ["action", "at", "id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
