"""Staff accounts: creating them, hashing passwords with argon2, issuing and checking API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from grievance.db import find_by_ref, utcnow
from grievance.errors import Duplicate, InvalidInput, NotFound, RefusedByRule
from grievance.glossary import DEPARTMENT_ROLES, LABELS, Role, label_of, role_label
from grievance.reference.models import Department
from grievance.users.models import ApiToken, User, WebSession

_hasher = PasswordHasher()
MIN_PASSWORD = 10
TOKEN_PREFIX = "gv_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput.field(
            "password", f"密码至少{MIN_PASSWORD}个字符", f"the password needs at least {MIN_PASSWORD} characters"
        )


def verify_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except VerificationError:
        return False


def find_department(session: Session, ref: int | str) -> Department:
    """A department by id or by code."""
    dept = find_by_ref(session, Department, ref, "code")
    if dept is None:
        raise InvalidInput.field("department", f"承办单位 {ref} 不存在", f"no department {ref!r} (give its id or code)")
    return dept


def create_user(
    session: Session,
    *,
    username: str,
    role: str,
    password: str | None,
    display_name: str = "",
    department: int | str | None = None,
) -> User:
    errors = []
    try:
        Role(role)
    except ValueError:
        errors.append(
            {
                "field": "role",
                "message": f"角色应为：{Role.accepted()}",
                "message_en": f"role must be one of: {Role.accepted()}",
            }
        )
    if not username or len(username) > 64:
        errors.append(
            {"field": "username", "message": "用户名为1至64个字符", "message_en": "username must be 1-64 characters"}
        )
    if errors:
        raise InvalidInput("用户信息有误", "invalid user", errors)
    dept_id = find_department(session, department).id if department not in (None, "") else None  # type: ignore[arg-type]
    if role in DEPARTMENT_ROLES and dept_id is None:
        raise InvalidInput.field(
            "department", "承办人和单位负责人必须属于一个单位", f"a {role_label(role, 'en')} belongs to a department"
        )
    if session.exec(select(User).where(User.username == username)).first():
        raise Duplicate(f"用户名 {username} 已存在", f"username {username!r} is taken")
    if password is not None:
        check_password_strength(password)
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        department_id=dept_id,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, ref: int | str) -> User:
    user = find_by_ref(session, User, ref, "username")
    if user is None:
        raise NotFound(f"用户 {ref} 不存在", f"no user {ref!r}")
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str = "") -> str:
    """Issue a bearer token. Only its hash is kept: the caller shows it once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_digest(token), name=name))  # type: ignore[arg-type]
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.exec(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)  # type: ignore[arg-type]
        .where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None), User.active)  # type: ignore[union-attr]
    ).first()
    return row


def revoke_tokens(session: Session, user: User, name: str | None = None, now: datetime | None = None) -> int:
    """Revoke the user's active tokens (only those with this name, if given); returns how many."""
    stmt = select(ApiToken).where(ApiToken.user_id == user.id, col(ApiToken.revoked_at).is_(None))
    if name is not None:
        stmt = stmt.where(ApiToken.name == name)
    tokens = list(session.exec(stmt).all())
    for token in tokens:
        token.revoked_at = now or utcnow()
        session.add(token)
    session.flush()
    return len(tokens)


# --- browser sign-in -----------------------------------------------------------------------------------------

SESSION_HOURS = 12  # a working day; then sign in again
# Signing in with its throttle lives in grievance.users.sign_in (it runs its own transactions).


def web_session(session: Session, token: str, now: datetime | None = None) -> tuple[User, WebSession] | None:
    """The user and session behind a cookie, if it is valid and the account active."""
    row = session.exec(select(WebSession).where(WebSession.token_hash == _digest(token))).first()
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row


def sign_out(session: Session, token: str) -> None:
    session.exec(delete(WebSession).where(WebSession.token_hash == _digest(token)))  # type: ignore[call-overload]


def change_password(session: Session, user: User, *, current: str, new: str, keep_token: str | None = None) -> None:
    """Change one's own password; every other browser session of the account is signed out."""
    if not verify_password(user, current):
        raise InvalidInput.field("current", "当前密码不正确", "the current password is wrong")
    check_password_strength(new)
    if new == current:
        raise InvalidInput.field("new", "新密码不能与当前密码相同", "the new password must differ from the current one")
    user.password_hash = hash_password(new)
    session.add(user)
    keep = _digest(keep_token) if keep_token else ""
    session.exec(delete(WebSession).where(WebSession.user_id == user.id, WebSession.token_hash != keep))  # type: ignore[call-overload]


# --- administration ------------------------------------------------------------------------------------------


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.username))).all())


def end_web_sessions(session: Session, user: User) -> int:
    """Sign the account out of every browser; returns how many sessions ended."""
    result = session.exec(delete(WebSession).where(WebSession.user_id == user.id))  # type: ignore[call-overload]
    return int(result.rowcount or 0)


def reset_password(session: Session, user: User, new: str) -> int:
    """An administrator sets a new password for someone who forgot theirs: the strength rule applies and
    every browser session of the account ends. Returns how many sessions ended."""
    check_password_strength(new)
    user.password_hash = hash_password(new)
    session.add(user)
    session.flush()
    return end_web_sessions(session, user)


def deactivate_user(
    session: Session, user: User, *, by: User | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Lock an account out (someone left): it can no longer sign in, its browser sessions end at once and its
    API tokens are revoked. Its cases, events and liaison history stay. An administrator cannot lock
    themselves out."""
    if by is not None and by.id == user.id:
        raise RefusedByRule("不能停用自己的账号", "you cannot deactivate your own account")
    user.active = False
    session.add(user)
    session.flush()
    return {"sessions": end_web_sessions(session, user), "tokens": revoke_tokens(session, user, now=now)}


def reactivate_user(session: Session, user: User) -> None:
    """Let the account sign in again with its password; revoked tokens stay revoked."""
    user.active = True
    session.add(user)
    session.flush()


def active_token_count(session: Session, user: User) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(ApiToken)
            .where(ApiToken.user_id == user.id, col(ApiToken.revoked_at).is_(None))
        ).one()
    )


def system_account(session: Session, *, username: str, display_name: str) -> User:
    """The account another system acts as (an Open311 client, the 12345 platform): found by username or created
    with role intake and no password, so it logs cases under its own name in the timeline and can never sign in.
    Raises Duplicate if the username belongs to a person's account (a password is set)."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        try:
            # Two first requests at once: the loser's savepoint rolls back and it takes the winner's account.
            with session.begin_nested():
                user = User(username=username, display_name=display_name, role="intake", password_hash=None)
                session.add(user)
                session.flush()
            return user
        except IntegrityError:
            user = session.exec(select(User).where(User.username == username)).one()
    if user.password_hash is not None:
        raise Duplicate(
            f"用户名 {username} 已被工作人员账号使用，不能作为系统接入账号",
            f"username {username!r} belongs to a staff account, not a system account",
        )
    return user


# A system account's stored display name -> its username: the names system_account() was given (the glossary's
# Chinese labels, and Open311's bilingual name of the first releases), for pages that hold only the name.
SYSTEM_ACCOUNT_NAMES = {name: username for username, name in LABELS["SystemAccount"].items()} | {
    "Open311 接入 (Open311 clients)": "open311"
}


def account_label(name: str | None, locale: str = "zh_CN") -> str | None:
    """An account's name as a page shows it (the timeline's actor): a system account's (SYSTEM_ACCOUNT_NAMES)
    as the glossary's label in `locale` ("12345平台" -> "12345 platform" on English pages), any other name as it
    is; None (no actor: the sweeper) stays None for the page's own "System"."""
    username = SYSTEM_ACCOUNT_NAMES.get(name) if name else None
    return label_of("SystemAccount", username, locale) if username else name
