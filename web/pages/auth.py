"""Sign in and out, change one's password, switch the language, and the home page that sends each role to
its daily work."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from grievance.errors import DomainError, Forbidden, TooManyAttempts
from grievance.glossary import Role
from grievance.users.service import SESSION_HOURS, change_password, sign_out
from grievance.users.sign_in import sign_in
from web.deps import DbSession
from web.i18n import LOCALE_COOKIE, LOCALES
from web.pages.common import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentViewer,
    check_csrf,
    form_errors,
    gettext_for,
    locale_of,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)

# Where each role starts its day.
HOME = {
    Role.intake: "/intake",
    Role.dispatcher: "/pool",
    Role.handler: "/queue",
    Role.dept_head: "/queue",
    Role.supervisor: "/board",
    Role.leader: "/dashboard",
    Role.admin: "/admin",
}


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute URL an attacker could slip into ?next=."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/"
    if "\\" in target or any(ord(ch) < 32 for ch in target):  # "/\\evil.example" is "//evil.example" to a browser
        return "/"
    return target


def _secure(request: Request) -> bool:
    """Whether cookies get the Secure flag, per Settings.cookie_secure (GRIEVANCE_COOKIE_SECURE): "true" always
    (production: TLS ends at the reverse proxy, the app itself hears plain HTTP), "false" never (plain-HTTP
    tryouts), "auto" when the request reached the app over HTTPS as uvicorn reports it; uvicorn takes
    X-Forwarded-Proto only from the addresses in FORWARDED_ALLOW_IPS (default 127.0.0.1), so a client cannot
    fake it. docs/deploy.md explains the choice."""
    mode = request.app.state.runtime.settings.cookie_secure
    if mode == "auto":
        return request.url.scheme == "https"
    return mode == "true"


@router.api_route("/", methods=["GET", "HEAD"])  # HEAD: monitors and link checkers
def home(viewer: CurrentViewer) -> RedirectResponse:
    return RedirectResponse(HOME.get(viewer.user.role, "/cases"), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", next=_safe_next(next), login_csrf=token, errors={}, username="")
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/login"
    )
    return response


def login_refused(request: Request, field: str, message: str, status_code: int) -> Response:
    """The sign-in form again (not the bare error page) for a request web/input_guard.py refused before the route
    ran, e.g. a NUL byte in a field: the message next to `field` (or above the form), a fresh form token. The
    body was not read into fields, so the user name is not refilled."""
    token = secrets.token_urlsafe(24)
    shown = field if field in ("username", "password") else "_"
    response = render(request, "login.html", status_code=status_code, next="/", login_csrf=token,
                      errors={shown: message}, username="")  # fmt: skip
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/login"
    )
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Sign in. sign_in() runs its own transactions (the throttle's reservation is committed before the password
    is checked, the outcome after), so this route takes no request session; it is a plain `def`, run in the
    server's thread pool, because sign_in() may wait a moment for other attempts at the same account under way.
    A refusal by the throttle (it counts failures only) answers 429 with Retry-After and the message in both
    languages; a wrong name or password 401, without saying which."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, csrf_token):
        raise Forbidden("登录表单已过期，请刷新页面后重试", "the sign-in form expired; reload and retry")
    ip = request.client.host if request.client else "-"
    try:
        _user, token = sign_in(
            request.app.state.sessions,
            username=username,
            password=password,
            ip=ip,
            now=request.app.state.runtime.now(),
        )
    except DomainError as exc:
        page = render(
            request,
            "login.html",
            status_code=exc.status_code,
            next=_safe_next(next),
            login_csrf=csrf_token,
            errors={"_": exc.text(locale_of(request))},
            username=username,
        )
        if isinstance(exc, TooManyAttempts):
            page.headers["Retry-After"] = str(exc.detail["retry_after"])
        return page
    response = redirect(_safe_next(next))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, viewer: CurrentViewer, session: DbSession) -> Response:
    check_csrf(viewer, await request.form())
    sign_out(session, viewer.token)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, viewer: CurrentViewer) -> Response:
    return render(request, "password.html", viewer, errors={})


@router.post("/account/password", response_class=HTMLResponse)
async def password_change(request: Request, viewer: CurrentViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    errors: dict[str, str] = {}
    if form.get("new") != form.get("confirm"):
        errors["confirm"] = gettext_for(viewer)("The two new passwords differ")
    else:
        try:
            change_password(
                session,
                viewer.user,
                current=str(form.get("current", "")),
                new=str(form.get("new", "")),
                keep_token=viewer.token,
            )
        except DomainError as exc:
            errors = form_errors(exc, viewer.locale)
    if errors:
        return render(request, "password.html", viewer, status_code=422, errors=errors)
    return redirect("/", flash=gettext_for(viewer)("Password changed; your other sessions were signed out"))


@router.get("/lang/{locale}")
def switch_language(request: Request, locale: str, next: str = "/") -> Response:
    """Remember the language and go back to the same page, query string (the list's filters) included."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    if locale in LOCALES:
        response.set_cookie(
            LOCALE_COOKIE, locale, max_age=365 * 86400, samesite="lax", secure=_secure(request), path="/"
        )
    return response
