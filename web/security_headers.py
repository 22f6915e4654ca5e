"""Browser-side protections on every answer of the app: no framing (clickjacking), no MIME sniffing, no case
address leaking to other sites in the Referer, and a Content-Security-Policy that lets a page run only the app's
own scripts and styles, so an HTML injection that slipped past escaping still cannot run or restyle anything.

The pages keep every script and style in /static (web/templates has no inline <script>, <style>, style="" or
on...= handler). Two kinds of documents need inline code, and get a policy with the sha256 of exactly the inline
blocks they were generated with, never 'unsafe-inline':
- /docs and /docs/oauth2-redirect: FastAPI's Swagger UI bootstrap <script> (no user data in it); /redoc:
  inline styles only, which ReDoc makes at run time (redoc_with_own_styles says why no hash or nonce can do;
  kept: ReDoc 3.x has no option to avoid it). Its footer logo, hard-coded to cdn.redoc.ly, is pointed at our
  own /static copy by web/app.py's redoc_script, so /redoc loads nothing from elsewhere either;
- the standalone report exports (/reports/export.html, the API's ?format=html): one <style> block, because the
  same file is saved by `grievance report -o x.html` and must print without the app. Only <style> is hashed there
  (the export holds case titles); scripts stay 'self'.

Sources: OWASP Secure Headers Project and CSP Cheat Sheet; CSP Level 3 (hash-source, frame-ancestors).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping

from starlette.datastructures import MutableHeaders
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Same-origin: a link to another site sends no Referer at all (a /track URL or a case number never leaves the
# intranet); inside the app the Referer stays for our own logs. no-referrer would also do: nothing reads it.
REFERRER_POLICY = "same-origin"

BASE_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    # data: for images a page builds itself; the receipt's QR code is inline <svg>, which needs no source.
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

SCRIPT, STYLE = "script", "style"
# Path prefixes whose HTML is generated from fixed, trusted templates with inline blocks (see the module doc),
# and which kinds of block are hashed into their policy.
TRUSTED_INLINE: dict[str, frozenset[str]] = {
    "/docs": frozenset({SCRIPT, STYLE}),
    "/reports/export.html": frozenset({STYLE}),
    "/api/v1/reports/": frozenset({STYLE}),
}

_INLINE = {
    # A <script> without src (an external one is covered by 'self'), and any <style> element.
    SCRIPT: re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL),
    STYLE: re.compile(rb"<style[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL),
}


def content_security_policy(
    script_hashes: Iterable[str] = (), style_hashes: Iterable[str] = (), style_inline: bool = False
) -> str:
    """The policy as a header value, e.g. "default-src 'self'; script-src 'self' 'sha256-...'; ...".

    script_hashes / style_hashes: base64 sha256 digests of inline blocks to allow (see inline_hashes);
    style_inline: allow any inline style (only /redoc, see redoc_with_own_styles)."""
    policy = {name: list(sources) for name, sources in BASE_POLICY.items()}
    policy["script-src"] += [f"'sha256-{h}'" for h in sorted(set(script_hashes))]
    policy["style-src"] += [f"'sha256-{h}'" for h in sorted(set(style_hashes))]
    if style_inline:
        policy["style-src"] = ["'self'", "'unsafe-inline'"]
        policy["worker-src"] = ["'self'", "blob:"]  # ReDoc's search index runs in a worker made from a blob
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())


def inline_hashes(html: bytes, kind: str) -> list[str]:
    """Base64 sha256 of each inline <script> (kind "script") or <style> (kind "style") block's text in an HTML
    document, as CSP hash-sources want them (the exact bytes between the tags, UTF-8)."""
    return [base64.b64encode(hashlib.sha256(block).digest()).decode() for block in _INLINE[kind].findall(html)]


STRICT_POLICY = content_security_policy()


def redoc_with_own_styles(page: HTMLResponse) -> HTMLResponse:
    """FastAPI's ReDoc page, allowed inline styles and nothing else inline. ReDoc's bundle (styled-components and
    style-loader) creates <style> elements as soon as it loads, before its `nonce` option can reach them, so no
    hash or nonce can name them (tried: the page breaks with "git.io/JUIaE#17"). 'unsafe-inline' therefore goes
    to style-src of /redoc only, which shows the public API description and no case data; script-src stays
    'self' (the page has no inline script) and only its search worker may come from a blob:. ReDoc's footer logo
    (cdn.redoc.ly) stays refused: no CDN on an intranet. The policy is set here, so the middleware keeps it."""
    response = HTMLResponse(bytes(page.body), status_code=page.status_code)
    response.headers["Content-Security-Policy"] = content_security_policy(style_inline=True)
    return response


class SecurityHeadersMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): adds the headers to each response's start message; for the few trusted
    documents with inline blocks (TRUSTED_INLINE) it holds the HTML body back (small, generated pages) to hash it.
    A header a route set itself is kept."""

    def __init__(self, app: ASGIApp, trusted_inline: Mapping[str, frozenset[str]] = TRUSTED_INLINE) -> None:
        self.app = app
        self.trusted_inline = dict(trusted_inline)

    @classmethod
    def around(cls, build_stack: Callable[[], ASGIApp]) -> Callable[[], ASGIApp]:
        """Wrap Starlette's whole middleware stack (app.build_middleware_stack), outside ServerErrorMiddleware:
        app.add_middleware would sit inside it, and the 500 page it answers would go out without the headers."""
        return lambda: cls(build_stack())

    def _inline_kinds(self, path: str) -> frozenset[str]:
        for prefix, kinds in self.trusted_inline.items():
            if path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/"):
                return kinds
        return frozenset()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kinds = self._inline_kinds(str(scope["path"]))
        start: Message | None = None
        chunks: list[bytes] = []

        def add_headers(message: Message, policy: str) -> None:
            headers = MutableHeaders(scope=message)
            headers.setdefault("X-Content-Type-Options", "nosniff")
            headers.setdefault("X-Frame-Options", "DENY")
            headers.setdefault("Referrer-Policy", REFERRER_POLICY)
            headers.setdefault("Content-Security-Policy", policy)

        async def send_with_headers(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                is_html = MutableHeaders(scope=message).get("content-type", "").startswith("text/html")
                if kinds and is_html:
                    start = message  # sent with the body, once its inline blocks are hashed
                    return
                add_headers(message, STRICT_POLICY)
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                add_headers(
                    start,
                    content_security_policy(
                        inline_hashes(body, SCRIPT) if SCRIPT in kinds else (),
                        inline_hashes(body, STYLE) if STYLE in kinds else (),
                    ),
                )
                await send(start)
                message = {"type": "http.response.body", "body": body, "more_body": False}
            await send(message)

        await self.app(scope, receive, send_with_headers)
