"""normalise petitioner phones and rebuild the search terms

Phones are now stored in one form (grievance/cases/phones.py: 138-1234-5678 -> 13812345678) and the search
index folds full-width forms (grievance/cases/search.py: ３号楼 -> 3号楼). Rows written before keep what was typed
and the old tokens, so 138-1234-5678 would not match 13812345678 and ３号楼电梯故障 would not be found by 3号楼:
this rewrites both, in batches by id, in Python (the same on SQLite and PostgreSQL). A phone that no form fits
is kept as typed. Writing search_terms updates the full-text index by itself: the FTS5 table through the trigger
cases_search_au on SQLite, the generated search_vector column on PostgreSQL (see 0001).

Downgrade changes nothing: the typed forms are gone, and the earlier code reads the new values correctly.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from grievance.cases.phones import normalize_phone
from grievance.cases.search import search_terms

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 2000

_READ = sa.text(
    "SELECT id, petitioner_phone, title, description, location, search_terms FROM cases "
    "WHERE id > :after ORDER BY id LIMIT :batch"
)
_WRITE_PHONE = sa.text("UPDATE cases SET petitioner_phone = :phone WHERE id = :id")
_WRITE_TERMS = sa.text("UPDATE cases SET search_terms = :terms WHERE id = :id")


def upgrade() -> None:
    connection = op.get_bind()
    after = 0
    while True:
        rows = connection.execute(_READ, {"after": after, "batch": BATCH}).all()
        if not rows:
            return
        phones, terms = [], []
        for row in rows:
            phone = normalize_phone(row.petitioner_phone or "")
            if phone is not None and phone != row.petitioner_phone:
                phones.append({"id": row.id, "phone": phone})
            new_terms = search_terms(row.title or "", row.description or "", row.location or "")
            if new_terms != row.search_terms:
                terms.append({"id": row.id, "terms": new_terms})
        # Only changed rows are written: most are unchanged, and each write re-indexes the row.
        if phones:
            connection.execute(_WRITE_PHONE, phones)
        if terms:
            connection.execute(_WRITE_TERMS, terms)
        after = rows[-1].id


def downgrade() -> None:
    pass
