"""The node-plan findings of the newcomer trial (issue 12) on the case page, parsed as HTML: the pending change says row
by row what it does, a withdrawn node reads as such, a change form that clears every open row drops them all, and the
stylesheet keeps the plan form's buttons and boxes visible and in line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.keycases.test_pages import _post
from tests.reports.metrics_support import handling
from tests.web.support import text_of

CSS = (Path(__file__).parents[2] / "web" / "static" / "app.css").read_text(encoding="utf-8")


def _key(world: Any) -> str:
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    return no


def test_the_pending_change_lists_what_each_row_does_and_what_it_removes(world, browser, clock):
    no = _key(world)
    world.act(
        no,
        "plan_nodes",
        "handler",
        nodes=[
            {"name": "约谈企业", "working_days": 2},
            {"name": "现场核查", "working_days": 3},
            {"name": "报告", "working_days": 5},
        ],
    )
    world.act(
        no,
        "propose_node_change",
        "handler",
        nodes=[
            {"seq": 1, "name": "约谈企业", "working_days": 2},
            {"seq": 2, "name": "现场核查", "working_days": 6},
            {"name": "回访", "working_days": 3},
        ],
        reason="范围扩大",
    )
    world.act(no, "complete_node", "handler", node=1, note="已约谈")
    items = [text_of(li) for li in browser("supervisor").page(f"/cases/{no}").select("ol.proposed-nodes li")]
    assert "申请后已完成：保持已完成，本行不予采用" in items[0]
    assert "时限由「" in items[1] and "」改为「批准之日起 6 个工作日」" in items[1], items[1]
    assert "新增节点" in items[2]
    assert items[3].startswith("节点 3") and items[3].endswith("取消")


def test_a_returned_case_shows_its_withdrawn_nodes_and_the_timeline_names_them(world, browser, clock):
    no = world.intake()["case_no"]
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "plan_nodes", "handler", nodes=[{"name": "约谈企业", "working_days": 2}])
    world.act(no, "return", "handler", reason="不属于本单位")
    page = browser("supervisor").page(f"/cases/{no}")
    row = page.select_one("table.nodes tr[data-node='1']")
    assert "node-withdrawn" in row["class"] and "已撤回" in text_of(row.select_one(".node-light"))


def test_a_change_form_whose_open_rows_are_cleared_drops_every_open_node(world, browser, clock):
    no = _key(world)
    world.act(
        no,
        "plan_nodes",
        "handler",
        nodes=[{"name": "约谈企业", "working_days": 2}, {"name": "报告", "working_days": 5}],
    )
    world.act(no, "complete_node", "handler", node=1, note="已约谈")
    b = browser("handler")
    form = b.page(f"/cases/{no}").select_one('form[data-action="propose_node_change"]')
    hidden = {i["name"]: i["value"] for i in form.select("input[type=hidden]") if i["name"].startswith("nodes-5")}
    assert hidden == {"nodes-500-seq": "1", "nodes-500-name": "约谈企业"}
    assert "已完成的节点保持不变" in text_of(form)
    # The open row (node 2) cleared: only the completed node's hidden row is sent.
    response = _post(b, no, "propose_node_change", {**hidden, "reason": "报告不再需要"})
    assert response.status_code == 303, response.text
    world.act(no, "approve_node_change", "supervisor")
    assert [n["status"] for n in world.get(no, "handler")["nodes"]] == ["done", "removed"]


def test_the_remove_button_and_the_evidence_box_are_styled_to_be_seen():
    # button.link is the page's link colour; white only inside the dark top bar (M8).
    assert re.search(r"^button\.link \{[^}]*color: var\(--accent\)", CSS, re.M)
    assert re.search(r"^\.top button\.link \{ color: #fff; \}", CSS, re.M)
    assert not re.search(r"^button\.link \{[^}]*color: #fff", CSS, re.M)
    # The evidence checkbox sits inline with its words, at its own size (minor 11).
    assert re.search(r"\.field \.node-row input\[type=checkbox\] \{ width: auto;", CSS)
    assert re.search(r"\.field \.node-row label\.check \{ display: inline-flex;", CSS)


def test_the_plan_rows_render_the_remove_button_with_the_link_class(world, browser, clock):
    no = _key(world)
    form = browser("handler").page(f"/cases/{no}").select_one('form[data-action="plan_nodes"]')
    assert form.select("fieldset.node-row button.link[data-remove-node]")
    assert form.select("fieldset.node-row label.check input[type=checkbox]")
