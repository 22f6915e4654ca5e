"""Working-day arithmetic on the Chinese statutory calendar plus the administrator's local overrides.

A limit of N working days ends at midnight after the Nth working day that follows the start's
local date (received on Friday, "1 working day" means by the end of Monday). Calendar-day limits
end likewise after the Nth day. Hour limits run on the clock, nights and holidays included.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

UNITS = ("working_days", "days", "hours")
DAY = 86400.0


@lru_cache(maxsize=4096)
def statutory_workday(day: date) -> bool | None:
    """True/False from the statutory calendar, or None for a year the package does not know."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


_warned_years: set[int] = set()


class WorkCalendar:
    def __init__(self, overrides: Mapping[date, bool] | None = None, tz: str = "Asia/Shanghai") -> None:
        self.overrides = dict(overrides or {})
        self.tz = ZoneInfo(tz)

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        statutory = statutory_workday(day)
        if statutory is not None:
            return statutory
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning(
                "%s 年尚无法定节假日数据，只按周末和本地调整计算；请用 `grievance calendar import` 导入当年的节假日 "
                "(no statutory holidays known for %s: counting weekends and local overrides only; "
                "import the year's holidays with `grievance calendar import`)",
                day.year,
                day.year,
            )
        return day.weekday() < 5

    def knows_year(self, year: int) -> bool:
        return statutory_workday(date(year, 6, 1)) is not None

    def local_midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.tz)

    def add(self, start: datetime, amount: float, unit: str) -> datetime:
        """The due time (in UTC, like every stored time) of a limit of `amount` `unit` from `start`."""
        return self._add(start, amount, unit).astimezone(UTC)

    def _add(self, start: datetime, amount: float, unit: str) -> datetime:
        if unit == "hours":
            return start + timedelta(hours=amount)
        day = start.astimezone(self.tz).date()
        if unit == "days":
            return self.local_midnight(day + timedelta(days=int(amount) + 1))
        if unit == "working_days":
            remaining = int(amount)
            while remaining > 0:
                day += timedelta(days=1)
                if self.is_workday(day):
                    remaining -= 1
            return self.local_midnight(day + timedelta(days=1))
        raise ValueError(f"unknown unit {unit!r}; accepted: {', '.join(UNITS)}")

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds of working days between two moments (negative when end is before start)."""
        if end < start:
            return -self.working_seconds_between(end, start)
        total = 0.0
        day = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            if self.is_workday(day):
                lo = max(start, self.local_midnight(day))
                hi = min(end, self.local_midnight(day + timedelta(days=1)))
                total += max(0.0, (hi - lo).total_seconds())
            day += timedelta(days=1)
        return total

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        """The moment `seconds` of working-day time after `start` (used when a paused clock resumes)."""
        moment = start
        left = seconds
        day = start.astimezone(self.tz).date()
        while left > 0:
            day_end = self.local_midnight(day + timedelta(days=1))
            if self.is_workday(day):
                available = (day_end - moment).total_seconds()
                if left <= available:
                    return (moment + timedelta(seconds=left)).astimezone(UTC)
                left -= available
            moment = day_end
            day += timedelta(days=1)
        return moment.astimezone(UTC)

    def remaining(self, now: datetime, due: datetime, unit: str) -> float:
        """Time left until `due` in the clock's own unit: working seconds or wall seconds."""
        if unit == "working_days":
            return self.working_seconds_between(now, due)
        return (due - now).total_seconds()
