"""Several workers at once: two `grievance outbox run` processes never send one delivery twice at the same
time (the receiver counts overlapping requests for one delivery id) and keep the order per case; on
PostgreSQL a second claim skips the rows a first, uncommitted one holds (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from grievance.db import transaction, utcnow
from grievance.outbox import worker
from tests.factories import World
from tests.outbox._support import deliveries, subscribe
from tests.outbox.conftest import FAST, Receiver, wait_for

ROOT = Path(__file__).resolve().parents[2]


def _worker_process(settings, tmp_path: Path, name: str) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {**os.environ, "GRIEVANCE_DATABASE_URL": settings.database_url, "GRIEVANCE_DATA_DIR": str(tmp_path)}
    env.update({f"GRIEVANCE_{key.upper()}": str(value) for key, value in FAST.items()})
    return subprocess.Popen(
        [sys.executable, "-m", "grievance.cli", "outbox", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / f"{name}.log").open("w"),
    )


def test_two_worker_processes_never_send_one_delivery_twice_at_once(
    world: World, receiver: Receiver, settings, tmp_path: Path
):  # type: ignore[no-untyped-def]
    app = world.app
    receiver.delay = 0.03  # each request takes a while: a second sender would overlap it
    subscribe(app, receiver.url, name="one")
    subscribe(app, receiver.url, name="two")
    processes = [_worker_process(settings, tmp_path, f"worker{i}") for i in range(2)]
    try:
        cases = [world.intake(title=f"噪音扰民 {i}")["case_no"] for i in range(5)]
        for no in cases:
            world.act(no, "dispatch", "dispatcher", department_id="CGJ")
        for no in cases:
            world.act(no, "accept", "handler")
        expected = 5 * 3 * 2
        wait_for(lambda: len(deliveries(app, "delivered")) == expected, timeout=15)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(10)
    assert all(p.returncode == 0 for p in processes), [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    assert receiver.overlaps == []
    per_delivery = collections.Counter(r.headers["X-Grievance-Delivery"] for r in receiver.received)
    assert len(per_delivery) == expected and set(per_delivery.values()) == {1}
    by_stream: dict[tuple[str, str], list[int]] = collections.defaultdict(list)
    names = {d.id: d.subscription_id for d in deliveries(app)}
    for request in receiver.received:
        body = request.json()
        by_stream[(names[body["delivery_id"]], body["case"]["case_no"])].append(body["message_id"])
    assert len(by_stream) == 10
    for ids in by_stream.values():
        assert ids == sorted(ids) and len(ids) == 3


def test_a_second_claim_skips_the_rows_a_first_one_holds(world: World, receiver: Receiver, database):  # type: ignore[no-untyped-def]
    if database.backend != "postgresql":
        pytest.skip("SQLite has one writer: a second claim waits for the first (one worker on SQLite)")
    app = world.app
    settings = app.state.runtime.settings
    subscribe(app, receiver.url)
    for i in range(3):
        no = world.intake(title=f"占道经营 {i}")["case_no"]
        world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    with transaction(app.state.sessions) as session:
        worker.fan_out(session)
    now = utcnow()
    first = app.state.sessions()
    try:
        held = worker.claim_due(first, settings, now=now, limit=2)  # uncommitted: its rows stay locked
        assert len(held) == 2
        with transaction(app.state.sessions) as session:
            second = worker.claim_due(session, settings, now=now, limit=10)
        held_ids = {c.delivery.id for c in held}
        assert len(second) == 1 and second[0].delivery.id not in held_ids
        held_cases = {c.delivery.case_id for c in held}
        assert second[0].delivery.case_id not in held_cases  # never the next event of a case being sent
        first.commit()
    finally:
        first.close()


def test_events_of_one_case_commit_their_messages_in_id_order(world: World, database):  # type: ignore[no-untyped-def]
    """PostgreSQL: an event that does not move the case's version (an attachment) and an action on the same case
    could commit in either order; the writer holds the case's row first, so the second waits for the first and
    its message gets the higher id (the worker sends by id)."""
    if database.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    import threading

    from grievance.cases.models import CaseEvent
    from grievance.outbox.models import OutboxMessage

    app = world.app
    case_id = world.get(world.intake()["case_no"], "dispatcher")["id"]

    def event(action: str) -> CaseEvent:
        return CaseEvent(case_id=case_id, action=action, from_state="received", to_state="received", at=utcnow())

    first = app.state.sessions()
    first.add(event("attach"))
    first.flush()  # holds the case's row until it commits
    second_done = threading.Event()

    def second() -> None:
        with transaction(app.state.sessions) as session:
            session.add(event("note"))
            session.flush()
        second_done.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not second_done.wait(0.5)  # waiting for the first transaction
    first.commit()
    first.close()
    thread.join(5)
    assert second_done.is_set()
    with transaction(app.state.sessions) as session:
        order = [m.event for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()]
    assert order[-2:] == ["attach", "note"]
