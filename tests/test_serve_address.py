"""`grievance serve` (and so `make run`) listens where GRIEVANCE_HOST and GRIEVANCE_PORT say, from the environment
or from `.env` as every other setting, and the demo's printout names that address (grievance/cli.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from grievance.cli import build_parser, serve_address
from grievance.config import Settings

START_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A deployment's folder, the working directory, with no GRIEVANCE_HOST or GRIEVANCE_PORT in the environment."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("GRIEVANCE_PORT", raising=False)
    monkeypatch.delenv("GRIEVANCE_HOST", raising=False)
    return folder


def test_the_port_comes_from_dotenv_unless_the_environment_or_an_option_says_otherwise(site: Path, monkeypatch):
    assert build_parser().parse_args(["serve"]).port == 8000 and serve_address() == "http://127.0.0.1:8000"
    (site / ".env").write_text("GRIEVANCE_PORT=8111\nGRIEVANCE_HOST=0.0.0.0\n", encoding="utf-8")
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("0.0.0.0", 8111)
    assert serve_address() == "http://127.0.0.1:8111"  # every interface: this machine's address to open
    assert build_parser().parse_args(["serve", "--port", "8222"]).port == 8222
    monkeypatch.setenv("GRIEVANCE_PORT", "8333")  # the environment wins over .env, as for every setting
    assert build_parser().parse_args(["serve"]).port == 8333 and serve_address() == "http://127.0.0.1:8333"


def test_a_bad_port_in_dotenv_is_refused_like_a_bad_option(site: Path, capsys):
    (site / ".env").write_text("GRIEVANCE_PORT=eighty\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["serve"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "端口应为 1 至 65535 的整数" in err and "got 'eighty'" in err
    build_parser().parse_args(["user", "list"])  # other commands do not care


def test_make_run_serves_and_prints_the_port_of_dotenv(site: Path, settings: Settings):
    """What `make run` runs, `grievance demo --if-empty` then `grievance serve`, as processes in a folder whose
    .env sets the port."""
    port = _free_port()
    (site / ".env").write_text(
        f"GRIEVANCE_PORT={port}\nGRIEVANCE_DATABASE_URL={settings.database_url}\nGRIEVANCE_DATA_DIR={site / 'var'}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIEVANCE_")}
    command = [sys.executable, "-m", "grievance.cli"]
    demo = subprocess.run([*command, "demo", "--if-empty"], cwd=site, env=env, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stderr
    assert f"http://127.0.0.1:{port}/api/v1/me" in demo.stdout and ":8000" not in demo.stdout
    assert f"打开 (open) http://127.0.0.1:{port}/" in demo.stdout
    server = subprocess.Popen(
        [*command, "serve"], cwd=site, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert server.poll() is None, "serve stopped"
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not listen on the port of .env"
                time.sleep(0.2)
        assert health.status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=START_SECONDS)
    assert f"(serving at): http://127.0.0.1:{port}/" in out
