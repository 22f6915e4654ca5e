"""The app factory: builds the FastAPI application for given settings, so tests can swap them."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import exc as sa_exc

from grievance.config import Settings, get_settings
from grievance.db import DatabaseBusy, busy_error, make_engine, make_sessionmaker
from grievance.migrations import pending_migration
from grievance.workflow.engine import Runtime
from grievance.workflow.loader import load_workflows
from web.api import api_router
from web.errors import _is_page, install_error_handlers
from web.pages import pages_router
from web.pages.common import render

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("grievance.web")


def install_busy_handler(app: FastAPI, settings: Settings) -> None:
    """A database that stays busy longer than Settings.db_lock_timeout_seconds (SQLite locked by a long write,
    a PostgreSQL lock timeout, no connection) is answered 503 with Retry-After and a bilingual message: JSON
    for the API, the error page for pages. Nothing was written: the request's transaction was rolled back.
    Other database errors stay faults (500)."""

    async def busy(request: Request, exc: Exception) -> Response:
        error = exc if isinstance(exc, DatabaseBusy) else busy_error(exc, settings.db_lock_timeout_seconds)
        if error is None:
            raise exc
        log.warning("%s %s -> 503: %s (%s)", request.method, request.url.path, error.message, str(exc).splitlines()[0])
        headers = {"Retry-After": str(error.detail["retry_after"])}
        if _is_page(request):
            # No viewer: looking up the session cookie would wait for the busy database again.
            page = render(request, "error.html", None, status_code=503, status=503, message=error.message, allowed=[])
            page.headers.update(headers)
            return page
        return JSONResponse(status_code=503, content=error.to_dict(), headers=headers)

    for kind in (DatabaseBusy, sa_exc.DBAPIError, sa_exc.TimeoutError):
        app.add_exception_handler(kind, busy)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = FastAPI(
        title="grievance",
        summary="诉求办理：受理、派单、办理、回访、归档 (case management for citizen and enterprise appeals)",
        version="0.1.0",
    )
    engine = make_engine(settings.database_url, lock_timeout=settings.db_lock_timeout_seconds)
    problem = pending_migration(engine)
    if problem:
        raise SystemExit(problem)
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    # Workflow files are validated once at start: a broken file stops the service with file and line.
    app.state.runtime = Runtime(settings=settings, workflows=load_workflows(settings.workflows_dir))
    install_error_handlers(app)
    install_busy_handler(app, settings)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(pages_router)
    # Every asset is served by the app itself: government intranets have no CDN.
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
