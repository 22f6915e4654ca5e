"""department-and-state index: a department's open cases counted without reading all it ever had

Issue 13 (pages at a million cases): the work queue counts the department's open cases per handler
(assignment.department_workload: department_id = ? AND state IN (...) GROUP BY assignee_id). With only
(department_id, received_at) and (state, ...) to use, PostgreSQL ANDed a bitmap of every case the department ever
led (~280,000 at a million cases) with the open states: 86 ms; from this index it reads the ~6,000 open ones, 14 ms.

Downgrade drops it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 14:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_department_state", "cases", ["department_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_cases_department_state", table_name="cases")
