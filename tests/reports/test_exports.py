"""The report files people open (CSV, XLSX, the printable monthly page), read back as a person would read them.

A small September 2025 is built through the API: a meeting case handled to a satisfied callback, a station case
responded to but still open, an enterprise case never dispatched (received at 00:30 local time, with a title that
tries to inject a script), and one August case for the month-over-month change.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from html.parser import HTMLParser
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from grievance.errors import InvalidInput
from grievance.reports import exports
from tests.api._support import API, sh
from tests.factories import World

SCRIPT_TITLE = "代办<script>alert(1)</script>营业执照"
MONTHLY_SHEETS = ["概览", "趋势", "单位排名", "超期清单", "业务分类", "恳谈会", "城市驿站", "企业服务", "说明"]


@pytest.fixture
def september(world: World, clock: Any) -> dict[str, str]:
    clock.set(sh(2025, 8, 20))
    august = world.intake(channel="hotline", meeting=None, title="八月的诉求")["case_no"]

    clock.set(sh(2025, 9, 1, 0, 30))  # 2025-08-31 16:30 UTC: a September case all the same
    enterprise = world.intake(
        channel="enterprise",
        meeting=None,
        enterprise=world.enterprise_id,
        title=SCRIPT_TITLE,
        petitioner={"name": "李四", "phone": "13900001111"},
    )["case_no"]

    clock.set(sh(2025, 9, 1, 9))
    meeting = world.intake(title="小区门口路灯不亮")["case_no"]
    world.act(meeting, "dispatch", "dispatcher", department_id="CGJ")
    world.act(meeting, "accept", "handler")
    world.act(meeting, "respond", "handler", note="已电话联系诉求人")
    world.act(meeting, "resolve", "handler", outcome="solved", reply="路灯已修复")
    world.act(meeting, "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")

    station = world.intake(channel="station", meeting=None, station="ZS01", title="井盖缺失")["case_no"]
    world.act(station, "dispatch", "dispatcher", department_id="CGJ")
    world.act(station, "accept", "handler")
    world.act(station, "respond", "handler", note="已现场查看")

    clock.set(sh(2025, 9, 29, 10))
    return {"august": august, "enterprise": enterprise, "meeting": meeting, "station": station}


def fetch(world: World, url: str, user: str = "leader", expect: int = 200) -> Any:
    response = world.client.get(API + url, headers=world.headers(user))
    assert response.status_code == expect, response.text
    return response


RATES = "/reports/rates?from=2025-09-01&to=2025-10-01&group_by=department"


class Page(HTMLParser):
    """What a reader sees: each table as rows of cell texts (footnote marks left out), list items, the tags used."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.items: list[str] = []
        self.tags: Counter[str] = Counter()
        self._cell: list[str] | None = None
        self._item: list[str] | None = None
        self._sup = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "li":
            self._item = []
        elif tag == "sup":
            self._sup += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join(self._cell))
            self._cell = None
        elif tag == "li" and self._item is not None:
            self.items.append("".join(self._item).strip())
            self._item = None
        elif tag == "sup":
            self._sup -= 1

    def handle_data(self, data: str) -> None:
        if self._sup:
            return
        if self._cell is not None and data.strip():
            self._cell.append(data.strip())
        if self._item is not None:
            self._item.append(data)

    def row(self, table: int, first: str) -> list[str]:
        found = [r for r in self.tables[table] if r and r[0] == first]
        assert found, f"no row {first!r} in table {table}: {self.tables[table]}"
        return found[0]


# --- the rates report of any period ------------------------------------------------------------------------------


def test_rates_csv_is_long_format_with_a_bom_and_matches_the_json(world, september):
    report = fetch(world, RATES).json()
    response = fetch(world, RATES + "&format=csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="rates-2025-09-01-2025-10-01.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel and WPS then read the Chinese right

    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(rows[0]) == ["dimension", "key", "label", "metric", "metric_label", "numerator", "denominator", "value"]
    total = {r["metric"]: r for r in rows if r["dimension"] == "total"}
    assert total["intake_count"]["value"] == "3"
    assert total["intake_count"]["numerator"] == total["intake_count"]["denominator"] == ""
    assert (total["response_rate"]["numerator"], total["response_rate"]["denominator"]) == ("2", "3")
    assert total["resolution_rate"]["metric_label"] == "办结率"
    assert total["mediation_rate"]["value"] == ""  # no dispute case: no value, never 0
    assert len(total) == len(report["metrics"])

    city = [r for r in rows if r["dimension"] == "department" and r["label"] == "城市管理局"]
    by_metric = {r["metric"]: r for r in city}
    expected = next(g for g in report["groups"]["department"] if g["label"] == "城市管理局")["metrics"]
    assert by_metric["resolution_rate"]["numerator"] == str(expected["resolution_rate"]["numerator"])
    assert by_metric["resolution_rate"]["denominator"] == str(expected["resolution_rate"]["denominator"]) == "2"
    assert {r["label"] for r in rows if r["dimension"] == "department"} == {"城市管理局", "未派单"}


def test_rates_xlsx_has_totals_a_sheet_per_dimension_and_the_formulas(world, september):
    report = fetch(world, RATES + ",channel").json()
    response = fetch(world, RATES + ",channel&format=xlsx")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["总计", "承办单位", "来源渠道", "说明"]

    totals = {row[0].value: row for row in book["总计"].iter_rows(min_row=2)}
    resolution = totals["办结率"]
    expected = report["metrics"]["resolution_rate"]
    assert (resolution[1].value, resolution[2].value) == (expected["numerator"], expected["denominator"]) == (1, 3)
    assert resolution[3].value == pytest.approx(expected["value"])
    assert resolution[3].number_format == "0.0%"
    assert totals["矛盾化解率"][3].value is None
    assert book["总计"]["A1"].font.bold

    departments = book["承办单位"]
    assert [c.value for c in departments[2]][:5] == [None, "数值", "比率", "分子", "分母"]
    assert departments["C1"].value == "响应率"
    labels = [row[0].value for row in departments.iter_rows(min_row=3)]
    assert set(labels) == {"城市管理局", "未派单"}
    assert {row[0].value for row in book["来源渠道"].iter_rows(min_row=3)} == {"阳光恳谈会", "城市驿站", "企业包保"}

    formulas = [c.value for c in book["说明"]["B"]]
    assert "办结率 = 已办结且此后未重办 ÷ 受理的诉求（不含重复件）" in formulas


def test_rates_html_is_a_printable_page_with_a_table_per_group(world, september):
    response = fetch(world, RATES + "&channel=meeting&format=html")
    html = response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "统计区间：2025年9月1日至2025年9月30日" in html
    assert "数据截至：2025年9月29日 10:00" in html
    assert "筛选条件：来源渠道：阳光恳谈会" in html
    assert "@page" in html and "size: A4" in html
    page = Page(html)
    assert page.row(0, "受理量")[1] == "1"
    assert page.row(0, "办结率")[1:] == ["100.0%", "1", "1"]
    assert page.row(0, "矛盾化解率")[1] == "—"
    assert "按承办单位" in html
    assert page.row(1, "城市管理局")[1] == "1"
    assert "http://" not in html and "https://" not in html


# --- the monthly report ------------------------------------------------------------------------------------------


def test_monthly_html_shows_the_headline_with_its_change_and_footnotes(world, september):
    doc = fetch(world, "/reports/monthly/2025-09").json()
    html = fetch(world, "/reports/monthly/2025-09?format=html").text
    page = Page(html)

    assert "<h1>2025年9月诉求办理月报</h1>" in html
    assert "统计区间：2025年9月1日至2025年9月30日" in html
    assert "上月：2025年8月1日至2025年8月31日" in html
    headline = 0
    assert page.tables[headline][0] == ["指标", "本月", "分子/分母", "上月", "环比变化"]
    assert page.row(headline, "受理量") == ["受理量", "3", "", "1", "▲2"]
    assert page.row(headline, "响应率") == ["响应率", "66.7%", "2/3", "0.0%", "▲66.7个百分点"]
    assert page.row(headline, "办结率") == ["办结率", "33.3%", "1/3", "0.0%", "▲33.3个百分点"]
    assert page.row(headline, "满意率")[1:4] == ["100.0%", "1/1", "—"]  # August had no callback: no value
    assert page.row(headline, "矛盾化解率") == ["矛盾化解率", "—", "0/0", "—", "—"]
    overdue = next(item for item in doc["headline"] if item["key"] == "overdue_count")["value"]
    assert page.row(headline, "超期件数")[1] == str(overdue)

    formula = doc["metrics"]["resolution_rate"]["formula"]
    assert formula in page.items
    assert "办结率 = 已办结且此后未重办 ÷ 受理的诉求（不含重复件）" in page.items
    assert '<sup><a href="#note-resolution_rate">' in html


def test_monthly_html_tables_charts_and_escaping(world, september):
    response = fetch(world, "/reports/monthly/2025-09?format=html")
    html = response.text
    page = Page(html)

    assert page.tags["svg"] >= 3  # intake bars, rate lines, category bars
    for month in ("2024-10", "2024-11", "2024-12", "2025-01", "2025-08", "2025-09"):
        assert f">{month}</text>" in html  # twelve months with their years, months without cases included
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert "代办&lt;script&gt;alert(1)&lt;/script&gt;营业执照" in html

    ranking = next(t for t in page.tables if t[0][:2] == ["排名", "承办单位"])
    assert ranking[1][:4] == ["1", "城市管理局", "2", "100.0% 2/2"]  # rank, department, intake, response rate
    overdue = next(t for t in page.tables if t[0] == ["诉求编号", "标题", "承办单位", "受理日期"])
    enterprise_case = next(r for r in overdue[1:] if r[0] == september["enterprise"])
    assert enterprise_case[1:] == [SCRIPT_TITLE, "未派单", "2025年9月1日"]  # the local day, not the UTC one
    meetings = next(t for t in page.tables if t[0][0] == "恳谈会")
    assert meetings[1] == ["2025-09-28 第一期阳光恳谈会", "1", "1", "100.0% 1/1"]
    stations = next(t for t in page.tables if t[0][0] == "驿站")
    assert stations[1] == ["青桐驿站", "1", "0", "0.0% 0/1"]
    enterprise = next(t for t in page.tables if t[0][0] == "服务企业数")
    assert enterprise[1][:3] == ["1", "1", "0.0% 0/1"]


def test_monthly_xlsx_has_a_sheet_per_section_matching_the_json(world, september):
    doc = fetch(world, "/reports/monthly/2025-09").json()
    response = fetch(world, "/reports/monthly/2025-09?format=xlsx")
    assert 'filename="monthly-2025-09.xlsx"' in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == MONTHLY_SHEETS

    overview = book["概览"]
    assert overview["A1"].value == "2025年9月诉求办理月报"
    assert [c.value for c in overview[4]] == ["指标", "本月", "分子", "分母", "上月", "环比变化"]
    assert all(c.font.bold for c in overview[4])
    rows = {row[0].value: row for row in overview.iter_rows(min_row=5)}
    resolution = next(item for item in doc["headline"] if item["key"] == "resolution_rate")
    cells = rows["办结率"]
    assert (cells[2].value, cells[3].value) == (resolution["numerator"], resolution["denominator"])
    assert cells[1].value == pytest.approx(resolution["value"]) and cells[1].number_format == "0.0%"
    assert cells[5].value == pytest.approx(33.3333, abs=1e-3) and "个百分点" in cells[5].number_format
    assert rows["矛盾化解率"][1].value is None

    trend = [row[0].value for row in book["趋势"].iter_rows(min_row=2)]
    assert trend[0] == "2024年10月" and trend[-1] == "2025年9月" and len(trend) == 12
    assert [c.value for c in book["单位排名"][2]][:3] == [1, "城市管理局", 2]
    overdue = {row[0].value: row for row in book["超期清单"].iter_rows(min_row=2)}
    assert overdue[september["enterprise"]][1].value == SCRIPT_TITLE  # a cell is plain text: nothing to escape
    assert [c.value for c in book["城市驿站"][2]] == ["青桐驿站", 1, 0, 0]
    assert "满意率 = 回访满意或基本满意 ÷ 最近一次回访联系到诉求人" in [c.value for c in book["说明"]["B"]]


# --- who may export, and the audit log ------------------------------------------------------------------------------


def test_every_export_is_written_to_the_audit_log(world, september, engine):
    def exports_logged() -> list[tuple[int, str]]:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT user_id, detail FROM audit_log WHERE action = 'export' ORDER BY id"))
            return [tuple(row) for row in rows]

    fetch(world, RATES)  # reading the figures on screen is not an export
    assert exports_logged() == []
    fetch(world, RATES + "&format=csv")
    fetch(world, "/reports/monthly/2025-09?format=html")
    logged = exports_logged()
    assert len(logged) == 2
    assert logged[0][1].startswith("rates csv") and logged[1][1].startswith("monthly 2025-09 html")
    with engine.connect() as conn:
        leader = conn.execute(text("SELECT id FROM users WHERE username = 'leader'")).scalar_one()
    assert {user for user, _ in logged} == {leader}


def test_a_handler_may_not_export(world, september, engine):
    fetch(world, RATES + "&format=csv", user="handler", expect=403)
    fetch(world, "/reports/monthly/2025-09?format=xlsx", user="handler", expect=403)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'export'")).scalar_one() == 0


# --- how figures read --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (0.961, "rate", "96.1%"),
        (None, "rate", "—"),
        (0.0, "rate", "0.0%"),
        (0.955, "score", "95.5分"),
        (12, "count", "12"),
    ],
)
def test_figures_read_like_the_report(value, kind, shown):
    assert exports.figure(value, kind) == shown


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (0.032, "rate", "▲3.2个百分点"),
        (-0.1, "rate", "▼10.0个百分点"),
        (0.00001, "rate", "持平"),
        (None, "rate", "—"),
        (-3, "count", "▼3"),
        (0, "count", "持平"),
    ],
)
def test_changes_are_in_percentage_points_for_rates(value, kind, shown):
    assert exports.change(value, kind) == shown


def test_days_are_local_and_written_the_chinese_way():
    assert exports.day_cn("2025-03-05") == "2025年3月5日"
    assert exports.day_cn("2025-08-31T16:30:00+00:00") == "2025年9月1日"
    assert exports.period_cn({"from": "2025-02-19", "to": "2025-03-19"}) == "2025年2月19日至2025年3月18日"


def test_a_format_that_is_not_offered_is_refused_with_the_accepted_ones():
    with pytest.raises(InvalidInput) as refused:
        exports.render_monthly({}, "pdf")
    assert "html、xlsx" in refused.value.message


def test_svg_labels_are_escaped():
    chart = str(exports.hbar_chart("分类 <b>", [("<img src=x onerror=alert(1)>", 3)]))
    assert "<img" not in chart and "&lt;img" in chart and "分类 &lt;b&gt;" in chart
