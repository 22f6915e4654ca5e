"""Lead and assisting departments (主办 / 协办, issue 12) through the JSON API: one dispatch to a lead and two
assisting departments, each part accepted and reported on its own clock (one late: the sweeper records it), the
lead's resolve refused until every part is reported (the message names them), the supervisor's override, the
accused department refused, a return withdrawing the open parts, and parts changing no rate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from grievance.supervision import OVERDUE
from tests.api._support import API
from tests.reports.metrics_support import MON, NOVEMBER, counted, dispatched, handling, metrics, resolve
from tests.supervision.helpers import case_row, clock_of, sweep, system_events

# Lead CGJ (handler, head); assisting JD1 (other_handler) and QFJ (liaison, a handler there).
ASSIST = ["JD1", "QFJ"]


def sent(world: Any, **overrides: Any) -> str:
    """A case dispatched by the dispatcher to CGJ with JD1 and QFJ assisting, in one action."""
    no: str = world.intake(**overrides)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ", assisting_department_ids=ASSIST)
    return no


def listed(world: Any, as_user: str, **params: Any) -> list[str]:
    response = world.client.get(f"{API}/cases", params={"limit": 200, **params}, headers=world.headers(as_user))
    assert response.status_code == 200, response.text
    return [item["case_no"] for item in response.json()["items"]]


def test_dispatch_to_a_lead_and_two_assisting_departments_then_parts_are_worked_and_the_lead_resolves(
    world, app, clock
):
    clock.set(MON)
    no = sent(world)
    detail = world.get(no, "supervisor")
    assert detail["department"] == "城市管理局"
    assert [(p["seq"], p["department"], p["status"], p["light"]) for p in detail["parts"]] == [
        (1, "青桐街道", "dispatched", "running"),
        (2, "企业服务局", "dispatched", "running"),
    ]
    assert detail["timeline"][-1]["payload"]["parts"] == [
        {"seq": 1, "department": "青桐街道"},
        {"seq": 2, "department": "企业服务局"},
    ]
    # Each part runs its own clock; the case's clocks list leaves them out (as nodes).
    assert {c["name"] for c in detail["clocks"]} == {"accept", "respond", "resolve"}
    part_clock = clock_of(app, no, "part:1")
    assert part_clock.stopped_at is None and part_clock.limit_text == "5 working_days"

    # Every assisting department sees the case in its list and opens it; a department without a part does not.
    assert no in listed(world, "other_handler") and no in listed(world, "liaison")
    assert no in listed(world, "other_handler", state="dispatched")
    seen = world.get(no, "other_handler")
    assert [a["action"] for a in seen["available_actions"]] == ["accept_part"]
    # The lead's own actions are not theirs, nor the part actions the lead's.
    world.act(no, "accept", "other_handler", expect=403)
    lead_actions = [a["action"] for a in world.get(no, "handler")["available_actions"]]
    assert "accept" in lead_actions and "accept_part" not in lead_actions
    world.act(no, "accept_part", "handler", expect=403)

    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已电话联系诉求人")
    world.act(no, "report_part", "other_handler", expect=409, note="未签收先反馈")  # accept first
    after = world.act(no, "accept_part", "other_handler")
    assert after["parts"][0]["status"] == "accepted" and after["parts"][0]["accepted_by"]
    world.act(no, "accept_part", "other_handler", expect=409)  # once
    world.act(no, "part_note", "other_handler", note="已联系社区")
    report = world.act(no, "report_part", "other_handler", note="已完成现场核实")
    part = report["parts"][0]
    assert part["status"] == "reported" and part["light"] == "met" and part["on_time"] is True
    assert part["report_note"] == "已完成现场核实"
    assert clock_of(app, no, "part:1").stopped_at is not None
    event = report["timeline"][-1]
    assert event["payload"]["part"] == 1 and event["payload"]["part_department"] == "青桐街道"

    # The lead may not resolve while QFJ's part is open: the refusal names it.
    response = world.client.post(
        f"{API}/cases/{no}/actions/resolve",
        json={"outcome": "solved", "reply": "已处理"},
        headers=world.headers("handler"),
    )
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["guard"] == "no_open_parts"
    assert "企业服务局" in body["message"] and "青桐街道" not in body["message"]
    assert "企业服务局" in body["message_en"]

    # QFJ is late: its part's clock shows it, and the sweeper records it overdue naming the part.
    world.act(no, "accept_part", "liaison")
    due = clock_of(app, no, "part:2").due_at
    clock.set(due + timedelta(hours=2))
    late = world.get(no, "supervisor")["parts"][1]
    assert late["light"] == "overdue" and late["late_by"] >= 0
    assert sweep(app, due + timedelta(hours=2)).overdue >= 1
    overdue = [e for e in system_events(app, no) if e.action == OVERDUE and e.payload.get("clock") == "part:2"]
    assert len(overdue) == 1 and overdue[0].payload["part"] == 2
    reported = world.act(no, "report_part", "liaison", note="企业已整改（超期）")
    assert reported["parts"][1]["light"] == "met_late" and reported["parts"][1]["on_time"] is False

    resolved = world.act(no, "resolve", "handler", outcome="solved", reply="已处理完毕")
    assert resolved["state"] == "resolved"
    # The reported parts stay on the case for everyone concerned.
    assert [p["status"] for p in world.get(no, "other_handler")["parts"]] == ["reported", "reported"]


def test_the_supervisor_waives_open_parts_with_a_reason_so_the_lead_can_resolve(world, clock):
    no = sent(world)
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系")
    world.act(no, "resolve", "handler", expect=409, outcome="solved", reply="已处理")
    world.act(no, "waive_parts", "handler", expect=403, reason="不需要了")
    missing = world.client.post(f"{API}/cases/{no}/actions/waive_parts", json={}, headers=world.headers("supervisor"))
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "reason"
    waived = world.act(no, "waive_parts", "supervisor", reason="协办事项已由主办单位一并解决")
    assert [p["status"] for p in waived["parts"]] == ["waived", "waived"]
    assert waived["parts"][0]["close_note"] == "协办事项已由主办单位一并解决"
    assert waived["timeline"][-1]["payload"]["parts"] == [
        {"seq": 1, "department": "青桐街道"},
        {"seq": 2, "department": "企业服务局"},
    ]
    world.act(no, "waive_parts", "supervisor", expect=409, reason="again")  # nothing open
    world.act(no, "report_part", "other_handler", expect=403, note="too late")  # no open part any more
    assert world.act(no, "resolve", "handler", outcome="solved", reply="已处理")["state"] == "resolved"


def test_an_accused_department_is_refused_as_assisting_and_never_sees_the_case(world, clock):
    no = world.intake(case_type="report", accused_department="JD1")["case_no"]
    response = world.client.post(
        f"{API}/cases/{no}/actions/dispatch",
        json={"department_id": "CGJ", "assisting_department_ids": ["QFJ", "JD1"]},
        headers=world.headers("dispatcher"),
    )
    assert response.status_code == 409, response.text
    assert response.json()["guard"] == "assisting_departments_allowed"
    assert world.get(no, "supervisor")["state"] == "received" and world.get(no, "supervisor")["parts"] == []
    world.act(no, "dispatch", "dispatcher", department_id="CGJ", assisting_department_ids=["QFJ"])
    world.act(no, "add_assisting_department", "supervisor", expect=409, assisting_department_ids=["JD1"])
    world.get(no, "other_handler", expect=404)
    assert no not in listed(world, "other_handler")
    assert no in listed(world, "liaison")


def test_bad_assisting_input_is_a_clear_error_and_writes_nothing(world, clock):
    no = world.intake()["case_no"]
    version = world.get(no, "supervisor")["version"]
    for fields, status in (
        ({"assisting_department_ids": ["NOPE"]}, 422),
        ({"assisting_department_ids": [True]}, 422),
        ({"assisting_department_ids": ["CGJ"]}, 409),  # the lead itself
    ):
        response = world.client.post(
            f"{API}/cases/{no}/actions/dispatch",
            json={"department_id": "CGJ", **fields},
            headers=world.headers("dispatcher"),
        )
        assert response.status_code == status, response.text
        body = response.json()
        assert body["message"] and body["message_en"]
    after = world.get(no, "supervisor")
    assert after["version"] == version and after["parts"] == [] and after["state"] == "received"
    # Added later by the supervisor; a department already assisting is refused a second part.
    world.act(no, "dispatch", "dispatcher", department_id="CGJ", assisting_department_ids="JD1")
    added = world.act(no, "add_assisting_department", "supervisor", assisting_department_ids=["QFJ"], note="涉企")
    assert [p["department"] for p in added["parts"]] == ["青桐街道", "企业服务局"]
    world.act(no, "add_assisting_department", "dispatcher", expect=409, assisting_department_ids=["JD1"])


def test_a_return_withdraws_the_open_parts_and_a_new_dispatch_names_them_afresh(world, app, clock):
    no = sent(world)
    world.act(no, "accept_part", "other_handler")
    returned = world.act(no, "return", "handler", reason="不属于本单位职责")
    assert [p["status"] for p in returned["parts"]] == ["withdrawn", "withdrawn"]
    assert clock_of(app, no, "part:1").stopped_at is not None
    assert no not in listed(world, "other_handler")
    world.get(no, "other_handler", expect=404)
    again = world.act(no, "dispatch", "dispatcher", department_id="JD1", assisting_department_ids=["CGJ"])
    assert [(p["seq"], p["department"], p["status"]) for p in again["parts"]] == [
        (1, "青桐街道", "withdrawn"),
        (2, "企业服务局", "withdrawn"),
        (3, "城市管理局", "dispatched"),
    ]
    assert no in listed(world, "handler")


def test_parts_change_no_rate_no_list_due_time_and_no_case_fact(world, app, clock):
    clock.set(MON)
    plain = handling(world)
    assisted = dispatched(world)
    world.act(assisted, "add_assisting_department", "supervisor", assisting_department_ids=ASSIST)
    world.act(assisted, "accept", "handler")
    world.act(assisted, "respond", "handler", note="已电话联系诉求人")
    due = clock_of(app, assisted, "part:1").due_at
    clock.set(due + timedelta(hours=30))  # both parts late; the case's own clocks are not
    assert case_row(app, assisted).next_due_at == case_row(app, plain).next_due_at
    assert metrics(world, **NOVEMBER)["overdue_count"] == {"value": 0}
    world.act(assisted, "accept_part", "other_handler")
    world.act(assisted, "report_part", "other_handler", note="迟了")
    world.act(assisted, "waive_parts", "supervisor", reason="企业已自行整改")
    for no in (plain, assisted):
        resolve(world, no)
    figures = metrics(world, **NOVEMBER)
    assert figures["overdue_count"] == {"value": 0}
    assert figures["on_time_resolution_rate"]["numerator"] == 2
    assert counted(world, "on_time_resolution_rate", **NOVEMBER) == sorted([plain, assisted])


def test_the_department_report_counts_assisted_parts_and_on_time_with_a_drill_down_to_exactly_those_cases(
    world, app, clock
):
    clock.set(MON)
    first = sent(world)  # JD1 reports on time, QFJ late
    second = dispatched(world)  # JD1 assists, still open
    world.act(second, "add_assisting_department", "supervisor", assisting_department_ids=["JD1"])
    returned = sent(world)  # withdrawn on return: counted nowhere
    world.act(returned, "return", "handler", reason="不属于本单位职责")
    world.act(first, "accept_part", "other_handler")
    world.act(first, "report_part", "other_handler", note="已核实")
    world.act(first, "accept_part", "liaison")
    clock.set(clock_of(app, first, "part:2").due_at + timedelta(hours=1))
    world.act(first, "report_part", "liaison", note="迟了")

    def figures(**params: Any) -> dict[str, dict[str, int]]:
        response = world.client.get(
            f"{API}/reports/assisted-parts", params={**NOVEMBER, **params}, headers=world.headers("leader")
        )
        assert response.status_code == 200, response.text
        return {
            row["label"]: {k: row[k] for k in ("assisted", "reported", "on_time")}
            for row in response.json()["departments"]
        }

    def drill(department: str, fact: str, **params: Any) -> list[str]:
        ids = {
            d["code"]: d["id"] for d in world.client.get(f"{API}/departments", headers=world.headers("leader")).json()
        }
        response = world.client.get(
            f"{API}/reports/assisted-parts/{ids[department]}/cases",
            params={**NOVEMBER, "fact": fact, **params},
            headers=world.headers("leader"),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] == len(body["items"])
        return [item["case_no"] for item in body["items"]]

    assert figures() == {
        "青桐街道": {"assisted": 2, "reported": 1, "on_time": 1},
        "企业服务局": {"assisted": 1, "reported": 1, "on_time": 0},
    }
    assert drill("JD1", "assisted") == [first, second]
    assert drill("JD1", "reported") == drill("JD1", "on_time") == [first]
    assert drill("QFJ", "reported") == [first] and drill("QFJ", "on_time") == []
    # As of the moment before the late report: QFJ's part counted, not yet reported; the sheet regenerates alike.
    before = (clock_of(app, first, "part:2").due_at).isoformat()
    assert figures(as_of=before)["企业服务局"] == {"assisted": 1, "reported": 0, "on_time": 0}
    assert drill("QFJ", "reported", as_of=before) == []
    # The lead's rates are untouched: CGJ led all three; the monthly report carries the same counts.
    monthly = world.client.get(f"{API}/reports/monthly/2025-11", headers=world.headers("leader")).json()
    assert {r["label"]: r["assisted"] for r in monthly["assisted_parts"]} == {"青桐街道": 2, "企业服务局": 1}
    bogus = world.client.get(
        f"{API}/reports/assisted-parts/1/cases", params={**NOVEMBER, "fact": "bogus"}, headers=world.headers("leader")
    )
    assert bogus.status_code == 422
