"""Migration 0004 brings rows written before one form for phones and text in line with new ones: stored phones are
normalised (an unrecognisable one is kept as typed) and search_terms are rebuilt, full-text index included, in
batches, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from grievance.cases import search
from grievance.cases.models import Case
from grievance.migrations import alembic_config, upgrade
from tests.test_migrations import downgrade, scratch_engine  # noqa: F401 (a fixture)

REVISION = "0004"
AT = datetime(2025, 3, 5, 2, 0, tzinfo=UTC)
BATCH = 2000  # the migration's batch size: the rows below span more than one batch


def tokens_before_0004(value: str) -> str:
    """search_terms as the code before 0004 wrote them: no NFKC, so full-width digits and letters were dropped."""
    out: dict[str, None] = {}
    for run in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9A-Za-z]+", value):
        if run[0].isascii():
            out["w" + run.lower()] = None
        elif len(run) == 1:
            out["c" + f"{ord(run):05x}"] = None
        else:
            for i in range(len(run) - 1):
                out["c" + "".join(f"{ord(ch):05x}" for ch in run[i : i + 2])] = None
    return " ".join(out)


def a_case(n: int, **values: Any) -> dict[str, Any]:
    row = {
        "case_no": f"GX-2025-{n:06d}",
        "query_code": f"q{n:08d}",
        "workflow": "standard",
        "state": "received",
        "state_changed_at": AT,
        "channel": "walk_in",
        "case_type": "help",
        "title": f"路灯不亮{n}",
        "received_at": AT,
        "occurred_at": AT,
        "petitioner_phone": "",
        "description": "",
        "location": "",
    }
    row.update(values)
    row["search_terms"] = tokens_before_0004(f"{row['title']} {row['description']}")  # no location
    return row


# (typed before 0004, stored after), title
OLD_ROWS = [
    ("138-1234-5678", "13812345678", "３号楼电梯故障"),
    ("+86 138 1234 5678", "13812345678", "ＡＢ栋地下车库积水"),
    ("(0710)1234567", "0710-1234567", "小区停水"),
    ("0710-1234567-123", "0710-1234567转123", "噪音扰民"),
    ("13812345678", "13812345678", "井盖缺失"),
    ("12-34", "12-34", "别的事"),  # no phone number: kept as typed
]


def found(session: Session, query: str) -> list[str]:
    return list(session.exec(select(Case.title).where(search.matches(session, query)).order_by(col(Case.id))).all())


def test_0004_normalises_old_phones_and_rebuilds_the_search_index(scratch_engine: Engine) -> None:  # noqa: F811
    upgrade(scratch_engine)
    rows = [a_case(i + 1, petitioner_phone=typed, title=title) for i, (typed, _, title) in enumerate(OLD_ROWS)]
    # More than one batch: the last old row comes after them, and a ledger case without its location in the terms.
    rows += [a_case(n) for n in range(len(rows) + 1, BATCH + 10)]
    rows.append(a_case(BATCH + 10, petitioner_phone="138 0000 1111", title="５号楼漏水", location="青桐路"))
    with scratch_engine.begin() as connection:
        connection.execute(insert(Case.__table__), rows)  # type: ignore[arg-type]

    before = ScriptDirectory.from_config(alembic_config()).get_revision(REVISION).down_revision
    downgrade(scratch_engine, str(before))
    with Session(scratch_engine) as session:  # as 0003 left them: typed phones, old tokens
        assert found(session, "3号楼") == [] and found(session, "AB栋") == [] and found(session, "青桐路") == []
        assert (
            session.exec(select(Case.id).where(Case.petitioner_phone == "13812345678")).all() != []
        )  # columns of 0003 only

    upgrade(scratch_engine)
    with Session(scratch_engine) as session:
        phones = dict(session.exec(select(Case.title, Case.petitioner_phone).where(Case.petitioner_phone != "")).all())
        assert phones == {title: stored for _, stored, title in OLD_ROWS} | {"５号楼漏水": "13800001111"}
        mobile = session.exec(select(Case.title).where(Case.petitioner_phone == "13812345678").order_by(col(Case.id)))
        assert list(mobile) == ["３号楼电梯故障", "ＡＢ栋地下车库积水", "井盖缺失"]
        for query, titles in (
            ("3号楼", ["３号楼电梯故障"]),
            ("３号楼", ["３号楼电梯故障"]),
            ("AB栋", ["ＡＢ栋地下车库积水"]),
            ("ab栋", ["ＡＢ栋地下车库积水"]),
            ("栋", ["ＡＢ栋地下车库积水"]),
            ("5号楼", ["５号楼漏水"]),
            ("青桐路", ["５号楼漏水"]),
        ):
            assert found(session, query) == titles, query
        assert len(found(session, "路灯不亮")) == BATCH + 10 - len(OLD_ROWS) - 1
        # The stored terms are exactly what new cases get.
        last = session.exec(select(Case).where(Case.title == "５号楼漏水")).one()
        assert last.search_terms == search.search_terms("５号楼漏水", "", "青桐路")
    if scratch_engine.dialect.name == "sqlite":
        with scratch_engine.connect() as connection:  # the FTS5 index agrees with its content table
            connection.execute(text("INSERT INTO case_search(case_search, rank) VALUES ('integrity-check', 1)"))
