"""Staff accounts and their API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from grievance.db import UTCDateTime, utcnow


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=64)
    role: str = Field(max_length=16)
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, only its SHA-256 is stored, with the session's
    CSRF token. Logout and password changes delete rows, so a stolen cookie stops working."""

    __tablename__ = "web_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    """A failed sign-in, by account name and address: repeated failures are throttled."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username", "username", "at"), Index("ix_login_attempts_ip", "ip", "at"))

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64)
    ip: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
