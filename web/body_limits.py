"""Request bodies are bounded and never read for a stranger: a pure ASGI middleware that answers before the route
(and before FastAPI, which reads and parses a body before it solves any dependency, authentication included).

For every request that carries a body (Content-Length above 0, or chunked):
- JSON API outside /api/v1/public/: no `Authorization: Bearer` token -> 401 not_authenticated at once; a token
  that names no active user (one indexed lookup per request, in a short read of its own, handed on to the route) -> 401 too.
  The body is not read either way. If the lookup itself fails (database busy or down) the route decides, as it
  would without this middleware.
- Pages: a POST without the session cookie, except the pages anyone may post (PUBLIC_PAGE_POSTS), is sent to
  the sign-in page (303), as the route would, without reading the body.
- Size: a multipart body (uploads) may total Settings.max_upload_total_bytes, any other body (JSON, forms)
  Settings.max_json_body_bytes. A Content-Length over the cap is answered 413 at once; a chunked body is counted
  as it arrives and cut with 413 as soon as it passes the cap (the route's own answer is dropped).
The 413 is `body_too_large` with `limit_bytes` and the limit in MB in both languages (grievance/cases/
upload_limits.py); pages get the error page in the reader's language. File counts and per-file sizes are checked
as the form is parsed (web/uploads.py)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from grievance.cases.upload_limits import body_too_large
from grievance.config import Settings
from grievance.db import read_only
from grievance.errors import DomainError, NotAuthenticated
from grievance.users.models import User
from grievance.users.service import user_for_token
from web.deps import BEARER_USER
from web.open311.routes import is_open311, middleware_refusal

log = logging.getLogger("grievance.web")

API_PREFIX = "/api/"
PUBLIC_API_PREFIX = "/api/v1/public/"
# API routes that authenticate the sender by a signature of the body instead of a bearer token (the 12345 platform).
SIGNED_API_PREFIXES = ("/api/v1/hotline12345/",)
# Pages that take a POST from someone not signed in; every other page POST needs the session cookie.
PUBLIC_PAGE_POSTS = frozenset({"/login", "/logout", "/track"})
SESSION_COOKIE = "gv_session"  # web.pages.common.SESSION_COOKIE (not imported: pages import much at load)

NO_TOKEN = NotAuthenticated(
    "需要登录：请在 Authorization 头中提供 Bearer 令牌",
    "send 'Authorization: Bearer <token>'; create one with `grievance token create USER`",
)
UNKNOWN_TOKEN = NotAuthenticated("令牌无效或已吊销", "the token is unknown or revoked")


class BodyCut(HTTPException):
    """Raised into the route from `receive` when a streamed body passes its cap (the 413 is already sent)."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body too large")


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "chunked" in headers.get("transfer-encoding", "").lower()


def _bearer(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _has_session_cookie(headers: Headers) -> bool:
    return any(
        part.strip().startswith(f"{SESSION_COOKIE}=") and part.strip() != f"{SESSION_COOKIE}="
        for cookie in headers.getlist("cookie")
        for part in cookie.split(";")
    )


def _token_user(sessions: Any, token: str) -> User | bool | None:
    """The active user the token names, None when it names none, False when the database could not say (the
    route then decides). A read: on SQLite it never waits for the write lock."""
    try:
        with read_only(sessions) as session:
            return user_for_token(session, token)
    except Exception:  # busy or unreachable: the route's own lookup answers 503 with its message
        log.warning("token check before the body failed; left to the route", exc_info=True)
        return False


class BodyLimitMiddleware:
    """See the module docstring. `settings` gives the caps; the sessionmaker is read from the app's state."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not _has_body(headers):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        refusal = await self._gate(scope, path, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        multipart = headers.get("content-type", "").lower().startswith("multipart/")
        cap = self.settings.max_upload_total_bytes if multipart else self.settings.max_json_body_bytes
        too_large = body_too_large(cap, multipart=multipart)
        length = headers.get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > cap:
            log.info("%s %s -> 413: Content-Length %s over %s", scope["method"], path, length, cap)
            await self._error(scope, too_large)(scope, receive, send)
            return
        await self._limited(scope, receive, send, cap, too_large)

    async def _gate(self, scope: Scope, path: str, headers: Headers) -> Response | None:
        """The answer to a request that may not send a body (401, or 303 to sign in), or None."""
        if is_open311(path):
            return None  # Open311 clients send their api_key in the form (web/open311); the size cap still applies
        if path.startswith(API_PREFIX):
            if path.startswith((PUBLIC_API_PREFIX, *SIGNED_API_PREFIXES)):
                return None
            token = _bearer(headers)
            if token is None:
                return self._error(scope, NO_TOKEN)
            user = await run_in_threadpool(_token_user, scope["app"].state.sessions, token)
            if user is None:
                return self._error(scope, UNKNOWN_TOKEN)
            if user is not False:  # the route's authentication takes it from here: one lookup per request
                scope.setdefault("state", {})[BEARER_USER] = (token, user)
            return None
        if scope["method"] == "POST" and path not in PUBLIC_PAGE_POSTS and not _has_session_cookie(headers):
            target = path + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string") else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return None

    async def _limited(self, scope: Scope, receive: Receive, send: Send, cap: int, error: DomainError) -> None:
        received = 0
        started = False
        answered = False

        async def counting_receive() -> Message:
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    log.info("%s %s -> 413: body passed %s bytes", scope["method"], scope["path"], cap)
                    if not started and not answered:
                        answered = True
                        await self._error(scope, error)(scope, receive, send)
                    raise BodyCut()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the route's answer to a body cut short: the 413 went out instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyCut:
            if not answered and not started:
                await self._error(scope, error)(scope, receive, send)

    def _error(self, scope: Scope, error: DomainError) -> Response:
        """The refusal as the API answers it (JSON) or as a page (the error page in the reader's language)."""
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, NotAuthenticated) else None
        if is_open311(scope.get("path", "")):  # the GeoReport v2 error body
            return middleware_refusal(scope["path"], error.status_code, error.message, error.message_en)
        if scope.get("path", "").startswith(API_PREFIX):
            return JSONResponse(error.to_dict(), status_code=error.status_code, headers=headers)
        request = Request(scope)
        try:
            from web.pages.common import locale_of, render

            return render(
                request,
                "error.html",
                None,
                status_code=error.status_code,
                status=error.status_code,
                message=error.text(locale_of(request)),
                allowed=[],
            )
        except Exception:  # the page could not be drawn: the message still reaches the reader
            log.warning("error page for %s failed", scope.get("path"), exc_info=True)
            return PlainTextResponse(f"{error.message}\n{error.message_en}", status_code=error.status_code)
