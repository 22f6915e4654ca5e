"""A deployment's report settings: assessment months from the 19th (Beijing: "2025-03" is 19 February to
18 March) and its own weight of 基本满意 in the satisfaction score (0.8 here, to tell it from the default)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grievance.config import Settings
from tests.api._support import API, sh
from tests.reports.metrics_support import callback, counted, metrics, rate, rates, resolved


@pytest.fixture
def settings(database, tmp_path: Path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(
        database_url=database.fresh_url(tmp_path),
        data_dir=tmp_path / "data",
        report_period_start_day=19,
        satisfaction_basic_weight=0.8,
    )


def _around_the_19th(world, clock) -> dict[str, str]:
    """One case at each edge of assessment month 2025-03 (local time)."""
    nos = {}
    for name, moment in (
        ("feb_18", sh(2025, 2, 18, 23, 59)),  # 2025-02
        ("feb_19", sh(2025, 2, 19, 0, 0)),  # 2025-03, its first moment
        ("mar_18", sh(2025, 3, 18, 23, 59)),  # 2025-03, its last minute
        ("mar_19", sh(2025, 3, 19, 0, 0)),  # 2025-04
    ):
        clock.set(moment)
        nos[name] = world.intake()["case_no"]
    clock.set(sh(2025, 4, 25))
    return nos


def test_a_case_received_on_the_19th_belongs_to_the_next_assessment_month(world, clock):
    nos = _around_the_19th(world, clock)
    march = rates(world, month="2025-03")
    assert (march["period"]["from"], march["period"]["to"]) == ("2025-02-19", "2025-03-19")
    assert march["metrics"]["intake_count"] == {"value": 2}
    assert counted(world, "intake_count", month="2025-03") == [nos["feb_19"], nos["mar_18"]]
    assert counted(world, "intake_count", month="2025-04") == [nos["mar_19"]]
    assert counted(world, "intake_count", month="2025-02") == [nos["feb_18"]]


def test_group_by_month_uses_assessment_months(world, clock):
    """1 February to 1 April overlaps 2025-02 (19 Jan-18 Feb), 2025-03 and 2025-04 (19 Mar-18 Apr)."""
    _around_the_19th(world, clock)
    report = rates(world, **{"from": "2025-02-01", "to": "2025-04-01"}, group_by="month")
    assert {row["key"]: row["metrics"]["intake_count"]["value"] for row in report["groups"]["month"]} == {
        "2025-02": 1,
        "2025-03": 2,
        "2025-04": 1,
    }


def test_the_assessment_month_of_late_december_is_january_of_the_next_year(world, clock):
    clock.set(sh(2025, 12, 20))
    no = world.intake()["case_no"]
    clock.set(sh(2026, 1, 5))
    report = rates(world, month="2026-01")
    assert (report["period"]["from"], report["period"]["to"]) == ("2025-12-19", "2026-01-19")
    assert counted(world, "intake_count", month="2026-01") == [no]
    assert counted(world, "intake_count", month="2025-12") == []


def test_the_monthly_report_covers_the_assessment_month_and_compares_with_the_one_before(world, clock):
    _around_the_19th(world, clock)
    response = world.client.get(f"{API}/reports/monthly/2025-04", headers=world.headers("leader"))
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["period"]["from"] == "2025-03-19"
    assert doc["period"]["to"] == "2025-04-19"
    assert doc["period"]["start_day"] == 19
    assert doc["previous_period"] == {"from": "2025-02-19", "to": "2025-03-19"}
    intake = next(row for row in doc["headline"] if row["key"] == "intake_count")
    assert (intake["value"], intake["previous"]) == (1, 2)
    assert [row["key"] for row in doc["trend"]][-3:] == ["2025-02", "2025-03", "2025-04"]


def test_the_satisfaction_score_uses_the_configured_weight(world, clock):
    """satisfied 1 + basically satisfied 0.8 = 1.8 over 2 reached callbacks = 0.9."""
    clock.set(sh(2025, 11, 3))
    for satisfaction in ("satisfied", "basically_satisfied"):
        no = resolved(world)
        callback(world, no, satisfaction)
    figures = metrics(world, month="2025-11")
    assert rate(figures, "satisfaction_score") == (1.8, 2, 0.9)
    assert rate(figures, "satisfaction_rate") == (2, 2, 1.0)
