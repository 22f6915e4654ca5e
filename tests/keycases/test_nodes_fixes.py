"""The node-plan findings of the newcomer trial (issue 12), through the API on both databases: a node's shown due time
is its clock's after calendar changes and suspensions (dates do not move), nodes completed while a change waits stay
completed, a report's node never goes to the accused department, a case that leaves its department withdraws its open
nodes, and the plan's input rules (warnings, duplicate names, date notations, completing twice, dropping every open
node)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import select

from grievance.db import transaction
from grievance.keycases.models import CaseNode
from tests.api._support import API, end_of_working_days, midnight, sh
from tests.keycases.test_api import key_case, upload
from tests.reports.metrics_support import MON, handling
from tests.supervision.helpers import clock_of

PLAN = [
    {"name": "约谈企业", "working_days": 2},
    {"name": "现场核查", "due_date": "2025-11-20"},
]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _node_row(app: Any, no: str, seq: int) -> CaseNode:
    from grievance.cases.models import Case

    with transaction(app.state.sessions) as session:
        case_id = session.exec(select(Case.id).where(Case.case_no == no)).one()
        return session.exec(select(CaseNode).where(CaseNode.case_id == case_id, CaseNode.seq == seq)).one()


def _shown(world: Any, no: str) -> dict[int, datetime]:
    return {n["seq"]: _utc(n["due_at"]) for n in world.get(no, "supervisor")["nodes"]}


def _post(world: Any, no: str, action: str, user: str, **fields: Any) -> Any:
    return world.client.post(f"{API}/cases/{no}/actions/{action}", json=fields, headers=world.headers(user))


# ------------------------------------------------------------------------------------------------------------- M1
def test_a_calendar_change_moves_a_working_day_node_and_its_shown_due_alike_but_not_a_dated_node(world, clock):
    clock.set(MON)
    no = key_case(world)
    world.act(no, "plan_nodes", "handler", nodes=PLAN)
    assert _shown(world, no)[1] == end_of_working_days(MON.date(), 2)  # Wednesday 11-05 24:00
    response = world.client.put(
        f"{API}/calendar/overrides", json={"day": "2025-11-04", "kind": "holiday"}, headers=world.headers("admin")
    )
    assert response.status_code == 200, response.text
    moved = clock_of(world.app, no, "node:1").due_at
    assert moved == midnight(sh(2025, 11, 7).date())  # one working day later: Thursday 24:00
    shown = _shown(world, no)
    assert shown[1] == moved == _node_row(world.app, no, 1).due_at  # page/API, table and sweeper agree
    assert shown[2] == midnight(sh(2025, 11, 21).date()) == clock_of(world.app, no, "node:2").due_at
    late = world.client.get(f"{API}/cases/{no}", headers=world.headers("supervisor")).json()["nodes"][1]
    assert late["due_text"] == "2025-11-20"


def test_suspension_moves_working_day_nodes_with_their_clocks_and_leaves_dated_nodes_on_their_date(world, clock):
    clock.set(MON)
    no = key_case(world)
    world.act(no, "plan_nodes", "handler", nodes=PLAN)
    world.act(no, "suspend", "handler", reason="等待诉求人补充材料")
    assert clock_of(world.app, no, "node:1").paused_at is not None
    assert clock_of(world.app, no, "node:2").paused_at is None  # a date does not pause
    clock.set(sh(2025, 11, 10))  # a week later
    world.act(no, "resume", "handler")
    node1, node2 = clock_of(world.app, no, "node:1"), clock_of(world.app, no, "node:2")
    assert node1.due_at > end_of_working_days(MON.date(), 2)  # moved by the paused week
    assert node2.due_at == midnight(sh(2025, 11, 21).date())  # still the end of 2025-11-20
    shown = _shown(world, no)
    assert shown == {1: node1.due_at, 2: node2.due_at}
    assert _node_row(world.app, no, 1).due_at == node1.due_at


def test_a_node_completed_while_suspended_keeps_the_due_its_clock_stopped_with(world, clock):
    clock.set(MON)
    no = key_case(world)
    world.act(no, "plan_nodes", "handler", nodes=PLAN)
    world.act(no, "suspend", "handler", reason="等待材料")
    clock.set(sh(2025, 11, 12))  # past the node's original due time, while paused
    done = world.act(no, "complete_node", "handler", node=1, note="已约谈")
    node = done["nodes"][0]
    assert node["light"] == "met" and _utc(node["due_at"]) == clock_of(world.app, no, "node:1").due_at


def test_a_part_shows_its_clocks_due_after_a_calendar_change_and_a_suspension(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ", assisting_department_ids=["JD1"])
    world.client.put(
        f"{API}/calendar/overrides", json={"day": "2025-11-05", "kind": "holiday"}, headers=world.headers("admin")
    )
    part = world.get(no, "supervisor")["parts"][0]
    assert _utc(part["due_at"]) == clock_of(world.app, no, "part:1").due_at == end_of_working_days(MON.date(), 6)
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系")
    world.act(no, "suspend", "handler", reason="等待材料")
    clock.set(sh(2025, 11, 10))
    world.act(no, "resume", "handler")
    part = world.get(no, "supervisor")["parts"][0]
    assert _utc(part["due_at"]) == clock_of(world.app, no, "part:1").due_at > end_of_working_days(MON.date(), 6)


# ------------------------------------------------------------------------------------------------------------- M2
def test_a_node_completed_while_a_change_waits_stays_completed_and_the_supervisor_sees_it(world, clock):
    no = key_case(world)
    world.act(no, "plan_nodes", "handler", nodes=[*PLAN, {"name": "出具报告", "working_days": 5}])
    change = [
        {"seq": 1, "name": "约谈企业", "working_days": 2},
        {"seq": 3, "name": "出具报告", "working_days": 8, "evidence_required": True},
    ]
    world.act(no, "propose_node_change", "handler", nodes=change, reason="延长报告时限")
    file_id = upload(world, no)
    world.act(no, "complete_node", "handler", node=3, note="报告已出具", attachment_ids=[file_id])
    pending = world.get(no, "supervisor")["pending_node_change"]
    assert pending["completed_since"] == [3]
    assert [r["change"] for r in pending["nodes"]] == ["unchanged", "completed_since"]
    assert [r["seq"] for r in pending["removes"]] == [2]

    approved = world.act(no, "approve_node_change", "supervisor", note="同意")
    nodes = {n["seq"]: n for n in approved["nodes"]}
    assert set(nodes) == {1, 2, 3}  # no node 4: nothing duplicated
    assert nodes[3]["status"] == "done" and nodes[3]["attachment_ids"] == [file_id]
    assert nodes[2]["status"] == "removed"
    event = approved["timeline"][-1]["payload"]
    assert [n["seq"] for n in event["kept_completed"]] == [3]
    assert any("节点 3. 出具报告 在申请后已完成" in w["message"] for w in approved["warnings"])


# ------------------------------------------------------------------------------------------------------------- M6
def test_a_reports_node_cannot_go_to_the_accused_department(world, clock):
    from tests.api.test_access import report

    no = report(world)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    refused = _post(
        world, no, "plan_nodes", "handler", nodes=[{"name": "核查", "department_id": "JD1", "working_days": 2}]
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert error["message"] == "第1个节点：举报件的节点不能交给被举报单位，请另选责任单位"
    assert "department it accuses" in error["message_en"]
    assert world.get(no, "supervisor")["nodes"] == []


# ------------------------------------------------------------------------------------------------------------- M9
def test_a_return_withdraws_the_open_nodes_and_the_next_department_sets_its_own_plan(world, clock):
    no = world.intake()["case_no"]
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "plan_nodes", "handler", nodes=PLAN)
    world.act(no, "complete_node", "handler", node=2, note="已核查")
    world.act(no, "propose_node_change", "handler", nodes=[{"seq": 1, "name": "约谈", "working_days": 3}], reason="x")
    returned = world.act(no, "return", "handler", reason="不属于本单位职责")
    statuses = {n["seq"]: (n["status"], n["light"]) for n in world.get(no, "supervisor")["nodes"]}
    assert statuses == {1: ("withdrawn", "withdrawn"), 2: ("done", "met")}
    assert returned["timeline"][-1]["payload"]["withdrawn_nodes"] == [{"seq": 1, "name": "约谈企业"}]
    assert clock_of(world.app, no, "node:1").stopped_at is not None
    assert world.get(no, "supervisor")["pending_node_change"] is None

    clock.set(clock.at + timedelta(hours=2))
    world.act(no, "dispatch", "dispatcher", department_id="JD1")
    world.act(no, "accept", "other_handler")
    # The old department's node is no open node of the case: JD1 cannot complete it.
    refused = _post(world, no, "complete_node", "other_handler", node=1, note="x")
    assert refused.status_code == 409 and "已撤回" in refused.json()["message"]
    planned = world.act(no, "plan_nodes", "other_handler", nodes=[{"name": "入户走访", "working_days": 3}])
    assert [(n["seq"], n["status"]) for n in planned["nodes"]] == [(1, "withdrawn"), (2, "done"), (3, "open")]
    # The plan in force is JD1's: a change works on it; the resolve guard waits for node 3 only.
    world.act(
        no,
        "propose_node_change",
        "other_handler",
        expect=422,
        nodes=[{"seq": 2, "name": "x", "working_days": 1}],
        reason="x",
    )
    world.act(no, "respond", "other_handler", note="已联系")
    resolve = _post(world, no, "resolve", "other_handler", outcome="solved", reply="已办")
    assert resolve.status_code == 409 and "3. 入户走访" in resolve.json()["message"]
    assert "约谈企业" not in resolve.json()["message"]


def test_claiming_from_the_pool_starts_without_the_old_plan(world, clock):
    no = world.intake()["case_no"]
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "plan_nodes", "handler", nodes=PLAN)
    world.act(no, "return", "handler", reason="不属于本单位")
    world.act(no, "publish", "dispatcher")
    clock.set(clock.at + timedelta(hours=1))
    world.act(no, "claim", "other_handler")
    planned = world.act(no, "plan_nodes", "other_handler", nodes=[{"name": "走访", "working_days": 2}])
    assert [n["status"] for n in planned["nodes"]] == ["withdrawn", "withdrawn", "open"]


# ------------------------------------------------------------------------------------------------------ minor 2, 3, 12
def test_a_plan_beyond_the_known_calendar_or_the_resolve_due_is_accepted_with_warnings(world, clock):
    no = key_case(world)
    detail = world.act(
        no,
        "plan_nodes",
        "handler",
        nodes=[{"name": "约谈", "working_days": 2}, {"name": "整改验收", "due_date": "2028/3/1"}],
    )
    messages = [w["message_en"] for w in detail["warnings"]]
    # A node due by a date stays on that date: no warning about 2028's holidays (test_nodes_scope.py has one in
    # working days that does get it).
    assert not any("does not know" in m for m in messages), messages
    assert any("after the case's own resolve due time" in m and "2. 整改验收" in m for m in messages), messages
    assert detail["timeline"][-1]["payload"]["warnings"] == detail["warnings"]
    assert detail["nodes"][1]["due_text"] == "2028-03-01"  # a date written as the list filters take it
    plain = world.act(key_case(world), "plan_nodes", "handler", nodes=[{"name": "约谈", "working_days": 2}])
    assert plain["warnings"] == []


def test_duplicate_node_names_are_refused_naming_the_rows(world, clock):
    no = key_case(world)
    refused = _post(
        world,
        no,
        "plan_nodes",
        "handler",
        nodes=[
            {"name": "现场核查", "working_days": 2},
            {"name": " 现场核查 ", "working_days": 3},
            {"name": "Visit", "working_days": 1},
            {"name": "visit", "working_days": 1},
        ],
    )
    assert refused.status_code == 422
    messages = [e["message"] for e in refused.json()["errors"]]
    assert messages == [
        "第2个节点：名称「现场核查」与第1个节点重复，请区分节点名称",
        "第4个节点：名称「visit」与第3个节点重复，请区分节点名称",
    ]


def test_due_dates_take_the_notations_of_the_list_filters(world, clock):
    no = key_case(world)
    planned = world.act(
        no,
        "plan_nodes",
        "handler",
        nodes=[
            {"name": "一", "due_date": "2025/10/20"},
            {"name": "二", "due_date": "2025年10月21日"},
            {"name": "三", "due_date": "２０２５-10-22"},
        ],
    )
    assert [n["due_text"] for n in planned["nodes"]] == ["2025-10-20", "2025-10-21", "2025-10-22"]
    bad = _post(world, key_case(world), "plan_nodes", "handler", nodes=[{"name": "x", "due_date": "2025/2/30"}])
    assert bad.status_code == 422 and "2025/10/31" in bad.json()["errors"][0]["message"]


# ---------------------------------------------------------------------------------------------------------- minor 6, 9
def test_completing_with_no_open_node_left_is_a_409(world, clock):
    no = key_case(world)
    world.act(no, "plan_nodes", "handler", nodes=[{"name": "约谈", "working_days": 2}])
    world.act(no, "complete_node", "handler", node=1, note="已约谈")
    again = _post(world, no, "complete_node", "handler", node=1, note="再次")
    assert again.status_code == 409 and again.json()["message"].startswith("节点 1 已完成（于 2025-09-29 10:00）")
    nothing = _post(world, no, "complete_node", "handler", node=5, note="x")
    assert nothing.status_code == 409 and nothing.json()["error"] == "refused_by_rule"


def test_a_change_listing_only_completed_nodes_drops_every_open_node(world, clock):
    no = key_case(world)
    world.act(no, "plan_nodes", "handler", nodes=[*PLAN, {"name": "出具报告", "working_days": 5}])
    world.act(no, "complete_node", "handler", node=1, note="已约谈")
    world.act(no, "propose_node_change", "handler", nodes=[{"seq": 1}], reason="企业已关停，其余节点不再需要")
    pending = world.get(no, "supervisor")["pending_node_change"]
    assert [r["change"] for r in pending["nodes"]] == ["completed"]
    assert [r["seq"] for r in pending["removes"]] == [2, 3]
    approved = world.act(no, "approve_node_change", "supervisor")
    assert [n["status"] for n in approved["nodes"]] == ["done", "removed", "removed"]
    assert "kept_completed" not in approved["timeline"][-1]["payload"]
    world.act(no, "resolve", "handler", outcome="solved", reply="已处理")
    # A change may not bring a completed node back nor name a node of no plan.
    other = key_case(world)
    world.act(other, "plan_nodes", "handler", nodes=PLAN)
    refused = _post(
        world, other, "propose_node_change", "handler", nodes=[{"seq": 7, "name": "x", "working_days": 1}], reason="x"
    )
    assert refused.status_code == 422 and "现行计划" in refused.json()["errors"][0]["message"]


def test_the_pending_change_says_row_by_row_what_changes(world, clock):
    no = key_case(world)
    world.act(no, "plan_nodes", "handler", nodes=[*PLAN, {"name": "出具报告", "working_days": 5}])
    change = [
        {"seq": 1, "name": "约谈企业", "working_days": 2},
        {"seq": 2, "name": "现场核查（扩大）", "due_date": "2025-11-25"},
        {"name": "回访", "working_days": 3},
    ]
    world.act(no, "propose_node_change", "handler", nodes=change, reason="范围扩大")
    pending = world.get(no, "supervisor")["pending_node_change"]
    rows = pending["nodes"]
    assert [r["change"] for r in rows] == ["unchanged", "changed", "new"]
    assert rows[1]["changes"] == ["name", "due"] and rows[1]["was"]["due_text"] == "2025-11-20"
    assert [(r["seq"], r["name"]) for r in pending["removes"]] == [(3, "出具报告")]


def test_plain_handling_case_still_plans_from_one(world, clock):
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    planned = world.act(no, "plan_nodes", "handler", nodes=PLAN)
    assert [n["seq"] for n in planned["nodes"]] == [1, 2]
