"""Reads never wait for writes, and writers queue without losing time (issue 13): a GET (API list, page) answers
while another connection holds the write lock; its audit entries are written after the read; a GET that tries to
change anything else is refused; writers of one process hand SQLite's lock on at once; a list page runs the same
number of queries whatever the number of its rows."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlmodel import func, select

from grievance.cases.models import AuditEntry, Case
from grievance.config import Settings
from grievance.db import WriteInReadRequest, is_busy, make_engine, request_transaction, transaction
from grievance.reference.models import Department
from tests.test_busy_database import LOCK_TIMEOUT, _row_being_updated, write_lock_held


@pytest.fixture
def settings(database, tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(
        database_url=database.fresh_url(tmp_path), data_dir=tmp_path / "data", db_lock_timeout_seconds=LOCK_TIMEOUT
    )


def _sqlite(settings: Settings) -> bool:
    return make_url(settings.database_url).get_backend_name() == "sqlite"


def test_lists_and_pages_answer_while_another_connection_holds_the_write_lock(world, browser, settings):
    case_no = world.intake()["case_no"]
    world.act(case_no, "dispatch", "dispatcher", department_id=_department_id(world, "CGJ"))
    handler = browser("handler")
    # SQLite: another connection's write transaction; PostgreSQL: an uncommitted change to a row being read.
    with write_lock_held(settings) if _sqlite(settings) else _row_being_updated(settings):
        listed = world.client.get("/api/v1/cases", headers=world.headers("dispatcher"))
        detail = world.client.get(f"/api/v1/cases/{case_no}", headers=world.headers("handler"))
        queue = handler.get("/queue")
        case_page = handler.get(f"/cases/{case_no}")
    # A request that waited for the lock would have been answered 503 after LOCK_TIMEOUT.
    assert [r.status_code for r in (listed, detail, queue, case_page)] == [200, 200, 200, 200], case_page.text[:300]
    assert case_no in queue.text and case_no in case_page.text


def test_a_confidential_view_in_a_get_is_audited_after_the_read(world):
    report = world.intake(case_type="report", title="举报某单位违规收费", accused_department="QFJ")
    world.get(report["case_no"], "dispatcher")
    with transaction(world.app.state.sessions) as session:
        entries = session.exec(
            select(AuditEntry.action).where(
                AuditEntry.case_id == report["id"], AuditEntry.action == "view_confidential"
            )
        ).all()
    assert len(entries) == 1


def test_a_get_that_changes_anything_but_its_audit_entries_is_refused_and_writes_nothing(world, app):
    with (
        pytest.raises(WriteInReadRequest, match="Department"),
        request_transaction(app.state.sessions, reads_only=True) as session,
    ):
        department = session.exec(select(Department).where(Department.code == "CGJ")).one()
        department.name = "改名"
        session.add(department)
        session.flush()
    with transaction(app.state.sessions) as session:
        assert session.exec(select(Department.name).where(Department.code == "CGJ")).one() == "城市管理局"


def test_writers_of_one_process_queue_on_the_lock_and_hand_it_on(world, app, settings):
    """Two threads of one process write at once: the second waits for the first's commit (not SQLite's polling),
    then writes; a writer that fails hands the lock on too."""
    if not _sqlite(settings):
        pytest.skip("SQLite's write lock: PostgreSQL writers do not share one lock")
    sessions = app.state.sessions
    first_in, first_may_commit = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with transaction(sessions) as session:
            session.execute(text("UPDATE departments SET name = name || '一' WHERE code = 'CGJ'"))
            first_in.set()
            first_may_commit.wait(10)
            order.append("first")

    def second() -> None:
        with transaction(sessions) as session:
            session.execute(text("UPDATE departments SET name = name || '二' WHERE code = 'CGJ'"))
            order.append("second")

    one = threading.Thread(target=first)
    one.start()
    assert first_in.wait(10)
    two = threading.Thread(target=second)
    two.start()
    two.join(LOCK_TIMEOUT / 4)
    assert two.is_alive() and order == []  # waiting for the first writer
    first_may_commit.set()
    one.join(10)
    two.join(10)
    assert order == ["first", "second"]
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        session.execute(text("UPDATE departments SET name = '三' WHERE code = 'CGJ'"))
        raise RuntimeError("a writer that fails")
    with transaction(sessions) as session:  # the lock was handed on after the rollback
        assert session.execute(text("SELECT name FROM departments WHERE code = 'CGJ'")).scalar_one() == "城市管理局一二"


def test_a_writer_waiting_longer_than_the_lock_timeout_is_busy(world, app, settings):
    if not _sqlite(settings):
        pytest.skip("SQLite's write lock")
    sessions = app.state.sessions
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with transaction(sessions) as session:
            session.execute(text("SELECT 1"))
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    try:
        with pytest.raises(Exception) as waited, transaction(sessions) as session:
            session.execute(text("SELECT 1"))
        assert is_busy(waited.value)
    finally:
        release.set()
        thread.join(10)
    response = world.client.get("/api/v1/cases", headers=world.headers("dispatcher"))
    assert response.status_code == 200


def test_sqlite_syncs_every_commit_by_default_and_normal_is_one_setting_away(tmp_path):
    for setting, expected in ((None, 2), ("NORMAL", 1)):
        options = {} if setting is None else {"sqlite_synchronous": setting}
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'sync.db'}", data_dir=tmp_path, **options)
        engine = make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == expected  # 2 FULL, 1 NORMAL
        engine.dispose()
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        make_engine(f"sqlite:///{tmp_path / 'sync.db'}", sqlite_synchronous="OFF")


@contextmanager
def _statements(app: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _department_id(world: Any, code: str) -> int:
    with transaction(world.app.state.sessions) as session:
        return int(session.exec(select(Department.id).where(Department.code == code)).one())


@pytest.mark.parametrize(
    ("page", "user", "dispatched"),
    [("/queue", "handler", True), ("/pool", "dispatcher", False), ("/board", "supervisor", True)],
)
def test_a_list_page_runs_the_same_queries_for_3_rows_as_for_12(world, browser, page, user, dispatched):
    """No query per row: each row's actions, routing suggestions and return reason come from a few queries for the
    whole page (cases/prefetch.py)."""
    cgj = _department_id(world, "CGJ")
    reader = browser(user)
    counts = []
    for batch in (3, 9):
        for i in range(batch):
            case_no = world.intake(title=f"路灯不亮{batch}-{i}", category=None)["case_no"]
            if dispatched:
                world.act(case_no, "dispatch", "dispatcher", department_id=cgj)
                if i % 3 == 0:
                    world.act(case_no, "accept", "handler")
            elif i % 3 == 0:  # a returned case in the pool: who returned it and why, per row
                world.act(case_no, "dispatch", "dispatcher", department_id=cgj)
                world.act(case_no, "return", "handler", reason="不属于本单位职责范围")
        reader.get(page)  # warm caches (calendar, reference ids)
        with _statements(world.app) as statements:
            response = reader.get(page)
        assert response.status_code == 200
        counts.append(len(statements))
    with transaction(world.app.state.sessions) as session:
        assert session.exec(select(func.count()).select_from(Case)).one() == 12
    assert counts[0] == counts[1], counts


def test_a_confidential_view_during_a_long_write_waits_for_its_audit_entry_and_says_open_it_again(world, settings):
    """A confidential case is never shown without its audit entry: while a long write holds what the entry needs
    (SQLite's write lock; on PostgreSQL the audit table), its view answers 503 "open it again", showing nothing;
    plain reads beside it answer at once."""
    report = world.intake(case_type="report", title="举报某单位违规收费", accused_department="QFJ")
    with write_lock_held(settings, table="audit_log"):
        hidden = world.client.get(f"/api/v1/cases/{report['case_no']}", headers=world.headers("dispatcher"))
        plain = world.client.get("/api/v1/cases?case_type=help", headers=world.headers("dispatcher"))
    assert plain.status_code == 200
    assert hidden.status_code == 503, hidden.text
    assert "举报某单位" not in hidden.text
    assert "请约 1 秒后重新打开" in hidden.json()["message"] and "open it again" in hidden.json()["message_en"]
    assert (
        world.client.get(f"/api/v1/cases/{report['case_no']}", headers=world.headers("dispatcher")).status_code == 200
    )
