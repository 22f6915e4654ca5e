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
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session

from grievance.cases import query_codes
from grievance.cases.models import Case
from grievance.cases.service import get_case
from grievance.db import read_only
from grievance.errors import DomainError, Forbidden
from grievance.glossary import label_of, labels_in
from grievance.reference.service import is_liaison
from grievance.users.models import User, WebSession
from grievance.users.service import account_label, web_session
from web.case_query import view_channel
from web.deps import DbSession
from web.i18n import LOCALE_COOKIE, Formatter, Labels, pick_locale, translations
from web.params import refuse_impossible_id

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
        ("/callbacks", "Callbacks"),
        ("/cases", "Cases"),
        ("/meetings", "Meetings"),
        ("/reports", "Reports"),
        ("/admin/import", "Ledger import"),
    ],
    "handler": [("/queue", "My queue"), ("/cases", "Cases")],
    "dept_head": [("/queue", "My queue"), ("/cases", "Cases"), ("/reports", "Reports")],
    "supervisor": [
        ("/board", "Supervision"),
        ("/keycases", "Key cases"),
        ("/callbacks", "Callbacks"),
        ("/cases", "Cases"),
        ("/reports/monthly", "Monthly report"),
        ("/reports", "Reports"),
        ("/admin/import", "Ledger import"),
    ],
    "leader": [
        ("/dashboard", "Dashboard"),
        ("/leader/cases", "My key cases"),
        ("/keycases", "Key cases"),
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
# An account's name as pages show it: a system account (12345平台, Open311) by its label in the page's language.
env.filters["account"] = account_label
# A query code as printed, in groups ("K7QM-3XHD-9TPR"): receipt, case page, public page.
env.filters["query_code"] = query_codes.grouped


# Punctuation between translated pieces: full-width on Chinese pages, ASCII on English ones ("、" is not a comma
# an English reader knows). In templates: punct.sep, punct.comma, punct.colon, punct.semicolon, punct.open ~ x ~
# punct.close.
PUNCTUATION = {
    "zh_CN": {"sep": "、", "comma": "，", "colon": "：", "semicolon": "；", "open": "（", "close": "）"},
    "en": {"sep": ", ", "comma": ", ", "colon": ": ", "semicolon": "; ", "open": " (", "close": ")"},
}


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
        with read_only(request.app.state.sessions) as session:
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
            # Role names, not codes: the page shows the reader's half (in_locale) and lists who may.
            role = viewer.user.role
            raise Forbidden(
                f"{label_of('Role', role)}无权访问此页面",
                f"a {label_of('Role', role, 'en')} may not open this page",
                allowed=list(roles),
            )
        return viewer

    return Depends(check)


def check_csrf(viewer: Viewer, form: Any) -> None:
    """Every form posts the session's CSRF token; a missing or wrong one is refused (403)."""
    sent = str(form.get("csrf_token") or "")
    if not sent or not secrets.compare_digest(sent, viewer.web.csrf_token):
        raise Forbidden(
            "表单已过期或来源不明，请刷新页面后重试", "the form is stale or not from this site; reload and retry"
        )


def formatter(runtime: Any, locale: str) -> Formatter:
    """The reader's date formatter, with today's local date from the runtime's clock (so short dates of
    another year carry their year)."""
    tz = runtime.settings.timezone
    return Formatter(locale, tz, today=runtime.now().astimezone(ZoneInfo(tz)).date())


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
        fmt=formatter(runtime, locale),
        # Vocabulary labels (labels["Channel"][code]) and workflow labels (label("state", code, workflow))
        # in the reader's language.
        labels=labels_in(locale),
        label=Labels(locale, runtime.workflows.definitions),
        punct=PUNCTUATION["en" if locale == "en" else "zh_CN"],
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
        errors["_"] = exc.text(locale)
    return errors


def case_on_page(case_no: str, request: Request, session: DbSession, viewer: CurrentViewer) -> Case:
    """The case a page's path names, as the viewer may see it: the same rule, audit and 404 as the API's
    CurrentCase (web/case_query.py), through grievance.cases.service.get_case; a confidential view is audited
    with the page it came through (web.case_query.view_channel: the case page, an action, a download, the receipt)."""
    refuse_impossible_id(case_no, "case_no")
    return get_case(session, case_no, viewer.user, seen_in=view_channel(request, api=False))


ViewedCase = Annotated[Case, Depends(case_on_page)]
