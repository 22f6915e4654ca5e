"""Subscriptions: which events and departments reach which receiver (the filters), what is refused on save,
and the same from the CLI (subscriptions add/list/disable/enable/remove)."""

from __future__ import annotations

import pytest

from grievance.cases.models import CaseEvent
from grievance.db import transaction
from grievance.errors import Conflict, InvalidInput
from grievance.outbox import worker
from grievance.outbox.subscriptions import known_events
from tests.factories import World
from tests.outbox._support import deliveries, messages, subscribe
from tests.outbox.conftest import Receiver


def _events_to(receiver: Receiver, name: str) -> list[tuple[str, str]]:
    return [(r.json()["event"], r.json()["case"]["case_no"]) for r in receiver.received if r.path == f"/hook/{name}"]


def test_events_and_departments_filter_what_each_subscription_gets(world: World, receiver: Receiver):
    app = world.app
    subscribe(app, receiver.url + "/all", name="all")
    subscribe(app, receiver.url + "/dispatch", name="dispatch", events=["dispatch"])
    subscribe(app, receiver.url + "/cgj", name="cgj", departments=["CGJ"])
    subscribe(app, receiver.url + "/late", name="late", events=["due_soon", "overdue"], departments=["CGJ"])
    a = world.intake()["case_no"]
    b = world.intake()["case_no"]
    world.act(a, "dispatch", "dispatcher", department_id="CGJ")
    world.act(b, "dispatch", "dispatcher", department_id="JD1")
    world.act(a, "accept", "handler")
    with transaction(app.state.sessions) as session:  # what the sweeper writes: no actor, automatic
        case_id = world.get(a, "dispatcher")["id"]
        for action in ("auto_urge", "overdue"):
            session.add(
                CaseEvent(
                    case_id=case_id,
                    action=action,
                    from_state="accepted",
                    to_state="accepted",
                    actor_id=None,
                    at=app.state.runtime.now(),
                    payload={"automatic": True, "clock": "resolve", "due_at": "2025-10-10T16:00:00+00:00"},
                )
            )
    worker.run_once(app.state.sessions, app.state.runtime.settings)
    assert len(_events_to(receiver, "all")) == len(messages(app)) == 7
    assert _events_to(receiver, "dispatch") == [("dispatch", a), ("dispatch", b)]
    # the department as the message recorded it: a's events once dispatched to CGJ (intake had none)
    assert _events_to(receiver, "cgj") == [("dispatch", a), ("accept", a), ("auto_urge", a), ("overdue", a)]
    assert _events_to(receiver, "late") == [("auto_urge", a), ("overdue", a)]
    urge = next(r.json() for r in receiver.received if r.json()["event"] == "auto_urge")
    assert urge["automatic"] is True and urge["actor_role"] is None


def test_what_a_subscription_refuses(world: World):
    app = world.app
    for kwargs, field in (
        ({"url": "ftp://example.org/x"}, "url"),
        ({"url": "https://exa mple.org"}, "url"),
        ({"format": "xml"}, "format"),
        ({"events": ["dispatch", "fly"]}, "events"),
        ({"departments": ["NOPE"]}, "departments"),
        ({"name": ""}, "name"),
    ):
        with pytest.raises(InvalidInput) as caught:
            subscribe(app, **{"url": "https://example.org/hook", **kwargs})
        assert caught.value.detail["errors"][0]["field"] == field
    made = subscribe(app, "https://example.org/hook", events=["due_soon", "dispatch", "dispatch"], secret="")
    assert made.events == ["auto_urge", "dispatch"] and len(made.secret) >= 32  # a JSON secret is generated
    with pytest.raises(Conflict):
        subscribe(app, "https://example.org/other")  # same name
    assert {"intake", "dispatch", "callback", "close", "auto_urge", "overdue"} <= set(
        known_events(app.state.runtime.workflows)
    )


def test_subscriptions_from_the_cli(world: World, receiver: Receiver, cli):  # type: ignore[no-untyped-def]
    added = cli(
        "subscriptions", "add", "cgj-group", receiver.url, "--events", "dispatch,overdue", "--departments", "CGJ"
    )
    assert added.code == 0, added.err
    assert "cgj-group" in added.out and "events=dispatch,overdue" in added.out and "departments=CGJ" in added.out
    assert "signing secret" in added.out  # generated and shown once
    bad = cli("subscriptions", "add", "x", "not-a-url")
    assert bad.code == 2 and "http" in bad.err
    robot = cli(
        "subscriptions",
        "add",
        "robot",
        "https://oapi.dingtalk.com/robot/send?access_token=t",
        "--format",
        "dingtalk",
        "--secret",
        "SECx",
    )
    assert robot.code == 0 and "signing secret" not in robot.out
    assert cli("subscriptions", "disable", "cgj-group").code == 0
    listed = cli("subscriptions", "list").out
    assert "cgj-group\tjson\tpaused" in listed and "robot\tdingtalk\tactive" in listed
    assert cli("subscriptions", "enable", "cgj-group").code == 0
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    with transaction(world.app.state.sessions) as session:
        worker.fan_out(session)
    assert len(deliveries(world.app)) == 3  # cgj-group: the dispatch; the robot: intake and dispatch
    removed = cli("subscriptions", "remove", "robot")
    assert removed.code == 0 and "robot" in removed.out
    assert len(deliveries(world.app)) == 1
    assert cli("subscriptions", "remove", "robot").code != 0  # gone


def test_sweep_once_from_the_cli(world: World, cli):  # type: ignore[no-untyped-def]
    result = cli("sweep", "--once")
    assert result.code == 0, result.err
    assert "自动催办 (urged) 0" in result.out and "超期 (overdue) 0" in result.out


def test_a_subscription_changed(world: World):
    from grievance.outbox.subscriptions import get_subscription, update_subscription

    app = world.app
    made = subscribe(app, "https://example.org/a", name="a", events=["dispatch"], departments=["CGJ"])
    subscribe(app, "https://example.org/b", name="b")
    with transaction(app.state.sessions) as session:
        changed = update_subscription(
            session,
            get_subscription(session, "a"),
            workflows=app.state.runtime.workflows,
            url="https://example.org/new",
            events=[],
            departments=["JD1", "CGJ"],
        )
        assert changed.url == "https://example.org/new" and changed.events == [] and changed.secret == made.secret
        assert len(changed.department_ids) == 2
        with pytest.raises(Conflict):
            update_subscription(session, changed, workflows=app.state.runtime.workflows, name="b")
        with pytest.raises(InvalidInput):
            update_subscription(session, changed, workflows=app.state.runtime.workflows, format="fax")


def test_subscriptions_that_could_never_work_are_refused(world: World):
    app = world.app
    for kwargs, field, words in (
        ({"url": "http://127.0.0.1:99999/x"}, "url", "端口"),
        ({"url": "http://127.0.0.1:0/x"}, "url", "端口"),
        ({"url": "http://user:pw@127.0.0.1/x"}, "url", "用户名或密码"),
        ({"format": "hotline12345", "secret": ""}, "secret", "12345"),
        ({"format": "dingtalk", "secret": "notSEC"}, "secret", "SEC"),
        ({"format": "dingtalk", "secret": "   "}, "secret", "空格"),
        ({"format": "json", "secret": " \t "}, "secret", "空格"),
        ({"format": "wecom", "secret": "abc"}, "secret", "企业微信"),
    ):
        with pytest.raises(InvalidInput) as caught:
            subscribe(app, **{"url": "https://example.org/hook", **kwargs})
        (error,) = caught.value.detail["errors"]
        assert error["field"] == field and words in error["message"], (kwargs, error)
        assert error["message_en"]
    with pytest.raises(InvalidInput) as caught:
        subscribe(app, "https://example.org/hook", events=["fly"])
    assert "due_soon 即 auto_urge" in caught.value.detail["errors"][0]["message"]
    assert "(due_soon means auto_urge)" in caught.value.detail["errors"][0]["message_en"]
    made = subscribe(app, "https://example.org:8443/hook", name="12345", format="hotline12345", secret="k-12345")
    assert made.secret == "k-12345"
    assert subscribe(app, "https://oapi.dingtalk.com/robot/send?access_token=t", name="d", format="dingtalk", secret="")


def test_the_cli_refuses_empty_events_and_lists_without_credentials(world: World, cli, capsys):  # type: ignore[no-untyped-def]
    empty = cli("subscriptions", "add", "x", "https://example.org/hook", "--events", "")
    assert empty.code == 2 and "--events" in empty.err and "leave --events out" in empty.err
    assert cli("subscriptions", "list").out.strip() == "没有订阅 (no subscriptions)"  # nothing half-made
    assert cli("subscriptions", "add", "w", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY-1").code == 0
    ding = cli(
        "subscriptions", "add", "d", "https://oapi.dingtalk.com/robot/send?access_token=TOK-1", "--format", "dingtalk"
    )
    assert ding.code == 0 and "TOK-1" not in ding.out
    spaces = cli("subscriptions", "add", "s", "https://example.org/s", "--format", "dingtalk", "--secret", "  ")
    assert spaces.code == 2 and "secret" in spaces.err
    listed = cli("subscriptions", "list").out
    assert "KEY-1" not in listed and "TOK-1" not in listed
    assert "send?key=…" in listed and "send?access_token=…" in listed and "secret=set" in listed
    with pytest.raises(SystemExit):
        cli("subscriptions", "--help")
    helped = " ".join(capsys.readouterr().out.split())
    assert "pause a subscription: events keep being queued for it and wait until it is resumed" in helped


def test_a_format_that_does_not_take_a_message_gets_no_delivery_row(world: World):
    app = world.app
    subscribe(app, "https://platform.example.org/in", name="12345", format="hotline12345", secret="k")
    subscribe(app, "https://example.org/all", name="all")
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    with transaction(app.state.sessions) as session:
        assert worker.fan_out(session) == 2
    rows = deliveries(app)
    assert len(rows) == 2 and {r.subscription_id for r in rows} == {2}  # nothing for 12345: not its case
