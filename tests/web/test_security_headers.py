"""Every answer carries the browser-side protections (web/security_headers.py): nosniff, no framing, a
same-origin Referrer-Policy and a Content-Security-Policy allowing only the app's own scripts and styles; the pages
themselves hold nothing inline that such a policy would refuse."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest
from bs4 import BeautifulSoup

from tests.web.support import Browser
from tests.web.test_auth import PASSWORD, give_password
from web.i18n import LOCALE_COOKIE
from web.pages.common import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from web.security_headers import STRICT_POLICY

STRICT_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(policy: str) -> dict[str, str]:
    parsed = {}
    for part in policy.split(";"):
        name, _, sources = part.strip().partition(" ")
        parsed[name] = sources.strip()
    return parsed


def assert_protected(response: Any, strict: bool = True) -> dict[str, str]:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    policy = directives(headers["Content-Security-Policy"])
    if strict:
        for name, sources in STRICT_DIRECTIVES.items():
            assert policy[name] == sources, (name, policy)
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    return policy


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_sign_in_page_and_redirect_carry_the_headers(client) -> None:  # type: ignore[no-untyped-def]
    assert_protected(client.get("/login"))
    redirect = client.get("/", follow_redirects=False)
    assert redirect.status_code in (302, 303, 307)
    assert_protected(redirect)
    assert client.get("/login").headers["Content-Security-Policy"] == STRICT_POLICY


def test_api_answer_static_file_and_health_carry_the_headers(world, client) -> None:  # type: ignore[no-untyped-def]
    answer = client.get("/api/v1/cases", headers=world.headers("dispatcher"))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    assert_protected(answer)
    css = client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert_protected(css)
    assert_protected(client.get("/static/app.js"))
    assert_protected(client.get("/healthz"))


def test_error_page_and_not_found_carry_the_headers(world, browser, client) -> None:  # type: ignore[no-untyped-def]
    refused = browser("intake").get("/admin")
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert_protected(refused)
    missing_page = browser("intake").get("/no-such-page")
    assert missing_page.status_code == 404
    assert_protected(missing_page)
    missing_case = client.get("/api/v1/cases/GX-2025-999999", headers=world.headers("dispatcher"))
    assert missing_case.status_code == 404
    assert_protected(missing_case)
    unauthenticated = client.get("/api/v1/cases")
    assert unauthenticated.status_code == 401
    assert_protected(unauthenticated)
    missing_file = client.get("/static/no-such-file.js")
    assert missing_file.status_code == 404
    assert_protected(missing_file)


def test_a_server_fault_answer_carries_the_headers(app) -> None:  # type: ignore[no-untyped-def]
    """The 500 is answered by Starlette's outermost ServerErrorMiddleware: the headers wrap even that."""
    from fastapi.testclient import TestClient

    def fault() -> None:
        raise RuntimeError("a fault")

    app.add_api_route("/test-fault", fault)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/test-fault")
    assert answer.status_code == 500
    assert_protected(answer)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]*\s on[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.parametrize(
    ("username", "paths"),
    [
        ("intake", ["/intake", "/meetings", "/stations", "/track"]),
        ("dispatcher", ["/pool", "/callbacks"]),
        ("head", ["/queue?view=all", "/cases"]),
        ("supervisor", ["/board"]),
        ("leader", ["/dashboard", "/reports", "/reports/monthly/2025-09"]),
        (
            "admin",
            [
                "/admin",
                "/admin/departments",
                "/admin/categories",
                "/admin/calendar",
                "/admin/workflows",
                "/admin/workflows/standard",
                "/admin/import",
                "/admin/users",
            ],
        ),
    ],
)
def test_pages_hold_no_inline_script_style_or_handler(world, browser, username, paths) -> None:  # type: ignore[no-untyped-def]
    """What the policy would refuse never reaches a page: a <script> without src, a <style> block, a style=""
    attribute (on HTML or SVG) or an on...= handler."""
    world.intake(title="小区门口路灯不亮")
    person = browser(username)
    for path in paths:
        response = person.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_protected(response)
        html = response.text
        assert not INLINE_SCRIPT.search(html), path
        assert "<style" not in html.lower(), path
        assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE), path
        assert not INLINE_HANDLER.search(html), path


def test_receipt_and_case_page_hold_nothing_inline(world, browser) -> None:  # type: ignore[no-untyped-def]
    case_no = world.intake(title="小区门口路灯不亮")["case_no"]
    for username, path in (("intake", f"/cases/{case_no}/receipt"), ("dispatcher", f"/cases/{case_no}")):
        response = browser(username).get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_protected(response)
        assert not INLINE_SCRIPT.search(response.text) and "<style" not in response.text.lower(), path
        assert not re.search(r"\sstyle\s*=", response.text, re.IGNORECASE), path


@pytest.mark.parametrize("path", ["/docs", "/docs/oauth2-redirect"])
def test_api_docs_allow_exactly_their_own_inline_blocks(client, path) -> None:  # type: ignore[no-untyped-def]
    """Swagger UI's bootstrap <script>: allowed by its sha256, nothing else inline."""
    response = client.get(path)
    assert response.status_code == 200
    policy = assert_protected(response, strict=False)
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", response.text, re.DOTALL)
    styles = re.findall(r"<style[^>]*>(.*?)</style>", response.text, re.DOTALL)
    assert scripts or styles, "the page has its inline bootstrap"
    assert policy["script-src"].split() == ["'self'", *sorted(sha256(s) for s in scripts)]
    assert policy["style-src"].split() == ["'self'", *sorted(sha256(s) for s in styles)]
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"


def test_redoc_may_style_itself_but_runs_no_inline_script(client) -> None:  # type: ignore[no-untyped-def]
    """ReDoc makes <style> elements at run time (no hash or nonce reaches them): inline styles, never scripts."""
    response = client.get("/redoc")
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", response.text)


def test_report_export_allows_its_style_block_and_no_script(world, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/reports/monthly/2025-09?format=html", headers=world.headers("leader"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    policy = assert_protected(response, strict=False)
    styles = re.findall(r"<style[^>]*>(.*?)</style>", response.text, re.DOTALL)
    assert len(styles) == 1
    assert policy["style-src"].split() == ["'self'", sha256(styles[0])]
    assert policy["script-src"] == "'self'"


def set_cookie_headers(response: Any) -> dict[str, str]:
    """The response's Set-Cookie headers by cookie name."""
    return {value.split("=", 1)[0]: value for value in response.headers.get_list("set-cookie")}


@pytest.mark.parametrize(
    ("mode", "base_url", "forwarded", "secure"),
    [
        ("auto", "http://testserver", None, False),
        # A client cannot fake TLS: uvicorn honours X-Forwarded-Proto only from FORWARDED_ALLOW_IPS.
        ("auto", "http://testserver", "https", False),
        ("auto", "https://testserver", None, True),
        ("true", "http://testserver", None, True),  # production: TLS ends at the proxy, the app hears http
        ("false", "https://testserver", None, False),
    ],
)
def test_cookies_are_secure_as_configured(app, world, mode, base_url, forwarded, secure) -> None:  # type: ignore[no-untyped-def]
    """GRIEVANCE_COOKIE_SECURE decides the Secure flag of the session, sign-in form and language cookies."""
    app.state.runtime.settings.cookie_secure = mode
    give_password(app, "handler")
    b = Browser(app)
    b.client.base_url = b.client._merge_url(base_url)  # type: ignore[attr-defined]
    extra = {"X-Forwarded-Proto": forwarded} if forwarded else {}
    form = b.client.get("/login", headers=extra)
    login_csrf = set_cookie_headers(form)[LOGIN_CSRF_COOKIE]
    token = BeautifulSoup(form.text, "html.parser").find("input", {"name": "csrf_token"})["value"]  # type: ignore[index]
    # Sent by hand: a client keeps a Secure cookie from a plain-http address (here the test's, not the proxy's).
    signed_in = b.client.post(
        "/login",
        data={"username": "handler", "password": PASSWORD, "csrf_token": token},
        headers={**extra, "Cookie": f"{LOGIN_CSRF_COOKIE}={token}"},
    )
    assert signed_in.status_code == 303, signed_in.text
    language = b.client.get("/lang/en?next=/queue", headers=extra)
    cookies = [login_csrf, set_cookie_headers(signed_in)[SESSION_COOKIE], set_cookie_headers(language)[LOCALE_COOKIE]]
    for cookie in cookies:
        assert ("; secure" in cookie.lower()) is secure, cookie
        assert "httponly" in cookie.lower() or cookie.startswith(f"{LOCALE_COOKIE}=")
