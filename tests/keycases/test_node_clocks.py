"""A node is a clock of its own (issue 12): the sweeper urges it at its warning time and records it overdue like any
clock, its payload naming the node, so the outbox sends it; but no node changes a rate, a list's due time or light,
or the case's lateness: a case with a late node reads exactly like the same case without nodes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from grievance.cases.models import Case, CaseState
from grievance.db import transaction
from grievance.outbox.models import OutboxMessage
from grievance.supervision import AUTO_URGE, OVERDUE
from tests.api._support import API, end_of_working_days
from tests.reports.metrics_support import MON, NOVEMBER, counted, handling, metrics, resolve
from tests.supervision.helpers import case_row, clock_of, sweep, system_events

FACTS = [c for c in CaseState.model_fields if c not in ("id", "case_id", "valid_from", "valid_to")]


def _states(app: Any, case_no: str) -> list[dict[str, Any]]:
    """The facts of the case's CaseState rows (every fact a rate reads), oldest first, without ids; a row like the
    one before it is left out (the node actions write a row as every action does, with the same facts)."""
    with transaction(app.state.sessions) as session:
        case_id = session.exec(select(Case.id).where(Case.case_no == case_no)).one()
        rows = session.exec(
            select(CaseState).where(CaseState.case_id == case_id).order_by(col(CaseState.valid_from), col(CaseState.id))
        ).all()
        facts = [{k: getattr(r, k) for k in FACTS} for r in rows]
        return [f for i, f in enumerate(facts) if i == 0 or f != facts[i - 1]]


def _summary(world: Any, case_no: str) -> dict[str, Any]:
    items = world.client.get(f"{API}/cases", params={"q": case_no}, headers=world.headers("supervisor")).json()["items"]
    found = next(i for i in items if i["case_no"] == case_no) if items else None
    if found is None:  # the search index may not find a number: list all
        all_items = world.client.get(f"{API}/cases", params={"limit": 200}, headers=world.headers("supervisor"))
        found = next(i for i in all_items.json()["items"] if i["case_no"] == case_no)
    return {k: v for k, v in found.items() if k not in ("id", "case_no", "version")}


def test_a_late_node_changes_no_rate_no_list_and_no_case_fact(world, clock):
    clock.set(MON)
    plain = handling(world)
    keyed = handling(world)
    world.act(plain, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(keyed, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(keyed, "plan_nodes", "handler", nodes=[{"name": "现场核查", "working_days": 1}])
    node_due = end_of_working_days(MON.date(), 1)
    clock.set(node_due + timedelta(hours=30))  # the node is late; the case's own clocks are not
    assert world.get(keyed, "supervisor")["nodes"][0]["light"] == "overdue"
    assert _summary(world, keyed) == _summary(world, plain)
    assert case_row(world.app, keyed).next_due_at == case_row(world.app, plain).next_due_at
    assert metrics(world, **NOVEMBER)["overdue_count"] == {"value": 0}
    world.act(keyed, "complete_node", "handler", node=1, note="已核查（迟了）")
    for no in (plain, keyed):
        resolve(world, no)
    assert world.get(keyed, "supervisor")["nodes"][0]["light"] == "met_late"
    # Every fact a rate reads, row by row, is the same for both cases; the figures count both alike.
    assert _states(world.app, keyed) == _states(world.app, plain)
    figures = metrics(world, **NOVEMBER)
    assert figures["overdue_count"] == {"value": 0}
    assert figures["on_time_resolution_rate"]["numerator"] == 2
    assert counted(world, "on_time_resolution_rate", **NOVEMBER) == sorted([plain, keyed])
    assert _summary(world, keyed) == _summary(world, plain)


def test_the_sweeper_urges_a_node_at_its_warning_and_records_it_overdue_naming_the_node(world, app, clock):
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "plan_nodes", "handler", nodes=[{"name": "约谈企业", "working_days": 2}])
    node = clock_of(app, no, "node:1")
    urges_before = case_row(app, no).urge_count

    assert sweep(app, node.warn_at - timedelta(seconds=1)).urged == 0
    assert sweep(app, node.warn_at).urged == 1
    assert sweep(app, node.warn_at + timedelta(minutes=5)).urged == 0  # once per round
    assert sweep(app, node.due_at).overdue == 1
    events = [e for e in system_events(app, no) if e.payload.get("clock") == "node:1"]
    assert [e.action for e in events] == [AUTO_URGE, OVERDUE]
    for event in events:
        assert event.payload["node"] == 1 and event.payload["node_name"] == "约谈企业"
    assert case_row(app, no).urge_count == urges_before + 1  # an automatic urge counts like any
    with transaction(app.state.sessions) as session:
        messages = {m.event_id: m for m in session.exec(select(OutboxMessage)).all()}
    for event in events:
        body = messages[event.id].body
        assert body["event"] == event.action and body["input"]["node_name"] == "约谈企业"
    # The case's own clocks were not touched by the node's round.
    assert clock_of(app, no, "resolve").auto_urged_at is None


def test_a_completed_node_is_neither_urged_nor_recorded_overdue(world, app, clock):
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "plan_nodes", "handler", nodes=[{"name": "约谈企业", "working_days": 2}])
    world.act(no, "complete_node", "handler", node=1, note="已约谈")
    node = clock_of(app, no, "node:1")
    sweep(app, node.warn_at)
    sweep(app, node.due_at + timedelta(hours=1))
    assert [e for e in system_events(app, no) if e.payload.get("clock") == "node:1"] == []


def test_suspending_the_case_pauses_its_nodes(world, app, clock):
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "plan_nodes", "handler", nodes=[{"name": "约谈企业", "working_days": 2}])
    world.act(no, "suspend", "handler", reason="等待诉求人补充材料")
    assert clock_of(app, no, "node:1").paused_at is not None
    assert world.get(no, "handler")["nodes"][0]["light"] == "paused"
    world.act(no, "resume", "handler")
    assert clock_of(app, no, "node:1").paused_at is None
