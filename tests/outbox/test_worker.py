"""The outbox worker end to end on loopback: a receiver stopped in the middle of a stream of changes on
several cases and started again gets every event, in order per case, none lost, every one signed; dead
letters after the configured attempts, sent again from the CLI; a crashed worker's lease runs out; a
delivery the format does not want is skipped."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlmodel import select

from grievance.db import transaction, utcnow
from grievance.outbox import worker
from grievance.outbox.format_json import verify
from grievance.outbox.models import Delivery
from tests.factories import World
from tests.outbox._support import WorkerThread, deliveries, messages, subscribe
from tests.outbox.conftest import Receiver, wait_for

SECRET = "s3cret-for-tests"


def _all_sent(app) -> bool:  # type: ignore[no-untyped-def]
    with transaction(app.state.sessions) as session:
        counts = worker.status_counts(session)
    return counts["unfanned"] == 0 and counts["pending"] == 0


def _first_arrivals(receiver: Receiver) -> list[dict]:
    seen: set[str] = set()
    bodies = []
    for request in receiver.received:
        key = request.headers["X-Grievance-Delivery"]
        if key not in seen:
            seen.add(key)
            bodies.append(request.json())
    return bodies


def test_a_receiver_down_mid_stream_gets_every_event_in_order_per_case_signed(world: World, receiver: Receiver):
    app = world.app
    subscribe(app, receiver.url, secret=SECRET)
    running = WorkerThread(app)
    try:
        cases = [world.intake(title=f"路灯不亮 {i}")["case_no"] for i in range(3)]
        for no in cases:
            world.act(no, "dispatch", "dispatcher", department_id="CGJ")
        wait_for(lambda: len(receiver.received) >= 3)
        receiver.stop()  # the receiver goes away in the middle of the stream
        for no in cases:
            world.act(no, "accept", "handler")
            world.act(no, "respond", "handler", note="已联系诉求人")
        time.sleep(0.5)  # several failed attempts while it is down
        assert any(d.attempts > 0 and d.status == "pending" for d in deliveries(app))
        receiver.start()  # back on the same port
        for no in cases:
            world.act(no, "resolve", "handler", reply="已修复路灯", outcome="solved")
        wait_for(lambda: _all_sent(app))
    finally:
        running.stop()

    stored = messages(app)
    assert len(stored) == 3 * 5
    for request in receiver.received:  # every request signed, and the signature checks out
        assert verify(SECRET, request.headers, request.body, tolerance_seconds=300)
        assert not verify("another-secret", request.headers, request.body)
    arrived = _first_arrivals(receiver)
    assert sorted(b["message_id"] for b in arrived) == [m.id for m in stored]  # none lost
    for no in cases:
        of_case = [b for b in arrived if b["case"]["case_no"] == no]
        assert [b["event"] for b in of_case] == ["intake", "dispatch", "accept", "respond", "resolve"]
        ids = [b["message_id"] for b in of_case]
        assert ids == sorted(ids)  # in order per case
    assert all(d.status == "delivered" for d in deliveries(app))
    first = arrived[0]
    assert set(first) >= {"delivery_id", "message_id", "event", "at", "case", "input", "automatic"}
    assert "13812341234" not in repr(arrived) and "张三" not in repr(arrived)


def test_a_dead_delivery_does_not_hold_back_its_case_and_is_sent_again_from_the_cli(
    world: World, receiver: Receiver, cli, monkeypatch
):  # type: ignore[no-untyped-def]
    app = world.app
    settings = app.state.runtime.settings
    settings.outbox_max_attempts = 3
    subscribe(app, receiver.url, secret=SECRET)
    receiver.answer(500, b"receiver broken")
    no = world.intake()["case_no"]

    def run_until(condition) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 10
        while not condition():
            assert time.monotonic() < deadline
            worker.run_once(app.state.sessions, settings)
            time.sleep(0.05)

    run_until(lambda: deliveries(app, "dead"))
    dead = deliveries(app, "dead")[0]
    assert dead.attempts == 3 and dead.last_status_code == 500
    assert dead.last_error.startswith("HTTP 500: receiver broken")
    assert SECRET not in dead.last_error and receiver.url not in dead.last_error

    receiver.answer(200)
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    run_until(lambda: deliveries(app, "delivered"))
    assert [r.json()["event"] for r in receiver.received] == ["dispatch"]  # the dead intake did not block it

    listed = cli("outbox", "dead")
    assert listed.code == 0 and no in listed.out and "intake" in listed.out
    assert cli("outbox", "resend").code == 2  # ids or --all
    assert cli("outbox", "resend", "999999").code != 0
    again = cli("outbox", "resend", str(dead.id))
    assert again.code == 0, again.err
    revived = next(d for d in deliveries(app) if d.id == dead.id)
    assert (revived.status, revived.attempts) == ("pending", 0)
    for name, value in {"OUTBOX_BACKOFF_BASE_SECONDS": "0.05", "OUTBOX_MAX_ATTEMPTS": "3"}.items():
        monkeypatch.setenv(f"GRIEVANCE_{name}", value)
    ran = cli("outbox", "run", "--once")
    assert ran.code == 0 and "1" in ran.out
    assert [r.json()["event"] for r in receiver.received] == ["dispatch", "intake"]
    assert "已送达 (delivered): 2" in cli("outbox", "status").out


def test_a_crashed_workers_lease_runs_out_and_another_sends_it(world: World, receiver: Receiver):
    app = world.app
    settings = app.state.runtime.settings
    subscribe(app, receiver.url, secret=SECRET)
    world.intake()
    with transaction(app.state.sessions) as session:
        worker.fan_out(session)
    now = utcnow()
    with transaction(app.state.sessions) as session:
        claimed = worker.claim_due(session, settings, now=now)  # then the worker "dies" before sending
    assert len(claimed) == 1
    assert worker.deliver_due(app.state.sessions, settings, clock=lambda: now).sent == 0  # leased: not due
    later = claimed[0].lease + timedelta(seconds=1)
    done = worker.deliver_due(app.state.sessions, settings, clock=lambda: later)
    assert done.delivered == 1 and len(receiver.received) == 1
    with transaction(app.state.sessions) as session:  # the dead worker's late result does not overwrite it
        assert worker.record(session, settings, claimed[0], ("failed", None, "late"), now=later) == "lost"
    assert deliveries(app)[0].status == "delivered"


def test_backoff_doubles_up_to_the_maximum_with_a_little_jitter(world: World):
    settings = world.app.state.runtime.settings
    settings.outbox_backoff_base_seconds, settings.outbox_backoff_max_seconds = 5, 60
    waits = [worker.backoff_seconds(n, settings) for n in range(1, 7)]
    for wait, expected in zip(waits, [5, 10, 20, 40, 60, 60], strict=True):
        assert expected <= wait <= expected * 1.1


def test_a_message_the_format_does_not_want_is_skipped_not_retried(
    world: World, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    app = world.app
    subscribe(app, receiver.url, secret=SECRET)
    monkeypatch.setattr(worker, "renderer", lambda name: lambda *args: None)
    world.intake()
    done = worker.run_once(app.state.sessions, app.state.runtime.settings)
    assert done.skipped == 1 and receiver.received == []
    assert [d.status for d in deliveries(app)] == ["skipped"]


def test_a_robot_answering_an_errcode_is_retried(world: World, receiver: Receiver):
    app = world.app
    subscribe(app, receiver.url + "?key=abc", format="wecom", secret="")
    receiver.answer(200, b'{"errcode": 45009, "errmsg": "api freq out of limit"}')
    world.intake()
    done = worker.run_once(app.state.sessions, app.state.runtime.settings)
    assert done.retried == 1 and done.delivered == 0
    (pending,) = deliveries(app)
    assert pending.status == "pending" and pending.last_status_code == 200 and "45009" in pending.last_error
    assert "key=abc" not in pending.last_error
    receiver.answer(200, b'{"errcode": 0, "errmsg": "ok"}')
    wait_for(lambda: worker.run_once(app.state.sessions, app.state.runtime.settings).delivered == 1, timeout=5)


def test_a_paused_subscription_holds_the_messages_written_while_paused(world: World, receiver: Receiver):
    app = world.app
    made = subscribe(app, receiver.url, secret=SECRET)
    first = world.intake()["case_no"]
    with transaction(app.state.sessions) as session:
        worker.fan_out(session)  # one pending delivery
        from grievance.outbox.subscriptions import get_subscription, set_active

        set_active(session, get_subscription(session, made.id), False)
    second = world.intake()["case_no"]
    world.act(first, "dispatch", "dispatcher", department_id="CGJ")
    assert worker.run_once(app.state.sessions, app.state.runtime.settings).sent == 0
    held = deliveries(app)
    assert len(held) == 3 and {d.status for d in held} == {"pending"}  # created, not attempted
    assert all(d.attempts == 0 for d in held) and receiver.received == []
    with transaction(app.state.sessions) as session:
        set_active(session, get_subscription(session, made.id), True)
    assert worker.run_once(app.state.sessions, app.state.runtime.settings).delivered == 3
    got = [(r.json()["event"], r.json()["case"]["case_no"]) for r in receiver.received]
    assert sorted(got) == sorted([("intake", first), ("intake", second), ("dispatch", first)])
    assert got.index(("intake", first)) < got.index(("dispatch", first))  # in order per case
    with transaction(app.state.sessions) as session:
        assert {d.status for d in session.exec(select(Delivery)).all()} == {"delivered"}


def test_the_default_retries_ride_out_a_day_long_outage():
    from grievance.config import Settings

    defaults = Settings(_env_file=None)
    hours = worker.dead_after_seconds(defaults) / 3600
    assert 24 <= hours <= 25  # 5 s doubling to an hour, 34 attempts: about 24.4 h before a delivery is dead
    assert (
        worker.dead_after_seconds(Settings(_env_file=None, outbox_max_attempts=3, outbox_backoff_base_seconds=1))
        == 1 + 2
    )
