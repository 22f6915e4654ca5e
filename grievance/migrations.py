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


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (alembic_version), None when it has no schema yet."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to `revision` in one transaction; returns (revision before, revision after), before None for a
    database that had no schema, before == after when there was nothing to do."""
    before = current_revision(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return before, current_revision(engine)


def upgrade_report(before: str | None, after: str | None, where: str) -> str:
    """What `grievance db upgrade` did, in both languages: created the schema, upgraded from X to Y, or
    nothing to do; `where` is the database URL without its password."""
    if before is None:
        return f"已建立数据库结构，版本 {after} (created the schema at revision {after}): {where}"
    if before != after:
        return f"数据库已从版本 {before} 升级到 {after} (upgraded from revision {before} to {after}): {where}"
    return (
        f"数据库已是最新，版本 {after}，无需升级 (database is up to date at revision {after}, nothing to do): {where}"
    )


def pending_migration(engine: Engine) -> str | None:
    """None when the database is at the latest revision, else a sentence saying what to run."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    current = current_revision(engine)
    if current == head:
        return None
    state = "has no schema yet" if current is None else f"is at revision {current}, the code needs {head}"
    return (
        f"数据库未初始化或版本过旧，请先运行 `grievance db upgrade` (the database {state}: run `grievance db upgrade`)"
    )
