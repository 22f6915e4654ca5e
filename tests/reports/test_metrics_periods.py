"""Assessment months and report periods, as pure functions (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from grievance.errors import InvalidInput
from grievance.reports.periods import Period, local_midnight, month, month_of, months_between

AS_OF = datetime(2025, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "start_day", "start", "end"),
    [
        ("2025-03", 1, date(2025, 3, 1), date(2025, 4, 1)),
        ("2025-12", 1, date(2025, 12, 1), date(2026, 1, 1)),
        ("2025-03", 19, date(2025, 2, 19), date(2025, 3, 19)),
        ("2025-01", 19, date(2024, 12, 19), date(2025, 1, 19)),
    ],
)
def test_an_assessment_month_runs_from_its_start_day(key, start_day, start, end):
    found = month(key, start_day)
    assert (found.key, found.start, found.end) == (key, start, end)


@pytest.mark.parametrize(
    ("day", "start_day", "key"),
    [
        (date(2025, 3, 18), 19, "2025-03"),
        (date(2025, 3, 19), 19, "2025-04"),
        (date(2025, 12, 19), 19, "2026-01"),
        (date(2025, 3, 31), 1, "2025-03"),
        (date(2025, 3, 1), 1, "2025-03"),
    ],
)
def test_the_month_a_day_belongs_to(day, start_day, key):
    assert month_of(day, start_day).key == key


def test_the_months_a_period_overlaps():
    assert [m.key for m in months_between(date(2025, 2, 1), date(2025, 4, 1), 19)] == ["2025-02", "2025-03", "2025-04"]
    assert [m.key for m in months_between(date(2025, 11, 10), date(2025, 11, 20), 1)] == ["2025-11"]


def test_a_period_is_bounded_by_local_midnights():
    period = Period(date(2025, 11, 1), date(2025, 12, 1), AS_OF)
    assert period.start_utc == datetime(2025, 10, 31, 16, tzinfo=UTC)
    assert period.end_utc == datetime(2025, 11, 30, 16, tzinfo=UTC)
    assert local_midnight(date(2025, 11, 1), "Asia/Shanghai") == period.start_utc


def test_the_period_before_a_month_is_the_month_before():
    march = month("2025-03", 19)
    before = Period(march.start, march.end, AS_OF).previous(19)
    assert (before.start, before.end) == (date(2025, 1, 19), date(2025, 2, 19))
    assert before.as_of == AS_OF


def test_the_period_before_other_days_is_as_many_days_before():
    before = Period(date(2025, 11, 10), date(2025, 11, 17), AS_OF).previous(1)
    assert (before.start, before.end) == (date(2025, 11, 3), date(2025, 11, 10))


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (date(2025, 11, 1), date(2025, 11, 1), "to"),
        (date(1, 1, 1), date(2025, 11, 1), "from"),
        (date(2025, 11, 1), date(9999, 12, 31), "to"),
    ],
)
def test_a_bad_period_is_refused_with_its_field(start, end, field):
    with pytest.raises(InvalidInput) as refused:
        Period(start, end, AS_OF)
    assert refused.value.to_dict()["errors"][0]["field"] == field


@pytest.mark.parametrize("key", ["2025-13", "2025-3-1", "March", "9999-12", "0001-01"])
def test_a_bad_month_is_refused(key):
    with pytest.raises(InvalidInput) as refused:
        month(key, 19)
    assert refused.value.to_dict()["errors"][0]["field"] == "month"


def test_a_month_out_of_range_says_so_rather_than_blaming_its_format():
    with pytest.raises(InvalidInput) as refused:
        month("9999-12", 1)
    error = refused.value.to_dict()["errors"][0]
    assert (
        "超出范围" in error["message"] and "out of range" in error["message_en"] and "YYYY-MM" not in error["message"]
    )
