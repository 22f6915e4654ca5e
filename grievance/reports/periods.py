"""Report periods in local time: [from, to) days, assessment months that may start on the 19th, UTC bounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from grievance.errors import InvalidInput
from grievance.input_bounds import EARLIEST_DAY, LATEST_DAY

# The days a report may cover: far beyond any real case, yet bounded, so a typo such as 9999-12-31 is a 422
# rather than a date overflow (500) or a CASE of a hundred thousand months (the bounds of every input day).
EARLIEST = EARLIEST_DAY
LATEST = LATEST_DAY


def local_midnight(day: date, timezone: str) -> datetime:
    """The UTC moment a local day starts."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, day.day)


@dataclass(frozen=True)
class Month:
    """An assessment month: with start day 1 the calendar month; with start day 19, "2025-03" runs from
    19 February to 18 March (Beijing's practice)."""

    key: str  # 2025-03
    start: date  # first day, inclusive
    end: date  # first day after

    @property
    def label(self) -> str:
        year, month = self.key.split("-")
        return f"{year}年{int(month)}月"


def month(key: str, start_day: int) -> Month:
    try:
        year, number = (int(part) for part in key.split("-"))
        first = date(year, number, 1)
    except ValueError:
        raise InvalidInput.field(
            "month",
            f"月份「{key}」无效，格式为 YYYY-MM，如 2025-03",
            f"bad month {key!r}; accepted: YYYY-MM, e.g. 2025-03",
        ) from None
    if not EARLIEST.year <= year <= LATEST.year:  # the period's own bounds are checked by Period
        raise InvalidInput.field(
            "month",
            f"月份「{key}」超出范围：可选 {EARLIEST.year} 至 {LATEST.year} 年",
            f"month {key!r} is out of range: {EARLIEST.year} to {LATEST.year}",
        )
    end = _add_months(first, 1) if start_day == 1 else first.replace(day=start_day)
    return Month(f"{year:04d}-{number:02d}", _add_months(end, -1), end)


def month_of(day: date, start_day: int) -> Month:
    """The assessment month a local day belongs to."""
    first = day.replace(day=1)
    if start_day > 1 and day.day >= start_day:
        first = _add_months(first, 1)
    return month(f"{first.year:04d}-{first.month:02d}", start_day)


def months_between(start: date, end: date, start_day: int) -> list[Month]:
    """The assessment months that overlap the days [start, end)."""
    found: list[Month] = []
    current = month_of(start, start_day)
    while current.start < end:
        found.append(current)
        current = month(f"{_add_months(date.fromisoformat(current.key + '-01'), 1):%Y-%m}", start_day)
    return found


@dataclass(frozen=True)
class Period:
    """Days [start, end) in local time, as of a moment (UTC): events after it are ignored."""

    start: date
    end: date
    as_of: datetime
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        for name, day in (("from", self.start), ("to", self.end)):
            if not EARLIEST <= day <= LATEST:
                raise InvalidInput.field(
                    name,
                    f"日期 {day} 超出范围（{EARLIEST} 至 {LATEST}）",
                    f"{name} ({day}) is out of range; accepted: {EARLIEST} to {LATEST}",
                )
        if self.end <= self.start:
            raise InvalidInput.field(
                "to",
                f"结束日期 {self.end} 须晚于开始日期 {self.start}（区间为 [开始, 结束)）",
                f"'to' ({self.end}) must be after 'from' ({self.start}); the period is [from, to)",
            )

    @property
    def start_utc(self) -> datetime:
        return local_midnight(self.start, self.timezone)

    @property
    def end_utc(self) -> datetime:
        return local_midnight(self.end, self.timezone)

    def previous(self, start_day: int) -> Period:
        """The period before: the previous assessment month for a month, otherwise as many days before.
        It is read as of the same moment, so a regenerated report shows the same change."""
        this = month_of(self.start, start_day)
        if (this.start, this.end) == (self.start, self.end):
            before = month_of(self.start - timedelta(days=1), start_day)
            start, end = before.start, before.end
        else:
            start, end = self.start - (self.end - self.start), self.start
        return Period(start, end, self.as_of, self.timezone)
