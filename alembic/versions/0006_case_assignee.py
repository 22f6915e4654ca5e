"""a case's assignee: the department handler who works it

Cases gain `assignee_id` (the user, a handler of the case's department, set by the workflow action `assign`
through the effect assign_handler; NULL: not assigned to a person), with the index a handler's own queue reads
(assignee_id, next_due_at, id). Existing cases stay unassigned, as they were. The foreign key is written inline
(ALTER TABLE ... ADD COLUMN ... REFERENCES) on SQLite, which cannot add a constraint to a table, and as a named
constraint on PostgreSQL, the name PostgreSQL itself gives an inline one.

Downgrade drops the index and the column (the assignments are lost; the events that made them stay).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_FOREIGN_KEY = "cases_assignee_id_fkey"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE cases ADD COLUMN assignee_id INTEGER REFERENCES users (id)")
    else:
        op.add_column("cases", sa.Column("assignee_id", sa.Integer(), nullable=True))
        op.create_foreign_key(_FOREIGN_KEY, "cases", "users", ["assignee_id"], ["id"])
    op.create_index("ix_cases_assignee", "cases", ["assignee_id", "next_due_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_cases_assignee", table_name="cases")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(_FOREIGN_KEY, "cases", type_="foreignkey")
    op.drop_column("cases", "assignee_id")
