"""The outbox tests' receiver: a real HTTP server on 127.0.0.1 (threaded http.server) that records every
request, can answer errors, act as a DingTalk/WeCom robot, be stopped and started again on the same port,
and counts requests for one delivery that overlap in time."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from grievance.config import Settings
from tests.conftest import Database

FAST = {
    "outbox_backoff_base_seconds": 0.05,
    "outbox_backoff_max_seconds": 0.2,
    "outbox_timeout_seconds": 2.0,
    "outbox_poll_seconds": 0.05,
    "outbox_max_attempts": 60,
}


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    """The test database with small outbox waits (backoff of a twentieth of a second), so retries are quick."""
    return Settings(database_url=database.fresh_url(tmp_path), data_dir=tmp_path / "data", **FAST)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Receiver:
    """Answers `status` (200) with `reply` (b"ok"; a robot: {"errcode": 0}); `delay` seconds per request."""

    port: int = 0
    status: int = 200
    reply: bytes = b"ok"
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    overlaps: list[str] = field(default_factory=list)  # delivery ids seen twice at the same time
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("X-Grievance-Delivery") or ""
                with receiver.lock:
                    receiver.in_flight[key] = receiver.in_flight.get(key, 0) + 1
                    if key and receiver.in_flight[key] > 1:
                        receiver.overlaps.append(key)
                try:
                    if receiver.delay:
                        time.sleep(receiver.delay)
                    with receiver.lock:
                        status, reply = receiver.status, receiver.reply
                        if 200 <= status < 300:
                            receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                finally:
                    with receiver.lock:
                        receiver.in_flight[key] -= 1

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def answer(self, status: int, reply: bytes = b"ok") -> None:
        with self.lock:
            self.status, self.reply = status, reply


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    running.start()
    yield running
    running.stop()


def wait_for(condition: Any, timeout: float = 15.0, step: float = 0.05) -> None:
    """Poll `condition()` until true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step)
    raise AssertionError(f"not reached within {timeout}s")
