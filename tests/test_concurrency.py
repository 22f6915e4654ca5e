"""Concurrent writers: stale versions get a 409 and write nothing; intake is idempotent and numbers cases
without gaps when many clerks log cases at once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, func, select

from grievance.cases.models import Case, CaseClock, CaseEvent
from grievance.cases.schemas import CaseCreate
from grievance.cases.service import intake_case
from grievance.db import transaction
from grievance.errors import Conflict
from grievance.users.service import get_user
from grievance.workflow.engine import fire
from tests.factories import World

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
POSTGRESQL_ONLY = pytest.mark.parametrize("database", ["postgresql"], indirect=True)


@pytest.fixture
def world(app, client, clock) -> World:  # type: ignore[no-untyped-def]
    return World(app, client)


def _dispatched_case(world: World) -> tuple[int, str]:
    case = world.intake()
    world.act(case["case_no"], "dispatch", "dispatcher", department_id="CGJ")
    return case["id"], case["case_no"]


def _rows(app: Any, case_id: int) -> dict[str, Any]:
    """Everything written about a case: the row, its events and its clocks."""
    with transaction(app.state.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))).all()
        clocks = session.exec(select(CaseClock).where(CaseClock.case_id == case_id).order_by(col(CaseClock.id))).all()
        return {
            "case": case.model_dump(),
            "events": [e.model_dump() for e in events],
            "clocks": [c.model_dump() for c in clocks],
        }


def _fire(session: Session, app: Any, case: Case, action: str, username: str, **kwargs: Any) -> CaseEvent:
    runtime = app.state.runtime
    return fire(session, runtime, case=case, action=action, actor=get_user(session, username), **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# Stale writers
# ---------------------------------------------------------------------------------------------------------------


def test_stale_expected_version_is_refused_and_writes_nothing(app, world):
    case_id, _ = _dispatched_case(world)
    with transaction(app.state.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        read_version = case.version
    with transaction(app.state.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        _fire(session, app, case, "accept", "handler", expected_version=read_version)
    before = _rows(app, case_id)
    assert before["case"]["version"] == read_version + 1

    with pytest.raises(Conflict) as raised, transaction(app.state.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        _fire(session, app, case, "respond", "handler", payload={"note": "已联系"}, expected_version=read_version)
    assert raised.value.status_code == 409
    assert raised.value.detail["current_version"] == read_version + 1
    assert _rows(app, case_id) == before


def test_stale_version_through_the_api_gets_409(app, world):
    _, case_no = _dispatched_case(world)
    version = world.get(case_no, "handler")["version"]
    world.act(case_no, "accept", "handler", version=version)
    body = world.act(case_no, "respond", "handler", expect=409, version=version, note="已联系")
    assert body["error"] == "stale_version"
    after = world.get(case_no, "handler")
    assert after["state"] == "accepted" and after["version"] == version + 1
    assert [e["action"] for e in after["timeline"]] == ["intake", "dispatch", "accept"]


def test_stale_object_conflicts_and_writes_nothing(app, world):
    """Two sessions read the case at version N; the first acts and commits; the second acts on its stale copy.
    Sequential transactions, so it runs on SQLite too (whose BEGIN IMMEDIATE serialises real overlap)."""
    case_id, _ = _dispatched_case(world)
    first, second = app.state.sessions(), app.state.sessions()
    try:
        theirs = second.get(Case, case_id)
        second.commit()  # ends the read (SQLite holds its write lock from BEGIN); the copy keeps its values
        mine = first.get(Case, case_id)
        assert mine is not None and theirs is not None and mine.version == theirs.version
        _fire(first, app, mine, "accept", "handler")
        first.commit()
        before = _rows(app, case_id)
        assert theirs.version == before["case"]["version"] - 1 and theirs.state == "dispatched"

        with pytest.raises(Exception) as raised:
            _fire(second, app, theirs, "return", "handler", payload={"reason": "不属于我单位"})
        second.rollback()
    finally:
        first.close()
        second.close()
    assert _rows(app, case_id) == before  # nothing of the second writer is written
    assert isinstance(raised.value, Conflict), f"expected Conflict (409), got {raised.value!r}"


@POSTGRESQL_ONLY
def test_postgresql_transactions_race_and_the_loser_writes_nothing(app, world):
    """The real race on PostgreSQL: both transactions are open and have read version N when the first commits."""
    case_id, _ = _dispatched_case(world)
    first, second = app.state.sessions(), app.state.sessions()
    try:
        mine = first.get(Case, case_id)
        theirs = second.get(Case, case_id)  # both transactions are open and see version N
        assert mine is not None and theirs is not None and mine.version == theirs.version
        _fire(first, app, mine, "accept", "handler")
        first.commit()
        before = _rows(app, case_id)
        with pytest.raises(Exception) as raised:
            _fire(second, app, theirs, "return", "head", payload={"reason": "不属于我单位"})
        second.rollback()
    finally:
        first.close()
        second.close()
    after = _rows(app, case_id)
    assert after == before  # nothing of the loser is written
    assert after["case"]["state"] == "accepted"
    assert [e["action"] for e in after["events"]] == ["intake", "dispatch", "accept"]
    assert isinstance(raised.value, Conflict), f"expected Conflict (409), got {raised.value!r}"


@SQLITE_ONLY
def test_sqlite_second_writer_waits_for_the_first_then_sees_its_version_and_gets_409(app, world):
    """What SQLite guarantees: a write transaction begins with BEGIN IMMEDIATE, so a second writer that starts while
    the first is open waits for it (two threads, each with its own connection), then reads the first one's version
    and, holding version N from its form, is refused with 409 and writes nothing."""
    case_id, _ = _dispatched_case(world)
    with transaction(app.state.sessions) as session:
        version = session.get(Case, case_id).version  # type: ignore[union-attr]
    holding, waiting = threading.Event(), threading.Event()
    moments: dict[str, float] = {}
    outcome: dict[str, Any] = {}

    def first() -> None:
        with transaction(app.state.sessions) as session:
            case = session.get(Case, case_id)
            assert case is not None
            _fire(session, app, case, "accept", "handler", expected_version=version)
            session.flush()
            holding.set()
            assert waiting.wait(10)
            time.sleep(0.3)  # the second writer is inside its BEGIN now
            moments["first_commits"] = time.monotonic()

    def second() -> None:
        assert holding.wait(10)
        moments["second_starts"] = time.monotonic()
        waiting.set()
        try:
            with transaction(app.state.sessions) as session:
                case = session.get(Case, case_id)  # BEGIN IMMEDIATE: waits for the first writer
                moments["second_reads"] = time.monotonic()
                assert case is not None
                outcome["version_seen"] = case.version
                _fire(
                    session, app, case, "return", "head", payload={"reason": "不属于我单位"}, expected_version=version
                )
        except Exception as exc:
            outcome["error"] = exc

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    # They overlapped: the second began before the first committed and could read only after it.
    assert moments["second_starts"] < moments["first_commits"] < moments["second_reads"], moments
    assert outcome["version_seen"] == version + 1
    assert isinstance(outcome.get("error"), Conflict), f"expected Conflict (409), got {outcome.get('error')!r}"
    assert outcome["error"].status_code == 409
    after = _rows(app, case_id)
    assert after["case"]["state"] == "accepted" and after["case"]["version"] == version + 1
    assert [e["action"] for e in after["events"]] == ["intake", "dispatch", "accept"]


def test_stale_note_after_a_state_change_is_refused(app, world, clock):
    case_id, case_no = _dispatched_case(world)
    world.act(case_no, "accept", "handler")
    world.act(case_no, "respond", "handler", note="已联系")
    first, second = app.state.sessions(), app.state.sessions()
    try:
        theirs = second.get(Case, case_id)
        second.commit()
        mine = first.get(Case, case_id)
        assert mine is not None and theirs is not None and mine.version == theirs.version
        _fire(first, app, mine, "resolve", "handler", payload={"outcome": "solved", "reply": "已修复"})
        first.commit()
        before = _rows(app, case_id)
        with pytest.raises(Conflict):
            _fire(second, app, theirs, "note", "head", payload={"note": "继续办理"}, now=clock.at + timedelta(hours=1))
            second.commit()
    finally:
        second.rollback()
        first.close()
        second.close()
    assert _rows(app, case_id) == before


# ---------------------------------------------------------------------------------------------------------------
# Concurrent intake
# ---------------------------------------------------------------------------------------------------------------


def _in_parallel(count: int, work: Any) -> list[Any]:
    """Run work(i) in `count` threads that start together."""
    barrier = threading.Barrier(count)

    def run(i: int) -> Any:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def wait_until_blocked(app: Any, database: Any) -> None:
    """Until another transaction waits for a lock (PostgreSQL), or a moment (SQLite's busy wait is invisible)."""
    if database.backend == "sqlite":
        time.sleep(0.5)
        return
    deadline = time.monotonic() + 10
    with app.state.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar_one()
            if waiting:
                return
            conn.rollback()
            time.sleep(0.02)
    raise AssertionError("the second intake never waited for the first")


def test_idempotent_intake_racing_an_uncommitted_twin_returns_its_case(app, world, database, request):
    """Deterministic race: the second intake (its own thread and connection) starts while the first is written but
    not committed, waits for it (PostgreSQL: the key's row lock; SQLite: BEGIN IMMEDIATE), then returns its case."""
    runtime = app.state.runtime
    case_in = CaseCreate(channel="hotline", case_type="help", title="小区门口路灯不亮")
    outcome: dict[str, Any] = {}
    started = threading.Event()

    def second_intake() -> None:
        started.set()
        try:
            with transaction(app.state.sessions) as session:
                actor = get_user(session, "intake")
                result = intake_case(session, runtime, case_in=case_in, actor=actor, idempotency_key="desk-2-0001")
                outcome["result"] = (result.case.id, result.created)
        except Exception as exc:
            outcome["error"] = exc

    with transaction(app.state.sessions) as session:
        actor = get_user(session, "intake")
        first = intake_case(session, runtime, case_in=case_in, actor=actor, idempotency_key="desk-2-0001")
        first_id, first_no = first.case.id, first.case.case_no
        thread = threading.Thread(target=second_intake)
        thread.start()
        assert started.wait(10)
        wait_until_blocked(app, database)
        assert outcome == {}  # still waiting while the first is uncommitted: neither a case nor an error yet
    thread.join(30)
    assert not thread.is_alive()
    with transaction(app.state.sessions) as session:
        assert session.exec(select(func.count()).select_from(Case)).one() == 1
    assert "error" not in outcome, repr(outcome.get("error"))
    assert outcome["result"] == (first_id, False)
    # The loser used up no case number.
    next_no = world.intake(channel="hotline", meeting=None)["case_no"]
    assert int(next_no.rsplit("-", 1)[1]) == int(first_no.rsplit("-", 1)[1]) + 1


def test_same_idempotency_key_from_two_threads_makes_one_case(app, world, database, request):
    body = {
        "channel": "hotline",
        "case_type": "help",
        "title": "小区门口路灯不亮",
        "petitioner": {"name": "张三", "phone": "13812341234"},
    }
    headers = {**world.headers("intake"), "Idempotency-Key": "desk-1-0001"}

    def post(_: int) -> Any:
        return world.client.post("/api/v1/cases", json=body, headers=headers)

    responses = _in_parallel(8, post)
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201], [r.text for r in responses]
    assert len({r.json()["case_no"] for r in responses}) == 1
    replayed = [r for r in responses if r.status_code == 200]
    assert all(r.headers.get("Idempotent-Replayed") == "true" for r in replayed)
    with transaction(app.state.sessions) as session:
        cases = session.exec(select(Case).where(Case.idempotency_key == "desk-1-0001")).all()
        assert len(cases) == 1
        events = session.exec(select(CaseEvent).where(CaseEvent.case_id == cases[0].id)).all()
        assert [e.action for e in events] == ["intake"]
        assert session.exec(select(func.count()).select_from(Case)).one() == 1
    # The losers' case numbers were not used up: the next case takes the next number.
    first_no = responses[0].json()["case_no"]
    next_no = world.intake(channel="hotline", meeting=None)["case_no"]
    assert int(next_no.rsplit("-", 1)[1]) == int(first_no.rsplit("-", 1)[1]) + 1


def test_concurrent_intake_numbers_cases_without_gaps(app, world):
    threads, per_thread = 6, 4

    def post_several(i: int) -> list[Any]:
        out = []
        for j in range(per_thread):
            body = {"channel": "walk_in", "case_type": "consult", "title": f"第{i}号窗口第{j}件：咨询营业执照办理"}
            out.append(world.client.post("/api/v1/cases", json=body, headers=world.headers("intake")))
        return out

    responses = [r for batch in _in_parallel(threads, post_several) for r in batch]
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses if r.status_code != 201]
    numbers = [r.json()["case_no"] for r in responses]
    assert len(set(numbers)) == len(numbers)
    prefixes = {n.rsplit("-", 1)[0] for n in numbers}
    assert len(prefixes) == 1
    serials = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert serials == list(range(1, threads * per_thread + 1))
    with transaction(app.state.sessions) as session:
        stored = session.exec(select(Case.case_no)).all()
        assert sorted(stored) == sorted(numbers)
