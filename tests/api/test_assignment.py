"""Giving a department's case to one of its people (承办人) through POST /api/v1/cases/{ref}/actions/assign: the head
to anyone of the department, a handler to themselves; refused for a stranger or an inactive account with an error
naming the field; cleared when the case leaves the department; listed by GET /api/v1/cases?assignee_id / unassigned."""

from __future__ import annotations

import pytest
from sqlmodel import select

from grievance.db import transaction
from grievance.users.models import User
from grievance.users.service import create_user
from tests.api._support import sh
from tests.factories import World

MON = sh(2025, 11, 3)
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # the rules, not the SQL


def user_id(world: World, username: str) -> int:
    with transaction(world.app.state.sessions) as session:
        return session.exec(select(User.id).where(User.username == username)).one()  # type: ignore[return-value]


def accepted_case(world: World, **overrides: object) -> str:
    no = world.intake(**overrides)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    return no


def listed(world: World, as_user: str, **query: object) -> list[str]:
    response = world.client.get("/api/v1/cases", params=query, headers=world.headers(as_user))
    assert response.status_code == 200, response.text
    return [item["case_no"] for item in response.json()["items"]]


def test_the_head_assigns_and_the_handler_lists_it_as_theirs(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = accepted_case(world)
    other = accepted_case(world, title="井盖缺失")
    handler = user_id(world, "handler")
    detail = world.act(no, "assign", "head", handler_id=handler)
    assert detail["state"] == "accepted" and detail["assignee"] == {"id": handler, "name": "handler"}
    event = detail["timeline"][-1]
    assert event["action"] == "assign" and event["payload"] == {"handler_id": handler, "handler": "handler"}
    assert listed(world, "handler", assignee_id=handler) == [no]
    assert listed(world, "head", unassigned="true") == [other]
    (item,) = [
        i
        for i in world.client.get("/api/v1/cases", headers=world.headers("head")).json()["items"]
        if i["case_no"] == no
    ]
    assert item["assignee_id"] == handler and item["assignee"] == "handler"
    # Reassigned by username, then taken back: the case is the department's again.
    head = user_id(world, "head")
    assert world.act(no, "assign", "head", handler_id="head")["assignee"]["id"] == head
    detail = world.act(no, "unassign", "head")
    assert detail["assignee"] is None and detail["timeline"][-1]["payload"] == {"handler": "head"}
    assert world.act(no, "unassign", "head", expect=409)["message"].startswith("该件尚未分派")


@SQLITE_ONLY
def test_a_handler_takes_an_unassigned_case_for_themselves_only(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = accepted_case(world)
    head = user_id(world, "head")
    refused = world.act(no, "assign", "handler", expect=409, handler_id=head)
    assert "只能把件分派给自己" in refused["message"]
    detail = world.act(no, "assign", "handler", handler_id=user_id(world, "handler"))
    assert detail["assignee"]["name"] == "handler"
    assert "assign" not in {a["action"] for a in detail["available_actions"]}  # taken: nothing more to take
    assert world.act(no, "unassign", "handler", expect=403)["error"] == "forbidden"


@SQLITE_ONLY
def test_only_an_active_person_of_the_department_can_be_given_the_case(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = accepted_case(world)
    with transaction(world.app.state.sessions) as session:
        create_user(session, username="left", role="handler", password=None, department="CGJ").active = False
    for who, says in (
        (user_id(world, "other_handler"), "不是本件承办单位的人员"),  # a handler of another department
        (user_id(world, "dispatcher"), "不是本件承办单位的人员"),  # the centre is no department handler
        ("left", "账号已停用"),
        ("nobody", "没有用户"),
    ):
        body = world.act(no, "assign", "head", expect=422, handler_id=who)
        (error,) = body["errors"]
        assert error["field"] == "handler_id" and error["message"].startswith("承办人：") and says in error["message"]
        assert error["message_en"].startswith("Handler: ")
    assert world.get(no, "head")["assignee"] is None


@SQLITE_ONLY
def test_the_handler_is_cleared_when_the_case_leaves_the_department(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = accepted_case(world)
    world.act(no, "assign", "head", handler_id=user_id(world, "handler"))
    world.act(no, "return", "handler", reason="不属于本单位职责")
    assert world.get(no, "dispatcher")["assignee"] is None
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "assign", "head", handler_id=user_id(world, "handler"))
    world.act(no, "urge", "dispatcher")  # the centre's actions leave the handler alone
    assert world.get(no, "head")["assignee"]["name"] == "handler"
