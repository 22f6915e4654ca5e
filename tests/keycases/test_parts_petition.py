"""A joint petition (联合接访, issue 12): the petition workflow takes assisting departments as the standard one does —
accepted for a lead and an assisting department at once, the part worked on its own clock, the lead's resolution
refused while the part is open and allowed once it is reported."""

from __future__ import annotations

from tests.api._support import sh
from tests.api.test_actions import petition


def test_a_petition_accepted_for_a_lead_and_an_assisting_department(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(sh(2025, 11, 3))
    no = petition(world)["case_no"]
    case = world.act(
        no, "accept_petition", "dispatcher", department_id="CGJ", assisting_department_ids=["JD1"], notice="已受理"
    )
    assert [(p["department"], p["status"]) for p in case["parts"]] == [("青桐街道", "dispatched")]
    part_clock = next(c for c in world.get(no, "supervisor")["parts"])
    assert part_clock["due_at"] is not None
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已约谈信访人")
    refused = world.act(no, "resolve", "handler", expect=409, outcome="explained", reply="已答复")
    assert refused["error"] == "refused_by_rule" and "青桐街道" in refused["message"]
    world.act(no, "accept_part", "other_handler")
    world.act(no, "report_part", "other_handler", note="已核实信访人反映的情况")
    resolved = world.act(no, "resolve", "handler", outcome="explained", reply="已书面答复信访人")
    assert resolved["state"] == "resolved"
