"""Whose node it is (second newcomer trial of issue 12, finding M1 and minors 6, 7, 8, 11), through the API on both
databases: a node's responsible department is the lead or an assisting department (others refused, naming who is
accepted); the lead's people complete any node, an assisting department's people only its own; an assisting
department is never told the case "is not its department's"; a file cited as one node's evidence is not another's."""

from __future__ import annotations

from typing import Any

from tests.api._support import API
from tests.keycases.test_api import upload
from tests.reports.metrics_support import MON
from tests.supervision.helpers import clock_of

NOT_YOURS = "该件不属于您的单位"


def _post(world: Any, no: str, action: str, user: str, **fields: Any) -> Any:
    return world.client.post(f"{API}/cases/{no}/actions/{action}", json=fields, headers=world.headers(user))


def assisted_key_case(world: Any) -> str:
    """A key case handled by CGJ (handler, head) with JD1 (other_handler) assisting; QFJ (liaison) has no part."""
    no: str = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ", assisting_department_ids=["JD1"])
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已电话联系诉求人")
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    return no


def test_a_node_goes_to_the_lead_or_an_assisting_department_only(world, clock):
    clock.set(MON)
    no = assisted_key_case(world)
    refused = _post(
        world, no, "plan_nodes", "handler", nodes=[{"name": "企业约谈", "department_id": "QFJ", "working_days": 2}]
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()["errors"][0]
    assert (
        "企业服务局" in problem["message"] and "城市管理局" in problem["message"] and "青桐街道" in problem["message"]
    )
    assert "lead" in problem["message_en"] and "青桐街道" in problem["message_en"]
    nodes = [
        {"name": "现场核查", "working_days": 2},
        {"name": "街道走访", "department_id": "JD1", "working_days": 3},
        {"name": "街道复核", "department_id": "JD1", "working_days": 4},
    ]
    planned = world.act(no, "plan_nodes", "handler", nodes=nodes)
    assert [n["department"] for n in planned["nodes"]] == ["城市管理局", "青桐街道", "青桐街道"]


def test_an_assisting_department_completes_its_own_nodes_and_the_lead_any(world, clock):
    clock.set(MON)
    no = assisted_key_case(world)
    nodes = [
        {"name": "现场核查", "working_days": 2},
        {"name": "街道走访", "department_id": "JD1", "working_days": 3},
        {"name": "街道复核", "department_id": "JD1", "working_days": 4},
    ]
    world.act(no, "plan_nodes", "handler", nodes=nodes)
    # The assisting department is offered complete_node (it has an open node of its own) and completes node 2.
    seen = world.get(no, "other_handler")
    assert "complete_node" in [a["action"] for a in seen["available_actions"]]
    done = world.act(no, "complete_node", "other_handler", node=2, note="已走访")
    assert [n["status"] for n in done["nodes"]] == ["open", "done", "open"]
    assert clock_of(world.app, no, "node:2").stopped_at is not None
    # Not the lead's node: refused saying whose it is, never "not your department's".
    other = _post(world, no, "complete_node", "other_handler", node=1, note="代为完成")
    assert other.status_code in (403, 409), other.text
    detail = other.json()
    assert NOT_YOURS not in detail["message"] and "城市管理局" in detail["message"]
    # The lead's own actions: refused, but not as if the case were not theirs to open.
    resolve = _post(world, no, "resolve", "other_handler", outcome="solved", reply="已处理")
    assert resolve.status_code == 403 and NOT_YOURS not in resolve.json()["message"]
    assert "协办" in resolve.json()["message"]
    # A department with no part still hears it is not theirs (and cannot see the case at all).
    assert _post(world, no, "complete_node", "liaison", node=1, note="x").status_code in (403, 404)
    # The lead's people complete any node, an assisting department's too.
    world.act(no, "complete_node", "handler", node=3, note="主办代为完成复核")
    world.act(no, "complete_node", "head", node=1, note="已核查")
    # With no open node of its own left, the assisting department is not offered complete_node.
    assert "complete_node" not in [a["action"] for a in world.get(no, "other_handler")["available_actions"]]


def test_a_file_already_cited_as_evidence_is_refused_for_another_node(world, clock):
    clock.set(MON)
    no = assisted_key_case(world)
    nodes = [
        {"name": "现场核查", "working_days": 2, "evidence_required": True},
        {"name": "出具报告", "working_days": 3, "evidence_required": True},
    ]
    world.act(no, "plan_nodes", "handler", nodes=nodes)
    first = upload(world, no)
    world.act(no, "complete_node", "handler", node=1, note="已核查", attachment_ids=[first])
    again = _post(world, no, "complete_node", "handler", node=2, note="报告", attachment_ids=[first])
    assert again.status_code == 422, again.text
    problem = again.json()["errors"][0]
    assert problem["field"] == "attachment_ids" and "节点 1" in problem["message"] and "node 1" in problem["message_en"]
    assert [n["status"] for n in world.get(no, "supervisor")["nodes"]] == ["done", "open"]


def test_plan_input_messages(world, clock):
    clock.set(MON)
    no = assisted_key_case(world)
    both = _post(
        world, no, "plan_nodes", "handler", nodes=[{"name": "核查", "working_days": 2, "due_date": "2025-11-20"}]
    )
    assert both.status_code == 422
    message = both.json()["errors"][0]["message"]
    assert "只" in message and "不能同时" in message
    # A dated node in an unknown year gets no holiday warning; a working-day node there does.
    dated = world.act(no, "plan_nodes", "handler", nodes=[{"name": "年度复核", "due_date": "2027-03-01"}])
    assert not [w for w in dated.get("warnings", []) if "法定节假日" in w["message"]]
    # An action that takes no field says so in Chinese only.
    noted = _post(world, no, "accept_part", "other_handler", note="签收")
    assert noted.status_code == 422
    text = noted.json()["errors"][0]["message"]
    assert "none" not in text and "不需要填写任何字段" in text


def test_working_day_node_in_an_unknown_year_still_warns(world, clock):
    from tests.api._support import sh

    clock.set(sh(2026, 12, 14))
    no = assisted_key_case(world)
    planned = world.act(no, "plan_nodes", "handler", nodes=[{"name": "跨年核查", "working_days": 30}])
    assert [w for w in planned.get("warnings", []) if "法定节假日" in w["message"]]


def test_an_assisting_department_evidences_its_node_after_its_part_is_reported(world, clock):
    clock.set(MON)
    no = assisted_key_case(world)
    world.act(
        no,
        "plan_nodes",
        "handler",
        nodes=[{"name": "街道走访", "department_id": "JD1", "working_days": 3, "evidence_required": True}],
    )
    world.act(no, "accept_part", "other_handler")
    world.act(no, "report_part", "other_handler", note="协办已完成")
    sent = world.client.post(  # the part is reported; its node is still open
        f"{API}/cases/{no}/attachments",
        files=[("files", ("走访记录.pdf", b"%PDF-1.4\n%test\n", "application/pdf"))],
        headers=world.headers("other_handler"),
    )
    assert sent.status_code == 201, sent.text
    evidence = int(sent.json()[0]["id"])
    done = world.act(no, "complete_node", "other_handler", node=1, note="已走访", attachment_ids=[evidence])
    assert [n["status"] for n in done["nodes"]] == ["done"]
    # With nothing open of its own any more, it attaches nothing.
    late = world.client.post(
        f"{API}/cases/{no}/attachments",
        files=[("files", ("补充.pdf", b"%PDF-1.4\n%test\n", "application/pdf"))],
        headers=world.headers("other_handler"),
    )
    assert late.status_code == 403, late.text
