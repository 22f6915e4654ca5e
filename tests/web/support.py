"""Helpers for page tests: a browser-like client signed in as a user, forms posted with their CSRF token,
and the HTML read as a person would (BeautifulSoup)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import select

from grievance.db import transaction, utcnow
from grievance.users.models import User, WebSession
from grievance.users.service import _digest
from web.pages.common import SESSION_COOKIE


class Browser:
    """One person's browser: a TestClient with their session cookie (no redirects followed unless asked)."""

    def __init__(self, app: Any, username: str | None = None) -> None:
        self.app = app
        self.client = TestClient(app, follow_redirects=False)
        self.csrf = ""
        if username:
            self.sign_in_directly(username)

    def sign_in_directly(self, username: str) -> None:
        """A session row as sign_in() makes one, without a password (the World's accounts have none; the
        real sign-in form is tested in test_auth.py)."""
        token = secrets.token_urlsafe(32)
        self.csrf = secrets.token_urlsafe(24)
        with transaction(self.app.state.sessions) as session:
            user = session.exec(select(User).where(User.username == username)).one()
            now = utcnow()
            session.add(
                WebSession(
                    token_hash=_digest(token),
                    user_id=user.id,  # type: ignore[arg-type]
                    csrf_token=self.csrf,
                    created_at=now - timedelta(days=400),  # valid whatever the frozen test clock says
                    expires_at=now + timedelta(days=400),
                )
            )
        self.client.cookies.set(SESSION_COOKIE, token)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Post a form as the page would: with the session's CSRF token."""
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)

    def page(self, url: str, expect: int = 200) -> BeautifulSoup:
        response = self.get(url)
        assert response.status_code == expect, f"{url}: {response.status_code} {response.text[:500]}"
        return soup(response.text)


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def text_of(node: Any) -> str:
    """The visible text of a node with whitespace collapsed."""
    return " ".join(node.get_text(" ").split()) if node is not None else ""
