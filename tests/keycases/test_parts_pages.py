"""Lead and assisting departments (协办, issue 12) on the pages, read as a person would (parsed HTML): the dispatch
form offers assisting departments as checkboxes, the case page's panel shows each part, an assisting department finds
the case in its queue and works its part by the forms, and the dashboard's assisted-parts figures link to exactly
their cases."""

from __future__ import annotations

from typing import Any

from bs4 import BeautifulSoup

from tests.keycases.test_parts_api import sent
from tests.reports.metrics_support import MON


def soup(response: Any) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:500]
    return BeautifulSoup(response.text, "html.parser")


def test_the_dispatch_form_sends_a_lead_and_two_assisting_departments_and_the_panel_shows_them(world, browser, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    dispatcher = browser("dispatcher")
    page = soup(dispatcher.get(f"/cases/{no}"))
    form = page.select_one('form[data-action="dispatch"]')
    boxes = form.select('input[type="checkbox"][name="assisting_department_ids"]')
    names = {b.parent.get_text(strip=True) for b in boxes}
    assert {"青桐街道", "企业服务局", "城市管理局"} <= names
    ids = {b.parent.get_text(strip=True): b["value"] for b in boxes}
    lead = form.select_one('select[name="department_id"] option:-soup-contains("城市管理局")')["value"]
    response = dispatcher.post(
        f"/cases/{no}/actions/dispatch",
        {"department_id": lead, "assisting_department_ids": [ids["青桐街道"], ids["企业服务局"]]},
    )
    assert response.status_code in (200, 303), response.text[:500]
    detail = world.get(no, "supervisor")
    assert [p["department"] for p in detail["parts"]] == ["青桐街道", "企业服务局"]
    panel = soup(dispatcher.get(f"/cases/{no}")).select_one("section.card-parts")
    rows = panel.select("tr[data-part]")
    assert [r.select_one("td").get_text(strip=True) for r in rows] == ["1. 青桐街道", "2. 企业服务局"]
    assert panel.select_one(".lead-department").get_text(strip=True) == "城市管理局"


def test_an_assisting_department_finds_the_case_in_its_queue_and_works_its_part_by_the_forms(world, browser, clock):
    clock.set(MON)
    no = sent(world)
    helper = browser("other_handler")
    queue = soup(helper.get("/queue"))
    assert no in queue.get_text()
    page = soup(helper.get(f"/cases/{no}"))
    assert [f["data-action"] for f in page.select("form[data-action]")] == ["accept_part"]
    assert helper.post(f"/cases/{no}/actions/accept_part", {}).status_code == 303
    page = soup(helper.get(f"/cases/{no}"))
    assert {"part_note", "report_part"} <= {f["data-action"] for f in page.select("form[data-action]")}
    assert helper.post(f"/cases/{no}/actions/report_part", {"note": "已完成现场核实"}).status_code == 303
    page = soup(helper.get(f"/cases/{no}"))
    row = page.select_one('section.card-parts tr[data-part="1"]')
    assert "已完成现场核实" in row.get_text() and "按时反馈" in row.get_text()
    timeline = page.select_one(".timeline").get_text()
    assert "反馈协办结果" in timeline and "1. 青桐街道" in timeline
    # Another department without a part sees nothing of it.
    assert browser("head").get(f"/cases/{no}").status_code == 200  # the lead
    world.get(no, "other_handler")


def test_the_dashboard_shows_assisted_parts_linking_to_exactly_their_cases(world, browser, clock):
    clock.set(MON)
    no = sent(world)
    world.act(no, "accept_part", "other_handler")
    world.act(no, "report_part", "other_handler", note="已核实")
    leader = browser("leader")
    page = soup(leader.get("/dashboard?month=2025-11"))
    table = page.select_one("#assisted-parts")
    cells = {
        (tr.select_one("td").get_text(strip=True), td["data-fact"]): td
        for tr in table.select("tbody tr")
        for td in tr.select("td[data-fact]")
    }
    assert cells[("青桐街道", "on_time")].get_text(strip=True) == "1"
    assert cells[("企业服务局", "reported")].get_text(strip=True) == "0"
    listed = soup(leader.get(cells[("青桐街道", "on_time")].select_one("a")["href"]))
    assert [a.get_text(strip=True) for a in listed.select("#items a")] == [no]
    assert listed.select("#items a") and "1" in listed.select_one("#count").get_text()
