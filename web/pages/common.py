"""What every HTML page shares: rendering a template in the reader's language, the signed-in user from the
session cookie, CSRF checks on every form, one-shot flash messages, and the role check of each page.

Pages call the same service functions as the JSON API; this module only adapts them to forms and HTML.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session

from grievance.db import transaction
from grievance.errors import DomainError, Forbidden
from grievance.glossary import LABELS
from grievance.reference.service import is_liaison
from grievance.users.models import User, WebSession
from grievance.users.service import web_session
from web.deps import DbSession
from web.i18n import LOCALE_COOKIE, Formatter, pick_locale, translations

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SESSION_COOKIE = "gv_session"
LOGIN_CSRF_COOKIE = "gv_login_csrf"
FLASH_COOKIE = "gv_flash"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


# The navigation of each role: (path, English msgid; the zh_CN catalog has the Chinese).
NAV: dict[str, list[tuple[str, str]]] = {
    "intake": [("/intake", "New case"), ("/meetings", "Meetings"), ("/stations", "Stations"), ("/cases", "Cases")],
    "dispatcher": [
        ("/pool", "To dispatch"),
        ("/cases", "Cases"),
        ("/meetings", "Meetings"),
        ("/reports", "Reports"),
        ("/admin/import", "Ledger import"),
    ],
    "handler": [("/queue", "My queue"), ("/cases", "Cases")],
    "dept_head": [("/queue", "My queue"), ("/cases", "Cases"), ("/reports", "Reports")],
    "supervisor": [
        ("/board", "Supervision"),
        ("/cases", "Cases"),
        ("/reports", "Reports"),
        ("/admin/import", "Ledger import"),
    ],
    "leader": [
        ("/dashboard", "Dashboard"),
        ("/reports/monthly", "Monthly report"),
        ("/reports", "Reports"),
        ("/cases", "Cases"),
    ],
    "admin": [("/admin", "Administration"), ("/reports", "Reports"), ("/cases", "Cases")],
}
ROLE_NAMES = {
    "intake": "Front desk",
    "dispatcher": "Dispatcher",
    "handler": "Handler",
    "dept_head": "Department head",
    "supervisor": "Supervisor",
    "leader": "Leader",
    "admin": "Administrator",
}
env.globals["role_label"] = lambda role: ROLE_NAMES.get(role, role)


def nav_current(items: list[tuple[str, str]], path: str) -> str | None:
    """The navigation entry a page belongs to: the longest one its path starts with (月报 under 报表)."""
    matches = [href for href, _label in items if path == href or path.startswith(href.rstrip("/") + "/")]
    return max(matches, key=len, default=None)


env.globals["nav_current"] = nav_current


class LoginRequired(Exception):
    """Raised by page dependencies when there is no valid session: answered with a redirect to /login."""


@dataclass
class Viewer:
    """Who is looking at a page: the user, their browser session (for its CSRF token) and language."""

    user: User
    web: WebSession
    token: str
    locale: str
    is_liaison: bool = False  # a handler who is some enterprise's liaison cadre also logs its cases

    @property
    def nav(self) -> list[tuple[str, str]]:
        items = NAV.get(self.user.role, [])
        return [("/intake", "New case"), *items] if self.is_liaison else items


def locale_of(request: Request) -> str:
    return pick_locale(request.cookies.get(LOCALE_COOKIE))


def _viewer(request: Request, session: Session) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE)
    found = web_session(session, token, request.app.state.runtime.now()) if token else None
    if found is None:
        raise LoginRequired()
    user, row = found
    liaison = user.role == "handler" and is_liaison(session, user)
    return Viewer(user=user, web=row, token=token or "", locale=locale_of(request), is_liaison=liaison)


def optional_viewer(request: Request) -> Viewer | None:
    """The signed-in viewer for an error page (its own short transaction), or None."""
    try:
        with transaction(request.app.state.sessions) as session:
            return _viewer(request, session)
    except LoginRequired:
        return None


def current_viewer(request: Request, session: DbSession) -> Viewer:
    return _viewer(request, session)


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]


def page_roles(*roles: str):  # type: ignore[no-untyped-def]
    """A dependency for pages only these roles may open: others get the 403 page naming who may."""

    def check(viewer: CurrentViewer) -> Viewer:
        if viewer.user.role not in roles:
            raise Forbidden(
                f"角色 {viewer.user.role} 无权打开此页面 (role {viewer.user.role!r} may not open this page; "
                f"allowed: {', '.join(roles)})",
                allowed=list(roles),
            )
        return viewer

    return Depends(check)


def check_csrf(viewer: Viewer, form: Any) -> None:
    """Every form posts the session's CSRF token; a missing or wrong one is refused (403)."""
    sent = str(form.get("csrf_token") or "")
    if not sent or not secrets.compare_digest(sent, viewer.web.csrf_token):
        raise Forbidden(
            "表单已过期或来源不明，请刷新页面后重试 (the form is stale or not from this site; reload and retry)"
        )


def render(
    request: Request, name: str, viewer: Viewer | None = None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    locale = viewer.locale if viewer else locale_of(request)
    tr = translations(locale)
    runtime = request.app.state.runtime
    flash = unquote(request.cookies.get(FLASH_COOKIE, "")) or None
    body = env.get_template(name).render(
        request=request,
        viewer=viewer,
        user=viewer.user if viewer else None,
        csrf_token=viewer.web.csrf_token if viewer else "",
        locale=locale,
        _=tr.gettext,
        ngettext=tr.ngettext,
        fmt=Formatter(locale, runtime.settings.timezone),
        labels=LABELS,
        flash=flash,
        **context,
    )
    response = HTMLResponse(body, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def gettext_for(viewer: Viewer) -> Any:
    return translations(viewer.locale).gettext


def redirect(url: str, flash: str | None = None) -> RedirectResponse:
    """After a successful form: go (303, so a reload does not post again), with a one-shot message (already
    in the reader's language)."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(flash), max_age=60, httponly=True, samesite="lax", path="/")
    return response


def form_errors(exc: DomainError, locale: str = "zh_CN") -> dict[str, str]:
    """Field messages of a refused form in the reader's language, by field name ("_" for the whole form)."""
    key = "message_en" if locale == "en" else "message"
    errors: dict[str, str] = {}
    for err in exc.detail.get("errors", []):
        errors.setdefault(str(err.get("field", "_")), str(err.get(key) or err.get("message", "")))
    if not errors:
        errors["_"] = exc.message
    return errors
