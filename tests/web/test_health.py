"""/healthz tells a load balancer whether the app can serve (the database answers `SELECT 1`), /livez only that
the process is alive (the container HEALTHCHECK); both, and the home and /track pages, answer HEAD as well."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from grievance.db import make_engine


def test_healthz_is_ok_while_the_database_answers(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok"}
    assert client.get("/livez").json() == {"status": "ok"}


def test_head_works_wherever_get_does(client: TestClient) -> None:
    for path in ("/healthz", "/livez", "/track"):
        answer = client.head(path)
        assert answer.status_code == 200, path
        assert answer.content == b"", path
    home = client.head("/", follow_redirects=False)
    assert home.status_code in (303, 307), home.status_code  # signed out: off to /login, not 405


def test_healthz_answers_503_fast_when_the_database_is_unreachable(app, client: TestClient, database) -> None:  # type: ignore[no-untyped-def]
    if database.backend == "sqlite":
        # A file in a directory that does not exist cannot be opened.
        unreachable = create_engine("sqlite:////nonexistent-dir/for-health/app.db")
    else:
        # Nothing listens on port 1: the connection is refused at once (connect_timeout bounds the rest).
        unreachable = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/grievance", lock_timeout=2)
    real = app.state.engine
    app.state.engine = unreachable
    try:
        started = time.monotonic()
        answer = client.get("/healthz")
        elapsed = time.monotonic() - started
        assert answer.status_code == 503
        body = answer.json()
        assert body["error"] == "database_unavailable"
        assert "数据库" in body["message"] and "database" in body["message_en"]
        assert elapsed < 5, elapsed
        assert client.head("/healthz").status_code == 503
        assert client.get("/livez").status_code == 200  # the process itself is fine
    finally:
        app.state.engine = real
        unreachable.dispose()


def test_redoc_script_is_served_without_any_cdn_address(client: TestClient) -> None:
    """ReDoc's footer logo would come from cdn.redoc.ly (blocked by the CSP, and no CDN on an intranet)."""
    script = client.get("/redoc/redoc.standalone.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert b"cdn.redoc.ly" not in script.content
    assert b'"/static/redocly-logo-mini.svg"' in script.content
    logo = client.get("/static/redocly-logo-mini.svg")
    assert logo.status_code == 200 and logo.headers["content-type"].startswith("image/svg+xml")
    assert 'src="/redoc/redoc.standalone.js"' in client.get("/redoc").text
