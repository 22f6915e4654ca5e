"""The key-case report through the JSON API (issue 12): every figure of November 2025 exact as of a moment inside the
month and as of a later one (a case marked key and one resolved after the first moment are not counted as of then;
a lead leader given later is not the group's as of then), and every figure's list holding exactly the cases or
nodes it counts. The same scenario serves the page and workbook tests (tests/reports/test_keycases_pages.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.api._support import API, sh
from tests.factories import World
from tests.reports.metrics_support import handling, resolve

NOVEMBER = {"month": "2025-11"}
# Inside November: after B's late resolve, before D is marked key, E resolved and C given its leader.
AS_OF = sh(2025, 11, 26, 18)
NOW = sh(2025, 12, 5)


@dataclass
class Scenario:
    a: str  # backlog, two nodes (one met, one late), resolved on time on 11-12: a backlog case cleared
    b: str  # group appeal, resolved late on 11-26
    c: str  # inspection referral of 11-05, one node late and open; its leader given on 11-27 (after AS_OF)
    d: str  # marked key on 11-27 (after AS_OF)
    e: str  # leader's instruction, resolved (late) on 11-27 (after AS_OF)


def build(world: World, clock: Any) -> Scenario:
    """The cases of November 2025, each moved through the real API at its moment; the clock ends at NOW."""
    clock.set(sh(2025, 11, 3))
    a, b, d, e = (handling(world) for _ in range(4))
    world.act(a, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(b, "mark_key", "supervisor", reason="group_appeal", lead_leader_id="leader")
    world.act(e, "mark_key", "leader", reason="leader_instruction", lead_leader_id="leader")
    world.act(
        a, "plan_nodes", "handler", nodes=[{"name": "约谈", "working_days": 2}, {"name": "整改", "working_days": 5}]
    )
    clock.set(sh(2025, 11, 4))
    world.act(a, "complete_node", "handler", node=1, note="已约谈")  # due end of 11-05: met
    clock.set(sh(2025, 11, 5))
    c = world.intake(channel="inspection", meeting=None)["case_no"]
    world.act(c, "dispatch", "dispatcher", department_id="CGJ")
    world.act(c, "accept", "handler")
    world.act(c, "plan_nodes", "handler", nodes=[{"name": "现场核查", "working_days": 3}])  # due end of 11-10
    clock.set(sh(2025, 11, 12))
    world.act(a, "complete_node", "handler", node=2, note="已整改")  # due end of 11-10: late
    resolve(world, a)  # resolve due end of 11-24: on time
    clock.set(sh(2025, 11, 26, 10))
    resolve(world, b)  # late
    clock.set(sh(2025, 11, 27))
    world.act(d, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    resolve(world, e)  # late
    world.act(c, "set_lead_leader", "supervisor", lead_leader_id="leader")
    clock.set(NOW)
    return Scenario(a, b, c, d, e)


def report(world: World, as_user: str = "leader", expect: int = 200, **params: Any) -> Any:
    response = world.client.get(f"{API}/reports/keycases", params=params, headers=world.headers(as_user))
    assert response.status_code == expect, response.text
    return response.json() if expect == 200 else response


def items(world: World, figure: str, part: str = "numerator", as_user: str = "leader", **params: Any) -> Any:
    response = world.client.get(
        f"{API}/reports/keycases/{figure}/items", params={"part": part, **params}, headers=world.headers(as_user)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["items"])
    return body


def values(doc: dict[str, Any]) -> dict[str, Any]:
    """{figure: value} (a rate as (numerator, denominator))."""
    return {
        key: (m["numerator"], m["denominator"]) if doc["formulas"][key]["kind"] == "rate" else m["value"]
        for key, m in doc["metrics"].items()
    }


# The figures of November as of AS_OF, and the cases (or nodes, as "case_no#seq") behind each part.
EXPECTED_AS_OF = {
    "key_received": 4,
    "key_resolved": 2,
    "key_on_time_resolution_rate": (1, 2),
    "backlog_cleared": 1,
    "node_on_time_rate": (1, 3),
    "nodes_missed": 2,
    "key_open": 2,
    "late_nodes": 1,
}


def expected_lists(s: Scenario) -> dict[tuple[str, str], list[str]]:
    return {
        ("key_received", "numerator"): [s.a, s.b, s.e, s.c],
        ("key_resolved", "numerator"): [s.a, s.b],
        ("key_on_time_resolution_rate", "numerator"): [s.a],
        ("key_on_time_resolution_rate", "denominator"): [s.a, s.b],
        ("backlog_cleared", "numerator"): [s.a],
        ("node_on_time_rate", "numerator"): [f"{s.a}#1"],
        ("node_on_time_rate", "denominator"): [f"{s.a}#1", f"{s.a}#2", f"{s.c}#1"],
        ("nodes_missed", "numerator"): [f"{s.a}#2", f"{s.c}#1"],
        ("key_open", "numerator"): [s.e, s.c],
        ("late_nodes", "numerator"): [f"{s.c}#1"],
    }


def listed(body: dict[str, Any]) -> list[str]:
    if body["unit"] == "node":
        return [f"{i['case_no']}#{i['seq']}" for i in body["items"]]
    return [i["case_no"] for i in body["items"]]


def test_every_figure_and_its_list_as_of_a_moment_and_later(world, clock):
    s = build(world, clock)
    then = {**NOVEMBER, "as_of": AS_OF.isoformat()}
    doc = report(world, **then, group_by="lead_leader,reason")
    assert values(doc) == EXPECTED_AS_OF
    assert doc["metrics"]["key_on_time_resolution_rate"]["value"] == 0.5
    assert doc["period"]["from"] == "2025-11-01" and doc["period"]["as_of"].startswith("2025-11-26T18:00:00")
    for (figure, part), cases in expected_lists(s).items():
        body = items(world, figure, part, **then)
        assert listed(body) == cases, (figure, part)
        m = doc["metrics"][figure]
        assert body["count"] == (m[part] if "numerator" in m and m["numerator"] is not None else m["value"])
    # A late node's list says when it was due and that it is not done as of then.
    late = items(world, "late_nodes", **then)["items"][0]
    assert late["node_name"] == "现场核查" and late["completed_at"] is None and late["reason"] == "inspection"
    # A completed node completed after the moment would show no completion; A's first node shows its own.
    met = items(world, "node_on_time_rate", **then)["items"][0]
    assert met["completed_at"].startswith("2025-11-04T02:00")

    # Groups as of then: C had no leader yet; every reason its own row.
    by_leader = {
        row["key"]: values({"metrics": row["metrics"], "formulas": doc["formulas"]})
        for row in doc["groups"]["lead_leader"]
    }
    assert set(by_leader) == {by_leader_key(world), None}
    assert by_leader[None]["key_received"] == 1 and by_leader[None]["late_nodes"] == 1
    assert by_leader[by_leader_key(world)]["key_received"] == 3
    reasons = {row["key"]: row["metrics"]["key_received"]["value"] for row in doc["groups"]["reason"]}
    assert reasons == {"backlog": 1, "group_appeal": 1, "inspection": 1, "leader_instruction": 1}
    # The "no leader" group's list is the leader=none filter's.
    assert listed(items(world, "key_received", **then, leader="none")) == [s.c]

    # As of now, the same month: D (marked key on 11-27) was received, E (resolved on 11-27) resolved, late.
    later = report(world, **NOVEMBER, as_of=NOW.isoformat(), group_by="lead_leader")
    assert values(later) == {
        **EXPECTED_AS_OF,
        "key_received": 5,
        "key_resolved": 3,
        "key_on_time_resolution_rate": (1, 3),
        "key_open": 2,
    }
    assert listed(items(world, "key_open", **NOVEMBER, as_of=NOW.isoformat())) == [s.c, s.d]
    assert [row["key"] for row in later["groups"]["lead_leader"]] == [by_leader_key(world)]
    # December as of now: nothing received or resolved in it; the snapshot figures are the moment's.
    december = values(report(world, month="2025-12", as_of=NOW.isoformat()))
    assert december["key_received"] == 0 and december["key_resolved"] == 0
    assert december["key_on_time_resolution_rate"] == (0, 0) and december["node_on_time_rate"] == (0, 0)
    assert december["key_open"] == 2 and december["late_nodes"] == 1
    # A quarter and a year hold November.
    assert values(report(world, quarter="2025-Q4", as_of=AS_OF.isoformat()))["key_received"] == 4
    assert values(report(world, year="2025", as_of=AS_OF.isoformat()))["backlog_cleared"] == 1


def by_leader_key(world: World) -> int:
    listed_users = world.client.get(
        f"{API}/reports/keycases/key_received/items", params={**NOVEMBER}, headers=world.headers("leader")
    )
    return int(listed_users.json()["items"][0]["lead_leader"])


def test_filters_roles_and_bad_input(world, clock):
    s = build(world, clock)
    then = {**NOVEMBER, "as_of": AS_OF.isoformat()}
    assert values(report(world, **then, reason="backlog"))["key_received"] == 1
    assert listed(items(world, "key_resolved", **then, department="CGJ")) == [s.a, s.b]
    # Whoever reads the other reports reads this one; a department head their own department's key cases.
    for user in ("supervisor", "dispatcher", "admin"):
        assert values(report(world, user, **then)) == EXPECTED_AS_OF
    assert values(report(world, "head", **then))["key_received"] == 4  # every case here is at CGJ
    assert report(world, "head", expect=403, **then, department="JD1").status_code == 403
    for user in ("handler", "intake"):
        assert report(world, user, expect=403, **then).status_code == 403
    # Bad input: a clear bilingual field error, never a 500.
    cases = [
        ({"month": "2025-13"}, "month"),
        ({"quarter": "2025-Q5"}, "quarter"),
        ({"year": "20x5"}, "year"),
        ({"month": "2025-11", "year": "2025"}, "year"),
        ({"month": "2025-11", "as_of": "2999-01-01T00:00:00+08:00"}, "as_of"),
        ({"month": "2025-11", "reason": "whim"}, "reason"),
        ({"month": "2025-11", "leader": "nobody"}, "leader"),
        ({"month": "2025-11", "group_by": "channel"}, "group_by"),
        ({}, "from"),
    ]
    for params, field in cases:
        response = report(world, expect=422, **params)
        errors = response.json()["errors"]
        assert errors[0]["field"] == field, (params, errors)
        assert errors[0]["message"] and errors[0]["message_en"]
    response = world.client.get(
        f"{API}/reports/keycases/whatever/items", params=NOVEMBER, headers=world.headers("leader")
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "metric"
    response = world.client.get(
        f"{API}/reports/keycases/key_received/items",
        params={**NOVEMBER, "part": "denominator"},
        headers=world.headers("leader"),
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "part"


def test_a_node_due_on_the_last_day_of_a_month_counts_in_that_month_and_items_carry_the_case_times(world, clock):
    """Trial finding (T2 M2): a node due 30 Nov 24:00 is stored as 1 Dec 00:00 local; node due times are compared
    as (from, to], so it is November's node, not December's. Node items carry received_at and key_marked_at
    (minor 14)."""
    clock.set(sh(2025, 11, 24))
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "plan_nodes", "handler", nodes=[{"name": "月末核查", "due_date": "2025-11-30"}])
    clock.set(sh(2025, 11, 28))
    world.act(no, "complete_node", "handler", node=1, note="已核查")
    clock.set(NOW)
    november = values(report(world, **NOVEMBER))
    assert november["node_on_time_rate"] == (1, 1) and november["nodes_missed"] == 0
    assert values(report(world, month="2025-12"))["node_on_time_rate"] == (0, 0)
    # Days: [11-01, 12-01) holds it, [12-01, 12-08) does not.
    assert values(report(world, **{"from": "2025-11-01", "to": "2025-12-01"}))["node_on_time_rate"] == (1, 1)
    assert values(report(world, **{"from": "2025-12-01", "to": "2025-12-08"}))["node_on_time_rate"] == (0, 0)
    body = items(world, "node_on_time_rate", "denominator", **NOVEMBER)
    assert listed(body) == [f"{no}#1"]
    item = body["items"][0]
    assert item["due_at"].startswith("2025-11-30T16:00")  # 2025-12-01 00:00 in Shanghai
    assert item["received_at"] and item["key_marked_at"].startswith("2025-11-24T02:00")
    assert items(world, "node_on_time_rate", "denominator", month="2025-12")["items"] == []


def test_a_report_without_a_period_says_so_in_both_languages(world, clock):
    """Trial finding (T2 minor 4): no period is a 422 naming every kind of period, with an English message."""
    clock.set(NOW)
    body = report(world, expect=422).json()
    assert body["message_en"].isascii() and "quarter" in body["message_en"] and "year" in body["message_en"]
    assert "季度" in body["message"] and "年度" in body["message"]
    assert {e["field"] for e in body["errors"]} == {"from", "to"}
    assert all(e["message_en"].isascii() for e in body["errors"])
