"""Test set-up: every database test runs on SQLite and on a real PostgreSQL, with the schema built by
the Alembic migrations. When CI is set (tests/ci.py) a missing PostgreSQL fails the run instead of skipping."""

from __future__ import annotations

import io
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from grievance.cli import main
from grievance.config import Settings
from grievance.db import make_engine
from grievance.migrations import upgrade
from tests.ci import in_ci, missing
from web.app import create_app

IN_CI = in_ci()  # tests/ci.py: the rule shared with the browser tests
PG_ADMIN_URL = os.environ.get("GRIEVANCE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@dataclass
class Database:
    backend: str
    url: str
    template: Path | None = None  # SQLite: a migrated file copied for each test

    def fresh_url(self, tmp_path: Path) -> str:
        """A URL to an empty, migrated database for one test."""
        if self.template is not None:
            target = tmp_path / "test.db"
            shutil.copyfile(self.template, target)
            return f"sqlite:///{target}"
        engine = create_engine(self.url)
        with engine.begin() as conn:
            tables = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            ).scalars()
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return self.url


def _postgres_or_fail(tmp_root: Path) -> Database:
    name = f"grievance_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'"))
    except Exception as exc:  # the server is down or unreachable
        missing(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}: {exc}")
    finally:
        admin.dispose()
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return Database("postgresql", url)


def _drop_postgres(db: Database) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {make_url(db.url).database} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("sqlite") / "template.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()
        yield Database("sqlite", f"sqlite:///{template}", template)
        return
    db = _postgres_or_fail(tmp_path_factory.mktemp("pg"))
    yield db
    _drop_postgres(db)


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(database_url=database.fresh_url(tmp_path), data_dir=tmp_path / "data")


@pytest.fixture
def app(settings: Settings) -> Iterator:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def engine(app) -> Engine:  # type: ignore[no-untyped-def]
    return app.state.engine  # type: ignore[no-any-return]


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


class FrozenClock:
    """The runtime's clock, set by a test: actions then happen at a known moment."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at


@pytest.fixture
def clock(app) -> FrozenClock:  # type: ignore[no-untyped-def]
    frozen = FrozenClock(datetime(2025, 9, 29, 2, 0, tzinfo=UTC))  # Monday 10:00 in Shanghai
    app.state.runtime.now = frozen
    return frozen


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(settings, tmp_path, monkeypatch, capsys):  # type: ignore[no-untyped-def]
    """Run `grievance ARGS...` against the test's database; returns exit code, stdout and stderr."""
    monkeypatch.setenv("GRIEVANCE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("GRIEVANCE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GRIEVANCE_WORKFLOWS_DIR", raising=False)
    monkeypatch.delenv("GRIEVANCE_TIMEZONE", raising=False)

    def run(*argv: str, stdin: str | None = None) -> Result:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def world(app, client, clock):  # type: ignore[no-untyped-def]
    """The API's test world (tests/factories.py): staff of every role, departments, and their tokens."""
    from tests.factories import World

    return World(app, client)
