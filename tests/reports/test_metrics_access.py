"""Who reads reports, and the 422s for bad parameters (each naming its field)."""

from __future__ import annotations

import pytest

from tests.api._support import API, fields_of
from tests.reports.metrics_support import (
    MON,
    NOVEMBER,
    counted,
    department_ids,
    explain,
    handling,
    metrics,
    rates,
)

# --- roles ----------------------------------------------------------------------------------------


def _one_case_per_department(world, clock) -> dict[str, str]:
    clock.set(MON)
    return {"CGJ": handling(world, "CGJ"), "JD1": handling(world, "JD1")}


@pytest.mark.parametrize("user", ["leader", "supervisor", "dispatcher", "admin"])
def test_the_centre_and_leaders_read_the_whole_zone(world, clock, user):
    _one_case_per_department(world, clock)
    assert rates(world, user, **NOVEMBER)["metrics"]["intake_count"] == {"value": 2}


def test_a_department_head_reads_their_own_department_only(world, clock):
    nos = _one_case_per_department(world, clock)
    report = rates(world, "head", **NOVEMBER)
    assert report["filters"] == {"department_id": department_ids(world)["CGJ"]}
    assert report["metrics"]["intake_count"] == {"value": 1}
    assert rates(world, "head", **NOVEMBER, department="CGJ")["metrics"]["intake_count"] == {"value": 1}
    assert counted(world, "response_rate", "denominator", as_user="head", **NOVEMBER) == [nos["CGJ"]]


def test_a_department_head_is_refused_another_department(world, clock):
    _one_case_per_department(world, clock)
    refused = rates(world, "head", expect=403, **NOVEMBER, department="JD1")
    assert "单位负责人只能查看本单位的报表" in refused["message"]
    explain(world, "response_rate", as_user="head", expect=403, **NOVEMBER, department="JD1")


def test_a_department_head_does_not_read_the_zones_monthly_report(world, clock):
    clock.set(MON)
    response = world.client.get(f"{API}/reports/monthly/2025-11", headers=world.headers("head"))
    assert response.status_code == 403


@pytest.mark.parametrize("user", ["handler", "intake", "liaison"])
def test_handlers_and_front_desk_staff_read_no_report(world, clock, user):
    clock.set(MON)
    rates(world, user, expect=403, **NOVEMBER)
    explain(world, "response_rate", as_user=user, expect=403, **NOVEMBER)
    monthly = world.client.get(f"{API}/reports/monthly/2025-11", headers=world.headers(user))
    assert monthly.status_code == 403


def test_reports_need_a_login(world, clock):
    assert world.client.get(f"{API}/reports/rates", params=NOVEMBER).status_code == 401


def test_a_case_list_never_shows_a_report_to_the_department_it_accuses(world, clock):
    """A report accusing the service centre (ZX) is hidden from its dispatchers and supervisors everywhere."""
    clock.set(MON)
    no = world.intake(
        channel="hotline", meeting=None, case_type="report", title="举报服务中心人员", accused_department="ZX"
    )["case_no"]
    world.get(no, "dispatcher", expect=404)
    for user in ("dispatcher", "supervisor"):
        listed = [item["case_no"] for item in explain(world, "intake_count", as_user=user, **NOVEMBER)["items"]]
        assert no not in listed, user


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2025-13-01", "to": "2025-12-01"}, "from"),
        ({"from": "2025-11-01", "to": "30/11/2025"}, "to"),
        ({"from": "2025-11-01", "to": "2025-11-01"}, "to"),
        ({"from": "2025-11-02", "to": "2025-11-01"}, "to"),
        ({**NOVEMBER, "as_of": "yesterday"}, "as_of"),
        ({"from": "2025-01-01", "to": "9999-12-31"}, "to"),  # out of range: a 422, not a date overflow
        ({"from": "0001-01-01", "to": "2025-12-01"}, "from"),
        ({"month": "2025-13"}, "month"),
        ({"month": "9999-12"}, "month"),
        ({"month": "November"}, "month"),
        ({**NOVEMBER, "group_by": "weather"}, "group_by"),
        ({**NOVEMBER, "group_by": "department,weather"}, "group_by"),
        ({**NOVEMBER, "channel": "pigeon"}, "channel"),
        ({**NOVEMBER, "case_type": "gossip"}, "case_type"),
        ({**NOVEMBER, "department": "NOPE"}, "department"),
        ({**NOVEMBER, "category": "99"}, "category"),
        ({**NOVEMBER, "format": "pdf"}, "format"),
    ],
)
def test_bad_parameters_are_422_with_the_field(world, clock, params, field):
    body = rates(world, expect=422, **params)
    assert field in fields_of(body), body


def test_a_missing_period_names_both_fields(world, clock):
    body = rates(world, expect=422)
    assert set(fields_of(body)) == {"from", "to"}
    assert set(fields_of(rates(world, expect=422, **{"from": "2025-11-01"}))) == {"to"}


def test_an_unknown_metric_is_422(world, clock):
    body = explain(world, "happiness", expect=422, **NOVEMBER)
    assert "metric" in fields_of(body)
    assert "resolution_rate" in fields_of(body)["metric"]["message_en"]  # the accepted keys are listed


def test_an_unknown_part_is_422(world, clock):
    body = explain(world, "response_rate", "middle", expect=422, **NOVEMBER)
    assert "part" in fields_of(body)


@pytest.mark.parametrize("month", ["2025-13", "9999-12", "March"])
def test_a_bad_month_of_the_monthly_report_is_422(world, clock, month):
    response = world.client.get(f"{API}/reports/monthly/{month}", headers=world.headers("leader"))
    assert response.status_code == 422, response.text
    assert "month" in fields_of(response.json())


def test_month_parameter_is_the_calendar_month_by_default(world, clock):
    clock.set(MON)
    handling(world)
    by_month = rates(world, month="2025-11")
    assert (by_month["period"]["from"], by_month["period"]["to"]) == ("2025-11-01", "2025-12-01")
    assert by_month["metrics"] == metrics(world, **NOVEMBER)
