"""Key cases through the JSON API (issue 12, first slice): marking a case key with a reason and a lead leader, the
plan of nodes (first plan at once, later changes on the supervisor's approval), completing nodes with evidence, and
resolving only once every node is done. Due times are checked against tests/api/_support.py's own calendar."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from grievance.db import transaction
from grievance.users.service import create_user
from tests.api._support import API, end_of_working_days, midnight, sh
from tests.reports.metrics_support import handling

PLAN = [
    {"name": "约谈相关企业", "working_days": 2},
    {"name": "现场核查", "department_id": "CGJ", "due_date": "2025-10-17"},  # the lead, by code
    {"name": "出具整改报告", "working_days": 10, "evidence_required": True},
]


def key_case(world: Any, reason: str = "backlog") -> str:
    """A case in handling at CGJ, marked key by the supervisor under the world's leader."""
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason=reason, lead_leader_id="leader")
    return no


def upload(world: Any, no: str, name: str = "整改报告.pdf") -> int:
    response = world.client.post(
        f"{API}/cases/{no}/attachments",
        files=[("files", (name, b"%PDF-1.4\n%test\n", "application/pdf"))],
        headers=world.headers("handler"),
    )
    assert response.status_code == 201, response.text
    return int(response.json()[0]["id"])


def test_a_supervisor_marks_a_case_key_under_a_lead_leader(world, clock):
    no = handling(world)
    detail = world.get(no, "supervisor")
    assert detail["key"] is False and detail["nodes"] == [] and detail["lead_leader"] is None
    assert "mark_key" in [a["action"] for a in detail["available_actions"]]

    after = world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    assert after["key"] is True and after["key_reason"] == "backlog"
    assert after["lead_leader"]["name"] and after["lead_leader_id"] == after["lead_leader"]["id"]
    assert after["key_marked_at"].startswith("2025-09-29T02:00")
    event = after["timeline"][-1]
    assert event["action"] == "mark_key" and event["payload"]["lead_leader"] == after["lead_leader"]["name"]
    # Marking again is refused: the leader is changed with its own action.
    world.act(no, "mark_key", "supervisor", expect=409, reason="backlog", lead_leader_id="leader")
    # Department staff do not mark cases key.
    world.act(no, "mark_key", "handler", expect=403, reason="backlog", lead_leader_id="leader")


def test_marking_key_refuses_bad_input_with_a_clear_field_error_and_writes_nothing(world, clock):
    no = handling(world)
    version = world.get(no, "supervisor")["version"]
    response = world.client.post(
        f"{API}/cases/{no}/actions/mark_key",
        json={"reason": "other", "lead_leader_id": "handler"},
        headers=world.headers("supervisor"),
    )
    assert response.status_code == 422, response.text
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert set(errors) == {"note", "lead_leader_id"}
    assert (
        "不是领导" in errors["lead_leader_id"]["message"] and "not a leader" in errors["lead_leader_id"]["message_en"]
    )
    assert errors["note"]["message_en"].endswith("is required")
    response = world.client.post(
        f"{API}/cases/{no}/actions/mark_key",
        json={"reason": "whim", "lead_leader_id": "leader"},
        headers=world.headers("supervisor"),
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "reason"
    after = world.get(no, "supervisor")
    assert after["key"] is False and after["version"] == version
    # "other" with its note is accepted, by a leader too.
    marked = world.act(no, "mark_key", "leader", reason="other", note="媒体关注", lead_leader_id="leader")
    assert marked["key_reason"] == "other" and marked["key_note"] == "媒体关注"


def test_an_inspection_referral_is_key_from_intake_and_waits_for_its_leader(world, clock):
    no = world.intake(as_user="dispatcher", channel="inspection", meeting=None)["case_no"]
    detail = world.get(no, "supervisor")
    assert detail["key"] is True and detail["key_reason"] == "inspection" and detail["lead_leader"] is None
    waiting = world.client.get(
        f"{API}/cases", params={"key": "true", "no_lead_leader": "true"}, headers=world.headers("supervisor")
    ).json()["items"]
    assert [c["case_no"] for c in waiting] == [no]
    actions = [a["action"] for a in detail["available_actions"]]
    assert "set_lead_leader" in actions and "mark_key" not in actions

    with transaction(world.app.state.sessions) as session:
        other = create_user(session, username="leader2", role="leader", password=None, display_name="王副主任")
        other_id = other.id
    world.act(no, "set_lead_leader", "supervisor", lead_leader_id="leader")
    changed = world.act(no, "set_lead_leader", "supervisor", lead_leader_id=other_id, note="分工调整")
    assert changed["lead_leader"] == {"id": other_id, "name": "王副主任", "active": True}
    assert changed["timeline"][-1]["payload"]["previous_leader"]
    listed = world.client.get(
        f"{API}/cases", params={"key": "true", "lead_leader_id": other_id}, headers=world.headers("supervisor")
    ).json()["items"]
    assert [c["case_no"] for c in listed] == [no]
    assert (
        world.client.get(
            f"{API}/cases", params={"key": "true", "no_lead_leader": "true"}, headers=world.headers("supervisor")
        ).json()["items"]
        == []
    )


def test_the_first_plan_takes_effect_at_once_with_a_clock_per_node(world, clock):
    no = key_case(world)
    before = world.get(no, "handler")
    detail = world.act(no, "plan_nodes", "handler", nodes=PLAN)
    nodes = detail["nodes"]
    assert [(n["seq"], n["name"], n["status"], n["light"]) for n in nodes] == [
        (1, "约谈相关企业", "open", "running"),
        (2, "现场核查", "open", "running"),
        (3, "出具整改报告", "open", "running"),
    ]
    # N working days from now on the statutory calendar (National Day 2025 in between), or the end of the day.
    assert _utc(nodes[0]["due_at"]) == end_of_working_days(sh(2025, 9, 29).date(), 2)
    assert _utc(nodes[1]["due_at"]) == midnight(sh(2025, 10, 18).date())
    assert _utc(nodes[2]["due_at"]) == end_of_working_days(sh(2025, 9, 29).date(), 10)
    assert nodes[0]["department"] == "城市管理局" and nodes[1]["department"] == "城市管理局"
    assert nodes[2]["evidence_required"] is True
    # The case's own clocks and due time are what they were: nodes are read apart.
    assert [c["name"] for c in detail["clocks"]] == [c["name"] for c in before["clocks"]]
    assert detail["next_due_at"] == before["next_due_at"]
    # The plan is set: a second one is a change for the supervisor.
    world.act(no, "plan_nodes", "handler", expect=409, nodes=PLAN)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_plan_refuses_bad_rows_naming_each_row(world, clock):
    no = key_case(world)
    response = world.client.post(
        f"{API}/cases/{no}/actions/plan_nodes",
        json={
            "nodes": [
                {"name": "", "working_days": 2},
                {"name": "现场核查", "working_days": 2, "due_date": "2025-10-17"},
                {"name": "复核", "due_date": "2025-09-01"},
                {"name": "约谈", "department_id": "NOPE", "working_days": 0},
            ]
        },
        headers=world.headers("handler"),
    )
    assert response.status_code == 422, response.text
    messages = [e["message_en"] for e in response.json()["errors"]]
    assert any(m.startswith("node row 1: the name is required") for m in messages)
    assert any(m.startswith("node row 2: give only one of working_days and due_date") for m in messages)
    assert any(m.startswith("node row 3: due_date 2025-09-01 has passed") for m in messages)
    assert any(m.startswith("node row 4: no department 'NOPE'") for m in messages)
    assert any(m.startswith("node row 4: working_days must be between 1 and") for m in messages)
    assert world.get(no, "handler")["nodes"] == []
    # Only a key case has a plan.
    plain = handling(world)
    world.act(plain, "plan_nodes", "handler", expect=409, nodes=PLAN)


def test_a_change_waits_for_the_supervisor_who_approves_or_refuses_it(world, clock):
    no = key_case(world)
    world.act(no, "plan_nodes", "handler", nodes=PLAN)
    clock.set(sh(2025, 9, 30, 9))
    change = [
        {"seq": 1, "name": "约谈相关企业（扩大范围）", "working_days": 2},  # same due: keeps its clock
        {"seq": 3, "name": "出具整改报告", "working_days": 15, "evidence_required": True},  # new due: from now
        {"name": "回访群众", "working_days": 3},  # new node 4; node 2 left out: removed on approval
    ]
    proposed = world.act(no, "propose_node_change", "handler", nodes=change, reason="范围扩大")
    assert proposed["pending_node_change"]["reason"] == "范围扩大"
    assert proposed["nodes"][0]["name"] == "约谈相关企业"  # still the plan in force
    world.act(no, "propose_node_change", "handler", expect=409, nodes=change, reason="再改")
    world.act(no, "approve_node_change", "handler", expect=403)

    refused = world.act(no, "reject_node_change", "supervisor", note="先按原计划")
    assert refused["pending_node_change"] is None and refused["nodes"][0]["name"] == "约谈相关企业"
    world.act(no, "propose_node_change", "handler", nodes=change, reason="范围扩大")
    approved = world.act(no, "approve_node_change", "supervisor", note="同意")
    nodes = {n["seq"]: n for n in approved["nodes"]}
    assert nodes[1]["name"] == "约谈相关企业（扩大范围）"
    assert _utc(nodes[1]["due_at"]) == end_of_working_days(sh(2025, 9, 29).date(), 2)  # unchanged
    assert _utc(nodes[3]["due_at"]) == end_of_working_days(sh(2025, 9, 30).date(), 15)  # restarted from now
    assert nodes[2]["status"] == "removed" and nodes[4]["name"] == "回访群众"
    assert approved["pending_node_change"] is None
    actions = [e["action"] for e in approved["timeline"]]
    assert actions[-1] == "approve_node_change"
    assert actions.count("propose_node_change") == 2 and actions.count("reject_node_change") == 1


def test_resolving_waits_for_every_node_and_evidence_is_required_where_the_node_says(world, clock):
    no = key_case(world)
    world.act(no, "plan_nodes", "handler", nodes=PLAN)
    refused = world.client.post(
        f"{API}/cases/{no}/actions/resolve",
        json={"outcome": "solved", "reply": "已处理"},
        headers=world.headers("handler"),
    )
    assert refused.status_code == 409 and refused.json()["error"] == "refused_by_rule"
    body = refused.json()
    assert "1. 约谈相关企业、2. 现场核查、3. 出具整改报告" in body["message"]
    assert body["message_en"].startswith("open nodes: 1. 约谈相关企业, 2. 现场核查, 3. 出具整改报告;")

    world.act(no, "complete_node", "handler", node=1, note="已约谈三家企业")
    missing = world.client.post(
        f"{API}/cases/{no}/actions/complete_node",
        json={"node": 3, "note": "报告已出具"},
        headers=world.headers("handler"),
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "attachment_ids"
    wrong = world.client.post(
        f"{API}/cases/{no}/actions/complete_node",
        json={"node": 1, "note": "再次完成"},
        headers=world.headers("handler"),
    )
    # A completed node is refused as such (409), saying when; a number naming no node lists the open ones (422).
    assert wrong.status_code == 409 and wrong.json()["message"].startswith("节点 1 已完成（于 2025-09-29 10:00）")
    unknown = world.client.post(
        f"{API}/cases/{no}/actions/complete_node", json={"node": 9, "note": "x"}, headers=world.headers("handler")
    )
    assert unknown.status_code == 422 and "open nodes: 2 (现场核查), 3 (出具整改报告)" in str(unknown.json())
    file_id = upload(world, no)
    done = world.act(no, "complete_node", "handler", node=3, note="报告已出具", attachment_ids=[file_id])
    node3 = next(n for n in done["nodes"] if n["seq"] == 3)
    assert node3["status"] == "done" and node3["light"] == "met" and node3["attachment_ids"] == [file_id]
    assert done["timeline"][-1]["payload"]["files"] == ["整改报告.pdf"]
    world.act(no, "complete_node", "head", node=2, note="核查完毕")
    resolved = world.act(no, "resolve", "handler", outcome="solved", reply="已处理完毕")
    assert resolved["state"] == "resolved"


def test_another_departments_files_and_cases_are_refused(world, clock):
    no = key_case(world)
    world.act(no, "plan_nodes", "handler", nodes=PLAN)
    other = key_case(world)
    other_file = upload(world, other, "其他.pdf")
    response = world.client.post(
        f"{API}/cases/{no}/actions/complete_node",
        json={"node": 3, "note": "报告", "attachment_ids": [other_file]},
        headers=world.headers("handler"),
    )
    assert response.status_code == 422 and "no files of this case" in str(response.json())
    # Another department's handler cannot touch the plan.
    world.act(no, "complete_node", "other_handler", expect=404, node=1, note="x")


def test_petition_and_enterprise_cases_can_be_key_too(world, clock):
    petition = world.intake(as_user="dispatcher", channel="letter", case_type="petition", meeting=None)["case_no"]
    marked = world.act(petition, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    assert marked["key"] and marked["workflow"] == "petition"
    enterprise = world.intake(as_user="liaison", channel="enterprise", meeting=None, enterprise=world.enterprise_id)
    marked = world.act(enterprise["case_no"], "mark_key", "leader", reason="group_appeal", lead_leader_id="leader")
    assert marked["key"] and marked["workflow"] == "enterprise"
