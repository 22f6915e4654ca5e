"""A client that goes away while sending its request (a phone losing signal mid-upload, a closed tab) is logged as
such, in one line, instead of as an application error with a traceback: nothing was recorded for it, because every
route reads its whole body before it writes (one transaction per action, committed only after the route returns).

A pure ASGI middleware, the outermost of ours (web/app.py), so it sees Starlette's ClientDisconnect from any route,
form parser or middleware below it."""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("grievance.web")


class ClientDisconnectMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = {"bytes": 0}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received["bytes"] += len(message.get("body", b""))
            return message

        try:
            await self.app(scope, counting_receive, send)
        except ClientDisconnect:
            headers = dict(scope.get("headers") or [])
            expected = headers.get(b"content-length", b"?").decode("latin-1")
            client = scope.get("client") or ("-", 0)
            log.info(
                "client %s disconnected before its request was complete: %s %s, %s of %s bytes received; "
                "nothing was recorded",
                client[0],
                scope.get("method"),
                scope.get("path", "").replace("\x00", "\\0"),
                received["bytes"],
                expected,
            )
