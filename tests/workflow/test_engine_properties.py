"""Property tests of the workflow engine at service level (no HTTP).

Random sequences of actions, actors, inputs and time advances are fired at a fresh case; after every
step the event log, the case row and its SLA clocks must stay consistent, and a refused action must
leave no trace at all.
"""

from __future__ import annotations

import itertools
import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, seed, settings, target
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from sqlmodel import col, select

from grievance.cases.models import NO_DUE, Case, CaseClock, CaseEvent
from grievance.cases.schemas import CaseCreate
from grievance.cases.service import intake_case
from grievance.db import transaction
from grievance.errors import DomainError, InvalidInput
from grievance.glossary import LABELS
from grievance.users.service import create_user, get_user
from grievance.workflow.definition import FieldDef
from grievance.workflow.engine import fire
from tests.factories import World

BASE = datetime(2025, 9, 22, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai, a week before National Day
USERNAMES = ("intake", "dispatcher", "handler", "head", "other_handler", "supervisor", "leader", "admin", "liaison")
# Text without NUL (PostgreSQL text cannot hold it) and without lone surrogates (not encodable).
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=12)
OMIT = object()


# ---------------------------------------------------------------------------------------------------------------
# The world and snapshots of one case
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Env:
    app: Any
    world: World
    users: dict[str, dict[str, Any]]  # username -> {"id", "role"}
    target_no: str  # an open case that merges may point at

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    @property
    def sessions(self) -> Any:
        return self.app.state.sessions


def _intake(env: Env, now: datetime, **fields: Any) -> Case:
    body: dict[str, Any] = {"channel": "hotline", "case_type": "help", "title": "小区门口路灯不亮"}
    body.update(fields)
    with transaction(env.sessions) as session:
        actor = get_user(session, "intake")
        result = intake_case(session, env.runtime, case_in=CaseCreate.model_validate(body), actor=actor, now=now)
        return result.case


@pytest.fixture
def env(app, client) -> Env:  # type: ignore[no-untyped-def]
    world = World(app, client)
    with transaction(app.state.sessions) as session:
        users = {}
        for name in USERNAMES:
            user = get_user(session, name)
            users[name] = {"id": user.id, "role": user.role, "department_id": user.department_id}
        # Another leader, whom set_lead_leader can give a key case (the same leader again changes nothing: 409).
        create_user(session, username="leader2", role="leader", password=None)
    e = Env(app=app, world=world, users=users, target_no="")
    e.target_no = _intake(e, BASE, title="重复的诉求：路灯不亮").case_no
    return e


@dataclass
class Snapshot:
    case: dict[str, Any]
    events: list[dict[str, Any]]
    clocks: dict[str, dict[str, Any]]


def snapshot(env: Env, case_id: int) -> Snapshot:
    with transaction(env.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))).all()
        clocks = session.exec(select(CaseClock).where(CaseClock.case_id == case_id)).all()
        return Snapshot(
            case=case.model_dump(),
            events=[e.model_dump() for e in events],
            clocks={c.name: c.model_dump() for c in clocks},
        )


def check_consistent(env: Env, snap: Snapshot) -> None:
    """What must hold of a case at every moment."""
    case = snap.case
    workflow = env.runtime.workflows.get(case["workflow"])
    events = snap.events

    # The event log: ids increase, it starts with the intake, and each event starts where the last one ended.
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
    assert events[0]["action"] == "intake" and events[0]["from_state"] is None
    for previous, current in itertools.pairwise(events):
        assert current["from_state"] == previous["to_state"], (previous, current)
        assert current["at"] >= previous["at"]

    # The state is a state of the workflow, the one the last event entered.
    assert case["state"] in workflow.states
    assert case["state"] == events[-1]["to_state"]

    # A case's handler (承办人) is always someone of the case's department.
    if case["assignee_id"] is not None:
        staff = {info["id"]: info["department_id"] for info in env.users.values()}
        assert case["department_id"] is not None and staff[case["assignee_id"]] == case["department_id"], case

    # The clocks agree with the case and with the state. A key case's node clocks ("node:<seq>", issue 12) are
    # rows of the workflow's `per: node` clock and count in none of the case's columns.
    clocks = snap.clocks
    assert {name.split(":")[0] for name in clocks} <= set(workflow.clocks)
    # So are the assisting departments' part clocks ("part:<seq>", rows of the `per: part` clock).
    assert all(workflow.clocks[name.split(":")[0]].per in ("node", "part") for name in clocks if ":" in name)
    running = [c for n, c in clocks.items() if c["stopped_at"] is None and c["paused_at"] is None and ":" not in n]
    # Each clock is owned as the workflow file says; the case's columns follow the owners' clocks.
    for name, clock in clocks.items():
        assert clock["owner"] == workflow.clocks[name.split(":")[0]].owner
    department = [c for c in running if c["owner"] == "department"]
    centre = [c for c in running if c["owner"] == "centre"]
    assert case["next_due_at"] == min((c["due_at"] for c in department), default=NO_DUE)
    assert case["next_warn_at"] == min((c["warn_at"] for c in department), default=NO_DUE)
    assert case["centre_due_at"] == min((c["due_at"] for c in centre), default=NO_DUE)
    for clock in clocks.values():
        if clock["stopped_at"] is not None:
            assert clock["stopped_at"] >= clock["started_at"], clock
            assert clock["paused_at"] is None, clock
        assert (clock["paused_at"] is None) == (clock["remaining_seconds"] is None), clock
    if workflow.is_final(case["state"]):
        assert all(c["stopped_at"] is not None for c in clocks.values()), clocks
    suspended = case["state"] == "suspended"
    for name, clock in clocks.items():
        paused = clock["paused_at"] is not None
        if ":" in name:  # a node's clock pauses with the case's suspension, when it had time left
            assert not paused or (suspended and clock["paused_at"] < clock["due_at"]), (case["state"], clock)
        elif name != "resolve":
            assert not paused, (case["state"], clock)
        elif paused:
            assert suspended, (case["state"], clock)
            assert clock["paused_at"] < clock["due_at"], clock  # only a clock with time left is paused
        elif suspended:
            # A clock already past due when the case was suspended keeps running: that time was missed.
            suspended_at = [e["at"] for e in events if e["action"] == "suspend"][-1]
            assert clock["due_at"] <= suspended_at, (clock, suspended_at)


# ---------------------------------------------------------------------------------------------------------------
# Strategies: an action, an actor and an input that (mostly) fits the action's declared fields
# ---------------------------------------------------------------------------------------------------------------


def _mostly(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values nine times in ten; invalid ones (and leaving the field out) the rest."""
    return st.integers(0, 9).flatmap(lambda n: valid if n < 9 else st.one_of(invalid, st.just(OMIT)))


def field_values(field: FieldDef, own_case_no: str, target_no: str) -> st.SearchStrategy[Any]:
    if field.type == "text":
        too_long = "长" * (field.max_length + 1)
        return _mostly(TEXT, st.sampled_from(["", "   ", 5, too_long]))
    if field.type == "bool":
        return _mostly(st.booleans(), st.sampled_from(["yes", 1, None]))
    if field.type == "int":
        lo, hi = field.min or 0, field.max or 100
        return _mostly(st.integers(lo, hi), st.sampled_from([lo - 1, hi + 1, "3", True]))
    if field.type == "choice":
        assert field.choices is not None
        labels = LABELS[field.choices]
        return _mostly(st.sampled_from([*labels, *labels.values()]), st.just("bogus"))
    if field.type == "department":
        # Mostly the department whose staff are in the world, so the walk gets past the handler.
        return _mostly(st.sampled_from(["CGJ", "CGJ", "CGJ", "JD1", "QFJ"]), st.sampled_from(["NOPE", 99999, True]))
    if field.type == "departments":  # assisting departments (协办): the lead CGJ among them must be refused
        return _mostly(
            st.sampled_from([["JD1"], ["JD1", "QFJ"], ["QFJ"], ["CGJ"]]), st.sampled_from([["NOPE"], "x", [True]])
        )
    if field.type == "case":
        return _mostly(st.just(target_no), st.sampled_from([own_case_no, "GX-1999-000000"]))
    if field.type == "handler":
        # Mostly the CGJ staff; a handler of another department or the centre's dispatcher must be refused.
        people = st.sampled_from(["handler", "head", "handler", "other_handler", "dispatcher"])
        return _mostly(people, st.sampled_from(["nobody", 99999, True]))
    # Key cases (issue 12): a lead leader, the rows of a plan, a node by number, files by id.
    if field.type == "leader":
        return _mostly(st.just("leader"), st.sampled_from(["handler", "nobody", 99999, True]))
    if field.type == "nodes":
        row = st.fixed_dictionaries(
            {"name": TEXT.filter(str.strip), "working_days": st.integers(1, 20)},
            optional={"evidence_required": st.booleans(), "seq": st.integers(1, 3)},
        )
        return _mostly(st.lists(row, min_size=1, max_size=3), st.sampled_from([[], "x", [{"name": ""}]]))
    if field.type == "node":
        return _mostly(st.integers(1, 3), st.sampled_from([0, "x", True]))
    if field.type == "attachments":
        return st.sampled_from([OMIT, OMIT, [99999], "x"])
    raise AssertionError(field.type)


# Actions whose moment is short (a pending extension, a reached callback, a case in the pool, an assignee).
RARE = {
    "approve_extension",
    "reject_extension",
    "close",
    "claim",
    "unassign",
    "approve_node_change",
    "reject_node_change",
    "complete_node",
}


def _in_scope(env: Env, username: str, action: Any, department_id: int | None) -> bool:
    info = env.users[username]
    if info["role"] not in ("handler", "dept_head"):
        return True
    if action.scope == "part":  # an assisting department's part: mostly someone of another department
        return department_id != info["department_id"]
    if department_id is not None:
        return department_id == info["department_id"]
    return action.scope == "open"


@st.composite
def steps(
    draw: st.DrawFn, env: Env, workflow: Any, case: dict[str, Any], events: list[dict[str, Any]], own_case_no: str
) -> tuple[str, str, dict, float]:
    """Eight steps in ten an action the workflow allows now, by someone who may take it; the rest anything.

    Among the allowed actions, those this case has not taken yet and those that need a rare moment (a pending
    extension, a reached callback) weigh most, so that every action of the workflow fires within a bounded run;
    those that end the walk weigh least. The choice depends only on the case, so an example replays exactly."""
    names = list(workflow.actions)
    taken = {e["action"] for e in events}
    weighted = []
    for name, a in workflow.actions.items():
        if case["state"] in a.from_:
            ends = a.to is not None and workflow.is_final(a.to)
            weight = 12 if name in RARE or name not in taken else (1 if ends else 4)  # do not end the walk too soon
            weighted += [name] * weight
    if weighted and draw(st.integers(0, 9)) < 8:
        action = draw(st.sampled_from(weighted))
    else:
        action = draw(st.sampled_from(names))
    definition = workflow.actions[action]
    # Someone whose role may take the action and who can see the case: a handler or head of the case's
    # department (or any of them while it has none and the action is open to all), the others by role alone.
    allowed = [
        u
        for u, info in env.users.items()
        if info["role"] in definition.roles and _in_scope(env, u, definition, case["department_id"])
    ]
    if allowed and draw(st.integers(0, 9)) < 8:
        actor = draw(st.sampled_from(allowed))
    else:
        actor = draw(st.sampled_from(USERNAMES))
    payload: dict[str, Any] = {}
    for name, field in definition.fields.items():
        value = draw(field_values(field, own_case_no, env.target_no))
        if value is not OMIT:
            payload[name] = value
    if draw(st.integers(0, 49)) == 49:  # rare; 0 is what Hypothesis draws first and shrinks towards
        payload["bogus"] = 1
    minutes = draw(
        st.one_of(st.just(0), st.integers(1, 90), st.integers(91, 3 * 24 * 60), st.integers(3 * 24 * 60, 25 * 24 * 60))
    )
    return action, actor, payload, minutes / 60


INTAKES = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(["hotline", "walk_in", "enterprise"]),
        "case_type": st.sampled_from(["help", "consult", "complaint"]),
        "urgency": st.sampled_from(["normal", "normal", "urgent", "emergency"]),
        "start_days": st.integers(0, 40),
    }
)


# ---------------------------------------------------------------------------------------------------------------
# The property
# ---------------------------------------------------------------------------------------------------------------


def step(
    env: Env,
    case_id: int,
    before: Snapshot,
    action: str,
    username: str,
    payload: dict,
    now: datetime,
    *,
    in_hypothesis: bool = True,
) -> Snapshot:
    """Fire one action in its own transaction and check everything an action may and may not change."""
    fired = None
    try:
        with transaction(env.sessions) as session:
            row = session.get(Case, case_id)
            assert row is not None
            actor = get_user(session, username)
            fired = fire(session, env.runtime, case=row, action=action, actor=actor, payload=payload, now=now)
    except DomainError:
        fired = None
    if in_hypothesis:
        event(f"{'fired' if fired is not None else 'refused'} {action}")
    after = snapshot(env, case_id)
    check_consistent(env, after)

    if fired is None:
        # A refusal writes nothing: not the case, not an event, not a clock.
        assert after == before
        return after
    definition = env.runtime.workflows.get(before.case["workflow"]).actions[action]
    # Append-only: the earlier rows are untouched and exactly one event is added, after them.
    assert after.events[:-1] == before.events
    new = after.events[-1]
    assert new["id"] > before.events[-1]["id"]
    assert new["action"] == action and new["actor_id"] == env.users[username]["id"]
    assert new["from_state"] == before.case["state"] and new["to_state"] == after.case["state"]
    assert new["at"] == now
    assert after.case["state"] == (definition.to or before.case["state"])
    if "approve_extension" in definition.effects:
        # Never after the resolve due time, whatever the clock's state (DOMAIN.md: approved before the due time).
        resolve = before.clocks["resolve"]
        assert (resolve["paused_at"] or now) < resolve["due_at"], (resolve, now)
    # The version moves by exactly one, whether or not another column of the case changed.
    assert after.case["version"] == before.case["version"] + 1
    # Clocks are only ever added, never removed.
    assert set(before.clocks) <= set(after.clocks)
    return after


# Happy paths to a later state, so that the random walk also starts deep in the workflow.
TO_ACCEPTED = [("dispatch", "dispatcher", {"department_id": "CGJ"}), ("accept", "handler", {})]
TO_HANDLING = [*TO_ACCEPTED, ("respond", "head", {"note": "已电话联系"})]
TO_RESOLVED = [*TO_HANDLING, ("resolve", "handler", {"outcome": "solved", "reply": "已修复"})]
PREFIXES = {
    "received": [],
    "accepted": TO_ACCEPTED,
    "handling": TO_HANDLING,
    "extension asked": [*TO_HANDLING, ("request_extension", "handler", {"days": 5, "reason": "等待材料"})],
    "suspended": [*TO_HANDLING, ("suspend", "handler", {"reason": "等待诉求人补充材料"})],
    "resolved": TO_RESOLVED,
    "called back": [
        *TO_RESOLVED,
        ("callback", "dispatcher", {"reached": True, "solved": True, "satisfaction": "satisfied"}),
    ],
}
END_STATES = {"received": "received", "extension asked": "handling", "called back": "resolved"}

# Four cases that between them take every action of standard.yaml once (and end closed, merged and closed): the run
# opens with them, through the same checked steps as the walks, so the run's coverage never depends on luck.
UNSATISFIED = {"reached": True, "solved": False, "satisfaction": "unsatisfied"}
SATISFIED = {"reached": True, "solved": True, "satisfaction": "satisfied"}
NODE_CHANGE = [{"seq": 1, "name": "约谈", "working_days": 2}, {"name": "核查", "working_days": 3}]
TOUR = [
    [("answer_on_spot", "intake", {"reply": "已当场答复"}), ("close", "dispatcher", {})],
    [
        ("publish", "dispatcher", {}),
        ("claim", "handler", {}),
        ("return", "handler", {"reason": "不属于本单位职责"}),
        ("merge", "dispatcher", {"into": "TARGET"}),
    ],
    [
        ("supervise", "supervisor", {"note": "重点督办"}),
        *TO_ACCEPTED,
        ("urge", "dispatcher", {}),
        ("assign", "head", {"handler_id": "handler"}),
        ("unassign", "head", {}),
        ("respond", "handler", {"note": "已电话联系"}),
        ("note", "handler", {"note": "已到现场查看"}),
        ("request_extension", "handler", {"days": 5, "reason": "等待材料"}),
        ("approve_extension", "supervisor", {}),
        ("request_extension", "handler", {"days": 2, "reason": "仍需协调"}),
        ("reject_extension", "supervisor", {"note": "不予延期"}),
        ("suspend", "handler", {"reason": "等待诉求人补充材料"}),
        ("resume", "handler", {}),
        ("resolve", "handler", {"outcome": "solved", "reply": "已修复"}),
        ("callback", "dispatcher", UNSATISFIED),
        ("reopen", "supervisor", {"reason": "诉求人不满意"}),
        ("resolve", "handler", {"outcome": "solved", "reply": "已再次修复"}),
        ("callback", "dispatcher", SATISFIED),
        ("close", "dispatcher", {}),
    ],
    [  # a key case (issue 12): its lead leader, a plan of nodes changed with the supervisor, nodes done, resolved
        ("mark_key", "supervisor", {"reason": "backlog", "lead_leader_id": "leader"}),
        ("set_lead_leader", "leader", {"lead_leader_id": "leader2"}),
        *TO_HANDLING,
        ("plan_nodes", "handler", {"nodes": [{"name": "约谈", "working_days": 2}]}),
        ("propose_node_change", "handler", {"nodes": NODE_CHANGE, "reason": "增加节点"}),
        ("reject_node_change", "supervisor", {"note": "先按原计划"}),
        ("propose_node_change", "handler", {"nodes": NODE_CHANGE, "reason": "增加节点"}),
        ("approve_node_change", "supervisor", {}),
        ("complete_node", "handler", {"node": 1, "note": "已约谈"}),
        ("complete_node", "head", {"node": 2, "note": "已核查"}),
        ("record_dispatch_decision", "supervisor", {"decision": "按期推进", "week": "2025-W39"}),  # 每周调度
        ("record_dispatch_decision", "supervisor", {"decision": "重复录入", "week": "2025-W39"}),
        ("withdraw_dispatch_decision", "supervisor", {"decision_event": "DECISION", "reason": "重复录入"}),
        ("resolve", "handler", {"outcome": "solved", "reply": "已办结"}),
        ("callback", "dispatcher", SATISFIED),
        ("close", "dispatcher", {}),
    ],
    [  # lead and assisting departments (主办 / 协办, issue 12): parts accepted, noted, reported, the rest waived
        ("dispatch", "dispatcher", {"department_id": "CGJ", "assisting_department_ids": ["JD1"]}),
        ("add_assisting_department", "supervisor", {"assisting_department_ids": ["QFJ"]}),
        ("accept", "handler", {}),
        ("respond", "handler", {"note": "已电话联系"}),
        ("accept_part", "other_handler", {}),
        ("part_note", "other_handler", {"note": "已联系社区"}),
        ("report_part", "other_handler", {"note": "已核实"}),
        ("accept_part", "liaison", {}),
        ("waive_parts", "supervisor", {"reason": "已由主办单位一并解决"}),
        ("resolve", "handler", {"outcome": "solved", "reply": "已办结"}),
        ("callback", "dispatcher", SATISFIED),
        ("close", "dispatcher", {}),
    ],
]


def tour(env: Env) -> tuple[set[str], set[str]]:
    """Take the TOUR; every step must fire. Returns the actions fired and the final states reached."""
    fired, finals = set(), set()
    for path in TOUR:
        now = BASE
        case = _intake(env, now)
        assert case.id is not None
        before = snapshot(env, case.id)
        for action, username, payload in path:
            now += timedelta(hours=1)
            decision = next((e["id"] for e in reversed(before.events) if e["action"] == "record_dispatch_decision"), 0)
            payload = {
                k: env.target_no if v == "TARGET" else decision if v == "DECISION" else v for k, v in payload.items()
            }
            events = len(before.events)
            before = step(env, case.id, before, action, username, payload, now, in_hypothesis=False)
            assert len(before.events) == events + 1, f"the tour's {action} by {username} was refused"
            fired.add(action)
        assert env.runtime.workflows.get(case.workflow).is_final(before.case["state"]), before.case["state"]
        finals.add(before.case["state"])
    return fired, finals


# Examples per backend: together with the set-up, well under a minute each on a busy 2-core machine.
EXAMPLES = {"sqlite": 50, "postgresql": 30}
# A fresh seed per run (CI's Hypothesis profile would replay the same examples every time); HYPOTHESIS_SEED=n
# replays a run. A failing example is also kept in the example database and tried first on the next run.
SEED = int(os.environ.get("HYPOTHESIS_SEED") or random.SystemRandom().getrandbits(32))
EXAMPLE_DATABASE = DirectoryBasedExampleDatabase(str(Path(__file__).resolve().parents[2] / ".hypothesis" / "examples"))


def test_random_action_sequences_keep_the_case_consistent(env: Env, database: Any):
    print(f"test_engine_properties: Hypothesis seed {SEED} (replay with HYPOTHESIS_SEED={SEED})")
    standard = env.runtime.workflows.get("standard")
    fired, finals = tour(env)  # actions of standard.yaml that fired and final states reached, over the whole run
    assert set(standard.actions) == fired and finals == {"closed", "merged"}
    walked: set[str] = set()  # ... of which by the random walks

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES[database.backend],
        deadline=None,
        derandomize=False,
        database=EXAMPLE_DATABASE,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(intake=INTAKES, start=st.sampled_from(list(PREFIXES)), length=st.integers(5, 25), data=st.data())
    def walk(intake: dict, start: str, length: int, data: st.DataObject) -> None:
        fields: dict[str, Any] = {"channel": intake["channel"], "case_type": intake["case_type"]}
        fields["urgency"] = intake["urgency"]
        if intake["channel"] == "enterprise":
            fields["enterprise"] = env.world.enterprise_id
        now = BASE + timedelta(days=intake["start_days"])
        case = _intake(env, now, **fields)
        case_id, case_no = case.id, case.case_no
        assert case_id is not None
        workflow = env.runtime.workflows.get(case.workflow)
        before = snapshot(env, case_id)
        check_consistent(env, before)
        assert len(before.events) == 1

        for action, username, payload in PREFIXES[start]:
            now += timedelta(minutes=10)
            before = step(env, case_id, before, action, username, payload, now)
        assert before.case["state"] == END_STATES.get(start, start)
        for _ in range(length):
            action, username, payload, hours = data.draw(steps(env, workflow, before.case, before.events, case_no))
            now += timedelta(hours=hours)
            events = len(before.events)
            before = step(env, case_id, before, action, username, payload, now)
            if workflow.name == "standard" and len(before.events) > events:
                walked.add(action)
        event(f"final state {before.case['state']}")
        # Hypothesis steers towards walks that take many different actions.
        target(float(len({e["action"] for e in before.events})), label="different actions taken by one case")

    walk()
    # The walks explore beyond the tour: most actions fire in them too (each run differs; the tour guarantees all).
    print(
        f"random walks fired {len(walked)} of {len(standard.actions)} actions; never: {set(standard.actions) - walked}"
    )
    assert len(walked) >= 3, (sorted(walked), SEED)  # the walks are not all refused


# ---------------------------------------------------------------------------------------------------------------
# Targeted checks of what the property above found or cannot see
# ---------------------------------------------------------------------------------------------------------------


def _fire(env: Env, case_id: int, action: str, username: str, now: datetime, **payload: Any) -> None:
    with transaction(env.sessions) as session:
        row = session.get(Case, case_id)
        assert row is not None
        fire(session, env.runtime, case=row, action=action, actor=get_user(session, username), payload=payload, now=now)


def _to_handling(env: Env, now: datetime) -> int:
    case = _intake(env, now)
    assert case.id is not None
    _fire(env, case.id, "dispatch", "dispatcher", now, department_id="CGJ")
    _fire(env, case.id, "accept", "handler", now)
    _fire(env, case.id, "respond", "handler", now, note="已电话联系")
    return case.id


@pytest.mark.parametrize("action", ["note", "supervise"])
def test_every_successful_action_bumps_the_version(env: Env, action: str):
    now = BASE
    case_id = _to_handling(env, now)
    _fire(env, case_id, "supervise", "supervisor", now, note="重点督办")
    before = snapshot(env, case_id)
    username = "handler" if action == "note" else "supervisor"
    _fire(env, case_id, action, username, now + timedelta(hours=1), note="再次记录")
    after = snapshot(env, case_id)
    assert len(after.events) == len(before.events) + 1
    assert after.case["version"] == before.case["version"] + 1


def test_extension_approved_while_suspended_is_kept_after_resume(env: Env):
    now = BASE
    plain = _to_handling(env, now)
    extended = _to_handling(env, now)
    for case_id in (plain, extended):
        _fire(env, case_id, "request_extension", "handler", now + timedelta(hours=1), days=5, reason="等待材料")
        _fire(env, case_id, "suspend", "handler", now + timedelta(hours=2), reason="等待诉求人补充材料")
    _fire(env, extended, "approve_extension", "supervisor", now + timedelta(hours=3))
    _fire(env, plain, "reject_extension", "supervisor", now + timedelta(hours=3), note="不予延期")
    for case_id in (plain, extended):
        _fire(env, case_id, "resume", "handler", now + timedelta(days=3))
    plain_clock = snapshot(env, plain).clocks["resolve"]
    extended_clock = snapshot(env, extended).clocks["resolve"]
    assert extended_clock["extended_days"] == 5
    assert extended_clock["due_at"] > plain_clock["due_at"]


def test_required_text_of_only_spaces_is_refused(env: Env):
    case_id = _to_handling(env, BASE)
    before = snapshot(env, case_id)
    with pytest.raises(InvalidInput):
        _fire(env, case_id, "resolve", "handler", BASE + timedelta(hours=1), outcome="solved", reply="   ")
    assert snapshot(env, case_id) == before
