"""The key-case report page and workbook (issue 12): on the scenario of tests/api/test_keycase_report.py, every
figure on /keycases/report equals the API's, links to a list that holds exactly as many cases (or nodes) with the
same period, filters and as_of, and the XLSX download carries the same numbers. Also who may open it, its period
kinds, its English and its bad input."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, urlparse

from openpyxl import load_workbook

from tests.api.test_keycase_report import AS_OF, EXPECTED_AS_OF, build, expected_lists, report
from tests.web.support import Browser, text_of

PARAMS = f"period=month&month=2025-11&as_of={AS_OF.isoformat().replace('+', '%2B')}&group_by=lead_leader,reason"


def _rows(page: Any) -> list[str]:
    return [
        f"{row['data-case']}#{row['data-seq']}" if row.get("data-seq") else row["data-case"]
        for row in page.select("#items tbody tr[data-case]")
    ]


def test_every_figure_on_the_page_links_to_exactly_what_it_counts_and_the_workbook_agrees(world, clock):
    s = build(world, clock)
    b = Browser(world.app, "leader")
    page = b.page(f"/keycases/report?{PARAMS}")
    assert page.select_one('nav.keycase-tabs a[aria-current="page"]')["href"] == "/keycases/report"
    assert "2025年11月26日 18:00:00" in text_of(page.select_one("#as-of"))
    api = report(world, month="2025-11", as_of=AS_OF.isoformat(), group_by="lead_leader,reason")
    lists = expected_lists(s)
    assert len(page.select("#figures tbody tr[data-metric]")) == len(EXPECTED_AS_OF) == 8
    for row in page.select("#figures tbody tr[data-metric]"):
        key = row["data-metric"]
        for link in row.select("a[data-part]"):
            part = link["data-part"]
            shown = int(text_of(link))
            m = api["metrics"][key]
            assert shown == (m[part] if api["formulas"][key]["kind"] == "rate" else m["value"]), (key, part)
            query = parse_qs(urlparse(link["href"]).query)
            assert query["as_of"] == [AS_OF.isoformat()] and query["month"] == ["2025-11"]
            listed = b.page(link["href"])
            assert _rows(listed) == lists[(key, part)], (key, part)
            assert str(shown) in text_of(listed.select_one("#count"))
    # A group's figure links to the group's list: the "no leader yet" row (C, as of then) counts its late node.
    none_row = page.select_one('table[data-dimension="lead_leader"] tr[data-key=""]')
    assert "未定包案领导" in text_of(none_row)
    late = none_row.select_one('td[data-metric="late_nodes"] a.fig')
    assert text_of(late) == "1" and _rows(b.page(late["href"])) == [f"{s.c}#1"]
    reasons = {r["data-key"]: r for r in page.select('table[data-dimension="reason"] tbody tr')}
    assert set(reasons) == {"backlog", "group_appeal", "inspection", "leader_instruction"}
    cleared = reasons["backlog"].select_one('td[data-metric="backlog_cleared"] a.fig')
    assert _rows(b.page(cleared["href"])) == [s.a]

    # The workbook of the same scope: every figure as on the page.
    download = page.select_one("#download")["href"]
    response = b.get(download)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/vnd.openxml")
    book = load_workbook(io.BytesIO(response.content))
    total = {r[0]: r[1:4] for r in book["总计"].iter_rows(min_row=2, values_only=True)}
    for key, expected in EXPECTED_AS_OF.items():
        label = api["formulas"][key]["label"]
        numerator, denominator, value = total[label]
        if isinstance(expected, tuple):
            assert (numerator, denominator) == expected and value == api["metrics"][key]["value"]
        else:
            assert value == expected
    assert {"总计", "按包案领导", "按重点件原因", "说明"} <= set(book.sheetnames)
    # The API's workbook is the same document.
    api_book = world.client.get(
        "/api/v1/reports/keycases",
        params={"month": "2025-11", "as_of": AS_OF.isoformat(), "format": "xlsx"},
        headers=world.headers("leader"),
    )
    rows = list(load_workbook(io.BytesIO(api_book.content))["总计"].iter_rows(min_row=2, values_only=True))
    assert {r[0]: r[1:4] for r in rows} == total


def test_who_opens_it_its_periods_its_english_and_bad_input(world, clock):
    build(world, clock)
    for user in ("supervisor", "leader", "dispatcher", "admin", "head"):
        assert Browser(world.app, user).get("/keycases/report").status_code == 200, user
    assert Browser(world.app, "handler").get("/keycases/report").status_code == 403
    b = Browser(world.app, "supervisor")
    # Without parameters: this month (December 2025 at the test's now), by lead leader.
    page = b.page("/keycases/report")
    assert page.select_one("#figures") and page.select_one('table[data-dimension="lead_leader"]')
    as_of = AS_OF.isoformat().replace("+", "%2B")
    quarter = b.page(f"/keycases/report?period=quarter&quarter=2025-Q4&as_of={as_of}")
    assert text_of(quarter.select_one('tr[data-metric="key_received"] a.fig')) == "4"
    year = b.page(f"/keycases/report?period=year&year=2025&as_of={as_of}")
    assert text_of(year.select_one('tr[data-metric="backlog_cleared"] a.fig')) == "1"
    ranged = b.page(f"/keycases/report?period=range&from=2025-11-01&to=2025-12-01&as_of={as_of}")
    assert text_of(ranged.select_one('tr[data-metric="nodes_missed"] a.fig')) == "2"
    # Bad input: the form again with the message next to the field, 422, never a 500.
    response = b.get("/keycases/report?period=quarter&quarter=2025-Q9")
    assert response.status_code == 422 and "2025-Q9" in response.text and 'id="e-quarter"' in response.text
    response = b.get("/keycases/report?period=month&month=2025-11&reason=whim")
    assert response.status_code == 422 and 'id="e-reason"' in response.text
    # English.
    b.client.cookies.set("lang", "en")
    english = b.page(f"/keycases/report?{PARAMS}")
    assert text_of(english.find("h1")) == "Key-case report"
    assert "Key cases received" in text_of(english.select_one('tr[data-metric="key_received"] th'))
    assert "No lead leader yet" in text_of(english.select_one('table[data-dimension="lead_leader"]'))


def test_a_node_due_at_a_months_end_is_listed_as_that_days_24_00_and_a_deactivated_leader_is_marked(world, clock):
    """Trial findings (T2 M2, M5): the drill-down writes a due time of D 24:00 as D 24:00, in D's month; the lead
    leader filter offers a deactivated leader marked 已停用, and the group row and the lists mark him."""
    from sqlmodel import select

    from grievance.db import transaction
    from grievance.users.models import User
    from grievance.users.service import deactivate_user
    from tests.api._support import sh
    from tests.reports.metrics_support import handling

    clock.set(sh(2025, 11, 24))
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "plan_nodes", "handler", nodes=[{"name": "月末核查", "due_date": "2025-11-30"}])
    clock.set(sh(2025, 12, 5))
    with transaction(world.app.state.sessions) as session:
        leader = session.exec(select(User).where(User.username == "leader")).one()
        deactivate_user(session, leader)
        leader_id, name = int(leader.id), leader.display_name  # type: ignore[arg-type]
    b = Browser(world.app, "supervisor")
    page = b.page("/keycases/report?period=month&month=2025-11&group_by=lead_leader")
    missed = page.select_one('tr[data-metric="nodes_missed"] a.fig')
    assert text_of(missed) == "1"
    listed = b.page(missed["href"])
    row = listed.select_one(f'#items tr[data-case="{no}"]')
    assert "2025年11月30日 24:00" in text_of(row) and "12月1日" not in text_of(row)
    assert f"{name}（已停用）" in text_of(row)
    options = {o["value"]: text_of(o) for o in page.select('select[name="leader"] option')}
    assert options[str(leader_id)] == f"{name}（已停用）"
    group = page.select_one(f'table[data-dimension="lead_leader"] tr[data-key="{leader_id}"]')
    assert f"{name}（已停用）" in text_of(group)
    filtered = b.page(f"/keycases/report?period=month&month=2025-11&leader={leader_id}")
    assert filtered.select_one(f'select[name="leader"] option[value="{leader_id}"][selected]') is not None
    assert f"{name}（已停用）" in text_of(filtered.select_one("#report .meta"))
    # December holds no node of it.
    december = b.page("/keycases/report?period=month&month=2025-12")
    assert text_of(december.select_one('tr[data-metric="nodes_missed"] a.fig')) == "0"


def test_without_parameters_the_report_opens_on_the_month_the_dashboard_opens_on(world, clock):
    """Trial finding (T2 minor 9): on the first working days of a month the last complete month, as the dashboard;
    afterwards the current month."""
    from tests.api._support import sh

    b = Browser(world.app, "supervisor")
    clock.set(sh(2025, 12, 2))  # Tuesday, the 2nd working day of December
    assert b.page("/keycases/report").select_one('input[name="month"]')["value"] == "2025-11"
    clock.set(sh(2025, 12, 5))  # Friday, the 5th working day
    assert b.page("/keycases/report").select_one('input[name="month"]')["value"] == "2025-12"
