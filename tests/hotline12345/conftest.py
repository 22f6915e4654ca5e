"""The 12345 tests' world: the shared secret set, the 12345 routes mounted, and a signed client for them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from grievance.config import Settings
from grievance.hotline12345.signature import signed_headers
from tests.api._support import API
from tests.conftest import Database

SECRET = "platform-shared-secret"
ORDERS = f"{API}/hotline12345/orders"


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(database_url=database.fresh_url(tmp_path), data_dir=tmp_path / "data", hotline12345_secret=SECRET)


def order(**overrides: Any) -> dict[str, Any]:
    """A 12345 order as the platform pushes it: received 09:50 on the test's frozen Monday (2025-09-29, Shanghai)."""
    body: dict[str, Any] = {
        "order_id": "GD202509290001",
        "title": "青桐路路灯不亮",
        "content": "青桐路18号门口路灯坏了一周，晚上很黑",
        "petitioner_name": "李四",
        "petitioner_phone": "138-1234-5678",
        "address": "青桐路18号",
        "urgency": "一般",
        "order_type": "求助",
        "received_at": "2025-09-29T09:50:00+08:00",
        "due_at": "2025-10-14T18:00:00+08:00",
    }
    return {**body, **overrides}


def post_signed(
    client: Any,
    path: str,
    payload: Any,
    *,
    secret: str = SECRET,
    now: float | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST `payload` (a dict as JSON, or raw bytes) signed as the platform signs."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode("utf-8")
    sent = {"Content-Type": "application/json", **signed_headers(secret, body, now=now), **(headers or {})}
    return client.post(path, content=body, headers=sent)


@dataclass
class Platform:
    """The 12345 platform's receiving end on 127.0.0.1 (threaded http.server): records every POST and answers
    {"success": true}."""

    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/12345/feedback"

    def start(self) -> None:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server calls it by this name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                platform.received.append((dict(self.headers.items()), body))
                reply = b'{"success": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def platform() -> Iterator[Platform]:
    receiver = Platform()
    receiver.start()
    yield receiver
    receiver.stop()
