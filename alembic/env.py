"""Alembic environment: migrates the database named by the settings (or a connection handed in by tests)."""

from __future__ import annotations

from sqlmodel import SQLModel

from alembic import context
from grievance.config import get_settings
from grievance.db import make_engine
from grievance.models import import_all_models

import_all_models()
target_metadata = SQLModel.metadata

# Objects that live only in migrations (full-text indexes), which autogenerate must not drop.
MIGRATION_ONLY = {
    "case_search",
    "case_search_data",
    "case_search_idx",
    "case_search_docsize",
    "case_search_config",
    "search_vector",
    "ix_cases_search_vector",
}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return name not in MIGRATION_ONLY


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
