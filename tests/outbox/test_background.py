"""`grievance serve` runs the outbox worker (and the sweeper) in-process, in threads stopped cleanly at
shutdown; apps built by create_app elsewhere (the tests) get no threads; SQLite with several serve workers
runs none (one writer: run `grievance outbox run` beside it)."""

from __future__ import annotations

import importlib.util
import threading

from fastapi.testclient import TestClient

from grievance.config import Settings
from tests.factories import World
from tests.outbox._support import subscribe
from tests.outbox.conftest import Receiver, wait_for
from web.app import create_app
from web.background import SERVE_ENV, serve_flag, wanted

JOBS = ("outbox-worker", "supervision-sweeper")


def _job_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name in JOBS]


def test_serve_runs_the_jobs_in_threads_and_stops_them(settings: Settings, receiver: Receiver, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(SERVE_ENV, "1")  # what `grievance serve` sets
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            names = _job_threads()
            assert "outbox-worker" in names
            if importlib.util.find_spec("grievance.supervision.sweeper") is not None:
                assert "supervision-sweeper" in names
            world = World(app, client)
            subscribe(app, receiver.url)
            no = world.intake()["case_no"]
            wait_for(lambda: any(r.json()["case"]["case_no"] == no for r in receiver.received), timeout=10)
        assert _job_threads() == []  # stopped with the app
    finally:
        app.state.engine.dispose()


def test_apps_built_elsewhere_get_no_threads(settings: Settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv(SERVE_ENV, raising=False)
    app = create_app(settings)
    with TestClient(app):
        assert _job_threads() == []
    app.state.engine.dispose()


def test_when_serve_runs_the_jobs(monkeypatch):  # type: ignore[no-untyped-def]
    sqlite = Settings(database_url="sqlite:///x.db")
    postgres = Settings(database_url="postgresql+psycopg://u@h/db")
    assert serve_flag(sqlite, 1) == "1" and serve_flag(sqlite, 4) == "0"
    assert serve_flag(postgres, 4) == "1"
    assert serve_flag(Settings(database_url="sqlite:///x.db", background_jobs=False), 1) == "0"
    monkeypatch.setenv(SERVE_ENV, "1")
    assert wanted(sqlite) and not wanted(Settings(database_url="sqlite:///x.db", background_jobs=False))
    monkeypatch.setenv(SERVE_ENV, "0")
    assert not wanted(sqlite)
