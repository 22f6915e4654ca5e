"""The outbox keeps what it sent for outbox_retention_days: older messages whose deliveries all went out (or that
nobody wanted) are deleted with their deliveries; a dead or pending delivery keeps its message; the case's events
stay. `grievance outbox prune` does it on demand and refuses a retention below one day."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlmodel import func, select

from grievance.cases.models import CaseEvent
from grievance.db import transaction, utcnow
from grievance.outbox import worker
from grievance.outbox.retention import prune_sent
from tests.factories import World
from tests.outbox._support import deliveries, messages, subscribe
from tests.outbox.conftest import Receiver


def _send_all(app, settings) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while True:
        worker.run_once(app.state.sessions, settings)
        with transaction(app.state.sessions) as session:
            counts = worker.status_counts(session)
        if counts["unfanned"] == 0 and counts["pending"] == 0:
            return
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_sent_messages_go_after_the_retention_dead_ones_and_events_stay(world: World, receiver: Receiver, cli):  # type: ignore[no-untyped-def]
    app = world.app
    settings = app.state.runtime.settings
    settings.outbox_max_attempts = 1
    subscribe(app, receiver.url)
    receiver.answer(500, b"down")
    world.intake(title="路灯不亮")  # its intake message dies on the first attempt
    _send_all(app, settings)
    receiver.answer(200)
    sent_case = world.intake(title="井盖缺失")["case_no"]
    world.act(sent_case, "dispatch", "dispatcher", department_id="CGJ")
    _send_all(app, settings)
    assert [d.status for d in deliveries(app)] == ["dead", "delivered", "delivered"]
    with transaction(app.state.sessions) as session:
        events_before = session.exec(select(func.count()).select_from(CaseEvent)).one()

    now = utcnow()
    assert prune_sent(app.state.sessions, now=now, retention_days=1) == 0  # all younger than a day
    assert len(messages(app)) == 3
    pruned = prune_sent(app.state.sessions, now=now + timedelta(days=2), retention_days=1, batch=1)
    assert pruned == 2  # the two sent ones, one per transaction
    left = messages(app)
    assert [m.case_id for m in left] == [deliveries(app)[0].case_id] and [d.status for d in deliveries(app)] == ["dead"]
    with transaction(app.state.sessions) as session:
        assert session.exec(select(func.count()).select_from(CaseEvent)).one() == events_before
    # The dead letter can still be sent again.
    assert cli("outbox", "resend", "--all").code == 0
    assert [d.status for d in deliveries(app)] == ["pending"]


def test_the_prune_command_uses_the_setting_and_refuses_less_than_a_day(world: World, cli):  # type: ignore[no-untyped-def]
    world.intake()  # no subscription: fanned out to nobody, so nothing holds it once old
    worker.run_once(world.app.state.sessions, world.app.state.runtime.settings)
    kept = cli("outbox", "prune")
    assert kept.code == 0 and "已删除 0 条 30 天前" in kept.out and "older than 30 days" in kept.out
    refused = cli("outbox", "prune", "--days", "0")
    assert refused.code != 0 and "至少" not in refused.out
    assert "不小于1" in refused.err and "at least 1" in refused.err
    assert len(messages(world.app)) == 1


def test_the_running_worker_prunes_on_its_own(world: World, receiver: Receiver):  # type: ignore[no-untyped-def]
    import threading

    app = world.app
    subscribe(app, receiver.url)
    world.intake()
    _send_all(app, app.state.runtime.settings)
    assert len(messages(app)) == 1
    stop = threading.Event()
    later = lambda: utcnow() + timedelta(days=31)  # noqa: E731 - the worker's clock, a month on
    thread = threading.Thread(
        target=worker.run_worker, args=(app.state.sessions, app.state.runtime, stop), kwargs={"clock": later}
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while messages(app):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert deliveries(app) == []
