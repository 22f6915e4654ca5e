"""A full or read-only disk under SQLite: the request (and the CLI) gets a clear bilingual 503, nothing is
half-written, the database passes integrity_check, and writing works again once the disk does.

The faults are SQLite's own errors, produced portably: SQLITE_FULL from `PRAGMA max_page_count` (what a full
disk answers), SQLITE_READONLY from opening the file with `?mode=ro` (what a read-only file or mount answers;
chmod would not stop root, who runs the tests in CI)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from grievance.cli import main
from grievance.config import Settings
from grievance.db import make_engine
from grievance.migrations import upgrade
from tests.factories import World
from web.app import create_app

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture
def db_file(database: Any, tmp_path: Path) -> Path:
    path = tmp_path / "faults.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def world(db_file: Path, tmp_path: Path) -> Iterator[World]:
    app = create_app(Settings(database_url=f"sqlite:///{db_file}", data_dir=tmp_path / "data"))
    with TestClient(app) as client:
        yield World(app, client)
    app.state.engine.dispose()


def _counts(path: Path) -> tuple[int, int, str]:
    """Cases, events and integrity_check of the file, read by a connection of its own."""
    conn = sqlite3.connect(path)
    try:
        cases = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM case_events").fetchone()[0]
        return cases, events, conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def _assert_unwritable(response: Any, code: str, zh: str, en: str) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["error"] == code
    message = body["message"] + body.get("message_en", "")
    assert "数据库无法写入" in message and zh in message and "未保存" in message
    assert "the database cannot be written" in message and en in message and "nothing was saved" in message


LONG = "青桐路18号小区门口的路灯坏了一周，晚上很黑。" * 80


def test_a_full_disk_answers_503_writes_nothing_and_recovers(world: World, db_file: Path):
    world.intake()
    before = _counts(db_file)
    engine = world.app.state.engine

    def no_room(dbapi_conn: Any, _record: Any) -> None:
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: SQLITE_FULL

    event.listen(engine, "connect", no_room)
    engine.dispose()
    try:
        for _ in range(3):  # each attempt fails the same way; none leaves a trace
            full = world.client.post(
                "/api/v1/cases",
                json={**_body(world), "description": LONG},
                headers=world.headers("intake"),
            )
            _assert_unwritable(full, "database_full", "磁盘已满", "the disk is full")
    finally:
        event.remove(engine, "connect", no_room)
        engine.dispose()
    assert _counts(db_file) == (*before[:2], "ok")

    # Space again: the same request succeeds without restarting anything.
    world.intake(description=LONG)
    assert _counts(db_file) == (before[0] + 1, before[1] + 1, "ok")


def _body(world: World) -> dict[str, Any]:
    return {
        "channel": "meeting",
        "case_type": "help",
        "title": "小区门口路灯不亮",
        "description": "路灯坏了",
        "meeting": world.meeting_id,
        "petitioner": {"name": "张三", "phone": "13812341234"},
    }


def test_a_read_only_database_answers_503_in_the_api_and_the_cli(
    world: World, db_file: Path, tmp_path: Path, monkeypatch, capsys
):
    world.intake()
    world.app.state.engine.dispose()
    before = _counts(db_file)
    read_only_url = f"sqlite:///file:{db_file}?mode=ro&uri=true"
    app = create_app(Settings(database_url=read_only_url, data_dir=tmp_path / "data"))
    try:
        with TestClient(app) as client:
            refused = client.post("/api/v1/cases", json=_body(world), headers=world.headers("intake"))
            _assert_unwritable(refused, "database_read_only", "只读", "read-only")
    finally:
        app.state.engine.dispose()
    assert _counts(db_file) == (*before[:2], "ok")

    monkeypatch.setenv("GRIEVANCE_DATABASE_URL", read_only_url)
    monkeypatch.setenv("GRIEVANCE_DATA_DIR", str(tmp_path))
    capsys.readouterr()
    code = main(["calendar", "add", "2025-10-20", "holiday"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "数据库无法写入" in err and "只读" in err and "the database cannot be written" in err
    assert "Traceback" not in err
    assert _counts(db_file) == (*before[:2], "ok")
