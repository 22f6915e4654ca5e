"""The leader's pages: the dashboard, the rates report, the cases behind a figure and the monthly report.
Every figure on a page is checked against the JSON API for the same parameters, and every link against the
parameters it must carry."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from grievance.cases.models import AuditEntry
from grievance.db import transaction
from tests.api._support import API, sh
from tests.factories import World
from tests.web.support import soup, text_of

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # pages only: the SQL is tested in reports
SEPTEMBER_END = "2025-10-10T10:00:00+08:00"  # the moment the tests read September's figures


def case_in(world: World, department: str | None, *, resolved: bool, callback: bool = False, **overrides: Any) -> str:
    """A case received at the clock's moment, dispatched and responded to (unless no department is given),
    resolved if asked, and called back (satisfied) if asked."""
    no: str = world.intake(**overrides)["case_no"]
    if department is None:
        return no
    handler = {"CGJ": "handler", "JD1": "other_handler"}[department]
    world.act(no, "dispatch", "dispatcher", department_id=department)
    world.act(no, "accept", handler)
    world.act(no, "respond", handler, note="已电话联系诉求人")
    if resolved:
        world.act(no, "resolve", handler, outcome="solved", reply="已处理完毕")
    if callback:
        world.act(no, "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    return no


@pytest.fixture
def cases(world: World, clock: Any) -> dict[str, str]:
    """August: one case resolved. September: one resolved by CGJ and called back, one being handled by JD1,
    one not yet dispatched (hotline). The clock then stands on 10 October."""
    clock.set(sh(2025, 8, 20))
    august = case_in(world, "CGJ", resolved=True)
    clock.set(sh(2025, 9, 1))
    done = case_in(world, "CGJ", resolved=True, callback=True, title="井盖松动")
    clock.set(sh(2025, 9, 2))
    handling = case_in(world, "JD1", resolved=False, title="楼道堆放杂物")
    clock.set(sh(2025, 9, 3))
    waiting = case_in(world, None, resolved=False, channel="hotline", meeting=None, title="噪声扰民")
    clock.set(sh(2025, 10, 10))
    return {"august": august, "done": done, "handling": handling, "waiting": waiting}


def api(world: World, path: str, as_user: str = "leader", **params: Any) -> dict[str, Any]:
    response = world.client.get(f"{API}{path}", params=params, headers=world.headers(as_user))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def shown(metric: dict[str, Any], kind: str = "rate") -> str:
    """A figure as the pages show it, written here from the rule: 33.3% for a rate, — without a value."""
    value = metric["value"]
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "score":  # out of 100
        return f"{value * 100:.1f}"
    return str(value)


def compact(node: Any) -> str:
    """A node's text without any whitespace: numerator/denominator reads 1/3."""
    return "".join(node.get_text("").split())


def query_of(href: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(href)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


def department_id(world: World, code: str) -> int:
    return next(int(d["id"]) for d in api(world, "/departments") if d["code"] == code)


def audit_entries(app: Any) -> list[str]:
    with transaction(app.state.sessions) as session:
        return [e.detail for e in session.exec(select(AuditEntry).where(AuditEntry.action == "export")).all()]


# --- the dashboard -----------------------------------------------------------------------------------------------


def test_the_dashboard_shows_this_month_against_last_month_each_figure_a_link(world, browser, cases, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(sh(2025, 9, 29))  # September is "this month", August the month before
    page = browser("leader").page("/dashboard")
    assert "2025年9月" in text_of(page.find("h1"))
    assert "数据截至 2025年9月29日 10:00:00" in text_of(page.find(class_="meta"))
    figures = api(world, "/reports/rates", month="2025-09", as_of="2025-09-29T10:00:00+08:00")["metrics"]
    kpi = page.select_one('.kpi[data-metric="resolution_rate"]')
    assert figures["resolution_rate"] == {"numerator": 1, "denominator": 3, "value": pytest.approx(1 / 3, abs=1e-6)}
    assert text_of(kpi.select_one(".fig")) == shown(figures["resolution_rate"]) == "33.3%"
    assert compact(kpi.select_one(".ratio")) == "1/3"
    assert "上月 100.0%" in text_of(kpi.select_one(".vs"))
    assert text_of(kpi.select_one(".chg")) == "▼66.7个百分点"
    assert "bad" in kpi.select_one(".chg")["class"]
    # The figure, its numerator and its denominator each open the cases they count, as of the same moment.
    path, params = query_of(kpi.select_one('a[data-part="denominator"]')["href"])
    assert path == "/reports/cases"
    assert params == {
        "metric": "resolution_rate",
        "part": "denominator",
        "month": "2025-09",
        "as_of": "2025-09-29T10:00:00+08:00",
    }
    intake = page.select_one('.kpi[data-metric="intake_count"]')
    assert text_of(intake.select_one(".fig")) == "3"
    assert text_of(intake.select_one(".chg")) == "▲2"
    assert "flat" in intake.select_one(".chg")["class"]  # more cases received is neither good nor bad news


def test_the_dashboard_draws_the_trend_and_ranks_the_departments(world, browser, cases, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(sh(2025, 9, 29))
    page = browser("leader").page("/dashboard")
    charts = page.select("figure.chart svg")
    assert len(charts) == 2
    bars = charts[0].select("a")
    assert len(bars) == 12  # a bar per month, each a link to that month's cases
    assert [query_of(a["href"])[1]["month"] for a in bars][-2:] == ["2025-08", "2025-09"]
    assert "http" not in str(charts[0])  # nothing fetched from anywhere
    trend = {row["data-key"]: row for row in page.select("#trend tbody tr")}
    assert text_of(trend["2025-08"].select_one('[data-metric="intake_count"] .fig')) == "1"
    *ranking, centre = page.select("#departments tbody tr")
    assert [text_of(row.select("td")[1]) for row in ranking] == ["城市管理局", "青桐街道"]
    assert text_of(centre.select("td")[1]) == "指挥中心（回访等）"
    cell = ranking[0].select_one('[data-metric="resolution_rate"]')
    assert text_of(cell.select_one(".fig")) == "100.0%"
    assert query_of(cell.select_one("a")["href"])[1]["department"] == str(department_id(world, "CGJ"))
    listed = browser("leader").page(cell.select_one('a[data-part="numerator"]')["href"])
    assert [text_of(a) for a in listed.select("#items a")] == [cases["done"]]


@SQLITE_ONLY
def test_the_dashboard_opens_on_last_month_early_in_a_month_and_offers_every_month(browser, cases, clock) -> None:  # type: ignore[no-untyped-def]
    """10 October 2025 is the second working day after the National Day holidays: the dashboard opens on
    September; on 14 October (the fifth working day) on October so far. Any month can be chosen, and the
    address's other parameters stay."""
    b = browser("leader")
    page = b.page("/dashboard")
    assert "2025年9月" in text_of(page.find("h1"))
    assert "前 3 个工作日显示上一个月" in text_of(page.find(id="opening-rule"))
    picker = page.find("form", id="month-picker")
    options = {o["value"]: text_of(o) for o in picker.select("select[name=month] option")}
    assert options["2025-10"] == "2025年10月（截至目前）" and "2025-11" not in options and len(options) == 24
    assert picker.select_one("option[selected]")["value"] == "2025-09"

    page = b.page("/dashboard?month=2025-08&lang_hint=1")
    assert "2025年8月" in text_of(page.find("h1"))
    assert page.select_one("#month-picker input[type=hidden]")["name"] == "lang_hint"
    assert query_of(page.find("a", rel="prev")["href"])[1] == {"lang_hint": "1", "month": "2025-07"}
    assert query_of(page.find("a", rel="next")["href"])[1] == {"lang_hint": "1", "month": "2025-09"}
    bars = page.select("figure.chart svg text")
    assert {"2024-09", "2025-01", "2025-08"} <= {text_of(t) for t in bars}  # axes carry the year

    page = b.page("/dashboard?month=2025-11", expect=422)
    assert "2025-11 尚未开始" in text_of(page)
    clock.set(sh(2025, 10, 14))
    assert "2025年10月" in text_of(b.page("/dashboard").find("h1"))


@SQLITE_ONLY
def test_the_centre_has_its_own_overdue_row_counting_exactly_its_drill_down(world, browser, cases, clock) -> None:  # type: ignore[no-untyped-def]
    """A case resolved on 4 September and never called back is the centre's lateness: not in CGJ's overdue
    figure, in the centre's row, whose link lists exactly it, in the page and in its workbook."""
    clock.set(sh(2025, 9, 4))
    not_called = case_in(world, "CGJ", resolved=True, title="路灯不亮")
    clock.set(sh(2025, 10, 10))
    b = browser("leader")
    for url in ("/dashboard?month=2025-09", "/reports/monthly/2025-09"):
        page = b.page(url)
        *ranking, centre = page.select("#departments tbody tr")
        cgj = next(row for row in ranking if text_of(row.select("td")[1]) == "城市管理局")
        assert text_of(cgj.select_one('[data-metric="department_overdue_count"] .fig')) == "0", url
        assert text_of(centre.select("td")[1]) == "指挥中心（回访等）"
        figure = centre.select_one('[data-metric="centre_overdue_count"] a.fig')
        assert text_of(figure) == "1", url
        listed = b.page(figure["href"])
        assert [text_of(a) for a in listed.select("#items tbody a")] == [not_called]
    overdue = {text_of(row.select("td")[0]): text_of(row.select("td")[4]) for row in page.select("#overdue tbody tr")}
    assert overdue[not_called] == "中心"  # the monthly report (the last page read) says whose time limit was missed
    assert overdue[cases["handling"]] == "承办单位"
    book = load_workbook(io.BytesIO(b.get(listed.find(id="download")["href"]).content))
    assert [row[0] for row in book.active.iter_rows(min_row=8, values_only=True)] == [not_called]
    ranking_sheet = load_workbook(io.BytesIO(b.get("/reports/monthly/2025-09.xlsx").content))["单位排名"]
    centre_line = list(ranking_sheet.iter_rows(values_only=True))[-1]
    overdue_sheet = load_workbook(io.BytesIO(b.get("/reports/monthly/2025-09.xlsx").content))["超期清单"]
    assert {row[0]: row[4] for row in overdue_sheet.iter_rows(min_row=2, values_only=True)}[not_called] == "中心"
    assert centre_line[1] == "指挥中心（回访等）" and centre_line[-1] == 1 and set(centre_line[2:-1]) == {None}


@pytest.mark.parametrize("username", ["leader", "supervisor", "admin"])
def test_leaders_supervisors_and_admins_see_the_apis_headline_figures(world, browser, cases, clock, username) -> None:  # type: ignore[no-untyped-def]
    clock.set(sh(2025, 9, 29))
    page = browser(username).page("/dashboard")
    figures = api(world, "/reports/rates", as_user=username, month="2025-09", as_of="2025-09-29T10:00:00+08:00")
    kinds = {m["key"]: m["kind"] for m in api(world, "/reports/metrics", as_user=username)}
    seen = {}
    for kpi in page.select(".kpi[data-metric]"):
        key = kpi["data-metric"]
        figure = kpi.select_one(".fig")
        if key not in figures["metrics"] or figure is None:
            continue
        metric = figures["metrics"][key]
        seen[key] = text_of(figure)
        assert seen[key] == shown(metric, kinds[key]), key
        if "denominator" in metric:
            assert compact(kpi.select_one(".ratio")) == f"{metric['numerator']}/{metric['denominator']}", key
    # The headline figures are there and are not empty: three cases received in September, one in three resolved.
    assert {"intake_count", "resolution_rate", "on_time_response_rate"} <= set(seen), seen
    assert (seen["intake_count"], seen["resolution_rate"]) == ("3", "33.3%")


def test_other_roles_get_the_403_page(browser, cases) -> None:  # type: ignore[no-untyped-def]
    handler = browser("handler")
    for url in ("/dashboard", "/reports", "/reports/cases?metric=intake_count&month=2025-09", "/reports/monthly"):
        page = handler.page(url, expect=403)
        assert text_of(page.find("h1")) == "无权访问此页面", url
    for url in ("/reports/monthly/2025-09", "/reports/monthly/2025-09.xlsx", "/reports/export.csv?month=2025-09"):
        assert handler.get(url).status_code == 403, url
    assert browser("dispatcher").get("/dashboard").status_code == 403
    assert browser("dispatcher").get("/reports").status_code == 200


# --- the rates report -----------------------------------------------------------------------------------------


def test_the_report_shows_the_same_figures_as_the_api_with_links_carrying_the_parameters(world, browser, cases) -> None:  # type: ignore[no-untyped-def]
    params = {"from": "2025-09-01", "to": "2025-10-01", "as_of": SEPTEMBER_END, "channel": "meeting"}
    page = browser("leader").page(
        "/reports?period=range&from=2025-09-01&to=2025-10-01&as_of=2025-10-10T10:00&channel=meeting"
        "&group_by=department&group_by=month"
    )
    report = api(world, "/reports/rates", **params, group_by=["department", "month"])
    for key, metric in report["metrics"].items():
        row = page.select_one(f'#rates tr[data-metric="{key}"]')
        value = text_of(row.select("td")[0])
        kind = "rate" if "denominator" in metric and key != "satisfaction_score" else "other"
        if kind == "rate":
            assert value == shown(metric), key
            assert text_of(row.select_one('a[data-part="denominator"]')) == str(metric["denominator"]), key
        numerator = row.select_one('a[data-part="numerator"]')
        assert text_of(numerator) == str(metric.get("numerator", metric["value"])), key
        path, query = query_of(numerator["href"])
        assert path == "/reports/cases"
        assert query == {"metric": key, "part": "numerator", **params}, key
    assert report["metrics"]["intake_count"]["value"] == 2  # the hotline case is filtered out
    # A group's figures narrow the same parameters to the group.
    cgj = next(r for r in report["groups"]["department"] if r["label"] == "城市管理局")
    cell = page.select_one(
        f'table[data-dimension="department"] tr[data-key="{cgj["key"]}"] [data-metric="resolution_rate"]'
    )
    assert text_of(cell.select_one(".fig")) == shown(cgj["metrics"]["resolution_rate"]) == "100.0%"
    _path, query = query_of(cell.select_one('a[data-part="denominator"]')["href"])
    assert query == {"metric": "resolution_rate", "part": "denominator", **params, "department": str(cgj["key"])}
    month_row = page.select_one('table[data-dimension="month"] tr[data-key="2025-09"]')
    _path, query = query_of(month_row.select_one("a")["href"])
    assert query["month"] == "2025-09" and "from" not in query  # the whole month lies in the period
    # The downloads carry them too.
    _path, query = query_of(page.find("a", string="XLSX")["href"])
    assert query == {**params, "group_by": "department,month"}


def test_a_rate_whose_denominator_is_zero_shows_a_dash(browser, cases) -> None:  # type: ignore[no-untyped-def]
    page = browser("leader").page("/reports?month=2025-09")
    row = page.select_one('#rates tr[data-metric="mediation_rate"]')  # no dispute case at all
    assert text_of(row.select("td")[0]) == "—"
    assert text_of(row.select_one('a[data-part="denominator"]')) == "0"


def test_without_parameters_the_report_shows_this_month_by_department(browser, cases) -> None:  # type: ignore[no-untyped-def]
    page = browser("leader").page("/reports")
    assert page.find("input", {"name": "month"})["value"] == "2025-10"
    assert page.select_one('table[data-dimension="department"]') is not None
    assert "本期暂无诉求" in text_of(page.select_one('table[data-dimension="department"]'))


def test_the_reset_button_opens_the_report_as_it_first_was(browser, cases) -> None:  # type: ignore[no-untyped-def]
    """「重置」 leads to the page without parameters (this month by department), not to an error (it once led to
    ?group_by=department alone, which has no period: 422)."""
    b = browser("leader")
    page = b.page("/reports?month=2025-09&channel=hotline")
    reset = next(a for a in page.select("form a.button") if text_of(a) == "重置")
    again = b.page(reset["href"])
    assert again.find("input", {"name": "month"})["value"] == "2025-10"
    assert again.select_one('table[data-dimension="department"]') is not None


def test_bad_input_shows_the_form_again_with_each_error_by_its_field(browser, cases) -> None:  # type: ignore[no-untyped-def]
    b = browser("leader")
    response = b.get("/reports?period=range&from=2025-09-10&to=2025-09-01&group_by=weekday&channel=fax")
    assert response.status_code == 422
    page = soup(response.text)
    assert "须晚于开始日期" in text_of(page.find(id="e-to"))
    assert "weekday" in text_of(page.find(id="e-group_by"))
    assert "fax" in text_of(page.find(id="e-channel"))
    assert page.find("input", {"name": "from"})["value"] == "2025-09-10"  # what was typed stays
    assert page.find("input", {"name": "to"})["value"] == "2025-09-01"
    assert page.find("select", {"name": "period"}).find("option", selected=True)["value"] == "range"
    assert page.find(id="rates") is None  # no figures for a wrong question
    page = soup(b.get("/reports?period=range&from=2025-13-01&to=2025-10-01").text)
    assert "2025-13-01" in text_of(page.find(id="e-from"))
    page = soup(b.get("/reports?period=month&month=").text)
    assert text_of(page.find(id="e-month")) == "请选择月份，或改为按日期区间统计"
    page = soup(b.get("/reports?month=2025-09&as_of=yesterday").text)
    assert "yesterday" in text_of(page.find(id="e-as_of"))


def test_a_department_head_reads_their_own_department_only(world, browser, cases) -> None:  # type: ignore[no-untyped-def]
    head = browser("head")
    page = head.page("/reports?month=2025-09&as_of=2025-10-10T10:00")
    own = api(world, "/reports/rates", as_user="head", month="2025-09", as_of=SEPTEMBER_END)["metrics"]
    assert own["intake_count"] == {"value": 1}  # of September's three cases, CGJ holds one
    assert text_of(page.select_one('#rates tr[data-metric="intake_count"] .fig')) == "1"
    options = page.find("select", {"name": "department"}).find_all("option")
    assert [text_of(o) for o in options] == ["城市管理局"]
    assert "承办单位：城市管理局" in text_of(page.find(class_="meta"))
    listed = head.page("/reports/cases?metric=intake_count&month=2025-09&as_of=2025-10-10T10:00")
    assert [text_of(a) for a in listed.select("#items a")] == [cases["done"]]
    assert head.get(f"/reports?month=2025-09&department={department_id(world, 'JD1')}").status_code == 403
    assert head.get("/reports/monthly/2025-09").status_code == 403  # the zone's monthly report is not theirs
    assert head.get("/dashboard").status_code == 403


# --- the cases behind a figure --------------------------------------------------------------------------------


def test_the_cases_behind_a_figure_are_exactly_the_apis_and_open_their_case(world, browser, cases) -> None:  # type: ignore[no-untyped-def]
    b = browser("leader")
    page = b.page(
        f"/reports/cases?metric=response_rate&part=denominator&month=2025-09&as_of={SEPTEMBER_END.replace('+', '%2B')}"
    )
    body = api(world, "/reports/rates/response_rate/cases", part="denominator", month="2025-09", as_of=SEPTEMBER_END)
    expected = [item["case_no"] for item in body["items"]]
    assert expected == [cases["done"], cases["handling"], cases["waiting"]]
    links = page.select("#items tbody a")
    assert [text_of(a) for a in links] == expected
    assert [a["href"] for a in links] == [f"/cases/{no}" for no in expected]
    assert "共 3 件" in text_of(page.find(id="count"))
    assert "响应率 = 已响应（含当场答复） ÷ 受理的诉求（不含重复件）" in text_of(page.find(class_="card"))
    row = page.select("#items tbody tr")[2]
    assert [text_of(td) for td in row.select("td")][3:] == ["待派单", "未派单", "12345热线"]
    # The other part of the same figure is one click away, with the same parameters.
    _path, query = query_of(page.find("a", string=lambda s: bool(s and "查看分子" in s))["href"])
    assert query == {"metric": "response_rate", "part": "numerator", "month": "2025-09", "as_of": SEPTEMBER_END}


def test_a_long_case_list_is_paged(browser, cases) -> None:  # type: ignore[no-untyped-def]
    b = browser("leader")
    first = b.page("/reports/cases?metric=intake_count&month=2025-09&limit=2")
    assert [text_of(a) for a in first.select("#items tbody a")] == [cases["done"], cases["handling"]]
    assert "第 1–2 件，共 3 件" in text_of(first.select_one(".pager"))
    following = first.find("a", rel="next")["href"]
    assert query_of(following)[1]["offset"] == "2"
    second = b.page(following)
    assert [text_of(a) for a in second.select("#items tbody a")] == [cases["waiting"]]
    assert second.find("a", rel="next") is None and second.find("a", rel="prev") is not None


@SQLITE_ONLY
def test_a_case_list_downloads_as_a_workbook_of_every_case_in_its_columns(app, browser, cases) -> None:  # type: ignore[no-untyped-def]
    b = browser("leader")
    page = b.page("/reports/cases?metric=intake_count&month=2025-09&limit=2")
    response = b.get(page.find(id="download")["href"])
    assert response.status_code == 200 and response.content[:2] == b"PK"
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "受理量 · 分子：受理的诉求（不含重复件）"
    assert rows[4][0] == "共 3 件"
    assert list(rows[6]) == [text_of(th) for th in page.select("#items thead th")]  # the list's columns
    assert [row[0] for row in rows[7:]] == [cases["done"], cases["handling"], cases["waiting"]]  # not one page
    assert list(rows[-1][3:]) == ["待派单", "未派单", "12345热线"]
    assert audit_entries(app)[-1].startswith("cases xlsx intake_count numerator")


def test_liaison_coverage_lists_enterprises(browser, cases) -> None:  # type: ignore[no-untyped-def]
    # The enterprise and its liaison are registered at the (frozen) time of the World, before September's end.
    page = browser("leader").page("/reports/cases?metric=liaison_coverage&part=denominator&month=2025-09")
    assert [text_of(td) for td in page.select("#items tbody td")] == ["云帆光电科技有限公司", "91420100MA4K00001U"]
    assert "共 1 家企业" in text_of(page.find(id="count"))


def test_a_wrong_metric_or_part_says_what_is_accepted(browser, cases) -> None:  # type: ignore[no-untyped-def]
    b = browser("leader")
    page = b.page("/reports/cases?metric=happiness&month=2025-09", expect=422)
    assert "没有指标 happiness" in text_of(page)
    page = b.page("/reports/cases?metric=intake_count&part=denominator&month=2025-09", expect=422)
    assert "可选：numerator" in text_of(page)


# --- downloads ----------------------------------------------------------------------------------------------------


def test_downloads_carry_the_figures_and_are_audited(app, world, browser, cases) -> None:  # type: ignore[no-untyped-def]
    b = browser("leader")
    response = b.get(f"/reports/export.csv?month=2025-09&group_by=department&as_of={SEPTEMBER_END.replace('+', '%2B')}")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="rates-2025-09-01-2025-10-01.csv"'
    text = response.content.decode("utf-8-sig")
    assert "total,,总计,resolution_rate,办结率,1,3,0.333333" in text
    assert b.get("/reports/export.xlsx?month=2025-09").content[:2] == b"PK"
    assert "<table" in b.get("/reports/export.html?month=2025-09").text
    assert b.get("/reports/export.pdf?month=2025-09").status_code == 404
    workbook = b.get(f"/reports/monthly/2025-09.xlsx?as_of={SEPTEMBER_END.replace('+', '%2B')}")
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"
    assert workbook.headers["content-disposition"] == 'attachment; filename="monthly-2025-09.xlsx"'
    audited = audit_entries(app)
    assert [entry.split(" ")[:2] for entry in audited] == [
        ["rates", "csv"],
        ["rates", "xlsx"],
        ["rates", "html"],
        ["monthly", "2025-09"],
    ]
    assert audited[-1] == f"monthly 2025-09 xlsx as of {SEPTEMBER_END}"


def test_a_download_with_bad_parameters_shows_the_form_and_audits_nothing(app, browser, cases) -> None:  # type: ignore[no-untyped-def]
    response = browser("leader").get("/reports/export.csv?period=range&from=2025-09-10&to=2025-09-01")
    assert response.status_code == 422
    assert soup(response.text).find(id="e-to") is not None
    assert audit_entries(app) == []


# --- the monthly report -------------------------------------------------------------------------------------------


def test_the_month_picker_defaults_to_the_last_complete_month(browser, cases) -> None:  # type: ignore[no-untyped-def]
    b = browser("leader")
    page = b.page("/reports/monthly")
    assert page.find("input", {"name": "month"})["value"] == "2025-09"
    assert "2025年10月（进行中）" in text_of(page.find(class_="months"))
    response = b.get("/reports/monthly?month=2025-08&as_of=")
    assert response.status_code == 303 and response.headers["location"] == "/reports/monthly/2025-08"
    response = b.get("/reports/monthly?month=2025-8&as_of=2025-09-05T12:00")
    assert response.headers["location"] == "/reports/monthly/2025-08?as_of=2025-09-05T12%3A00"
    response = b.get("/reports/monthly?month=August&as_of=")
    assert response.status_code == 422
    page = soup(response.text)
    assert "August" in text_of(page.find(id="e-month"))
    assert page.find("input", {"name": "month"})["value"] == "August"


def test_the_monthly_report_matches_the_api_and_every_headline_figure_is_a_link(world, browser, cases) -> None:  # type: ignore[no-untyped-def]
    page = browser("leader").page("/reports/monthly/2025-09")
    doc = api(world, "/reports/monthly/2025-09", as_of=SEPTEMBER_END)
    assert text_of(page.find("h1")) == "2025年9月诉求办理月报"
    assert text_of(page.find(id="as-of")) == "数据截至 2025年10月10日 10:00:00"
    for item in doc["headline"]:
        row = page.select_one(f'#headline tr[data-metric="{item["key"]}"]')
        cells = row.select("td")
        if item["kind"] == "rate":
            assert text_of(cells[0].select_one(".fig")) == shown(item), item["key"]
            assert compact(cells[0].select_one(".ratio")) == f"{item['numerator']}/{item['denominator']}"
            assert text_of(cells[1]) == shown({"value": item["previous"]}), item["key"]
        link = cells[0].select_one('a[data-part="numerator"]') or cells[0].select_one("a")
        _path, query = query_of(link["href"])
        assert query == {"metric": item["key"], "part": "numerator", "month": "2025-09", "as_of": SEPTEMBER_END}
    assert text_of(page.select_one('#headline tr[data-metric="resolution_rate"] .chg')) == "▼66.7个百分点"
    assert [text_of(a) for a in page.select("#overdue tbody a")] == [i["case_no"] for i in doc["overdue"]["items"]]
    assert (
        page.find("a", string="下载 XLSX")["href"]
        == f"/reports/monthly/2025-09.xlsx?as_of={SEPTEMBER_END.replace('+', '%2B').replace(':', '%3A')}"
    )
    assert page.find("button", attrs={"data-print": True}) is not None


def test_a_monthly_report_regenerated_as_of_a_moment_is_identical(world, browser, cases, clock) -> None:  # type: ignore[no-untyped-def]
    b = browser("leader")
    before = b.page("/reports/monthly/2025-09")
    permalink = before.find(id="permalink")["href"]
    assert query_of(permalink)[1] == {"as_of": SEPTEMBER_END}
    clock.set(sh(2025, 10, 13))
    world.act(cases["handling"], "resolve", "other_handler", outcome="solved", reply="杂物已清理")
    now = b.page("/reports/monthly/2025-09")
    assert compact(now.select_one('#headline tr[data-metric="resolution_rate"] .ratio')) == "2/3"
    again = b.page(permalink)
    assert compact(again.select_one('#headline tr[data-metric="resolution_rate"] .ratio')) == "1/3"
    assert again.select_one("#headline").decode() == before.select_one("#headline").decode()
    assert "本月报固定在上述时点" in text_of(again.find(id="tools"))


def test_a_bad_month_or_moment_shows_the_picker_with_the_error(browser, cases) -> None:  # type: ignore[no-untyped-def]
    b = browser("leader")
    response = b.get("/reports/monthly/2025-13")
    assert response.status_code == 422
    assert "2025-13" in text_of(soup(response.text).find(id="e-month"))
    response = b.get("/reports/monthly/2025-09?as_of=soon")
    assert response.status_code == 422
    page = soup(response.text)
    assert "soon" in text_of(page.find(id="e-as_of"))
    assert page.find("input", {"name": "month"})["value"] == "2025-09"


def test_the_pages_read_in_english_too(browser, cases) -> None:  # type: ignore[no-untyped-def]
    b = browser("leader")
    b.client.cookies.set("lang", "en")
    page = b.page("/reports/monthly/2025-09")
    assert text_of(page.find("h1")) == "September 2025 appeals report"
    assert "resolution rate" in text_of(page.find(id="headline"))
    assert "▼66.7 percentage points" in text_of(page.find(id="headline"))
    page = b.page("/reports?month=2025-09")
    assert "Show the figures" in text_of(page.find("form", action="/reports"))
