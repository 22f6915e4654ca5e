"""overdue clocks stay running when a case is suspended

A clock already past its due time is no longer paused by a suspension (grievance/workflow/clocks.py): the time
is missed, so the case stays in the overdue list, as the reports already count it, and an extension can no
longer be approved after the due time by suspending first. Clocks that older code paused at or after their due
time are set running again, and their cases' due columns (next_due_at, next_warn_at, centre_due_at: the earliest
due time of the running department and centre clocks) are recomputed, in Python, the same on SQLite and
PostgreSQL. The report history (case_states) already counts these cases late and needs no change.

Downgrade changes nothing: the earlier code reads running clocks correctly.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from grievance.cases.models import NO_DUE
from grievance.db import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_PAUSED_PAST_DUE = "stopped_at IS NULL AND paused_at IS NOT NULL AND paused_at >= due_at"
_CASES = sa.text(f"SELECT DISTINCT case_id FROM case_clocks WHERE {_PAUSED_PAST_DUE}")
_RESUME = sa.text(f"UPDATE case_clocks SET paused_at = NULL, remaining_seconds = NULL WHERE {_PAUSED_PAST_DUE}")
_RUNNING = sa.text(
    "SELECT owner, due_at, warn_at FROM case_clocks WHERE case_id = :case_id "
    "AND stopped_at IS NULL AND paused_at IS NULL"
).columns(sa.column("owner", sa.String), sa.column("due_at", UTCDateTime), sa.column("warn_at", UTCDateTime))
_WRITE = sa.text(
    "UPDATE cases SET next_due_at = :next_due_at, next_warn_at = :next_warn_at, centre_due_at = :centre_due_at "
    "WHERE id = :case_id"
).bindparams(
    sa.bindparam("next_due_at", type_=UTCDateTime),
    sa.bindparam("next_warn_at", type_=UTCDateTime),
    sa.bindparam("centre_due_at", type_=UTCDateTime),
)


def upgrade() -> None:
    connection = op.get_bind()
    case_ids = list(connection.execute(_CASES).scalars())
    if not case_ids:
        return
    connection.execute(_RESUME)
    for case_id in case_ids:
        running = connection.execute(_RUNNING, {"case_id": case_id}).all()
        department = [c for c in running if c.owner != "centre"]
        connection.execute(
            _WRITE,
            {
                "case_id": case_id,
                "next_due_at": min((c.due_at for c in department), default=NO_DUE),
                "next_warn_at": min((c.warn_at for c in department), default=NO_DUE),
                "centre_due_at": min((c.due_at for c in running if c.owner == "centre"), default=NO_DUE),
            },
        )


def downgrade() -> None:
    pass
