"""A busy database never gets a 500: a request that cannot get its lock within
Settings.db_lock_timeout_seconds is answered 503 with Retry-After and writes nothing; a read-only session reads
beside a running writer (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, exc, text
from sqlalchemy.engine import make_url
from sqlmodel import func, select

from grievance.cases.models import Case, CaseEvent
from grievance.config import Settings
from grievance.db import is_busy, make_engine, read_only, transaction
from grievance.reference.models import Department
from tests.factories import World

LOCK_TIMEOUT = 1.0


@pytest.fixture
def settings(database, tmp_path: Path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(
        database_url=database.fresh_url(tmp_path), data_dir=tmp_path / "data", db_lock_timeout_seconds=LOCK_TIMEOUT
    )


@pytest.fixture
def world(app, client, clock) -> World:  # type: ignore[no-untyped-def]
    return World(app, client)


@contextmanager
def write_lock_held(settings: Settings, table: str = "cases") -> Iterator[None]:
    """Another connection holds what a writer needs: SQLite's write lock (as a long import does); on
    PostgreSQL an exclusive lock on `table`."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        other = sqlite3.connect(str(url.database), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.rollback()
            other.close()
        return
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            conn.rollback()
    engine.dispose()


def _counts(app: Any) -> tuple[int, int]:
    with transaction(app.state.sessions) as session:
        return (
            session.exec(select(func.count()).select_from(Case)).one(),
            session.exec(select(func.count()).select_from(CaseEvent)).one(),
        )


INTAKE = {
    "channel": "hotline",
    "case_type": "help",
    "title": "小区门口路灯不亮",
    "petitioner": {"name": "张三", "phone": "13812341234"},
}


def test_an_intake_during_a_long_write_gets_503_with_retry_after_and_writes_nothing(world, settings):
    before = _counts(world.app)
    with write_lock_held(settings):
        started = time.monotonic()
        response = world.client.post("/api/v1/cases", json=INTAKE, headers=world.headers("intake"))
        waited = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    body = response.json()
    assert body["error"] == "database_busy"
    assert body["retry_after"] == 1
    assert "数据库正忙" in body["message"] and "the database is busy" in body["message_en"]
    # A bounded wait: the lock timeout, not the 30 s of old.
    assert LOCK_TIMEOUT * 0.8 <= waited < LOCK_TIMEOUT + 4
    assert _counts(world.app) == before
    # Once the lock is gone the same request succeeds.
    again = world.client.post("/api/v1/cases", json=INTAKE, headers=world.headers("intake"))
    assert again.status_code == 201, again.text
    assert _counts(world.app)[0] == before[0] + 1


def test_a_page_during_a_long_write_gets_the_503_error_page(world, settings):
    with write_lock_held(settings):
        response = world.client.post("/track", data={"code": "x"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.headers["content-type"].startswith("text/html")
    assert "数据库正忙" in response.text and "the database is busy" not in response.text  # the reader's language


def test_a_read_only_session_reads_while_the_write_lock_is_held(world, app, settings):
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        held = write_lock_held(settings)
    else:
        # PostgreSQL readers never wait for writers: hold an uncommitted change to the row being read.
        held = _row_being_updated(settings)
    with held:
        started = time.monotonic()
        with read_only(app.state.sessions) as session:
            names = sorted(d.name for d in session.exec(select(Department)).all())
        assert time.monotonic() - started < LOCK_TIMEOUT / 2
    assert "城市管理局" in names


@contextmanager
def _row_being_updated(settings: Settings) -> Iterator[None]:
    engine = create_engine(settings.database_url)
    with engine.connect() as conn:
        conn.execute(text("UPDATE departments SET name = '改名中' WHERE code = 'CGJ'"))
        try:
            yield
        finally:
            conn.rollback()
    engine.dispose()


def test_a_read_only_session_refuses_writes_and_leaves_the_connection_writable(world, app):
    with pytest.raises(exc.DBAPIError) as refused, read_only(app.state.sessions) as session:
        session.exec(select(Department)).all()
        session.execute(text("UPDATE departments SET name = 'x' WHERE code = 'CGJ'"))
    assert not is_busy(refused.value)  # a fault of the caller, not a busy database
    # Whatever a read-only session tried is never committed, and the pooled connection writes again.
    with transaction(app.state.sessions) as session:
        dept = session.exec(select(Department).where(Department.code == "CGJ")).one()
        assert dept.name == "城市管理局"
        dept.name = "城市管理综合执法局"
        session.add(dept)
    with read_only(app.state.sessions) as session:
        assert session.exec(select(Department.name).where(Department.code == "CGJ")).one() == "城市管理综合执法局"


def test_a_read_only_session_is_rolled_back_at_the_end(world, app):
    with read_only(app.state.sessions) as session:
        count = session.exec(select(func.count()).select_from(Department)).one()
    with transaction(app.state.sessions) as session:
        assert session.exec(select(func.count()).select_from(Department)).one() == count


def test_an_unreachable_postgresql_is_busy_not_a_fault(database):
    """A server that cannot be reached means "retry later" (503), like a locked SQLite file."""
    if database.backend != "postgresql":
        pytest.skip("SQLite has no server to be unreachable")
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", lock_timeout=1)
    with pytest.raises(exc.OperationalError) as failed, engine.connect():
        pass
    assert is_busy(failed.value)
    engine.dispose()


def test_other_database_errors_are_not_busy(world, app):
    with pytest.raises(exc.DBAPIError) as failed, transaction(app.state.sessions) as session:
        session.execute(text("SELECT no_such_column FROM departments"))
    assert not is_busy(failed.value)
