"""idempotency request hash: what an Idempotency-Key was first used for

Cases gain `idempotency_sha256`: the SHA-256 (hex) of the intake request a client sent with its Idempotency-Key
(the case fields as validated, and each attachment's name and content hash). A retry with the same key and the
same request gets the first case back; the same key with another request is refused with 422
idempotency_key_reused instead of silently answering with a case the client did not ask for. Cases logged before
this migration keep NULL: their key still returns their case, as before.

Downgrade drops the column.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("idempotency_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "idempotency_sha256")
