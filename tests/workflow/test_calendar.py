"""Working-day arithmetic on the Chinese statutory calendar (节假日 and 调休), local overrides, years the
statutory package does not know, and importing a year's overrides from a file."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grievance.db import transaction
from grievance.errors import InvalidInput
from grievance.workflow import calendar as calendar_module
from grievance.workflow import calendar_service
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.engine import load_calendar

SH = ZoneInfo("Asia/Shanghai")


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SH)


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


@pytest.fixture
def fresh_warnings(monkeypatch):
    """The calendar warns once per unknown year per process; give each test its own record."""
    monkeypatch.setattr(calendar_module, "_warned_years", set())


def test_national_day_2025_is_as_the_statutory_package_says():
    # The facts the following tests rely on, checked against the package rather than assumed.
    holidays = chinese_calendar.get_holidays(date(2025, 10, 1), date(2025, 10, 8), include_weekends=True)
    assert holidays == [date(2025, 10, 1) + timedelta(days=i) for i in range(8)]
    assert chinese_calendar.is_workday(date(2025, 9, 28))  # Sunday, 调休
    assert chinese_calendar.is_workday(date(2025, 10, 11))  # Saturday, 调休
    assert date(2025, 9, 28).weekday() == 6 and date(2025, 10, 11).weekday() == 5


def test_is_workday_around_national_day_2025(cal):
    assert cal.is_workday(date(2025, 9, 26))  # Friday
    assert not cal.is_workday(date(2025, 9, 27))  # Saturday
    assert cal.is_workday(date(2025, 9, 28))  # Sunday, make-up workday
    assert cal.is_workday(date(2025, 9, 30))
    for day in range(1, 9):
        assert not cal.is_workday(date(2025, 10, day)), f"2025-10-{day:02} is a holiday"
    assert cal.is_workday(date(2025, 10, 9))
    assert cal.is_workday(date(2025, 10, 10))
    assert cal.is_workday(date(2025, 10, 11))  # Saturday, make-up workday
    assert not cal.is_workday(date(2025, 10, 12))  # Sunday


@pytest.mark.parametrize(
    ("amount", "due"),
    [
        (1, sh(2025, 10, 10)),  # Oct 9
        (2, sh(2025, 10, 11)),  # Oct 9, 10
        (3, sh(2025, 10, 12)),  # Oct 9, 10, 11 (Saturday, make-up)
        (4, sh(2025, 10, 14)),  # ... and Monday Oct 13
    ],
)
def test_working_days_across_national_day_2025(cal, amount, due):
    start = sh(2025, 9, 30, 10)  # Tuesday, the last working day before the holiday
    assert cal.add(start, amount, "working_days") == due


def test_the_start_date_is_taken_in_shanghai_time(cal):
    # 2025-09-27T16:30Z is Sunday 28 September 00:30 in Shanghai, a make-up workday: the next working
    # day after it is Monday 29, so one working day ends at midnight on the 30th. Read as UTC it would
    # be Saturday 27 and end a day earlier.
    start = datetime(2025, 9, 27, 16, 30, tzinfo=UTC)
    due = cal.add(start, 1, "working_days")
    assert due == sh(2025, 9, 30)
    assert due.utcoffset() == timedelta(0)  # due times are UTC, like every stored time


def test_a_make_up_sunday_counts_as_a_working_day(cal):
    # Received on Friday 26 September: Saturday is off, Sunday 28 is a make-up workday.
    assert cal.add(sh(2025, 9, 26, 15), 1, "working_days") == sh(2025, 9, 29)
    # Received on Saturday 27: the Sunday is the first working day.
    assert cal.add(sh(2025, 9, 27, 11), 1, "working_days") == sh(2025, 9, 29)


def test_an_ordinary_weekend_is_skipped(cal):
    # Friday 2025-03-07 with 1 working day: by the end of Monday 10 March.
    assert cal.add(sh(2025, 3, 7, 16), 1, "working_days") == sh(2025, 3, 11)


def test_spring_festival_2025_is_as_the_statutory_package_says():
    holidays = chinese_calendar.get_holidays(date(2025, 1, 20), date(2025, 2, 15), include_weekends=False)
    assert holidays == [date(2025, 1, 28) + timedelta(days=i) for i in range(8)]  # 28 Jan - 4 Feb
    assert chinese_calendar.is_workday(date(2025, 1, 26))  # Sunday, 调休
    assert chinese_calendar.is_workday(date(2025, 2, 8))  # Saturday, 调休
    assert date(2025, 1, 26).weekday() == 6 and date(2025, 2, 8).weekday() == 5


def test_working_days_across_spring_festival_2025(cal):
    start = sh(2025, 1, 27, 9)  # Monday, the last working day before the holiday
    assert cal.add(start, 1, "working_days") == sh(2025, 2, 6)  # Wed 5 Feb
    assert cal.add(start, 3, "working_days") == sh(2025, 2, 8)  # 5, 6, 7 Feb
    assert cal.add(start, 4, "working_days") == sh(2025, 2, 9)  # ... and Saturday 8 Feb (make-up)
    assert cal.add(start, 5, "working_days") == sh(2025, 2, 11)  # ... and Monday 10 Feb
    # Received on Saturday 25 January: Sunday 26 is a make-up workday.
    assert cal.add(sh(2025, 1, 25, 10), 1, "working_days") == sh(2025, 1, 27)
    # Received in the middle of the holiday.
    assert cal.add(sh(2025, 1, 30, 10), 1, "working_days") == sh(2025, 2, 6)


def test_a_local_holiday_override_moves_the_due_date_later():
    start = sh(2025, 9, 30, 10)
    plain = WorkCalendar()
    local = WorkCalendar({date(2025, 10, 9): False})
    assert plain.add(start, 1, "working_days") == sh(2025, 10, 10)
    assert local.add(start, 1, "working_days") == sh(2025, 10, 11)
    assert local.add(start, 3, "working_days") == sh(2025, 10, 14)  # Oct 10, 11, 13
    assert not local.is_workday(date(2025, 10, 9))


def test_a_local_workday_override_moves_the_due_date_earlier():
    start = sh(2025, 9, 30, 10)
    local = WorkCalendar({date(2025, 10, 3): True})
    assert local.add(start, 1, "working_days") == sh(2025, 10, 4)
    assert local.add(start, 2, "working_days") == sh(2025, 10, 10)  # Oct 3, Oct 9
    assert local.is_workday(date(2025, 10, 3))


def test_an_override_that_agrees_with_the_statute_changes_nothing():
    start = sh(2025, 9, 30, 10)
    local = WorkCalendar({date(2025, 10, 9): True, date(2025, 10, 2): False})
    assert local.add(start, 3, "working_days") == WorkCalendar().add(start, 3, "working_days")


def test_a_year_the_package_does_not_know_falls_back_to_weekends(fresh_warnings, caplog):
    caplog.set_level(logging.WARNING, logger="grievance.workflow.calendar")
    cal = WorkCalendar()
    assert cal.knows_year(2025)
    assert not cal.knows_year(2027)
    # Friday 1 October 2027 is a working day for want of data; the weekend is not.
    assert cal.is_workday(date(2027, 10, 1))
    assert not cal.is_workday(date(2027, 10, 2))
    assert not cal.is_workday(date(2027, 10, 3))
    assert cal.add(sh(2027, 10, 1, 10), 1, "working_days") == sh(2027, 10, 5)  # Monday 4th
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "2027" in r.getMessage()]
    assert len(warnings) == 1  # once per year, not once per day
    assert "calendar import" in warnings[0].getMessage()


def test_an_unknown_year_uses_the_local_overrides(fresh_warnings, caplog):
    caplog.set_level(logging.WARNING, logger="grievance.workflow.calendar")
    # An administrator entered National Day 2028 by hand (Sunday 1 October to Saturday 7 October),
    # with Saturday 30 September as a make-up workday.
    overrides = {date(2028, 10, 1) + timedelta(days=i): False for i in range(7)}
    overrides[date(2028, 9, 30)] = True
    cal = WorkCalendar(overrides)
    assert cal.add(sh(2028, 9, 29, 10), 1, "working_days") == sh(2028, 10, 1)  # Saturday 30th counts
    assert cal.add(sh(2028, 9, 29, 10), 2, "working_days") == sh(2028, 10, 10)  # ... and Monday 9th
    assert any("2028" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


@pytest.mark.parametrize("year", [2027, 2030, 2099])
def test_unknown_years_never_raise(fresh_warnings, year):
    cal = WorkCalendar()
    start = sh(year, 12, 20, 9)
    due = cal.add(start, 30, "working_days")
    assert due > start
    assert cal.working_seconds_between(start, due) > 0
    assert cal.add_working_seconds(start, 5 * 86400) > start


def test_hours_run_on_the_clock_across_nights_and_holidays(cal):
    start = sh(2025, 9, 30, 22)
    assert cal.add(start, 4, "hours") == sh(2025, 10, 1, 2)
    assert cal.add(start, 0.5, "hours") == sh(2025, 9, 30, 22, 30)
    assert cal.add(sh(2025, 10, 1, 10), 24, "hours") == sh(2025, 10, 2, 10)
    assert cal.add(start, 72, "hours") == sh(2025, 10, 3, 22)
    # The result is the same moment in any zone.
    assert cal.add(start.astimezone(UTC), 4, "hours") == sh(2025, 10, 1, 2)


def test_days_are_calendar_days(cal):
    start = sh(2025, 9, 30, 10)
    assert cal.add(start, 1, "days") == sh(2025, 10, 2)  # the end of 1 October, a holiday
    assert cal.add(start, 8, "days") == sh(2025, 10, 9)  # through the whole holiday
    assert cal.add(start, 15, "days") == sh(2025, 10, 16)
    assert cal.add(sh(2025, 1, 27, 9), 60, "days") == sh(2025, 3, 29)


def test_an_unknown_unit_is_an_error(cal):
    with pytest.raises(ValueError, match="unknown unit 'weeks'"):
        cal.add(sh(2025, 9, 30), 1, "weeks")


def test_working_seconds_between_skip_holidays(cal):
    start = sh(2025, 9, 30, 10)
    end = sh(2025, 10, 9, 10)
    # 14 hours on 30 September, nothing 1-8 October, 10 hours on the 9th.
    assert cal.working_seconds_between(start, end) == 24 * 3600
    assert cal.working_seconds_between(end, start) == -24 * 3600
    assert cal.working_seconds_between(sh(2025, 10, 2, 8), sh(2025, 10, 5, 20)) == 0
    assert cal.working_seconds_between(sh(2025, 10, 9, 8), sh(2025, 10, 9, 10)) == 2 * 3600
    assert cal.working_seconds_between(start, start) == 0
    # Across a make-up Saturday and the Sunday after it.
    assert cal.working_seconds_between(sh(2025, 10, 11, 12), sh(2025, 10, 13, 12)) == 24 * 3600


def test_add_working_seconds_skips_holidays(cal):
    start = sh(2025, 9, 30, 10)
    assert cal.add_working_seconds(start, 3600) == sh(2025, 9, 30, 11)
    assert cal.add_working_seconds(start, 14 * 3600 + 1) == sh(2025, 10, 9, 0, 0, 1)
    assert cal.add_working_seconds(start, 24 * 3600) == sh(2025, 10, 9, 10)
    assert cal.add_working_seconds(start, 0) == start
    # Starting in the holiday, the time runs from the first working day.
    assert cal.add_working_seconds(sh(2025, 10, 3, 15), 3600) == sh(2025, 10, 9, 1)


def test_working_seconds_and_add_working_seconds_are_inverse_over_holidays(cal):
    start = sh(2025, 1, 27, 16, 45)  # before the Spring Festival
    for end in (sh(2025, 2, 5, 9), sh(2025, 2, 8, 23, 59), sh(2025, 2, 10, 0, 0, 1), sh(2025, 10, 9, 12)):
        seconds = cal.working_seconds_between(start, end)
        assert cal.add_working_seconds(start, seconds) == end
    for seconds in (1, 3600, 7 * 3600 + 15 * 60, 86400, 5 * 86400 + 17, 40 * 86400):
        assert cal.working_seconds_between(start, cal.add_working_seconds(start, seconds)) == seconds


def test_remaining_is_working_time_for_working_day_clocks(cal):
    now = sh(2025, 9, 30, 10)
    due = sh(2025, 10, 10)
    assert cal.remaining(now, due, "working_days") == (14 + 24) * 3600
    assert cal.remaining(now, due, "hours") == (due - now).total_seconds()
    assert cal.remaining(due, now, "working_days") == -(14 + 24) * 3600


# --- properties ------------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2028, 12, 31, 23, 59, 59),
    timezones=st.sampled_from([SH, UTC, ZoneInfo("America/New_York")]),
)
override_maps = st.dictionaries(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 3, 31)), st.booleans(), max_size=30
)


@settings(max_examples=300, deadline=None)
@given(start=starts, n=st.integers(min_value=1, max_value=30), overrides=override_maps)
def test_working_days_due_is_midnight_after_the_nth_working_day(start, n, overrides):
    cal = WorkCalendar(overrides)
    due = cal.add(start, n, "working_days")
    local = due.astimezone(SH)
    assert due == cal.local_midnight(local.date())
    assert (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)
    last = local.date() - timedelta(days=1)
    assert cal.is_workday(last)
    first = start.astimezone(SH).date()
    counted = sum(cal.is_workday(first + timedelta(days=i)) for i in range(1, (last - first).days + 1))
    assert counted == n
    assert due > start


@settings(max_examples=200, deadline=None)
@given(start=starts, seconds=st.integers(min_value=0, max_value=60 * 86400))
def test_add_working_seconds_then_measure_gives_the_seconds_back(start, seconds):
    cal = WorkCalendar()
    end = cal.add_working_seconds(start, seconds)
    assert end >= start
    # timedelta keeps microseconds; the measure is a float
    assert cal.working_seconds_between(start, end) == pytest.approx(seconds, abs=1e-5)


@settings(max_examples=200, deadline=None)
@given(start=starts, hours=st.integers(min_value=1, max_value=60 * 24))
def test_measure_then_add_lands_on_the_same_moment_inside_working_time(start, hours):
    cal = WorkCalendar()
    end = start + timedelta(hours=hours)
    local = end.astimezone(SH)
    if not cal.is_workday(local.date()) or local == cal.local_midnight(local.date()):
        return  # inside a day off the working time stands still: many moments share one measure
    back = cal.add_working_seconds(start, cal.working_seconds_between(start, end))
    assert abs(back - end) <= timedelta(microseconds=1)


# --- importing overrides ---------------------------------------------------------------------------

GOOD_FILE = """\
day,kind,note
# 2027 National Day, as published by the State Council
2027-10-01,holiday,国庆节
2027-10-02,休息,国庆节

2027-10-09,补班,调休上班
2027-10-10,workday,"调休, 上班"
"""


def test_import_overrides_reads_every_line(app, settings):
    with transaction(app.state.sessions) as session:
        imported = calendar_service.import_overrides(session, GOOD_FILE)
        assert [c.line for c in imported.changes] == [3, 6, 7]
        assert imported.unchanged == [date(2027, 10, 2)]  # a Saturday is a day off already: nothing stored
    with transaction(app.state.sessions) as session:
        rows = [(r.day, r.is_workday, r.note) for r in calendar_service.list_overrides(session, 2027)]
        assert rows == [
            (date(2027, 10, 1), False, "国庆节"),
            (date(2027, 10, 9), True, "调休上班"),
            (date(2027, 10, 10), True, "调休, 上班"),
        ]
        assert calendar_service.list_overrides(session, 2026) == []
        # The engine's calendar uses them: Friday 1 October 2027 is now a day off.
        cal = load_calendar(session, settings)
        assert not cal.is_workday(date(2027, 10, 1))
        assert cal.is_workday(date(2027, 10, 9))  # a Saturday


def test_import_replaces_an_existing_override(app):
    with transaction(app.state.sessions) as session:
        calendar_service.change_overrides(session, [(date(2027, 10, 2), True, "old")])
    with transaction(app.state.sessions) as session:
        calendar_service.import_overrides(session, "2027-10-02,holiday,new\n")
    with transaction(app.state.sessions) as session:
        [row] = calendar_service.list_overrides(session)
        assert (row.day, row.is_workday, row.note) == (date(2027, 10, 2), False, "new")


def test_import_is_all_or_nothing(app):
    with transaction(app.state.sessions) as session:
        calendar_service.change_overrides(session, [(date(2027, 10, 2), True, "kept")])
    text = "day,kind\n2027-10-02,holiday\n2027-10-32,holiday\n2027-10-04,holiday\n"
    # Even a caller that catches the error and commits has written nothing.
    with transaction(app.state.sessions) as session, pytest.raises(InvalidInput) as caught:
        calendar_service.import_overrides(session, text)
    errors = caught.value.detail["errors"]
    assert [e["field"] for e in errors] == ["line 3"]
    assert "2027-10-32" in errors[0]["message_en"]
    assert "nothing was imported" in caught.value.message_en
    with transaction(app.state.sessions) as session:
        rows = [(r.day, r.is_workday, r.note) for r in calendar_service.list_overrides(session)]
        assert rows == [(date(2027, 10, 2), True, "kept")]


def test_import_names_every_bad_line(app):
    text = "2027-10-01,holiday\n2027-10-02\n2027-10-03,sometimes\nnot a date,workday\n2027-10-05,workday\n"
    with transaction(app.state.sessions) as session, pytest.raises(InvalidInput) as caught:
        calendar_service.import_overrides(session, text)
    errors = caught.value.detail["errors"]
    assert [e["field"] for e in errors] == ["line 2", "line 3", "line 4"]
    assert "expected day,kind" in errors[0]["message_en"]
    assert "'sometimes'" in errors[1]["message_en"]
    assert "'not a date'" in errors[2]["message_en"]
    with transaction(app.state.sessions) as session:
        assert calendar_service.list_overrides(session) == []


def test_a_header_is_only_allowed_on_the_first_line(app):
    with transaction(app.state.sessions) as session, pytest.raises(InvalidInput) as caught:
        calendar_service.import_overrides(session, "2027-10-01,holiday\nday,kind\n")
    assert [e["field"] for e in caught.value.detail["errors"]] == ["line 2"]


def test_import_accepts_a_file_saved_with_a_byte_order_mark(app):
    with transaction(app.state.sessions) as session:
        assert len(calendar_service.import_overrides(session, "\ufeff" + GOOD_FILE).changes) == 3
