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
from sqlalchemy.pool import NullPool

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
        _empty_postgres(self.url)
        return self.url


def _empty_postgres(url: str) -> None:
    """Empty every table but alembic_version and restart their id sequences, as TRUNCATE ... RESTART IDENTITY
    would. DELETE of the few rows a test leaves costs a hundredth of a second where TRUNCATE of every table
    costs about half a second (a new file per table), and this runs before each of the ~1000 PostgreSQL tests.
    The rows go in one transaction with the foreign keys' triggers off (session_replication_role, which needs
    a superuser, as the test role is here); another role falls back on TRUNCATE."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            tables = (
                conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                )
                .scalars()
                .all()
            )
            names = ", ".join(f'"{table}"' for table in tables)
            superuser = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
            if not superuser:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                return
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("; ".join(f'DELETE FROM "{table}"' for table in tables)))
            # Every sequence of the schema belongs to an id column (RESTART IDENTITY's set); only used ones move.
            conn.execute(
                text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false) "
                    "FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"
                )
            )
    finally:
        engine.dispose()


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


# --- the order the tests are handed out in (pytest-xdist) ------------------------------------------------------

# Files with the longest tests (the demo's load, a browser scenario, `make run` in processes, schemathesis, a
# private PostgreSQL, kill -9, live servers), slowest first: handed out first, so that no worker is left with one of them at the end
# while the other waits. Measured with `--durations`; a file missing here only runs in its usual place.
SLOW_FIRST = (
    "tests/test_demo.py",  # first of each backend's tests: its module fixture loads (or copies) the demo
    "tests/browser/test_content_security.py",
    "tests/test_serve_address.py",
    "tests/api/test_schema_conformance.py",
    "tests/test_pg_restart.py",
    "tests/test_fault_proofs.py",
    "tests/browser/",
    "tests/outbox/",
    "tests/open311/",
)


def _backend(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("database") if callspec is not None else None


@pytest.hookimpl(tryfirst=True)  # before pytest's own ordering by fixture, which must come last
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The SLOW_FIRST files go first, then the rest; only the order changes, not what runs. pytest's own
    ordering (a later implementation of this hook) then keeps the tests of one backend together, as before: a
    switch of backend drops and re-creates the worker's PostgreSQL database."""

    def rank(item: pytest.Item) -> tuple[int, int, int]:
        path = item.nodeid.split("::", 1)[0]
        slow = next((n for n, prefix in enumerate(SLOW_FIRST) if path.startswith(prefix)), None)
        backend = _backend(item)
        if slow is not None:  # no database, then SQLite, then PostgreSQL
            return 0, {None: 0, "sqlite": 1, "postgresql": 2}.get(backend, 3), slow
        return 1, {"sqlite": 0, "postgresql": 1, None: 2}.get(backend, 3), 0

    order = {id(item): n for n, item in enumerate(items)}
    items.sort(key=lambda item: (*rank(item), order[id(item)]))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """After the run (in the xdist controller, once every worker is done): drop the shared demo's PostgreSQL
    source (tests/demo_share.py)."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    if hasattr(session.config, "workerinput") or factory is None:
        return
    from tests.demo_share import drop_shared_demos

    drop_shared_demos(factory.getbasetemp())
