"""Request dependencies: the transaction, the runtime and the authenticated user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from grievance.db import read_only, request_transaction
from grievance.errors import Forbidden, NotAuthenticated
from grievance.glossary import role_label, role_labels
from grievance.users.models import User
from grievance.users.service import user_for_token
from grievance.workflow.engine import Runtime

# The request-state key under which the body gate (web/body_limits.py) leaves (token, user) for authentication.
BEARER_USER = "bearer_user"


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent (scope="function"); a GET or HEAD
    only reads, never waiting for SQLite's write lock (db.request_transaction: its audit entries are written
    after the read)."""
    with request_transaction(request.app.state.sessions, reads_only=request.method in ("GET", "HEAD")) as session:
        yield session


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


DbSession = Annotated[Session, Depends(get_session, scope="function")]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _authenticate(request: Request, session: Session) -> User:
    token = _bearer_token(request)
    if not token:
        raise NotAuthenticated(
            "需要登录：请在 Authorization 头中提供 Bearer 令牌",
            "send 'Authorization: Bearer <token>'; create one with `grievance token create USER`",
        )
    known = getattr(request.state, BEARER_USER, None)  # the body gate's lookup of this request (body_limits)
    user = known[1] if known is not None and known[0] == token else user_for_token(session, token)
    if user is None:
        raise NotAuthenticated("令牌无效或已吊销", "the token is unknown or revoked")
    return user


def get_current_user(request: Request, session: DbSession) -> User:
    return _authenticate(request, session)


def get_user_before_body(request: Request) -> User:
    """Authenticates in a short transaction of its own, for routes that read a large body (uploads)
    before opening theirs: 401 still comes first, and no lock is held while the body arrives. The body gate's
    lookup of this very token (web/body_limits.py) is taken as it is: no second read."""
    known = getattr(request.state, BEARER_USER, None)
    if known is not None and known[0] == _bearer_token(request):
        return known[1]  # type: ignore[no-any-return]
    with read_only(request.app.state.sessions) as session:
        return _authenticate(request, session)


CurrentUser = Annotated[User, Depends(get_current_user)]
UserBeforeBody = Annotated[User, Depends(get_user_before_body)]


def require_roles(*roles: str):  # type: ignore[no-untyped-def]
    """A dependency that lets only these roles through, with a 403 that names them."""

    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Forbidden(
                f"{role_label(user.role)}无权进行此操作；可进行的角色：{role_labels(roles)}",
                f"the {role_label(user.role, 'en')} role may not do this; allowed: {role_labels(roles, 'en')}",
                allowed=list(roles),  # the codes, for API clients
            )
        return user

    return Depends(check)
