"""What the API accepts and returns for reference data."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from grievance.errors import BilingualValueError
from grievance.identifiers import halfwidth, normalize_credit_code
from grievance.input_bounds import checked_day, checked_moment, not_a_number
from grievance.schemas import In, Number, Ref


class DepartmentIn(In):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    parent: Ref | None = Field(default=None, description="the parent department's code or id")


class DepartmentOut(BaseModel):
    id: int
    code: str
    name: str
    parent_id: int | None


class StationIn(In):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    address: str = Field(default="", max_length=200)
    community: str = Field(default="", max_length=100)
    department: Ref | None = Field(default=None, description="the local department's code or id")


class StationOut(BaseModel):
    id: int
    code: str
    name: str
    address: str
    community: str
    department_id: int | None


# A day as clerks type it: 2025-09-28, 2025-9-28, 2025/9/28, 2025.9.28, 2025年9月28日 or 20250928 (full-width too).
_DAY = re.compile(r"^(\d{4})(?:[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{2})(\d{2}))$")


def written_day(text: str) -> date | None:
    """The day a person typed in one of the written forms of _DAY (full-width digits and slashes included), or
    None when the text is none of them. Raises ValueError when the form is right but the day does not exist
    (2025/2/30). The meeting form, the case list's filters (web.case_query) and the calendar's days
    (grievance.workflow.calendar_service.parse_day) read days with it, so a day typed one way is accepted in all."""
    found = _DAY.match(halfwidth(text))
    if not found:
        return None
    return date(int(found[1]), int(found[2] or found[4]), int(found[3] or found[5]))


def day_or_moment(value: Any) -> datetime | date | None:
    """A filter's day or moment (the case list's received_from/received_to, the audit log's date_from/date_to): a
    day in a written form (written_day) or an ISO time with its zone, checked in range (grievance.input_bounds).
    None stays None. Raises BilingualValueError naming the accepted forms, or for a time without a zone."""
    if value is None or isinstance(value, datetime | date):
        moment = value
    else:
        text = halfwidth(str(value))
        try:
            moment = written_day(text) or datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None:
            raise BilingualValueError(
                "应为日期（如 2025-03-05、2025/3/5）或带时区的时间（如 2025-03-05T09:30:00+08:00）",
                "expected a day like 2025-03-05 or 2025/3/5, or an aware time like 2025-03-05T09:30:00+08:00",
            )
    if isinstance(moment, datetime) and moment.tzinfo is None:
        raise BilingualValueError("时间须带时区，如 +08:00", "a time needs its time zone, e.g. +08:00")
    if isinstance(moment, datetime):
        return checked_moment(moment)
    return checked_day(moment) if moment is not None else None


class MeetingIn(In):
    title: str = Field(min_length=1, max_length=200)
    held_on: date = Field(description="the day it was held: 2025-09-28 (also 2025/9/28, 2025年9月28日, 20250928)")
    venue: str = Field(default="", max_length=200)
    hosts: str = Field(default="", max_length=200)
    attendee_count: Number = Field(default=0, ge=0, le=100000, description="digits as text are read (８０ is 80)")
    station: Ref | None = Field(default=None, description="station code or id; none when not at a station")

    @field_validator("held_on", mode="before")
    @classmethod
    def _held_on(cls, value: Any) -> Any:
        """The written forms of a day a clerk types in a plain text field (a date picker swallows Tab)."""
        not_a_number(value)  # 0 or "0" is no day (pydantic would read seconds since 1970)
        if not isinstance(value, str):
            return value
        try:
            return written_day(value) or halfwidth(value)
        except ValueError:
            return halfwidth(value)  # 2025-02-30: pydantic's own message, which names the accepted form

    @field_validator("held_on")
    @classmethod
    def _held_on_in_range(cls, value: date) -> date:
        """1900..2200 (grievance.input_bounds): 0001-01-01 is a typo that reports could not place in a month."""
        return checked_day(value)

    @field_validator("attendee_count", mode="before")
    @classmethod
    def _attendee_count(cls, value: Any) -> Any:
        """A count typed with a Chinese input method: 「８０」 is 80."""
        return re.sub(r"\s", "", halfwidth(value)) if isinstance(value, str) else value


class MeetingOut(BaseModel):
    id: int
    title: str
    held_on: date
    venue: str
    hosts: str
    attendee_count: int
    station_id: int | None


class EnterpriseIn(In):
    name: str = Field(min_length=1, max_length=200)
    credit_code: str = Field(
        description="统一社会信用代码: 18 characters with a valid GB 32100 check character; spaces are dropped and "
        "letters upper-cased"
    )
    is_large: bool = False
    liaison: Ref | None = Field(default=None, description="username or id of the liaison cadre")

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, value: str) -> str:
        return normalize_credit_code(value)


class EnterpriseOut(BaseModel):
    id: int
    name: str
    credit_code: str
    is_large: bool
    liaison_user_id: int | None


class LiaisonIn(In):
    liaison: Ref | None = Field(description="username or id of the liaison cadre; null removes the liaison")


class CategoryOut(BaseModel):
    id: int
    code: str
    name: str
    level: int
    parent_id: int | None
    department_id: int | None
