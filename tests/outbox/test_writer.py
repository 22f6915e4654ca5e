"""Every live case event writes its outbox row in its own transaction, with no personal data; a refused action
writes none; the ledger import's history writes none."""

from __future__ import annotations

from sqlmodel import select

from grievance.cases.models import CaseEvent
from grievance.db import transaction
from grievance.outbox.models import OutboxMessage
from tests.factories import World


def _messages(world: World) -> list[OutboxMessage]:
    with transaction(world.app.state.sessions) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_each_event_has_one_message_linked_to_it_in_order(world: World):
    no = world.intake(petitioner={"name": "张三", "phone": "13812345678"})["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    with transaction(world.app.state.sessions) as session:
        events = session.exec(select(CaseEvent).order_by(CaseEvent.id)).all()
        pairs = [(e.id, e.action) for e in events]
    messages = _messages(world)
    assert [(m.event_id, m.event) for m in messages] == pairs
    assert [m.event for m in messages] == ["intake", "dispatch", "accept"]
    dispatch = messages[1].body
    assert dispatch["case"]["case_no"] == no
    assert dispatch["case"]["department"]["code"] == "CGJ"
    assert dispatch["to_state"] == messages[1].body["case"]["state"]
    text = repr([m.body for m in messages])
    assert "13812345678" not in text and "张三" not in text


def test_a_refused_action_writes_no_message(world: World):
    no = world.intake()["case_no"]
    before = len(_messages(world))
    world.act(no, "close", "dispatcher", expect=409)
    assert len(_messages(world)) == before
