"""Keeps case data out of the browser's caches on shared front-desk computers: after sign-out, Back must not show the
last case page with a full phone number. Every answer of the app (pages, the JSON API, redirects, error pages) is
sent with `Cache-Control: no-store` (which also keeps Chromium from restoring the page from its back-forward
cache), unless its route set its own Cache-Control; the static assets (/static, the favicon) keep caching."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CACHEABLE_PREFIXES = ("/static/", "/favicon.ico")  # assets only; /static/api-docs is Swagger UI's


class NoStoreMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): it only adds a header to the response's start message."""

    def __init__(self, app: ASGIApp, cacheable_prefixes: tuple[str, ...] = CACHEABLE_PREFIXES) -> None:
        self.app = app
        self.cacheable_prefixes = cacheable_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith(self.cacheable_prefixes):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_no_store)
