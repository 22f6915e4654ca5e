"""The app factory: builds the FastAPI application for given settings, so tests can swap them."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from grievance.config import Settings, get_settings
from grievance.db import make_engine, make_sessionmaker
from grievance.migrations import pending_migration
from grievance.workflow.engine import Runtime
from grievance.workflow.loader import load_workflows
from web.api import api_router
from web.errors import install_error_handlers
from web.pages import pages_router

STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = FastAPI(
        title="grievance",
        summary="诉求办理：受理、派单、办理、回访、归档 (case management for citizen and enterprise appeals)",
        version="0.1.0",
    )
    engine = make_engine(settings.database_url)
    problem = pending_migration(engine)
    if problem:
        raise SystemExit(problem)
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    # Workflow files are validated once at start: a broken file stops the service with file and line.
    app.state.runtime = Runtime(settings=settings, workflows=load_workflows(settings.workflows_dir))
    install_error_handlers(app)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(pages_router)
    # Every asset is served by the app itself: government intranets have no CDN.
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
