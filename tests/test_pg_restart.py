"""PostgreSQL restarted under load: while it is down every request fails fast with 503, Retry-After and a
bilingual message (never a 500, never a hang); once it is back requests succeed without restarting the app.

The test starts a private PostgreSQL (initdb in a temporary folder, its own port and socket folder): the shared
server is never touched. With CI=true a missing initdb fails the test instead of skipping it."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from grievance.config import Settings
from grievance.db import make_engine
from grievance.migrations import upgrade
from tests.conftest import IN_CI
from tests.factories import World
from web.app import create_app

pytestmark = [pytest.mark.postgresql, pytest.mark.parametrize("database", ["postgresql"], indirect=True)]

LOCK_TIMEOUT = 2.0  # Settings.db_lock_timeout_seconds: bounds the connect and the wait for a pooled connection
SLOWEST_ANSWER = 3 * LOCK_TIMEOUT + 2  # seconds; a request during the outage must answer within this


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PrivateServer:
    bin_dir: Path
    data: Path
    sockets: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        # -l: the server writes to a log file, not to our pipes (else run() would wait for the server to exit).
        log = self.data.parent / "server.log"
        _as_postgres(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-o", options, "-w", "-t", "60", *args]
        )


def _as_postgres(argv: list[str]) -> None:
    """Run a server command as the postgres user when we are root (the server refuses to run as root)."""
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"


@pytest.fixture
def server(database: Any) -> Iterator[PrivateServer]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        message = "initdb not found: install the PostgreSQL server package (postgresql-15)"
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires it", pytrace=False)
        pytest.skip(message)
    # Not under pytest's tmp folder: that one is private to root (0700) and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="grievance-private-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    try:
        _as_postgres(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        pg = PrivateServer(bin_dir, data, sockets, _free_port())
        try:
            pg.pg_ctl("start")
            engine = make_engine(pg.url)
            upgrade(engine)
            engine.dispose()
            yield pg
        finally:
            if (data / "postmaster.pid").exists():
                pg.pg_ctl("stop", "-m", "immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Answer:
    started: float
    seconds: float
    status: int
    body: dict[str, Any]
    retry_after: str | None


def test_a_restart_answers_503_fast_and_the_app_recovers_by_itself(server: PrivateServer, tmp_path: Path):
    app = create_app(
        Settings(database_url=server.url, data_dir=tmp_path / "data", db_lock_timeout_seconds=LOCK_TIMEOUT)
    )
    with TestClient(app) as client:
        world = World(app, client)
        case_no = world.intake()["case_no"]
        answers: list[Answer] = []
        stop = threading.Event()

        def load(i: int) -> None:
            while not stop.is_set():
                started = time.monotonic()
                if i % 2:
                    response = client.get(f"/api/v1/cases/{case_no}", headers=world.headers("dispatcher"))
                else:
                    response = client.post(
                        "/api/v1/cases",
                        json=world.case_body(channel="hotline", meeting=None, title=f"路灯不亮 {i}"),
                        headers=world.headers("intake"),
                    )
                answers.append(
                    Answer(
                        started,
                        time.monotonic() - started,
                        response.status_code,
                        response.json(),
                        response.headers.get("Retry-After"),
                    )
                )
                time.sleep(0.05)

        threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(1.0)
            down_at = time.monotonic()
            server.pg_ctl("stop", "-m", "fast")
            time.sleep(4.0)  # requests keep coming while the server is down
            starting_at = time.monotonic()  # the server takes connections before `pg_ctl start` returns
            server.pg_ctl("start")
            up_at = time.monotonic()
            time.sleep(3.0)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads), "a request hung"

        assert {a.status for a in answers} <= {200, 201, 503}, sorted({a.status for a in answers})
        assert max(a.seconds for a in answers) < SLOWEST_ANSWER
        failed = [a for a in answers if a.status == 503]
        assert failed, "no request met the outage"
        for answer in failed:
            assert answer.body["error"] in ("database_unavailable", "database_busy"), answer.body
            text = answer.body["message"] + answer.body.get("message_en", "")
            assert "数据库" in text and "database" in text and "retry" in text
            assert answer.retry_after is not None and int(answer.retry_after) >= 1
            # Only requests that met the outage fail: none before the stop, none well after the start.
            assert down_at - SLOWEST_ANSWER < answer.started < up_at + 1.0
        during = [a for a in answers if a.started > down_at + 1.0 and a.started + a.seconds < starting_at]
        assert during and all(a.status == 503 for a in during), [(a.status, a.body) for a in during if a.status != 503]
        after = [a for a in answers if a.started > up_at + 1.0]
        assert after and all(a.status in (200, 201) for a in after), [a.status for a in after]
        # The app was never restarted: a write and a read both work now.
        world.intake(title="恢复后")
        assert world.get(case_no, "dispatcher")["case_no"] == case_no
    app.state.engine.dispose()
