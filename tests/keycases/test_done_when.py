"""Issue 12's "done when", end to end through the JSON API and the pages, on SQLite and PostgreSQL: a supervisor
marks a backlog case key and gives it a leader, the dispatcher sends it to a lead and two assisting departments,
the lead sets three nodes, the parts and nodes are worked (one node and one part late), the weekly sheets of that
week and the next show exactly that (with the meeting's decision carried over), the battle map draws it, the case
resolves, and the key-case report and the assisted-parts figures count it.

Calendar: November 2025 has no holiday; W45 = Nov 3-9, W46 = Nov 10-16, W47 = Nov 17-23."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from openpyxl import load_workbook

from tests.api._support import API, sh
from tests.keycases.test_parts_api import ASSIST
from tests.web.support import soup, text_of

DECISION = "企业服务局协办逾期，请于11月12日前反馈"


def received(world: Any, clock: Any) -> str:
    """The backlog case, received on Monday 2025-11-03 09:00."""
    clock.set(sh(2025, 11, 3, 9))
    return str(
        world.intake(title="小区噪音多年未解决", description="反映多年的夜间施工噪音，多次投诉未解决")["case_no"]
    )


def work(world: Any, clock: Any, no: str) -> None:
    """Everything after the marking, each step at its moment; the clock ends on Friday 2025-11-28."""
    world.act(no, "dispatch", "dispatcher", department_id="CGJ", assisting_department_ids=ASSIST)  # JD1, QFJ
    clock.set(sh(2025, 11, 3, 10))
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系诉求人，约定现场查看")
    nodes = [
        {"name": "约谈施工单位", "working_days": 2},
        {"name": "现场核查", "department_id": "JD1", "working_days": 3},
        {"name": "出具整改报告", "due_date": "2025-11-14"},
    ]
    world.act(no, "plan_nodes", "handler", nodes=nodes)
    clock.set(sh(2025, 11, 3, 11))
    world.act(no, "accept_part", "other_handler")
    clock.set(sh(2025, 11, 4, 10))
    world.act(no, "accept_part", "liaison")
    world.act(no, "complete_node", "handler", node=1, note="已约谈施工单位负责人")  # due 11-05: met
    clock.set(sh(2025, 11, 5, 15))
    world.act(no, "report_part", "other_handler", note="已会同社区现场核查，情况属实")  # on time
    clock.set(sh(2025, 11, 7, 16))
    world.act(no, "complete_node", "handler", node=2, note="现场核查完成")  # due 11-06: late
    clock.set(sh(2025, 11, 10, 15))
    world.act(no, "record_dispatch_decision", "supervisor", decision=DECISION, week="2025-W46")
    clock.set(sh(2025, 11, 12, 10))
    world.act(no, "report_part", "liaison", note="已协调企业调整施工时间")  # due 11-10: late
    world.act(no, "complete_node", "handler", node=3, note="整改报告已出具")  # due 11-14: met
    clock.set(sh(2025, 11, 12, 15))
    world.act(no, "resolve", "handler", outcome="solved", reply="施工单位已停止夜间施工，噪音问题已解决")
    clock.set(sh(2025, 11, 28, 10))


def test_a_backlog_case_under_a_leader_with_three_departments_and_three_nodes_from_marking_to_the_reports(
    world, browser, clock
):
    no = received(world, clock)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader", note="三年来反复投诉")
    work(world, clock, no)

    detail = world.get(no, "leader")
    assert (detail["key_reason"], detail["lead_leader"]["name"], detail["state"]) == ("backlog", "leader", "resolved")
    assert [(n["seq"], n["status"], n["light"]) for n in detail["nodes"]] == [
        (1, "done", "met"),
        (2, "done", "met_late"),
        (3, "done", "met"),
    ]
    assert [(p["department"], p["status"], p["on_time"]) for p in detail["parts"]] == [
        ("青桐街道", "reported", True),
        ("企业服务局", "reported", False),
    ]

    supervisor = browser("supervisor")
    # The sheet of W46 (the meeting of Nov 10): last week's nodes (one met, one late), this week's, what changed
    # in W45, and this meeting's decision.
    w46 = soup(supervisor.get("/keycases/dispatch?week=2025-W46").text)
    item = w46.select_one(f'article.dispatch-item[data-case="{no}"]')
    assert text_of(item.select_one(".lead-leader")) == "leader"
    assert text_of(item.select_one(".lead-department")) == "城市管理局"
    assert text_of(item.select_one(".assisting")) == "青桐街道、企业服务局"
    last = {tr["data-node"]: tr["data-status"] for tr in item.select('table[data-kind="last-week"] tr[data-node]')}
    this = {tr["data-node"]: tr["data-status"] for tr in item.select('table[data-kind="this-week"] tr[data-node]')}
    assert last == {"1": "met", "2": "met_late"} and set(this) == {"3"}
    kinds = Counter(li["data-kind"] for li in item.select("ul.changes li"))
    # From the last meeting (none before: the week before's Monday) to the end of W46, read after the week.
    assert kinds["node_completed"] == 3 and kinds["plan_set"] == 1 and kinds["part_reported"] == 2
    assert DECISION in text_of(item.select_one("ul.decisions-this"))
    # The sheet of W47: the decision of the last meeting, node 3 met, the late part reported and the resolution.
    w47 = soup(supervisor.get("/keycases/dispatch?week=2025-W47").text)
    item = w47.select_one(f'article.dispatch-item[data-case="{no}"]')
    assert DECISION in text_of(item.select_one("ul.decisions-previous"))
    assert {tr["data-node"]: tr["data-status"] for tr in item.select('table[data-kind="last-week"] tr[data-node]')} == {
        "3": "met"
    }
    kinds = Counter(li["data-kind"] for li in item.select("ul.changes li"))
    assert kinds["node_completed"] == 1 and kinds["part_reported"] == 1
    # The workbook says the same.
    book = load_workbook(io.BytesIO(supervisor.get("/keycases/dispatch.xlsx?week=2025-W46").content))
    cells = [str(c.value) for row in book.worksheets[0].iter_rows() for c in row if c.value is not None]
    assert no in cells and any(DECISION in c for c in cells)

    # The battle map draws its three nodes: two met, one completed late.
    svg = supervisor.get("/keycases/map.svg?state=all&from=2025-11-01&to=2025-11-30")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    row = soup(svg.text).select_one(f'g.case-row[data-case="{no}"]')
    marks = Counter(" ".join(g["class"]) for g in row.select("g[data-seq]"))
    assert marks == Counter({"node-mark node-met": 2, "node-mark node-late node-late-done": 1}), marks

    # The reports count it: November's key-case figures and the assisting departments' parts.
    params = {"month": "2025-11", "as_of": sh(2025, 11, 28).isoformat()}
    figures = world.client.get(f"{API}/reports/keycases", params=params, headers=world.headers("leader")).json()
    metrics = figures["metrics"]
    assert metrics["key_received"]["value"] == 1 and metrics["key_resolved"]["value"] == 1
    assert metrics["backlog_cleared"]["value"] == 1 and metrics["key_open"]["value"] == 0
    rate = metrics["key_on_time_resolution_rate"]
    assert (rate["numerator"], rate["denominator"]) == (1, 1)
    nodes = metrics["node_on_time_rate"]
    assert (nodes["numerator"], nodes["denominator"]) == (2, 3) and metrics["nodes_missed"]["value"] == 1
    parts = world.client.get(f"{API}/reports/assisted-parts", params=params, headers=world.headers("leader")).json()
    by_department = {row["label"]: row for row in parts["departments"]}
    assert (by_department["青桐街道"]["assisted"], by_department["青桐街道"]["on_time"]) == (1, 1)
    assert (by_department["企业服务局"]["assisted"], by_department["企业服务局"]["on_time"]) == (1, 0)
    # Each figure's list holds this case.
    listed = world.client.get(
        f"{API}/reports/keycases/backlog_cleared/items", params=params, headers=world.headers("leader")
    ).json()
    assert [i["case_no"] for i in listed["items"]] == [no]
