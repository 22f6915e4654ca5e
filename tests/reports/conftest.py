from __future__ import annotations

import pytest

from tests.factories import World


@pytest.fixture
def world(app, client, clock) -> World:  # type: ignore[no-untyped-def]
    return World(app, client)
