from __future__ import annotations

from typing import Any

import pytest

from tests.factories import World
from tests.web.support import Browser


@pytest.fixture
def world(app, client, clock) -> World:  # type: ignore[no-untyped-def]
    return World(app, client)


@pytest.fixture
def browser(app, world):  # type: ignore[no-untyped-def]
    """browser("handler") -> a Browser signed in as that World user."""

    def make(username: str | None = None) -> Browser:
        return Browser(app, username)

    return make


@pytest.fixture
def sessions(app) -> Any:  # type: ignore[no-untyped-def]
    return app.state.sessions
