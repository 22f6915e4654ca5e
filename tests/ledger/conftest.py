from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from grievance.config import Settings
from tests.factories import World
from tests.ledger._support import extra_database
from web.app import create_app


@pytest.fixture
def world(app, client, clock) -> World:  # type: ignore[no-untyped-def]
    return World(app, client)


@pytest.fixture(scope="session")
def second_database(database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    with extra_database(database, tmp_path_factory.mktemp("second")) as db:
        yield db


@pytest.fixture
def empty_app(second_database, tmp_path: Path) -> Iterator[Callable[[], Any]]:  # type: ignore[no-untyped-def]
    """Makes an app on an empty second database (emptied again at each call), for round trips."""
    made: list[Any] = []

    def make() -> Any:
        folder = tmp_path / f"second{len(made)}"
        folder.mkdir()
        settings = Settings(database_url=second_database.fresh_url(folder), data_dir=folder / "data")
        for earlier in made:
            earlier.state.engine.dispose()
        application = create_app(settings)
        application.state.client = TestClient(application)
        made.append(application)
        return application

    yield make
    for application in made:
        application.state.engine.dispose()
