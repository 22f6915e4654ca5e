"""Every action of the standard, petition and enterprise workflows, through the HTTP API.

Due times are checked against values computed here with chinese_calendar (tests/api/_support.py),
independently of the product's own calendar code.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import chinese_calendar
import pytest
from sqlmodel import select

from grievance.db import transaction
from grievance.reference.models import Category, Department
from tests.api._support import (
    API,
    actions,
    clock_of,
    due,
    end_of_days,
    end_of_working_days,
    fire,
    sh,
    timeline,
    ts,
)
from tests.factories import World

# A quiet working week (no holidays): Monday 2025-11-03 10:00 in Shanghai.
MON = sh(2025, 11, 3)


def handling_case(world: World, **overrides: Any) -> str:
    """A case dispatched to CGJ, accepted and responded to: in handling."""
    no = world.intake(**overrides)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已电话联系诉求人")
    return no


def resolved_case(world: World, **overrides: Any) -> str:
    no = handling_case(world, **overrides)
    world.act(no, "resolve", "handler", outcome="solved", reply="路灯已修复")
    return no


# --- dispatch, routing, publish, claim ----------------------------------------------------------


def _add_categories(world: World) -> None:
    """01 城市管理 (routed to CGJ) > 0101 市政设施 > 010101 路灯照明 (the children have no rule of their own)."""
    with transaction(world.app.state.sessions) as session:
        cgj = session.exec(select(Department).where(Department.code == "CGJ")).one()
        top = Category(code="01", name="城市管理", level=1, department_id=cgj.id)
        session.add(top)
        session.flush()
        mid = Category(code="0101", name="市政设施", level=2, parent_id=top.id)
        session.add(mid)
        session.flush()
        session.add(Category(code="010101", name="路灯照明", level=3, parent_id=mid.id))


def test_dispatcher_sees_routing_suggestions_from_category_and_station(world, clock):
    clock.set(MON)
    _add_categories(world)
    no = world.intake(channel="station", station="ZS01", meeting=None, category="010101")["case_no"]

    seen = world.get(no, "dispatcher")
    suggestions = seen["routing_suggestions"]
    assert [s["code"] for s in suggestions] == ["CGJ", "JD1"]
    assert "城市管理" in suggestions[0]["reason"]  # the level-3 category inherits its top level's rule
    assert "青桐驿站" in suggestions[1]["reason"]
    assert suggestions[0]["name"] == "城市管理局"

    assert "routing_suggestions" in world.get(no, "supervisor")
    assert "routing_suggestions" not in world.get(no, "intake")


def test_dispatch_assigns_the_department_and_starts_the_accept_clock(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    assert world.get(no, "dispatcher")["routing_suggestions"] == []

    case = world.act(no, "dispatch", "dispatcher", department_id="CGJ", note="请尽快处理")
    assert case["state"] == "dispatched"
    assert case["state_label"] == "待签收"
    assert case["department"] == "城市管理局"
    assert case["dispatch_count"] == 1
    assert ts(case["dispatched_at"]) == MON
    accept = clock_of(case, "accept")
    assert accept["status"] == "running"
    assert ts(accept["due_at"]) == end_of_working_days(MON.date(), 1)
    event = case["timeline"][-1]
    assert event["action"] == "dispatch"
    assert (event["from_state"], event["to_state"]) == ("received", "dispatched")
    assert event["payload"]["note"] == "请尽快处理"

    # The department now sees it in its queue.
    listed = world.client.get(f"{API}/cases", headers=world.headers("handler")).json()["items"]
    assert [c["case_no"] for c in listed] == [no]


def test_dispatch_by_department_id_and_refusals(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    departments = world.client.get(f"{API}/departments", headers=world.headers("dispatcher")).json()
    jd1 = next(d["id"] for d in departments if d["code"] == "JD1")

    missing = fire(world, no, "dispatch", "dispatcher", department_id="NOPE")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "department_id"
    required = fire(world, no, "dispatch", "dispatcher")
    assert required.status_code == 422
    assert required.json()["errors"][0]["message"] == "承办单位 为必填项"
    assert fire(world, no, "dispatch", "handler", department_id="CGJ").status_code == 404  # not their case

    case = world.act(no, "dispatch", "supervisor", department_id=jd1)
    assert case["department_id"] == jd1


def test_publish_then_a_handler_claims_it_for_their_department(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    pooled = world.act(no, "publish", "dispatcher", note="欢迎各单位揭榜")
    assert pooled["state"] == "pool"
    assert pooled["department_id"] is None

    # Every department finds it in the open pool.
    for user in ("handler", "other_handler", "head"):
        items = world.client.get(f"{API}/cases", params={"state": "pool"}, headers=world.headers(user)).json()
        assert [c["case_no"] for c in items["items"]] == [no], user
    assert actions(world.get(no, "handler")) == {"claim"}

    clock.set(MON + timedelta(hours=1))
    claimed = world.act(no, "claim", "handler")
    assert claimed["state"] == "accepted"
    assert claimed["department"] == "城市管理局"
    assert ts(claimed["accepted_at"]) == MON + timedelta(hours=1)
    assert claimed["dispatch_count"] == 1

    # It left the pool: the other department no longer sees it.
    for params in ({}, {"state": "pool"}):
        listed = world.client.get(f"{API}/cases", params=params, headers=world.headers("other_handler")).json()
        assert listed["items"] == [], params
    mine = world.client.get(f"{API}/cases", headers=world.headers("handler")).json()["items"]
    assert [c["case_no"] for c in mine] == [no]
    world.get(no, "other_handler", expect=404)
    assert fire(world, no, "claim", "other_handler").status_code == 404


def test_claim_refused_outside_the_pool_and_for_other_roles(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "publish", "dispatcher")
    assert fire(world, no, "claim", "leader").status_code == 403
    assert fire(world, no, "claim", "dispatcher").status_code == 403
    world.act(no, "claim", "head")
    refused = fire(world, no, "claim", "handler")
    assert refused.status_code == 409
    assert refused.json()["state"] == "accepted"


def test_dispatch_from_pool_and_publish_after_return(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "publish", "dispatcher")
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "return", "handler", reason="不属于本单位职责")
    again = world.act(no, "publish", "supervisor")
    assert again["state"] == "pool"


# --- accept, return ---------------------------------------------------------------------------


def test_accept_stops_the_accept_clock(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    clock.set(MON + timedelta(minutes=30))
    case = world.act(no, "accept", "handler")
    assert case["state"] == "accepted"
    assert case["state_label"] == "已签收"
    assert ts(case["accepted_at"]) == MON + timedelta(minutes=30)
    accept = clock_of(case, "accept")
    assert accept["status"] == "met"
    assert ts(accept["stopped_at"]) == MON + timedelta(minutes=30)


def test_return_with_a_reason_sends_it_back_to_the_dispatch_centre(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")

    no_reason = fire(world, no, "return", "handler")
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"] == [
        {"field": "reason", "message": "退单理由 为必填项", "message_en": "Reason for return is required"}
    ]

    case = world.act(no, "return", "handler", reason="属于青桐街道职责")
    assert case["state"] == "returned"
    assert case["department_id"] is None
    assert case["timeline"][-1]["payload"] == {"reason": "属于青桐街道职责"}
    assert clock_of(case, "accept")["status"] == "met"
    # Gone from the department's queue, back with the dispatcher.
    assert world.client.get(f"{API}/cases", headers=world.headers("handler")).json()["items"] == []
    assert {"dispatch", "publish", "merge"} <= actions(world.get(no, "dispatcher"))
    redispatched = world.act(no, "dispatch", "dispatcher", department_id="JD1")
    assert redispatched["dispatch_count"] == 2


def test_return_after_accept_is_allowed_within_the_window(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "head")
    case = world.act(no, "return", "head", reason="非本单位职责")
    assert case["state"] == "returned"


def test_return_refused_after_one_working_day(world, clock):
    friday = sh(2025, 11, 7)
    clock.set(friday)
    early = world.intake()["case_no"]
    late = world.intake()["case_no"]
    for no in (early, late):
        world.act(no, "dispatch", "dispatcher", department_id="CGJ")

    # 1 working day after a Friday dispatch ends with Monday; the weekend does not count.
    window_end = end_of_working_days(friday.date(), 1)
    assert window_end == sh(2025, 11, 11, 0)
    clock.set(window_end - timedelta(minutes=1))
    assert "return" in actions(world.get(early, "handler"))
    world.act(early, "return", "handler", reason="非本单位职责")

    clock.set(window_end)
    assert "return" not in actions(world.get(late, "handler"))
    refused = fire(world, late, "return", "handler", reason="非本单位职责")
    assert refused.status_code == 409
    body = refused.json()
    assert "1个工作日内" in body["message"]
    assert "within 1 working days of dispatch" in body["message_en"]
    assert body["state"] == "dispatched"
    assert body["allowed_actions"] == ["accept", "assign"]  # assign: the handler may take it (我来办)
    assert world.get(late, "handler")["state"] == "dispatched"


def test_no_return_after_three_dispatches_the_supervisor_designates(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    for dept in ("CGJ", "JD1"):
        world.act(no, "dispatch", "dispatcher", department_id=dept)
        user = "handler" if dept == "CGJ" else "other_handler"
        world.act(no, "return", user, reason="非本单位职责")
    third = world.act(no, "dispatch", "supervisor", department_id="CGJ")  # the designation
    assert third["dispatch_count"] == 3
    assert "return" not in actions(world.get(no, "handler"))

    refused = fire(world, no, "return", "handler", reason="还是不归我们")
    assert refused.status_code == 409
    body = refused.json()
    assert "由督办员指定承办单位" in body["message"]
    assert "the supervisor designates the department" in body["message_en"]
    assert body["allowed_actions"] == ["accept", "assign"]  # assign: the handler may take it (我来办)
    assert world.get(no, "handler")["department"] == "城市管理局"


# --- respond, note ------------------------------------------------------------------------------


def test_respond_records_first_contact_and_stops_the_respond_clock(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    assert fire(world, no, "respond", "handler", note="").status_code == 422

    clock.set(MON + timedelta(hours=3))
    case = world.act(no, "respond", "handler", note="已电话联系诉求人，约定明日现场查看")
    assert case["state"] == "handling"
    assert case["state_label"] == "办理中"
    assert ts(case["responded_at"]) == MON + timedelta(hours=3)
    respond = clock_of(case, "respond")
    assert respond["status"] == "met"
    assert ts(respond["stopped_at"]) == MON + timedelta(hours=3)
    assert clock_of(case, "resolve")["status"] == "running"


def test_respond_after_the_due_time_is_met_late(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    clock.set(end_of_working_days(MON.date(), 1) + timedelta(hours=9))
    assert clock_of(world.get(no, "handler"), "respond")["status"] == "overdue"
    case = world.act(no, "respond", "handler", note="联系上了")
    assert clock_of(case, "respond")["status"] == "met_late"


def test_note_is_recorded_without_changing_state(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    assert fire(world, no, "note", "handler", note="还没签收").status_code == 409
    world.act(no, "accept", "handler")
    case = world.act(no, "note", "handler", note="已安排人员")
    assert case["state"] == "accepted"
    world.act(no, "respond", "handler", note="已联系")
    case = world.act(no, "note", "head", note="现场查看，需更换灯杆")
    assert case["state"] == "handling"
    world.act(no, "suspend", "handler", reason="等待配件")
    case = world.act(no, "note", "handler", note="配件已订购")
    assert case["state"] == "suspended"
    notes = [e for e in case["timeline"] if e["action"] == "note"]
    assert [e["payload"]["note"] for e in notes] == ["已安排人员", "现场查看，需更换灯杆", "配件已订购"]
    assert all(e["from_state"] == e["to_state"] for e in notes)
    assert fire(world, no, "note", "handler").status_code == 422
    assert fire(world, no, "note", "leader", note="看看").status_code == 403


# --- extensions ---------------------------------------------------------------------------------


def test_approved_extension_moves_the_resolve_due_time_by_working_days(world, clock):
    clock.set(MON)
    no = handling_case(world)
    base = end_of_working_days(MON.date(), 15)
    assert due(world.get(no, "handler"), "resolve") == base

    clock.set(MON + timedelta(days=2))
    asked = world.act(no, "request_extension", "handler", days=3, reason="需协调供电公司")
    assert asked["pending_extension_days"] == 3
    assert asked["pending_extension_reason"] == "需协调供电公司"
    assert due(asked, "resolve") == base  # nothing moves before approval
    assert {"approve_extension", "reject_extension"} <= actions(world.get(no, "supervisor"))
    assert "request_extension" not in actions(world.get(no, "handler"))

    approved = world.act(no, "approve_extension", "supervisor", note="同意")
    resolve = clock_of(approved, "resolve")
    assert ts(resolve["due_at"]) == end_of_working_days(MON.date(), 18)
    assert ts(resolve["base_due_at"]) == base
    assert resolve["extended_days"] == 3
    assert approved["pending_extension_days"] is None
    assert approved["state"] == "handling"

    world.act(no, "request_extension", "handler", days=2, reason="材料未到")
    again = world.act(no, "approve_extension", "supervisor")
    assert clock_of(again, "resolve")["extended_days"] == 5
    assert due(again, "resolve") == end_of_working_days(MON.date(), 20)


def test_extension_across_national_day_counts_the_make_up_saturday(world, clock):
    clock.set(sh(2025, 9, 29))
    no = handling_case(world)
    base = due(world.get(no, "handler"), "resolve")
    assert base == end_of_working_days(date(2025, 9, 29), 15)
    world.act(no, "request_extension", "handler", days=1, reason="节后协调")
    approved = world.act(no, "approve_extension", "supervisor")
    assert due(approved, "resolve") == end_of_working_days(date(2025, 9, 29), 16)


def test_rejected_extension_leaves_the_due_time(world, clock):
    clock.set(MON)
    no = handling_case(world)
    base = due(world.get(no, "handler"), "resolve")
    world.act(no, "request_extension", "handler", days=5, reason="需协调")
    assert fire(world, no, "reject_extension", "supervisor").status_code == 422  # a reason is required
    assert fire(world, no, "reject_extension", "handler", note="不行").status_code == 403
    rejected = world.act(no, "reject_extension", "supervisor", note="时间充足，不予延期")
    assert due(rejected, "resolve") == base
    assert clock_of(rejected, "resolve")["extended_days"] == 0
    assert rejected["pending_extension_days"] is None
    assert "approve_extension" not in actions(world.get(no, "supervisor"))
    refused = fire(world, no, "approve_extension", "supervisor")
    assert refused.status_code == 409
    assert "没有待审批的延期申请" in refused.json()["message"]


def test_only_one_pending_extension_at_a_time(world, clock):
    clock.set(MON)
    no = handling_case(world)
    world.act(no, "request_extension", "handler", days=2, reason="需协调")
    refused = fire(world, no, "request_extension", "head", days=2, reason="再申请")
    assert refused.status_code == 409
    assert "已有待审批的延期申请" in refused.json()["message"]


def test_extensions_total_at_most_fifteen_working_days(world, clock):
    clock.set(MON)
    no = handling_case(world)
    too_many = fire(world, no, "request_extension", "handler", days=16, reason="太久")
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "days"
    assert fire(world, no, "request_extension", "handler", days="3", reason="x").status_code == 422

    world.act(no, "request_extension", "handler", days=10, reason="需协调")
    world.act(no, "approve_extension", "supervisor")
    refused = fire(world, no, "request_extension", "handler", days=6, reason="还需要")
    assert refused.status_code == 409
    assert "延期合计不能超过15天，已延期10天" in refused.json()["message"]
    assert world.get(no, "handler")["pending_extension_days"] is None

    world.act(no, "request_extension", "handler", days=5, reason="最后一次")
    full = world.act(no, "approve_extension", "supervisor")
    assert clock_of(full, "resolve")["extended_days"] == 15
    assert due(full, "resolve") == end_of_working_days(MON.date(), 30)
    assert fire(world, no, "request_extension", "handler", days=1, reason="再延").status_code == 409


def test_extension_after_the_due_time_is_refused(world, clock):
    clock.set(MON)
    no = handling_case(world)
    clock.set(end_of_working_days(MON.date(), 15) + timedelta(minutes=1))
    case = world.get(no, "handler")
    assert clock_of(case, "resolve")["status"] == "overdue"
    assert "request_extension" not in actions(case)
    refused = fire(world, no, "request_extension", "handler", days=2, reason="来不及了")
    assert refused.status_code == 409
    assert "已超过办结时限" in refused.json()["message"]


# --- suspend, resume ----------------------------------------------------------------------------


def test_suspend_pauses_the_resolve_clock_and_resume_pushes_the_due_time_back(world, clock):
    clock.set(MON)
    no = handling_case(world)
    base = end_of_working_days(MON.date(), 15)

    assert fire(world, no, "suspend", "handler").status_code == 422
    suspended = world.act(no, "suspend", "handler", reason="等待诉求人补充材料")
    assert suspended["state"] == "suspended"
    assert suspended["state_label"] == "已中止"
    resolve = clock_of(suspended, "resolve")
    assert resolve["status"] == "paused"
    assert ts(resolve["paused_at"]) == MON
    assert resolve["remaining_seconds"] == pytest.approx(14 * 3600 + 15 * 86400)
    assert actions(world.get(no, "handler")) == {"note", "resume", "assign"}

    # Two working days later the clock still shows paused and is not overdue.
    clock.set(MON + timedelta(days=2))
    assert clock_of(world.get(no, "handler"), "resolve")["status"] == "paused"
    resumed = world.act(no, "resume", "handler", note="材料已补齐")
    assert resumed["state"] == "handling"
    resolve = clock_of(resumed, "resolve")
    assert resolve["status"] == "running"
    assert resolve["paused_at"] is None
    assert ts(resolve["due_at"]) == base + (end_of_working_days(MON.date(), 17) - end_of_working_days(MON.date(), 15))
    assert ts(resolve["due_at"]) == end_of_working_days(MON.date(), 17)


def test_a_suspension_over_a_weekend_costs_only_its_working_time(world, clock):
    friday = sh(2025, 11, 7)
    clock.set(friday)
    no = handling_case(world)
    base = due(world.get(no, "handler"), "resolve")
    assert base == end_of_working_days(friday.date(), 15)
    world.act(no, "suspend", "head", reason="等待材料")
    clock.set(sh(2025, 11, 10))  # Monday 10:00: Friday 10:00-24:00 and Monday 00:00-10:00 = 1 working day
    resumed = world.act(no, "resume", "supervisor")
    assert due(resumed, "resolve") == end_of_working_days(friday.date(), 16)


def test_resume_only_from_suspended(world, clock):
    clock.set(MON)
    no = handling_case(world)
    refused = fire(world, no, "resume", "handler")
    assert refused.status_code == 409
    assert refused.json()["state"] == "handling"


def test_extension_approved_while_suspended_survives_resume(world, clock):
    clock.set(MON)
    no = handling_case(world)
    world.act(no, "request_extension", "handler", days=3, reason="需协调")
    world.act(no, "suspend", "handler", reason="等待材料")
    approved = world.act(no, "approve_extension", "supervisor")
    assert clock_of(approved, "resolve")["extended_days"] == 3
    resumed = world.act(no, "resume", "handler")  # resumed at once: no time paused
    assert due(resumed, "resolve") == end_of_working_days(MON.date(), 18)


# --- resolve, callback, reopen, close -----------------------------------------------------------


def test_resolve_records_the_outcome_and_starts_the_callback_clock(world, clock):
    clock.set(MON)
    no = handling_case(world)
    bad = fire(world, no, "resolve", "handler", outcome="done", reply="好了")
    assert bad.status_code == 422
    error = bad.json()["errors"][0]
    assert error["field"] == "outcome"
    assert "solved (Solved)" in error["message_en"] and "已解决" in error["message"]
    missing = fire(world, no, "resolve", "handler")
    assert {e["field"] for e in missing.json()["errors"]} == {"outcome", "reply"}

    clock.set(MON + timedelta(days=1))
    case = world.act(no, "resolve", "handler", outcome="已解决", reply="路灯已更换")  # the Chinese label works
    assert case["state"] == "resolved"
    assert case["outcome"] == "solved"
    assert case["reply"] == "路灯已更换"
    assert ts(case["resolved_at"]) == MON + timedelta(days=1)
    assert clock_of(case, "resolve")["status"] == "met"
    callback = clock_of(case, "callback")
    assert callback["status"] == "running"
    assert ts(callback["due_at"]) == end_of_working_days(MON.date() + timedelta(days=1), 2)
    assert actions(world.get(no, "handler")) == set()
    assert actions(world.get(no, "dispatcher")) == {"callback"}


def test_a_reached_callback_needs_solved_and_satisfaction(world, clock):
    clock.set(MON)
    no = resolved_case(world)
    incomplete = fire(world, no, "callback", "dispatcher", reached=True)
    assert incomplete.status_code == 422
    assert {e["field"] for e in incomplete.json()["errors"]} == {"solved", "satisfaction"}
    messages = {e["field"]: e["message"] for e in incomplete.json()["errors"]}
    assert messages["satisfaction"] == "满意度 为必填项"
    assert fire(world, no, "callback", "dispatcher", reached="yes").status_code == 422
    assert fire(world, no, "callback", "handler", reached=False).status_code == 403

    case = world.act(no, "callback", "intake", reached=True, solved=True, satisfaction="基本满意", note="回访满意")
    assert case["state"] == "resolved"
    assert case["callback_reached"] is True
    assert case["callback_solved"] is True
    assert case["satisfaction"] == "basically_satisfied"
    assert clock_of(case, "callback")["status"] == "met"
    assert actions(world.get(no, "dispatcher")) == {"callback", "close"}


def test_close_refused_after_an_unreached_callback(world, clock):
    clock.set(MON)
    no = resolved_case(world)
    refused = fire(world, no, "close", "dispatcher")
    assert refused.status_code == 409

    case = world.act(no, "callback", "dispatcher", reached=False, note="电话无人接听")
    assert case["callback_reached"] is False
    assert case["callback_solved"] is None
    assert case["satisfaction"] is None
    assert "close" not in actions(case)
    refused = fire(world, no, "close", "dispatcher")
    assert refused.status_code == 409
    body = refused.json()
    assert "归档前须完成回访并联系到诉求人" in body["message"]
    assert body["state"] == "resolved"
    assert body["allowed_actions"] == ["callback"]
    assert fire(world, no, "reopen", "dispatcher", reason="联系不上").status_code == 409

    world.act(no, "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    clock.set(MON + timedelta(days=3))
    closed = world.act(no, "close", "supervisor", note="办结归档")
    assert closed["state"] == "closed"
    assert closed["state_label"] == "已归档"
    assert ts(closed["closed_at"]) == MON + timedelta(days=3)
    assert closed["next_due_at"] is None
    assert all(c["stopped_at"] is not None for c in closed["clocks"])
    assert closed["available_actions"] == []
    assert timeline(closed) == [
        "intake",
        "dispatch",
        "accept",
        "respond",
        "resolve",
        "callback",
        "callback",
        "close",
    ]
    assert fire(world, no, "note", "handler", note="x").status_code == 409


def test_reopen_only_after_an_unsatisfied_callback_and_it_restarts_the_resolve_clock(world, clock):
    clock.set(MON)
    no = resolved_case(world)
    assert fire(world, no, "reopen", "dispatcher", reason="重办").status_code == 409  # no callback yet
    world.act(no, "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    satisfied = fire(world, no, "reopen", "dispatcher", reason="重办")
    assert satisfied.status_code == 409
    assert "只有回访不满意或未解决的件才能重办" in satisfied.json()["message"]

    world.act(no, "callback", "dispatcher", reached=True, solved=False, satisfaction="unsatisfied")
    assert "reopen" in actions(world.get(no, "dispatcher"))
    assert fire(world, no, "reopen", "handler", reason="重办").status_code == 403
    assert fire(world, no, "reopen", "dispatcher").status_code == 422

    reopen_at = sh(2025, 11, 6, 15)
    clock.set(reopen_at)
    case = world.act(no, "reopen", "dispatcher", reason="诉求人反映路灯仍不亮")
    assert case["state"] == "handling"
    assert ts(case["reopened_at"]) == reopen_at
    assert case["resolved_at"] is None
    assert case["outcome"] is None
    resolve = clock_of(case, "resolve")
    assert resolve["status"] == "running"
    assert resolve["stopped_at"] is None
    assert ts(resolve["started_at"]) == reopen_at
    assert ts(resolve["due_at"]) == end_of_working_days(reopen_at.date(), 15)
    assert resolve["extended_days"] == 0

    again = world.act(no, "resolve", "handler", outcome="solved", reply="已更换灯杆")
    assert again["callback_reached"] is None  # the new resolution awaits a new callback
    assert clock_of(again, "callback")["status"] == "running"


def test_reopen_when_not_solved_even_if_basically_satisfied(world, clock):
    clock.set(MON)
    no = resolved_case(world)
    world.act(no, "callback", "supervisor", reached=True, solved=False, satisfaction="basically_satisfied")
    assert world.act(no, "reopen", "supervisor", reason="问题未解决")["state"] == "handling"


def test_resolve_clears_a_pending_extension_request(world, clock):
    clock.set(MON)
    no = handling_case(world)
    world.act(no, "request_extension", "handler", days=5, reason="需协调")
    resolved = world.act(no, "resolve", "handler", outcome="solved", reply="已修复")
    world.act(no, "callback", "dispatcher", reached=True, solved=False, satisfaction="unsatisfied")
    reopened = world.act(no, "reopen", "dispatcher", reason="未解决")
    assert resolved["pending_extension_days"] is None
    assert reopened["pending_extension_days"] is None
    assert "approve_extension" not in {a["action"] for a in world.get(no, "supervisor")["available_actions"]}


# --- urge, supervise, merge ---------------------------------------------------------------------


def test_urge_counts(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    assert fire(world, no, "urge", "supervisor").status_code == 409  # not dispatched yet
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    assert world.act(no, "urge", "supervisor", note="请加快")["urge_count"] == 1
    case = world.act(no, "urge", "dispatcher")
    assert case["urge_count"] == 2
    assert case["state"] == "dispatched"
    assert fire(world, no, "urge", "handler").status_code == 403
    assert timeline(case).count("urge") == 2


def test_supervise_marks_the_case(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    assert world.get(no, "dispatcher")["supervised"] is False
    assert fire(world, no, "supervise", "supervisor").status_code == 422
    forbidden = fire(world, no, "supervise", "dispatcher", note="督办")
    assert forbidden.status_code == 403
    assert "Supervisor" in forbidden.json()["message_en"] and forbidden.json()["allowed"] == ["supervisor"]
    case = world.act(no, "supervise", "supervisor", note="列为重点督办件")
    assert case["supervised"] is True
    assert case["state"] == "received"


def test_inspection_referrals_are_supervised_from_intake(world, clock):
    clock.set(MON)
    case = world.intake(channel="inspection", meeting=None)
    assert case["supervised"] is True


def test_merge_into_another_case(world, clock):
    clock.set(MON)
    first = world.intake()["case_no"]
    second = world.intake(petitioner={"name": "李四", "phone": "13900001111"})["case_no"]
    third = world.intake(title="另一件事")["case_no"]

    itself = fire(world, second, "merge", "intake", into=second)
    assert itself.status_code == 409
    assert "不能合并到自身" in itself.json()["message"]
    unknown = fire(world, second, "merge", "intake", into="GX-2025-999999")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "into"

    merged = world.act(second, "merge", "intake", into=first)
    assert merged["state"] == "merged"
    assert merged["state_label"] == "已合并"
    assert merged["duplicate_of"] == first
    assert merged["available_actions"] == []
    assert merged["next_due_at"] is None
    assert all(c["stopped_at"] is not None for c in merged["clocks"])
    assert world.get(first, "dispatcher")["state"] == "received"

    into_merged = fire(world, third, "merge", "dispatcher", into=second)
    assert into_merged.status_code == 409
    assert "本身已被合并" in into_merged.json()["message"]
    assert fire(world, third, "merge", "handler", into=first).status_code == 404  # not their case

    world.act(first, "dispatch", "dispatcher", department_id="CGJ")
    assert fire(world, first, "merge", "dispatcher", into=third).status_code == 409  # dispatched: too late


def test_answer_on_spot_resolves_at_intake(world, clock):
    clock.set(MON)
    no = world.intake(case_type="consult", title="公积金提取需要什么材料")["case_no"]
    assert fire(world, no, "answer_on_spot", "intake").status_code == 422
    clock.set(MON + timedelta(minutes=5))
    case = world.act(no, "answer_on_spot", "intake", reply="携带身份证和购房合同到服务大厅办理")
    assert case["state"] == "resolved"
    assert case["outcome"] == "answered_on_spot"
    assert ts(case["responded_at"]) == ts(case["resolved_at"]) == MON + timedelta(minutes=5)
    assert clock_of(case, "respond")["status"] == "met"
    assert clock_of(case, "resolve")["status"] == "met"
    assert clock_of(case, "callback")["status"] == "running"
    # No callback is needed to close an on-the-spot answer.
    closed = world.act(no, "close", "dispatcher")
    assert closed["state"] == "closed"


def test_answer_on_spot_only_at_intake(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    refused = fire(world, no, "answer_on_spot", "intake", reply="答复")
    assert refused.status_code == 409
    assert refused.json()["state"] == "dispatched"


def test_unknown_action_is_404_with_the_workflow_actions(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    response = fire(world, no, "teleport", "dispatcher")
    assert response.status_code == 404
    assert "dispatch" in response.json()["actions"]


def test_unknown_field_of_an_action_is_rejected(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    response = fire(world, no, "dispatch", "dispatcher", department_id="CGJ", priority="high")
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "priority"
    assert "department_id, assisting_department_ids, note" in error["message_en"]
    assert world.get(no, "dispatcher")["state"] == "received"


def test_every_action_bumps_the_version(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    accepted = world.act(no, "accept", "handler")
    noted = world.act(no, "note", "head", note="单位负责人批示：尽快处理")
    assert noted["version"] == accepted["version"] + 1
    stale = fire(world, no, "respond", "handler", note="已联系", version=accepted["version"])
    assert stale.status_code == 409


# --- petition workflow (信访) -------------------------------------------------------------------


def petition(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "letter",
        "case_type": "petition",
        "meeting": None,
        "title": "反映征地补偿款未发放",
        "description": "2024年征地补偿款至今未发放到位",
    }
    body.update(overrides)
    return world.intake(**body)


def test_petition_acceptance_clock_is_fifteen_calendar_days(world, clock):
    received = sh(2025, 9, 29)  # National Day holidays count: these are calendar days
    clock.set(received)
    case = petition(world)
    assert case["workflow"] == "petition"
    assert case["state_label"] == "待受理"
    acceptance = clock_of(case, "acceptance")
    assert acceptance["limit"] == "15 days"
    assert ts(acceptance["due_at"]) == end_of_days(received.date(), 15) == sh(2025, 10, 15, 0)
    assert {c["name"] for c in case["clocks"]} == {"acceptance"}
    assert actions(world.get(case["case_no"], "dispatcher")) == {"accept_petition", "decline_petition", "merge"}
    # Before acceptance a petition is accepted (or declined), not dispatched; dispatch is for re-routing.
    refused = fire(world, case["case_no"], "dispatch", "dispatcher", department_id="CGJ")
    assert refused.status_code == 409
    assert set(refused.json()["allowed_actions"]) == {"accept_petition", "decline_petition", "merge"}
    # The standard workflow's other actions do not exist here.
    assert fire(world, case["case_no"], "publish", "dispatcher").status_code == 404


def test_accept_petition_within_fifteen_days_starts_the_sixty_day_clock(world, clock):
    clock.set(sh(2025, 9, 29))
    no = petition(world)["case_no"]
    missing = fire(world, no, "accept_petition", "dispatcher", department_id="CGJ")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "notice"

    accepted_at = sh(2025, 10, 14, 16)  # the last of the fifteen days
    clock.set(accepted_at)
    case = world.act(no, "accept_petition", "dispatcher", department_id="CGJ", notice="已受理，转城市管理局办理")
    assert case["state"] == "dispatched"
    assert case["department"] == "城市管理局"
    assert clock_of(case, "acceptance")["status"] == "met"
    resolve = clock_of(case, "resolve")
    assert resolve["limit"] == "60 days"
    assert ts(resolve["due_at"]) == end_of_days(accepted_at.date(), 60)
    assert ts(clock_of(case, "accept")["due_at"]) == end_of_working_days(accepted_at.date(), 1)


def test_accept_petition_after_fifteen_days_is_late(world, clock):
    clock.set(sh(2025, 9, 29))
    no = petition(world)["case_no"]
    clock.set(sh(2025, 10, 15, 0, 1))
    assert clock_of(world.get(no, "dispatcher"), "acceptance")["status"] == "overdue"
    case = world.act(no, "accept_petition", "dispatcher", department_id="CGJ", notice="受理")
    assert clock_of(case, "acceptance")["status"] == "met_late"


def test_decline_petition_is_final(world, clock):
    clock.set(sh(2025, 9, 29))
    no = petition(world)["case_no"]
    assert fire(world, no, "decline_petition", "dispatcher").status_code == 422
    assert fire(world, no, "decline_petition", "intake", notice="不予受理").status_code == 403
    clock.set(sh(2025, 10, 9))
    case = world.act(no, "decline_petition", "supervisor", notice="属于诉讼途径解决的事项，请依法向法院起诉")
    assert case["state"] == "not_accepted"
    assert case["state_label"] == "不予受理"
    assert ts(case["closed_at"]) == sh(2025, 10, 9)
    assert clock_of(case, "acceptance")["status"] == "met"
    assert case["available_actions"] == []


def _petition_resolved(world: World, clock: Any, at: datetime) -> str:
    clock.set(at)
    no = petition(world)["case_no"]
    world.act(no, "accept_petition", "dispatcher", department_id="CGJ", notice="已受理")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已约谈信访人")
    case = world.act(no, "resolve", "handler", outcome="explained", reply="补偿款将于本月底前发放")
    assert case["state"] == "resolved"
    assert case["state_label"] == "已出具处理意见"
    assert clock_of(case, "resolve")["status"] == "met"
    return no


def test_petition_review_and_re_review_close_the_matter(world, clock):
    resolved_at = sh(2025, 11, 3)
    no = _petition_resolved(world, clock, resolved_at)

    clock.set(resolved_at + timedelta(days=29))
    asked = world.act(no, "request_review", "intake", reason="对处理意见不服")
    assert asked["state"] == "review_requested"
    review = clock_of(asked, "review")
    assert ts(review["due_at"]) == end_of_days((resolved_at + timedelta(days=29)).date(), 30)
    assert fire(world, no, "answer_review", "dispatcher", reply="x").status_code == 403
    noted = world.act(no, "note", "supervisor", note="调取原始材料")
    assert noted["state"] == "review_requested"

    clock.set(resolved_at + timedelta(days=40))
    reviewed = world.act(no, "answer_review", "supervisor", reply="维持原处理意见")
    assert reviewed["state"] == "reviewed"
    assert clock_of(reviewed, "review")["status"] == "met"

    clock.set(resolved_at + timedelta(days=60))
    world.act(no, "request_re_review", "dispatcher", reason="仍不服")
    clock.set(resolved_at + timedelta(days=70))
    final = world.act(no, "answer_re_review", "supervisor", reply="复核维持，信访终结")
    assert final["state"] == "closed"
    assert clock_of(final, "re_review")["status"] == "met"
    assert final["available_actions"] == []
    assert [a for a in timeline(final) if a not in ("note",)][-4:] == [
        "request_review",
        "answer_review",
        "request_re_review",
        "answer_re_review",
    ]

    public = world.client.get(f"{API}/public/cases/{world.get(no, 'intake')['query_code']}").json()
    replies = [r["reply"] for r in public["replies"]]
    assert replies[1:] == ["补偿款将于本月底前发放", "维持原处理意见", "复核维持，信访终结"]
    assert replies[0]  # the acceptance notice (受理告知) comes first


def test_petition_review_refused_after_thirty_days(world, clock):
    resolved_at = sh(2025, 11, 3)
    no = _petition_resolved(world, clock, resolved_at)
    clock.set(resolved_at + timedelta(days=31))
    assert "request_review" not in actions(world.get(no, "intake"))
    refused = fire(world, no, "request_review", "intake", reason="不服")
    assert refused.status_code == 409
    assert "30日内" in refused.json()["message"]
    assert world.get(no, "intake")["state"] == "resolved"


def test_petition_re_review_refused_after_thirty_days(world, clock):
    resolved_at = sh(2025, 11, 3)
    no = _petition_resolved(world, clock, resolved_at)
    world.act(no, "request_review", "intake", reason="不服")
    clock.set(resolved_at + timedelta(days=5))
    world.act(no, "answer_review", "supervisor", reply="维持")
    clock.set(resolved_at + timedelta(days=5 + 31))
    refused = fire(world, no, "request_re_review", "intake", reason="不服")
    assert refused.status_code == 409
    assert world.get(no, "intake")["state"] == "reviewed"
    # Without a review the matter ends with a callback and close.
    world.act(no, "callback", "dispatcher", reached=True, solved=False, satisfaction="unsatisfied")
    assert world.act(no, "close", "dispatcher")["state"] == "closed"


def test_petition_review_on_the_thirtieth_day_afternoon_is_allowed(world, clock):
    resolved_at = sh(2025, 11, 3, 10)
    no = _petition_resolved(world, clock, resolved_at)
    clock.set(sh(2025, 12, 3, 15))  # the 30th day after the opinion, before its end
    assert world.act(no, "request_review", "intake", reason="不服")["state"] == "review_requested"


def test_petition_extension_is_in_calendar_days_up_to_thirty(world, clock):
    clock.set(MON)
    no = petition(world)["case_no"]
    world.act(no, "accept_petition", "dispatcher", department_id="CGJ", notice="已受理")
    world.act(no, "accept", "handler")
    base = due(world.get(no, "handler"), "resolve")
    assert base == end_of_days(MON.date(), 60)
    too_long = fire(world, no, "request_extension", "handler", days=31, reason="复杂")
    assert too_long.status_code == 422
    world.act(no, "request_extension", "handler", days=30, reason="情况复杂，需延期并告知信访人")
    case = world.act(no, "approve_extension", "supervisor")
    assert due(case, "resolve") == base + timedelta(days=30)
    assert clock_of(case, "resolve")["extended_days"] == 30


# --- enterprise workflow and due dates ------------------------------------------------------------


def test_enterprise_cases_respond_in_one_hour_and_resolve_in_five_working_days(world, clock):
    received = sh(2025, 9, 29, 10, 20)
    clock.set(received)
    case = world.intake(
        as_user="liaison",
        channel="enterprise",
        meeting=None,
        enterprise="91420100MA4K00001U",
        case_type="help",
        title="企业用工招聘需要协调",
    )
    assert case["workflow"] == "enterprise"
    assert case["petitioner"]["kind"] == "enterprise"
    respond = clock_of(case, "respond")
    assert respond["limit"] == "1 hours"
    assert ts(respond["due_at"]) == received + timedelta(hours=1)
    resolve = clock_of(case, "resolve")
    assert resolve["limit"] == "5 working_days"
    expected = end_of_working_days(received.date(), 5)
    assert ts(resolve["due_at"]) == expected == sh(2025, 10, 14, 0)  # 9-30, 10-9, 10-10, 10-11 (补班), 10-13

    clock.set(received + timedelta(hours=1, minutes=1))
    assert clock_of(world.get(case["case_no"], "dispatcher"), "respond")["status"] == "overdue"


def test_due_dates_across_national_day_2025(world, clock):
    received = datetime(2025, 9, 30, 10, 0, tzinfo=sh(2025, 1, 1).tzinfo)
    clock.set(received)
    case = world.intake(case_type="help")

    respond = due(case, "respond")
    assert respond == sh(2025, 10, 10, 0)
    assert respond == datetime(2025, 10, 9, 16, 0, tzinfo=UTC)
    assert clock_of(case, "respond")["due_at"] in ("2025-10-09T16:00:00Z", "2025-10-09T16:00:00+00:00")

    # 15 working days after 9-30, counted independently: the National Day week is off, the
    # make-up Saturday 2025-10-11 is a working day.
    assert chinese_calendar.is_workday(date(2025, 10, 11))
    day, left = received.date(), 15
    while left:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            left -= 1
    expected = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=received.tzinfo)
    assert due(case, "resolve") == expected == sh(2025, 10, 29, 0)
    assert clock_of(case, "resolve")["base_due_at"] == clock_of(case, "resolve")["due_at"]
    assert ts(case["next_due_at"]) == respond


@pytest.mark.parametrize(
    ("urgency", "case_type", "respond_after", "resolve_after"),
    [
        ("emergency", "help", timedelta(hours=1), timedelta(hours=24)),
        ("urgent", "help", timedelta(hours=4), None),
        ("normal", "consult", None, None),
    ],
)
def test_limits_depend_on_urgency_and_type(world, clock, urgency, case_type, respond_after, resolve_after):
    clock.set(MON)
    case = world.intake(urgency=urgency, case_type=case_type)
    expected_respond = MON + respond_after if respond_after else end_of_working_days(MON.date(), 1)
    assert due(case, "respond") == expected_respond
    if resolve_after:
        expected_resolve = MON + resolve_after
    else:
        expected_resolve = end_of_working_days(MON.date(), 3 if case_type == "consult" else 15)
    assert due(case, "resolve") == expected_resolve


def test_emergency_accept_clock_is_thirty_minutes(world, clock):
    clock.set(MON)
    no = world.intake(urgency="emergency")["case_no"]
    case = world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    assert due(case, "accept") == MON + timedelta(minutes=30)
    clock.set(MON + timedelta(minutes=31))
    assert clock_of(world.get(no, "handler"), "accept")["status"] == "overdue"
