"""Shared helpers for the API tests: moments in Shanghai time and independent due-time arithmetic.

The due-time helpers are written from the rules in DOMAIN.md with the chinese_calendar package, not
from the product's code, so the tests check the product against the rules rather than against itself.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar

SH = ZoneInfo("Asia/Shanghai")
API = "/api/v1"


def sh(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment in Shanghai local time."""
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SH)


def end_of_working_days(start: date, n: int) -> datetime:
    """The end (local midnight) of the n-th statutory working day after `start` (which does not count)."""
    day = start
    while n > 0:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            n -= 1
    return midnight(day + timedelta(days=1))


def end_of_days(start: date, n: int) -> datetime:
    """The end of the n-th calendar day after `start` (the first day does not count)."""
    return midnight(start + timedelta(days=n + 1))


def ts(value: str | None) -> datetime | None:
    """Parse a timestamp the API returned."""
    return None if value is None else datetime.fromisoformat(value)


def clock_of(case: dict[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in case["clocks"] if c["name"] == name]
    assert found, f"case has no clock {name!r}: {[c['name'] for c in case['clocks']]}"
    return found[0]


def due(case: dict[str, Any], name: str) -> datetime:
    value = ts(clock_of(case, name)["due_at"])
    assert value is not None
    return value


def actions(case: dict[str, Any]) -> set[str]:
    return {a["action"] for a in case["available_actions"]}


def timeline(case: dict[str, Any]) -> list[str]:
    return [e["action"] for e in case["timeline"]]


def fields_of(response_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The field errors of a 422, by field name."""
    return {e["field"]: e for e in response_json["errors"]}


def fire(world: Any, case_no: str, action: str, as_user: str, **fields: Any) -> Any:
    """Fire an action and return the raw response (for refusals)."""
    return world.client.post(f"{API}/cases/{case_no}/actions/{action}", json=fields, headers=world.headers(as_user))
