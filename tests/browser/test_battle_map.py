"""The battle map (挂图作战, issue 12) in a real Chromium: the chart renders inline with today's line and a node of
each kind, the case rows are links reached with the keyboard, and a screenshot (/tmp/battlemap.png and
screenshots/battle-map.png) shows the Chinese text and the colours to a person."""

from __future__ import annotations

import shutil

from tests.api._support import sh
from tests.browser.conftest import SCREENSHOTS


def test_the_battle_map_renders_with_today_and_its_nodes(live, person) -> None:  # type: ignore[no-untyped-def]
    world = live.world
    live.now = sh(2025, 9, 29, 10)
    cases = []
    for title in ("青桐路积水严重需改造排水管网", "老旧小区加装电梯协调（多部门）"):
        no = world.intake(title=title)["case_no"]
        # 青桐街道 assists (协办), so the plan may give it a node.
        world.act(no, "dispatch", "dispatcher", department_id="CGJ", assisting_department_ids=["JD1"])
        world.act(no, "accept", "handler")
        world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
        cases.append(no)
    world.act(
        cases[0],
        "plan_nodes",
        "handler",
        nodes=[
            {"name": "现场勘查", "due_date": "2025-09-30"},
            {"name": "制定改造方案", "due_date": "2025-10-10"},
            {"name": "施工完成", "department_id": "JD1", "due_date": "2025-10-20"},
        ],
    )
    world.act(
        cases[1],
        "plan_nodes",
        "handler",
        nodes=[{"name": "召开协调会", "due_date": "2025-10-24"}, {"name": "签订协议", "due_date": "2025-11-10"}],
    )
    live.now = sh(2025, 9, 30, 15)
    world.act(cases[0], "complete_node", "handler", node=1, note="已勘查")
    live.now = sh(2025, 10, 13, 9)
    world.act(cases[0], "complete_node", "handler", node=2, note="方案已定")
    live.now = sh(2025, 10, 22, 12)

    supervisor = person("supervisor", width=1600, height=900)
    page = supervisor.go("/keycases/map")
    chart = page.locator("svg.battle-map")
    assert chart.count() == 1
    assert page.locator("svg.battle-map .today-line").get_attribute("data-date") == "2025-10-22"
    for cls, n in (("node-met", 1), ("node-late-done", 1), ("node-late-open", 1), ("node-soon", 1), ("node-due", 2)):
        assert page.locator(f"svg.battle-map .{cls}").count() == n, cls
    # The chart is drawn at its size (fonts and layout), not collapsed.
    box = chart.bounding_box()
    assert box is not None and box["width"] > 800 and box["height"] > 150
    # Keyboard: the chart's frame, then each case row's link, the one whose next node is due first (a late one)
    # on top.
    page.locator(".battle-map-frame").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == f"/cases/{cases[0]}"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == f"/cases/{cases[1]}"
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{cases[1]}")
    supervisor.go("/keycases/map")
    supervisor.screenshot("battle-map")
    shutil.copyfile(SCREENSHOTS / "battle-map.png", "/tmp/battlemap.png")
    # The standalone chart opens as an image document in the browser too.
    standalone = supervisor.go("/keycases/map.svg")
    assert standalone.locator("svg .today-line").count() == 1
