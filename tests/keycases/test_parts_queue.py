"""The queue of an assisting department (协办, issue 12): the cases it leads stay under 我的 / 本单位 / 未分配 with
counts that equal their lists; the cases where its part is still open are under 协办, each due by the part's own
clock; a reported part leaves that view. The API lists the same cases with `assisting_department_id`."""

from __future__ import annotations

from bs4 import BeautifulSoup

from tests.keycases.test_parts_api import listed, sent
from tests.reports.metrics_support import MON


def _page(browser, path: str) -> BeautifulSoup:  # type: ignore[no-untyped-def]
    response = browser.get(path)
    assert response.status_code == 200, response.text[:500]
    return BeautifulSoup(response.text, "html.parser")


def _tabs(page: BeautifulSoup) -> dict[str, int]:
    return {a["data-view"]: int(a.select_one(".count").get_text()) for a in page.select("nav.queue-views a")}


def test_the_assisting_view_lists_open_parts_by_their_own_due_and_every_tab_counts_its_list(world, browser, clock):
    clock.set(MON)
    assisted = sent(world)  # led by CGJ, JD1 and QFJ assisting
    led = world.intake(title="青桐街道自己的件")["case_no"]
    world.act(led, "dispatch", "dispatcher", department_id="JD1")
    jd1 = browser("other_handler")
    tabs = _tabs(_page(jd1, "/queue?view=all"))
    for view, count in tabs.items():
        page = _page(jd1, f"/queue?view={view}")
        numbers = [tr["data-case"] for tr in page.select("table.queue tbody tr")]
        assert len(numbers) == count, (view, numbers, tabs)
    assert tabs["assisting"] == 1 and tabs["all"] == 1
    whole = _page(jd1, "/queue?view=all")
    assert [tr["data-case"] for tr in whole.select("table.queue tbody tr")] == [led]
    view = _page(jd1, "/queue?view=assisting")
    row = view.select_one(f'table.queue tr[data-case="{assisted}"]')
    assert row is not None and row["data-part"] == "1"
    part = world.get(assisted, "supervisor")["parts"][0]
    assert "协办任务" in row.get_text() and "协办 · 待签收" in row.get_text()
    assert part["department"] == "青桐街道" and part["due_at"] is not None
    assert listed(world, "supervisor", assisting_department_id=part["department_id"]) == [assisted]

    world.act(assisted, "accept_part", "other_handler")
    world.act(assisted, "report_part", "other_handler", note="已完成现场核实")
    assert "assisting" not in _tabs(_page(jd1, "/queue"))  # no tab where nothing is to be done
    empty = _page(jd1, "/queue?view=assisting")
    assert _tabs(empty)["assisting"] == 0 and "暂无需本单位协办的诉求" in empty.get_text()
    assert listed(world, "supervisor", assisting_department_id=part["department_id"]) == []
    assert assisted in listed(world, "other_handler")  # still visible to JD1 in the case list
