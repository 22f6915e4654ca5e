"""The supervision sweeper on SQLite and PostgreSQL: an automatic 催办 exactly when 80% of the working time is used,
once per clock round however often it sweeps; overdue the moment the due time passes; marks cleared when a clock
starts again; paused clocks left alone; the centre's clock recorded overdue but never urged; every event on its way
out through the outbox; a person holding an older version gets a 409."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from grievance.db import transaction
from grievance.outbox.models import OutboxMessage
from grievance.supervision import AUTO_URGE, OVERDUE, SweepResult
from tests.factories import World
from tests.supervision.helpers import (
    case_row,
    clock_of,
    dispatched,
    handling,
    local,
    sweep,
    system_events,
)

# A help case taken in on Monday 2025-09-29 10:00 has 15 working days to resolve. Working days after the 29th,
# with the National Day holiday (10-01..10-08) and the make-up Saturday 10-11: 09-30, 10-09, 10-10, 10-11,
# 10-13..17, 10-20..24, 10-27: due at the end of 10-27 (10-28 00:00). Working time: 14 h on the 29th + 15 days
# = 1,346,400 s; 80% = 1,077,120 s = the rest of the 29th (50,400 s) + 11 working days + 21 h 12 min: on the
# 12th working day after the 29th (10-22) at 21:12. Counted on the wall clock (28 days 14 h) 80% would be
# 10-22 06:48, and with the holiday counted as working time earlier still: neither may urge.
RESOLVE_DUE = local(2025, 10, 28, 0, 0)
RESOLVE_WARN = local(2025, 10, 22, 21, 12)
WALL_CLOCK_80 = local(2025, 10, 22, 6, 48)


def test_the_urge_comes_exactly_at_80_percent_of_the_working_time_and_once(world: World, app) -> None:  # type: ignore[no-untyped-def]
    no = handling(world)
    resolve = clock_of(app, no, "resolve")
    assert (resolve.due_at, resolve.warn_at) == (RESOLVE_DUE, RESOLVE_WARN)
    version = case_row(app, no).version

    assert sweep(app, WALL_CLOCK_80) == SweepResult()  # the holiday does not bring the urge forward
    assert sweep(app, RESOLVE_WARN - timedelta(seconds=1)) == SweepResult()
    assert sweep(app, RESOLVE_WARN) == SweepResult(urged=1)
    for later in (RESOLVE_WARN, RESOLVE_WARN + timedelta(hours=1), RESOLVE_DUE - timedelta(seconds=1)):
        assert sweep(app, later) == SweepResult()  # once per clock, however often it sweeps

    [urge] = system_events(app, no)
    assert (urge.action, urge.actor_id, urge.at) == (AUTO_URGE, None, RESOLVE_WARN)
    assert urge.payload == {"automatic": True, "clock": "resolve", "due_at": RESOLVE_DUE.isoformat()}
    assert urge.from_state == urge.to_state == "handling"
    case = case_row(app, no)
    assert case.urge_count == 1 and case.version == version + 1
    assert clock_of(app, no, "resolve").auto_urged_at == RESOLVE_WARN
    detail = world.get(no, "supervisor")
    assert detail["urge_count"] == 1
    assert [(e["action"], e["actor"]) for e in detail["timeline"]][-1] == (AUTO_URGE, None)


def test_overdue_is_recorded_the_moment_the_due_time_passes_and_once(world: World, app) -> None:  # type: ignore[no-untyped-def]
    no = handling(world)
    sweep(app, RESOLVE_WARN)
    assert sweep(app, RESOLVE_DUE - timedelta(seconds=1)) == SweepResult()
    assert sweep(app, RESOLVE_DUE) == SweepResult(overdue=1)
    assert sweep(app, RESOLVE_DUE + timedelta(days=3)) == SweepResult()
    actions = [(e.action, e.at, e.payload["clock"]) for e in system_events(app, no)]
    assert actions == [(AUTO_URGE, RESOLVE_WARN, "resolve"), (OVERDUE, RESOLVE_DUE, "resolve")]
    assert clock_of(app, no, "resolve").overdue_noted_at == RESOLVE_DUE
    assert case_row(app, no).urge_count == 1  # an overdue notice is no urge


def test_a_clock_found_already_overdue_gets_the_overdue_record_only(world: World, app) -> None:  # type: ignore[no-untyped-def]
    no = dispatched(world)  # accept and respond: 1 working day, due at the end of Tuesday 09-30
    result = sweep(app, local(2025, 10, 1, 9, 0))
    assert result == SweepResult(overdue=2)
    assert sorted((e.action, e.payload["clock"]) for e in system_events(app, no)) == [
        (OVERDUE, "accept"),
        (OVERDUE, "respond"),
    ]
    assert case_row(app, no).urge_count == 0


def test_marks_are_cleared_when_the_case_is_dispatched_again(world: World, app, clock) -> None:  # type: ignore[no-untyped-def]
    no = dispatched(world)
    first_warn = clock_of(app, no, "accept").warn_at
    assert first_warn == local(2025, 9, 30, 16, 24)  # 80% of 38 working hours after Monday 10:00
    assert sweep(app, first_warn) == SweepResult(urged=2)  # accept and respond, both the department's
    clock.set(local(2025, 9, 30, 17, 0))
    world.act(no, "return", "handler", reason="应由街道处理")
    assert clock_of(app, no, "accept").auto_urged_at == first_warn  # stopped by the return, marks kept
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    again = clock_of(app, no, "accept")
    assert (again.auto_urged_at, again.overdue_noted_at) == (None, None)  # a new round
    assert again.warn_at > first_warn
    assert clock_of(app, no, "respond").auto_urged_at == first_warn  # still its first round: not cleared
    # The new round of accept is urged; respond, due at the end of 09-30 all along, is overdue by now.
    assert sweep(app, again.warn_at) == SweepResult(urged=1, overdue=1)
    urges = [(e.payload["clock"], e.at) for e in system_events(app, no) if e.action == AUTO_URGE]
    assert sorted(urges) == sorted([("accept", first_warn), ("respond", first_warn), ("accept", again.warn_at)])


def test_marks_are_cleared_when_the_case_is_reopened(world: World, app, clock) -> None:  # type: ignore[no-untyped-def]
    no = handling(world)
    assert sweep(app, RESOLVE_WARN) == SweepResult(urged=1)
    assert sweep(app, RESOLVE_DUE) == SweepResult(overdue=1)
    clock.set(RESOLVE_DUE + timedelta(hours=10))
    world.act(no, "resolve", "handler", outcome="solved", reply="已修复")
    world.act(no, "callback", "dispatcher", reached=True, solved=False, satisfaction="unsatisfied")
    world.act(no, "reopen", "dispatcher", reason="诉求人反映仍未修好")
    resolve = clock_of(app, no, "resolve")
    assert (resolve.auto_urged_at, resolve.overdue_noted_at) == (None, None)
    assert sweep(app, resolve.warn_at) == SweepResult(urged=1)
    assert sweep(app, resolve.due_at) == SweepResult(overdue=1)
    assert [e.action for e in system_events(app, no)] == [AUTO_URGE, OVERDUE, AUTO_URGE, OVERDUE]


def test_a_suspended_clock_is_neither_urged_nor_recorded_overdue(world: World, app, clock) -> None:  # type: ignore[no-untyped-def]
    no = handling(world)
    world.act(no, "suspend", "handler", reason="等待诉求人补充材料")
    assert clock_of(app, no, "resolve").paused_at is not None
    for moment in (RESOLVE_WARN, RESOLVE_DUE, RESOLVE_DUE + timedelta(days=30)):
        assert sweep(app, moment) == SweepResult()
    assert system_events(app, no) == []
    clock.set(local(2025, 11, 3, 10, 0))
    world.act(no, "resume", "handler")
    resumed = clock_of(app, no, "resolve")
    assert resumed.warn_at > local(2025, 11, 3, 10, 0)  # the whole window is still ahead
    assert sweep(app, resumed.warn_at - timedelta(seconds=1)) == SweepResult()
    assert sweep(app, resumed.warn_at) == SweepResult(urged=1)


def test_the_centres_callback_clock_is_recorded_overdue_but_never_urged(world: World, app, clock) -> None:  # type: ignore[no-untyped-def]
    no = handling(world)
    world.act(no, "resolve", "handler", outcome="solved", reply="已修复")
    callback = clock_of(app, no, "callback")
    assert callback.owner == "centre"
    assert sweep(app, callback.warn_at) == SweepResult()
    assert sweep(app, callback.due_at) == SweepResult(overdue=1)
    [event] = system_events(app, no)
    assert (event.action, event.payload["clock"]) == (OVERDUE, "callback")
    assert case_row(app, no).urge_count == 0


def test_a_case_not_yet_dispatched_has_nobody_to_urge(world: World, app) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]  # the respond clock runs from intake, but no department has the case
    respond = clock_of(app, no, "respond")
    assert sweep(app, respond.warn_at) == SweepResult()
    assert sweep(app, respond.due_at) == SweepResult(overdue=1)  # the lateness is a fact all the same


def test_every_automatic_event_has_its_outbox_message(world: World, app) -> None:  # type: ignore[no-untyped-def]
    no = handling(world)
    sweep(app, RESOLVE_WARN)
    sweep(app, RESOLVE_DUE)
    events = system_events(app, no)
    with transaction(app.state.sessions) as session:
        messages = {m.event_id: m for m in session.exec(select(OutboxMessage)).all()}
    for event in events:
        message = messages[event.id]
        assert message.event == event.action and message.case_id == event.case_id
        assert message.body["automatic"] is True and message.body["actor_role"] is None
        assert message.body["input"] == {"automatic": True, "clock": "resolve", "due_at": RESOLVE_DUE.isoformat()}
        assert message.body["case"]["case_no"] == no and message.body["case"]["department"]["code"] == "CGJ"
    assert [messages[e.id].event for e in events] == [AUTO_URGE, OVERDUE]


def test_a_person_holding_the_version_before_the_sweep_gets_409(world: World, app) -> None:  # type: ignore[no-untyped-def]
    no = dispatched(world)
    version = world.get(no, "handler")["version"]
    sweep(app, clock_of(app, no, "accept").warn_at)
    world.act(no, "accept", "handler", expect=409, version=version)
    world.act(no, "accept", "handler", version=version + 1)


def test_batches_cover_every_clock(world: World, app) -> None:  # type: ignore[no-untyped-def]
    cases = [dispatched(world, title=f"路灯不亮 {i}") for i in range(5)]
    result = sweep(app, local(2025, 9, 30, 16, 24), batch_size=3)
    assert result == SweepResult(urged=10)  # accept and respond of each case, in batches of three clocks
    assert sorted(e.case_id for e in system_events(app)) == sorted(
        case_row(app, no).id for no in cases for _ in range(2)
    )


def test_an_extension_is_the_same_round_the_urged_clock_is_not_urged_again(world: World, app, clock) -> None:  # type: ignore[no-untyped-def]
    no = handling(world)
    assert sweep(app, RESOLVE_WARN) == SweepResult(urged=1)
    clock.set(RESOLVE_WARN + timedelta(hours=1))
    world.act(no, "request_extension", "handler", days=5, reason="需协调供电公司")
    world.act(no, "approve_extension", "supervisor")
    extended = clock_of(app, no, "resolve")
    assert extended.due_at > RESOLVE_DUE and extended.warn_at > RESOLVE_WARN
    assert extended.auto_urged_at == RESOLVE_WARN
    assert sweep(app, extended.warn_at) == SweepResult()
    assert sweep(app, RESOLVE_DUE) == SweepResult()  # the old due time is no longer due
    assert sweep(app, extended.due_at) == SweepResult(overdue=1)
