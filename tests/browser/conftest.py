"""Browser tests: the real app served by uvicorn on a free port, driven by the system Chromium through
Playwright (never `playwright install`). When CI is set (tests/ci.py) a missing Chromium fails the run instead
of skipping. Screenshots of the main pages go to screenshots/ (git-ignored) for a person to look at."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlmodel import select

from grievance.config import Settings
from grievance.db import make_engine, transaction
from grievance.migrations import upgrade
from grievance.users.models import User
from grievance.users.service import hash_password
from tests.ci import missing
from tests.factories import World
from web.app import create_app

CHROMIUM = os.environ.get("GRIEVANCE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
PASSWORD = "browser-test-pass"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    missing(f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium fonts-noto-cjk` (make test does it)")


class LiveServer:
    """The app on a real port, with the World's accounts given a password so people can sign in."""

    def __init__(self, tmp: Path, template: Path | None = None) -> None:
        """A server on an empty, migrated SQLite file in `tmp`: a copy of `template` (a migrated file) when given."""
        url = f"sqlite:///{tmp / 'browser.db'}"
        if template is not None:
            shutil.copyfile(template, tmp / "browser.db")
        else:
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
        self.settings = Settings(database_url=url, data_dir=tmp / "data")
        self.app = create_app(self.settings)
        self.now = datetime(2025, 9, 29, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing, as in the API tests
        self.app.state.runtime.now = lambda: self.now
        from fastapi.testclient import TestClient

        self.world = World(self.app, TestClient(self.app))
        with transaction(self.app.state.sessions) as session:
            hashed = _password_hash()
            for user in session.exec(select(User)).all():
                user.password_hash = hashed
                session.add(user)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


@functools.cache
def _password_hash() -> str:
    """PASSWORD hashed once per test process (argon2 at production cost): every server's accounts share it."""
    return hash_password(PASSWORD)


@pytest.fixture(scope="session")
def browser_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, made once per test process and copied for each test's server."""
    template = tmp_path_factory.mktemp("browser-template") / "template.db"
    engine = make_engine(f"sqlite:///{template}")
    upgrade(engine)
    engine.dispose()
    return template


@pytest.fixture
def live(tmp_path: Path, browser_template: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path, browser_template)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS)
        yield browser
        browser.close()


class Person:
    """One person at their screen: a browser context signed in through the real form."""

    def __init__(self, chromium: Any, live: LiveServer, username: str, *, width: int = 1366, height: int = 768) -> None:
        self.live = live
        self.context = chromium.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        self.context.set_default_timeout(30000)  # a bound, not a speed check: CI runs two test processes on two cores
        self.page = self.context.new_page()
        self.page.goto(f"{live.base}/login")
        self.page.fill("#f-username", username)
        self.page.fill("#f-password", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def go(self, path: str) -> Any:
        self.page.goto(f"{self.live.base}{path}")
        return self.page

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def person(chromium: Any, live: LiveServer) -> Iterator[Any]:
    """person("handler") -> a Person signed in as that World user (several may be open at once)."""
    opened: list[Person] = []

    def make(username: str, **kwargs: Any) -> Person:
        opened.append(Person(chromium, live, username, **kwargs))
        return opened[-1]

    yield make
    for p in opened:
        p.close()


def focused(page: Any, selector: str) -> bool:
    """Whether the element matching the CSS `selector` has the keyboard focus, waiting up to 15 s for it.

    Chromium applies `autofocus` and script focus on a later rendering step, not by the load event, so a
    check right after navigation must wait. Returns False (the assertion then fails) when it never does."""
    try:
        page.wait_for_function(
            "sel => document.activeElement && document.activeElement.matches(sel)", arg=selector, timeout=15000
        )
    except Exception:  # playwright's TimeoutError
        return False
    return True
