"""Running the Alembic migrations from code: the CLI's `db upgrade` and the test set-up."""

from __future__ import annotations

from alembic.config import Config
from sqlalchemy.engine import Engine

from alembic import command
from grievance.config import PROJECT_ROOT


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def pending_migration(engine: Engine) -> str | None:
    """None when the database is at the latest revision, else a sentence saying what to run."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current == head:
        return None
    state = "has no schema yet" if current is None else f"is at revision {current}, the code needs {head}"
    return (
        f"数据库未初始化或版本过旧，请先运行 `grievance db upgrade` (the database {state}: run `grievance db upgrade`)"
    )
