"""The app factory: builds the FastAPI application for given settings, so tests can swap them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import exc as sa_exc

from grievance.config import Settings, get_settings
from grievance.db import DatabaseBusy, busy_error, engine_for, make_sessionmaker
from grievance.migrations import pending_migration
from grievance.workflow.engine import Runtime
from grievance.workflow.loader import load_workflows
from web.api import api_router
from web.api.schemas import install_openapi
from web.background import BackgroundJobs
from web.background import wanted as background_jobs_wanted
from web.body_limits import BodyLimitMiddleware
from web.client_disconnect import ClientDisconnectMiddleware
from web.errors import _is_page, install_error_handlers
from web.input_guard import InputGuardMiddleware
from web.lookup_throttle import LookupThrottle
from web.no_store import NoStoreMiddleware
from web.open311 import router as open311_router
from web.pages import pages_router
from web.pages.common import locale_of, render
from web.security_headers import SecurityHeadersMiddleware, redoc_with_own_styles

STATIC = Path(__file__).resolve().parent / "static"
# Swagger UI and ReDoc as packaged on PyPI (fastapi-offline), served by the app: /docs works without a CDN.
API_DOCS_ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
API_DOCS_URL = "/static/api-docs"
log = logging.getLogger("grievance.web")
# ReDoc 3.x (the packaged redoc.standalone.js) always shows "API docs by Redocly" with an <img> from its CDN and has
# no option to hide it: the app serves the script with that one address pointing at a local copy of the icon.
REDOC_JS_URL = "/redoc/redoc.standalone.js"
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
REDOC_LOCAL_LOGO = b"/static/redocly-logo-mini.svg"


def redoc_script() -> bytes:
    """The packaged redoc.standalone.js (bytes) with its one CDN address (the footer logo) replaced by our own
    file. Raises RuntimeError when a new ReDoc version no longer has exactly that address (check the footer)."""
    script = (API_DOCS_ASSETS / "redoc.standalone.js").read_bytes()
    if script.count(REDOC_CDN_LOGO) != 1 or b"cdn.redoc.ly" in script.replace(REDOC_CDN_LOGO, b""):
        raise RuntimeError("redoc.standalone.js: the CDN logo address changed; update web/app.py's redoc_script")
    return script.replace(REDOC_CDN_LOGO, REDOC_LOCAL_LOGO)


def install_busy_handler(app: FastAPI, settings: Settings) -> None:
    """A database that stays busy longer than Settings.db_lock_timeout_seconds (SQLite locked by a long write,
    a PostgreSQL lock timeout, no connection, a server restarting) or that cannot be written (a full disk, a
    read-only SQLite file: grievance.db.DatabaseUnwritable) is answered 503 with Retry-After and a bilingual
    message: JSON for the API, the error page for pages. Nothing was written: the request's transaction was
    rolled back. Other database errors stay faults (500)."""

    async def busy(request: Request, exc: Exception) -> Response:
        error = exc if isinstance(exc, DatabaseBusy) else busy_error(exc, settings.db_lock_timeout_seconds)
        if error is None:
            raise exc
        if request.method in ("GET", "HEAD") and type(error) is DatabaseBusy and error.code == "database_busy":
            error = DatabaseBusy(error.detail["retry_after"], reading=True)  # "open it again", not "nothing saved"
        log.warning("%s %s -> 503: %s (%s)", request.method, request.url.path, error.message, str(exc).splitlines()[0])
        headers = {"Retry-After": str(error.detail["retry_after"])}
        if _is_page(request):
            # No viewer: looking up the session cookie would wait for the busy database again.
            message = error.text(locale_of(request))
            page = render(request, "error.html", None, status_code=503, status=503, message=message, allowed=[])
            page.headers.update(headers)
            return page
        return JSONResponse(status_code=503, content=error.to_dict(), headers=headers)

    for kind in (DatabaseBusy, sa_exc.DBAPIError, sa_exc.TimeoutError):
        app.add_exception_handler(kind, busy)


def install_api_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc for the JSON API, every script and style from API_DOCS_URL."""
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            oauth2_redirect_url=oauth2_redirect,
            swagger_js_url=f"{API_DOCS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{API_DOCS_URL}/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    redoc_js = redoc_script()

    @app.get(REDOC_JS_URL, include_in_schema=False)
    def redoc_standalone_js() -> Response:
        return Response(redoc_js, media_type="text/javascript; charset=utf-8")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url=REDOC_JS_URL,
            redoc_favicon_url="/static/favicon.svg",
            with_google_fonts=False,
        )
        return redoc_with_own_styles(page)  # its own CSP: ReDoc makes <style> elements at run time


def create_app(settings: Settings | None = None, background: bool | None = None) -> FastAPI:
    """The application for `settings` (default: the GRIEVANCE_* environment). `background`: run the outbox
    worker and the sweeper in this process (web/background.py); None (the default) decides by
    background.wanted(settings), true only under `grievance serve`, so tests' apps get no threads."""
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_jobs = background_jobs_wanted(settings) if background is None else background

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        jobs = BackgroundJobs(app.state.sessions, app.state.runtime) if run_jobs else None
        if jobs is not None:
            jobs.start()
        try:
            yield
        finally:
            if jobs is not None:
                jobs.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="grievance",
        summary="诉求办理：受理、派单、办理、回访、归档 (case management for citizen and enterprise appeals)",
        version="0.1.0",
        docs_url=None,  # served below from packaged assets instead of a CDN
        redoc_url=None,
    )
    engine = engine_for(settings)
    problem = pending_migration(engine)
    if problem:
        raise SystemExit(problem)
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    # Workflow files are validated once at start: a broken file stops the service with file and line.
    app.state.runtime = Runtime(settings=settings, workflows=load_workflows(settings.workflows_dir))
    app.state.lookup_throttle = LookupThrottle()  # public query-code lookups per client address
    install_error_handlers(app)
    install_busy_handler(app, settings)
    app.add_middleware(InputGuardMiddleware)  # NUL text, JSON too deep: 422 (404 in a path) before any route
    app.add_middleware(BodyLimitMiddleware, settings=settings)  # 401 before a body is read; bodies capped (413)
    # Case data never stays in a shared computer's browser cache (Back after sign-out); /static keeps caching.
    app.add_middleware(NoStoreMiddleware)
    # A client gone mid-request is one log line, not a 500 traceback (added last: the outermost of ours).
    app.add_middleware(ClientDisconnectMiddleware)
    # nosniff, no framing, Referrer-Policy, CSP (own files only), outermost so that a 500 page gets them too.
    app.build_middleware_stack = SecurityHeadersMiddleware.around(app.build_middleware_stack)  # type: ignore[method-assign]
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(open311_router, prefix="/open311/v2")  # Open311 GeoReport v2: its own error body
    install_openapi(app)  # components for the models routes read by hand (intake's CaseCreate)
    app.include_router(pages_router)
    # Every asset is served by the app itself: government intranets have no CDN.
    app.mount(API_DOCS_URL, StaticFiles(directory=API_DOCS_ASSETS), name="api-docs")  # before /static
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_api_docs(app)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """Browsers ask for /favicon.ico whatever the page links: the same icon, not a logged 404."""
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    @app.api_route("/livez", methods=["GET", "HEAD"], include_in_schema=False)
    def livez() -> dict[str, str]:
        """The process answers: 200 {"status": "ok"} without touching the database (the container's
        HEALTHCHECK, so a database outage does not get every app container restarted; docs/deploy.md)."""
        return {"status": "ok"}

    @app.api_route("/healthz", methods=["GET", "HEAD"], include_in_schema=False)
    def healthz(request: Request) -> JSONResponse:
        """Ready to serve: 200 {"status": "ok", "database": "ok"} when `SELECT 1` answers; 503
        {"error": "database_unavailable", "message", "message_en"} when the database cannot be reached, within
        the engine's connect timeout (PostgreSQL: libpq connect_timeout, at least 2 s; SQLite: lock timeout)."""
        try:
            with request.app.state.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except sa_exc.SQLAlchemyError as exc:
            logging.getLogger("grievance.health").warning("health check: database unreachable: %s", exc)
            return JSONResponse(
                status_code=503,
                content={
                    "error": "database_unavailable",
                    "message": "数据库无法连接，服务暂不可用",
                    "message_en": "The database cannot be reached; the service is unavailable for now",
                },
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    return app
