from __future__ import annotations

from typing import Any

import pytest

from tests.web.support import Browser


@pytest.fixture
def browser(app, world) -> Any:  # type: ignore[no-untyped-def]
    """browser("handler") -> a Browser signed in as that World user (tests/web/support.py)."""

    def make(username: str | None = None) -> Browser:
        return Browser(app, username)

    return make
