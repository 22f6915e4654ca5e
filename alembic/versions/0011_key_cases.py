"""key cases: a case's key reason and lead leader, the nodes of its plan and the changes to that plan

Issue 12 (key cases under a lead leader, first slice):
- cases gain `key_reason` (a KeyReason code; NULL: not a key case), `key_note`, `lead_leader_id` (a user of role
  leader: 包案领导) and `key_marked_at`, indexed for the leader's own list and the list of every key case.
  Inspection referrals (channel inspection) are key from intake on: existing ones are marked here (reason
  inspection, marked at their received time), still without a leader.
- `case_nodes`: the nodes (节点) of a key case's plan, each run by its own case clock (`node:<seq>`).
- `node_plan_changes`: a change to a plan proposed by the department, approved or rejected by the supervisor.

Downgrade drops them all.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-14 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import grievance.db
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_FOREIGN_KEY = "cases_lead_leader_id_fkey"


def _string(length: int) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on both databases (as 0010): a batch copy of `cases` on SQLite would be refused.
    # The lead leader's foreign key as 0006 wrote the assignee's: inline on SQLite, which cannot add a constraint to
    # a table, and as the constraint PostgreSQL would name an inline one.
    op.add_column("cases", sa.Column("key_reason", _string(32), nullable=True))
    op.add_column("cases", sa.Column("key_note", _string(500), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE cases ADD COLUMN lead_leader_id INTEGER REFERENCES users (id)")
    else:
        op.add_column("cases", sa.Column("lead_leader_id", sa.Integer(), nullable=True))
        op.create_foreign_key(_FOREIGN_KEY, "cases", "users", ["lead_leader_id"], ["id"])
    op.add_column("cases", sa.Column("key_marked_at", grievance.db.UTCDateTime(), nullable=True))
    op.create_index("ix_cases_lead_leader", "cases", ["lead_leader_id", "received_at", "id"])
    op.create_index("ix_cases_key_reason", "cases", ["key_reason", "received_at", "id"])
    op.execute(
        "UPDATE cases SET key_reason = 'inspection', key_marked_at = received_at "
        "WHERE channel = 'inspection' AND key_reason IS NULL"
    )
    op.create_table(
        "case_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", _string(200), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("due_text", _string(32), nullable=False),
        sa.Column("due_at", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("evidence_required", sa.Boolean(), nullable=False),
        sa.Column("status", _string(16), nullable=False),
        sa.Column("created_at", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("completed_at", grievance.db.UTCDateTime(), nullable=True),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.Column("completion_note", sa.Text(), nullable=False),
        sa.Column("attachment_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.ForeignKeyConstraint(["completed_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "seq", name="uq_case_nodes_case_seq"),
    )
    op.create_index("ix_case_nodes_open", "case_nodes", ["status", "due_at"])
    op.create_table(
        "node_plan_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("status", _string(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("proposed_at", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", grievance.db.UTCDateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["proposed_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_node_plan_changes_case", "node_plan_changes", ["case_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_node_plan_changes_case", table_name="node_plan_changes")
    op.drop_table("node_plan_changes")
    op.drop_index("ix_case_nodes_open", table_name="case_nodes")
    op.drop_table("case_nodes")
    op.drop_index("ix_cases_key_reason", table_name="cases")
    op.drop_index("ix_cases_lead_leader", table_name="cases")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(_FOREIGN_KEY, "cases", type_="foreignkey")
    op.drop_column("cases", "key_marked_at")
    op.drop_column("cases", "lead_leader_id")
    op.drop_column("cases", "key_note")
    op.drop_column("cases", "key_reason")
