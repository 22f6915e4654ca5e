"""A client that goes away in the middle of its request body (issue 13) is one log line saying so, not an ASGI
error with a traceback, and leaves nothing recorded: a real uvicorn server on 127.0.0.1, a raw socket that
announces 1,000 bytes of JSON, sends a few and hangs up."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import uvicorn
from fastapi.testclient import TestClient
from sqlmodel import func, select

from grievance.cases.models import Case
from grievance.config import Settings
from grievance.db import make_engine, transaction
from grievance.migrations import upgrade
from tests.factories import World
from web.app import create_app


def test_a_client_gone_mid_body_is_logged_as_such_and_nothing_is_recorded(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'gone.db'}"
    upgrade(make_engine(url))
    app = create_app(Settings(database_url=url, data_dir=tmp_path / "data"))
    world = World(app, TestClient(app))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info"))
    thread = threading.Thread(target=server.run, daemon=True)
    caplog.set_level(logging.INFO)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        head = (
            "POST /api/v1/cases HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {world.tokens['intake']}\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(head.encode() + '{"title": "路灯'.encode())
            time.sleep(0.2)  # the route is reading the body when the client hangs up
        deadline = time.monotonic() + 10
        while not any("disconnected before its request was complete" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
            time.sleep(0.02)
    finally:
        server.should_exit = True
        thread.join(10)
    line = next(r for r in caplog.records if "disconnected before its request was complete" in r.getMessage())
    assert "POST /api/v1/cases" in line.getMessage() and "of 1000 bytes received" in line.getMessage()
    assert line.levelno == logging.INFO
    assert not any(r.levelno >= logging.ERROR for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert not any("Exception in ASGI application" in r.getMessage() for r in caplog.records)
    with transaction(app.state.sessions) as session:
        assert session.exec(select(func.count()).select_from(Case)).one() == 0
