"""throttle counters shared by every worker process

Adds `throttle_counters`: one row per throttle key (a sign-in pair of account and address, an address, an
account, a public lookup address), with its count, the start of its window, the moment until which the key is
refused (progressive delay), the moment until which a pair counts as a known address of its account, and the
moment after which the row may be pruned (indexed). The sign-in throttle (grievance.users.sign_in) and the public
lookup throttle (web.lookup_throttle) count there instead of in one process's memory or by counting
`login_attempts` rows, so their limits hold across processes and under concurrency. `login_attempts` stays as
the log of failed sign-ins (pruned after 30 days). Nothing existing changes: the counters start empty.

Downgrade drops the table (the counters are forgotten: every throttle starts afresh).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel

import grievance.db
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "throttle_counters",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", grievance.db.UTCDateTime(), nullable=False),
        sa.Column("blocked_until", grievance.db.UTCDateTime(), nullable=True),
        sa.Column("good_until", grievance.db.UTCDateTime(), nullable=True),
        sa.Column("expires_at", grievance.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_throttle_counters_expires_at", "throttle_counters", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_throttle_counters_expires_at", table_name="throttle_counters")
    op.drop_table("throttle_counters")
