"""The table of published months (发布月报): a month's report frozen as the official record, version by version."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from grievance.db import UTCDateTime


class PublishedMonth(SQLModel, table=True):
    """One published version of an assessment month's report. Version 1 is the first publication; a later one
    is a correction made with a `reason`, and the highest version is the official record (earlier ones are kept).

    `document` is the monthly report exactly as service.monthly_report returned it, as JSON text (the bytes its
    `content_hash`, a SHA-256 in hex, was taken of); `figures` is the month's own row of the trend (every case
    metric of the month) that later reports read instead of recomputing. `as_of` (UTC, whole seconds) is the moment
    the figures were computed; `period_start`/`period_end` the month's local days [start, end) when published."""

    __tablename__ = "published_months"
    # The unique constraint's index also serves every lookup (a month's versions, the trend's months).
    __table_args__ = (UniqueConstraint("month", "version", name="uq_published_months_month_version"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7)  # 2025-11
    version: int
    period_start: date
    period_end: date
    as_of: datetime = Field(sa_type=UTCDateTime)
    published_at: datetime = Field(sa_type=UTCDateTime)
    published_by_id: int = Field(foreign_key="users.id")
    reason: str = Field(default="", sa_type=Text)
    document: str = Field(sa_type=Text)
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    content_hash: str = Field(max_length=64)
