"""Groups, filters and the case lists behind each figure."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from grievance.db import transaction
from grievance.reference.models import Category, Department
from tests.api._support import API, sh
from tests.reports.metrics_support import (
    MON,
    NOVEMBER,
    at,
    callback,
    counted,
    department_ids,
    dispatched,
    explain,
    handling,
    metrics,
    rates,
    resolve,
    resolved,
)


def groups(report, dimension) -> dict:
    """key → intake count of each group of a dimension."""
    return {row["key"]: row["metrics"]["intake_count"]["value"] for row in report["groups"][dimension]}


# --- group_by department, as of the moment --------------------------------------------------------


def _moved(world, clock):
    """A case dispatched to CGJ on Monday 10:00, returned at 11:00 and dispatched to JD1 at 12:00."""
    clock.set(MON)
    no = dispatched(world, "CGJ")
    clock.set(MON + timedelta(hours=1))
    world.act(no, "return", "handler", reason="属于青桐街道职责")
    clock.set(MON + timedelta(hours=2))
    world.act(no, "dispatch", "dispatcher", department_id="JD1")
    clock.set(MON + timedelta(days=1))
    return no


def test_group_by_department_uses_the_department_as_of_the_moment(world, clock):
    _moved(world, clock)
    ids = department_ids(world)

    old = rates(world, **NOVEMBER, as_of=at(MON + timedelta(minutes=30)), group_by="department")
    assert groups(old, "department") == {ids["CGJ"]: 1}
    assert old["groups"]["department"][0]["label"] == "城市管理局"
    between = rates(world, **NOVEMBER, as_of=at(MON + timedelta(hours=1, minutes=30)), group_by="department")
    assert groups(between, "department") == {None: 1}
    assert between["groups"]["department"][0]["label"] == "未派单"
    now = rates(world, **NOVEMBER, group_by="department")
    assert groups(now, "department") == {ids["JD1"]: 1}


def test_the_department_filter_uses_the_department_as_of_the_moment(world, clock):
    no = _moved(world, clock)
    early = at(MON + timedelta(minutes=30))

    assert metrics(world, **NOVEMBER, as_of=early, department="CGJ")["intake_count"] == {"value": 1}
    assert counted(world, "intake_count", **NOVEMBER, as_of=early, department="CGJ") == [no]
    assert metrics(world, **NOVEMBER, department="CGJ")["intake_count"] == {"value": 0}
    assert counted(world, "intake_count", **NOVEMBER, department="JD1") == [no]


def test_department_groups_add_up_to_the_zone(world, clock):
    """CGJ: 2 cases, one resolved; JD1: 1 resolved; not dispatched: 1."""
    clock.set(MON)
    resolved(world, department="CGJ")
    handling(world, department="CGJ")
    resolved(world, department="JD1")
    world.intake()
    ids = department_ids(world)

    report = rates(world, **NOVEMBER, group_by="department")
    by_key = {row["key"]: row["metrics"] for row in report["groups"]["department"]}
    assert set(by_key) == {None, ids["CGJ"], ids["JD1"]}
    assert by_key[ids["CGJ"]]["resolution_rate"] == {"numerator": 1, "denominator": 2, "value": 0.5}
    assert by_key[ids["JD1"]]["resolution_rate"] == {"numerator": 1, "denominator": 1, "value": 1.0}
    assert by_key[None]["resolution_rate"] == {"numerator": 0, "denominator": 1, "value": 0.0}
    assert sum(m["intake_count"]["value"] for m in by_key.values()) == report["metrics"]["intake_count"]["value"]
    assert all("liaison_coverage" not in m for m in by_key.values())  # a zone figure, not a group's


def test_groups_are_listed_in_the_same_order_on_every_database(world, clock):
    """By key, the group without a value (not dispatched, no station...) last."""
    clock.set(MON)
    world.intake()
    dispatched(world, "JD1")
    dispatched(world, "CGJ")
    world.intake(channel="station", station="ZS01", meeting=None)

    report = rates(world, **NOVEMBER, group_by="department,station,channel")
    assert [row["label"] for row in report["groups"]["department"]] == ["城市管理局", "青桐街道", "未派单"]
    assert [row["label"] for row in report["groups"]["station"]] == ["青桐驿站", "非驿站"]
    assert [row["key"] for row in report["groups"]["channel"]] == ["meeting", "station"]


# --- filters --------------------------------------------------------------------------------------


def test_channel_filter(world, clock):
    clock.set(MON)
    meeting = world.intake()["case_no"]  # the world's default channel
    hotline = world.intake(channel="hotline", meeting=None)["case_no"]
    world.act(hotline, "answer_on_spot", "intake", reply="已答复")

    report = rates(world, **NOVEMBER, channel="hotline")
    assert report["filters"] == {"channel": "hotline"}
    assert report["metrics"]["intake_count"] == {"value": 1}
    assert report["metrics"]["resolution_rate"]["value"] == 1.0
    assert counted(world, "intake_count", **NOVEMBER, channel="meeting") == [meeting]
    assert groups(rates(world, **NOVEMBER, group_by="channel"), "channel") == {"hotline": 1, "meeting": 1}


def test_case_type_filter(world, clock):
    clock.set(MON)
    dispute = world.intake(case_type="dispute")["case_no"]
    world.intake(case_type="help")
    assert counted(world, "intake_count", **NOVEMBER, case_type="dispute") == [dispute]


def _categories(world) -> None:
    """01 城市管理 > 0101 市政设施 > 010101 路灯照明, and 02 社会事务 (no children)."""
    with transaction(world.app.state.sessions) as session:
        cgj = session.exec(select(Department).where(Department.code == "CGJ")).one()
        top = Category(code="01", name="城市管理", level=1, department_id=cgj.id)
        other = Category(code="02", name="社会事务", level=1)
        session.add_all([top, other])
        session.flush()
        mid = Category(code="0101", name="市政设施", level=2, parent_id=top.id)
        session.add(mid)
        session.flush()
        session.add(Category(code="010101", name="路灯照明", level=3, parent_id=mid.id))


def test_category_filter_includes_subcategories(world, clock):
    _categories(world)
    clock.set(MON)
    leaf = world.intake(category="010101")["case_no"]
    middle = world.intake(category="0101")["case_no"]
    top = world.intake(category="01")["case_no"]
    world.intake(category="02")
    world.intake()  # no category

    assert counted(world, "intake_count", **NOVEMBER, category="01") == [leaf, middle, top]
    assert counted(world, "intake_count", **NOVEMBER, category="0101") == [leaf, middle]
    assert counted(world, "intake_count", **NOVEMBER, category="010101") == [leaf]
    assert metrics(world, **NOVEMBER, category="01")["intake_count"] == {"value": 3}


def test_group_by_category_groups_by_the_top_level(world, clock):
    _categories(world)
    clock.set(MON)
    for code in ("010101", "0101", "02"):
        world.intake(category=code)
    world.intake()

    report = rates(world, **NOVEMBER, group_by="category")
    labelled = {row["label"]: row["metrics"]["intake_count"]["value"] for row in report["groups"]["category"]}
    assert labelled == {"城市管理": 2, "社会事务": 1, "未分类": 1}


def test_filters_combine(world, clock):
    clock.set(MON)
    wanted = handling(world, "CGJ", channel="hotline", meeting=None)
    handling(world, "CGJ")  # a meeting case
    handling(world, "JD1", channel="hotline", meeting=None)
    assert counted(world, "intake_count", **NOVEMBER, channel="hotline", department="CGJ") == [wanted]


def test_group_by_month_splits_a_longer_period(world, clock):
    for moment in (sh(2025, 10, 31, 23, 59), sh(2025, 11, 1, 0, 0), sh(2025, 11, 20)):
        clock.set(moment)
        world.intake()
    clock.set(sh(2025, 12, 2))

    report = rates(world, **{"from": "2025-10-01", "to": "2025-12-01"}, group_by="month")
    assert groups(report, "month") == {"2025-10": 1, "2025-11": 2}
    assert [row["label"] for row in report["groups"]["month"]] == ["2025年10月", "2025年11月"]


def test_several_dimensions_at_once(world, clock):
    clock.set(MON)
    handling(world, "CGJ")
    report = rates(world, **NOVEMBER, group_by=["department", "channel"])
    assert set(report["groups"]) == {"department", "channel"}


# --- the case lists behind the figures ------------------------------------------------------------


def test_every_case_list_has_as_many_cases_as_its_figure(world, clock):
    """A mixed month: answered on the spot, resolved with callbacks, reopened, a dispute, a duplicate, an
    overdue case. For every metric counted in cases, each part lists exactly as many cases as it says."""
    clock.set(MON)
    answered = world.intake(case_type="consult")["case_no"]
    world.act(answered, "answer_on_spot", "intake", reply="已答复")
    happy = resolved(world)
    unhappy = resolved(world)
    mediated = resolved(world, "mediated", case_type="dispute")
    handling(world, case_type="dispute")
    duplicate = world.intake()["case_no"]
    world.act(duplicate, "merge", "intake", into=answered)
    silent = world.intake()["case_no"]
    clock.set(MON + timedelta(days=1))
    callback(world, happy, "satisfied")
    callback(world, unhappy, "unsatisfied", solved=False)
    callback(world, mediated, None)
    world.act(unhappy, "reopen", "dispatcher", reason="未解决")
    resolve(world, unhappy)
    clock.set(MON + timedelta(days=2))  # silent's respond due time has passed, no callback due time yet

    figures = metrics(world, **NOVEMBER)
    for key, figure in figures.items():
        if key in ("liaison_coverage", "enterprises_served"):
            continue
        numerator = figure.get("numerator", figure["value"])
        assert explain(world, key, **NOVEMBER)["count"] == numerator, key
        assert len(counted(world, key, **NOVEMBER)) == numerator, key
        if "denominator" in figure:
            assert len(counted(world, key, "denominator", **NOVEMBER)) == figure["denominator"], key

    assert counted(world, "resolution_rate", **NOVEMBER) == [answered, happy, unhappy, mediated]
    assert counted(world, "reopen_rate", **NOVEMBER) == [unhappy]
    assert counted(world, "satisfaction_rate", "denominator", **NOVEMBER) == [happy, unhappy]
    assert counted(world, "overdue_count", **NOVEMBER) == [silent]
    assert counted(world, "duplicate_count", **NOVEMBER) == [duplicate]


def test_a_case_list_describes_the_cases(world, clock):
    clock.set(MON)
    no = handling(world, "CGJ")
    body = explain(world, "response_rate", **NOVEMBER)
    assert body["metric"] == "response_rate"
    assert body["part"] == "numerator"
    assert body["fact"] == "responded"
    assert body["unit"] == "case"
    assert body["formula"] == "响应率 = 已响应（含当场答复） ÷ 受理的诉求（不含重复件）"
    [item] = body["items"]
    assert item["case_no"] == no
    assert item["state"] == "handling"
    assert item["department_name"] == "城市管理局"
    assert item["channel_label"] == "阳光恳谈会"


def test_case_lists_page_with_limit_and_offset(world, clock):
    clock.set(MON)
    nos = [world.intake()["case_no"] for _ in range(3)]
    body = explain(world, "intake_count", **NOVEMBER, limit=2, offset=1)
    assert body["count"] == 3
    assert [item["case_no"] for item in body["items"]] == nos[1:]


def test_a_count_has_no_denominator_to_list(world, clock):
    clock.set(MON)
    body = explain(world, "overdue_count", "denominator", **NOVEMBER, expect=422)
    assert body["errors"][0]["field"] == "part"


def test_station_meeting_and_petitioner_kind_filters(world, clock):
    clock.set(MON)
    at_meeting = world.intake()["case_no"]  # the world's meeting
    at_station = world.intake(channel="station", station="ZS01", meeting=None)["case_no"]
    for_enterprise = world.intake(
        channel="enterprise", meeting=None, enterprise="91420100MA4K00001U", title="企业用工招聘需要协调"
    )["case_no"]

    assert counted(world, "intake_count", **NOVEMBER, station="ZS01") == [at_station]
    assert counted(world, "intake_count", **NOVEMBER, meeting=world.meeting_id) == [at_meeting]
    assert counted(world, "intake_count", **NOVEMBER, petitioner_kind="enterprise") == [for_enterprise]
    report = rates(world, **NOVEMBER, group_by="station,meeting")
    assert {row["label"]: row["metrics"]["intake_count"]["value"] for row in report["groups"]["station"]} == {
        "青桐驿站": 1,
        "非驿站": 2,
    }
    assert {row["label"]: row["metrics"]["intake_count"]["value"] for row in report["groups"]["meeting"]} == {
        "2025-09-28 第一期阳光恳谈会": 1,
        "非恳谈会": 2,
    }


# --- the monthly report -------------------------------------------------------------------------


def test_the_monthly_report_shows_the_rates_of_the_month_and_of_the_month_before(world, clock):
    """October: 1 case, unresolved. November: 2 cases, 1 resolved and called back; the other is overdue
    (never responded)."""
    clock.set(sh(2025, 10, 20))
    world.intake()
    clock.set(MON)
    callback(world, resolved(world), "satisfied")
    silent = world.intake()["case_no"]
    clock.set(sh(2025, 11, 10))

    response = world.client.get(f"{API}/reports/monthly/2025-11", headers=world.headers("leader"))
    assert response.status_code == 200, response.text
    doc = response.json()
    headline = {row["key"]: row for row in doc["headline"]}
    assert (headline["intake_count"]["value"], headline["intake_count"]["previous"]) == (2, 1)
    assert headline["resolution_rate"]["value"] == 0.5
    assert headline["resolution_rate"]["previous"] == 0.0
    assert headline["resolution_rate"]["change"] == 0.5
    assert headline["on_time_resolution_rate"]["previous"] is None
    assert headline["on_time_resolution_rate"]["change"] is None
    november = metrics(world, month="2025-11")
    for key, row in headline.items():
        assert {k: row[k] for k in november[key]} == november[key], key
    assert doc["overdue"]["count"] == 1
    assert [item["case_no"] for item in doc["overdue"]["items"]] == [silent]
    assert [row["label"] for row in doc["departments"]] == ["城市管理局"]


def test_the_monthly_report_groups_its_month_exactly_as_the_grouped_rates_do(world, clock):
    """The monthly report reads its month's totals and groupings in one pass over the facts
    (queries.totals_and_groups): every figure equals the rates report grouped the same way, and the enterprise
    section the rates filtered to the enterprise channel."""
    clock.set(MON)
    resolved(world)
    world.intake(channel="station", station="ZS01", meeting=None)
    world.intake(channel="enterprise", meeting=None, enterprise="91420100MA4K00001U", title="企业用工招聘需要协调")
    world.intake()
    clock.set(sh(2025, 11, 10))
    doc = world.client.get(f"{API}/reports/monthly/2025-11", headers=world.headers("leader")).json()
    grouped = rates(world, **NOVEMBER, group_by="department,category,meeting,station,channel")
    figures = {key: row["value"] for key, row in metrics(world, month="2025-11").items()}
    assert {row["key"]: row["value"] for row in doc["headline"]} == {
        row["key"]: figures[row["key"]] for row in doc["headline"]
    }

    def values(rows):  # type: ignore[no-untyped-def]
        return [(row["key"], row["label"], {k: m["value"] for k, m in row["metrics"].items()}) for row in rows]

    assert values(doc["channels"]) == values(grouped["groups"]["channel"])
    assert values(doc["stations"]) == values(r for r in grouped["groups"]["station"] if r["key"] is not None)
    assert values(doc["meetings"]) == values(r for r in grouped["groups"]["meeting"] if r["key"] is not None)
    assert sorted(values(doc["departments"])) == sorted(
        values(r for r in grouped["groups"]["department"] if r["key"] is not None)
    )
    assert values(doc["categories"]) == values(
        sorted(grouped["groups"]["category"], key=lambda row: -row["metrics"]["intake_count"]["value"])[:10]
    )
    enterprise = rates(world, **NOVEMBER, channel="enterprise")["metrics"]
    assert doc["enterprise"]["services"] == enterprise["intake_count"]["value"] == 1
    assert doc["enterprise"]["enterprises_served"] == enterprise["enterprises_served"]["value"] == 1
    assert doc["enterprise"]["response_rate"] == enterprise["response_rate"]
