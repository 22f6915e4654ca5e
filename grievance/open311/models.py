"""Open311 API keys: created, listed and revoked by the admin; only their SHA-256 is stored."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from grievance.db import UTCDateTime, utcnow


class Open311ApiKey(SQLModel, table=True):
    __tablename__ = "open311_api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)  # who the key was given to (an app, a partner)
    key_prefix: str = Field(max_length=12)  # the first characters, to recognise a key in lists
    key_sha256: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
