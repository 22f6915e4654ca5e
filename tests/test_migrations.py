"""The Alembic migrations build exactly the schema the models describe, undo cleanly, and create the
full-text index that only the migrations know about."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import SQLModel

from alembic import command
from grievance.db import make_engine
from grievance.migrations import alembic_config, upgrade
from grievance.models import import_all_models

PG_ADMIN_URL = os.environ.get("GRIEVANCE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
FULL_TEXT = {"sqlite": "case_search", "postgresql": "ix_cases_search_vector"}


def schema_diffs(connection: Connection) -> tuple[list[Any], Any]:
    """Compare the database with SQLModel.metadata the way `alembic revision --autogenerate` would: through
    alembic/env.py, so its include_object filter and compare_type apply. Returns the differences and the filter."""
    import_all_models()
    config = alembic_config()
    config.attributes["connection"] = connection
    script = ScriptDirectory.from_config(config)
    found: dict[str, Any] = {}

    def compare(_rev: Any, context: Any) -> list[Any]:
        found["diffs"] = compare_metadata(context, SQLModel.metadata)
        found["include_object"] = context.opts.get("include_object")
        return []  # run no migration

    with EnvironmentContext(config, script, fn=compare):
        script.run_env()
    return found["diffs"], found["include_object"]


def full_text_present(connection: Connection) -> bool:
    if connection.dialect.name == "postgresql":
        sql = "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_cases_search_vector'"
    else:
        sql = "SELECT count(*) FROM sqlite_master WHERE name = 'case_search'"
    return bool(connection.execute(text(sql)).scalar_one())


def downgrade(engine: Engine, revision: str = "base") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@pytest.fixture
def scratch_engine(database: Any, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of the backend under test: a new SQLite file, or a throwaway PostgreSQL database."""
    if database.backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
        yield engine
        engine.dispose()
        return
    name = f"grievance_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'"))
    engine = make_engine(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_migrations_produce_exactly_the_models_schema(engine: Engine):
    with engine.connect() as connection:
        diffs, include_object = schema_diffs(connection)
        connection.rollback()
    assert diffs == []
    # The filter of env.py was in force, and it hides only the migration-only full-text objects.
    assert include_object is not None
    for name in FULL_TEXT.values():
        assert not include_object(None, name, "table", True, None)
    for table in SQLModel.metadata.tables:
        assert include_object(None, table, "table", False, None), table


def test_full_text_index_exists_after_upgrade(engine: Engine, database: Any):
    with engine.connect() as connection:
        assert full_text_present(connection), FULL_TEXT[database.backend]
        if database.backend == "sqlite":
            triggers = set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
            assert {"cases_search_ai", "cases_search_ad", "cases_search_au"} <= triggers
        else:
            definition = connection.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_cases_search_vector'")
            ).scalar_one()
            assert "gin" in definition and "search_vector" in definition
            generated = connection.execute(
                text("SELECT generation_expression FROM information_schema.columns WHERE column_name = 'search_vector'")
            ).scalar_one()
            assert "to_tsvector" in generated


def test_downgrade_to_base_and_upgrade_again(scratch_engine: Engine, database: Any):
    upgrade(scratch_engine)
    with scratch_engine.connect() as connection:
        assert full_text_present(connection)
        tables = set(inspect(connection).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables

    downgrade(scratch_engine, "base")
    with scratch_engine.connect() as connection:
        assert not full_text_present(connection)
        left = set(inspect(connection).get_table_names())
        assert left <= {"alembic_version"}, left
        if database.backend == "sqlite":
            assert not connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all()
        version = connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one()
        assert version == 0

    upgrade(scratch_engine)
    with scratch_engine.connect() as connection:
        assert full_text_present(connection)
        diffs, _ = schema_diffs(connection)
        connection.rollback()
    assert diffs == []
