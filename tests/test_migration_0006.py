"""Migration 0006 gives cases an assignee (a user, indexed for a handler's own queue) without touching the rows
already there or the full-text index on the cases table, and undoes cleanly, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import insert, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from grievance.cases import search
from grievance.cases.models import Case
from grievance.migrations import upgrade
from tests.test_migration_0004 import a_case
from tests.test_migrations import downgrade, full_text_present, scratch_engine  # noqa: F401 (a fixture)


def columns(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return {c["name"] for c in inspect(connection).get_columns("cases")}


def test_0006_adds_the_assignee_to_existing_cases_and_undoes_cleanly(scratch_engine: Engine) -> None:  # noqa: F811
    upgrade(scratch_engine, "0005")
    row = a_case(1, title="路灯不亮")
    row["search_terms"] = search.search_terms("路灯不亮", "", "")
    with scratch_engine.begin() as connection:
        connection.execute(insert(Case.__table__), [row])  # type: ignore[arg-type]

    upgrade(scratch_engine)
    with scratch_engine.connect() as connection:
        found = inspect(connection)
        keys = [(k["constrained_columns"], k["referred_table"]) for k in found.get_foreign_keys("cases")]
        assert (["assignee_id"], "users") in keys
        indexes = {i["name"]: i["column_names"] for i in found.get_indexes("cases")}
        assert indexes["ix_cases_assignee"] == ["assignee_id", "next_due_at", "id"]
        assert full_text_present(connection)
    with Session(scratch_engine) as session:
        case = session.exec(select(Case)).one()
        assert case.assignee_id is None and case.title == "路灯不亮"
        assert session.exec(select(Case.title).where(search.matches(session, "路灯"))).all() == ["路灯不亮"]

    downgrade(scratch_engine, "0005")
    assert "assignee_id" not in columns(scratch_engine)
    with scratch_engine.connect() as connection:
        assert full_text_present(connection)
        assert connection.execute(text("SELECT title FROM cases")).scalars().all() == ["路灯不亮"]
    upgrade(scratch_engine)
    assert "assignee_id" in columns(scratch_engine)
