"""Helpers of the metric tests: read the rates and their case lists through the API, and drive cases to the
stage a test needs. Every case is made and moved through the real API at the moment the frozen clock says."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.api._support import API, sh
from tests.factories import World

# A quiet working week (no holiday): Monday 2025-11-03 10:00 in Shanghai, and its calendar month.
MON = sh(2025, 11, 3)
NOVEMBER = {"from": "2025-11-01", "to": "2025-12-01"}
SEPTEMBER = {"from": "2025-09-01", "to": "2025-10-01"}

HANDLERS = {"CGJ": "handler", "JD1": "other_handler"}


def at(moment: datetime) -> str:
    """An `as_of` parameter."""
    return moment.isoformat()


def rates(world: World, as_user: str = "leader", expect: int = 200, **params: Any) -> dict[str, Any]:
    response = world.client.get(f"{API}/reports/rates", params=params, headers=world.headers(as_user))
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


def metrics(world: World, **params: Any) -> dict[str, dict[str, Any]]:
    """The zone's figures of a report, by metric key."""
    return rates(world, **params)["metrics"]  # type: ignore[no-any-return]


def rate(figures: dict[str, dict[str, Any]], key: str) -> tuple[Any, Any, Any]:
    """(numerator, denominator, value) of a rate."""
    found = figures[key]
    return found["numerator"], found["denominator"], found["value"]


def explain(
    world: World, metric: str, part: str = "numerator", as_user: str = "leader", expect: int = 200, **params: Any
) -> dict[str, Any]:
    response = world.client.get(
        f"{API}/reports/rates/{metric}/cases", params={"part": part, **params}, headers=world.headers(as_user)
    )
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


def counted(world: World, metric: str, part: str = "numerator", **params: Any) -> list[str]:
    """The case numbers a figure counts (oldest first); the list's count is its length."""
    body = explain(world, metric, part, **params)
    assert body["count"] == len(body["items"])
    return [item["case_no"] for item in body["items"]]


def department_ids(world: World) -> dict[str, int]:
    """Department ids by code (group keys and filters use ids)."""
    listed = world.client.get(f"{API}/departments", headers=world.headers("leader")).json()
    return {d["code"]: d["id"] for d in listed}


def dispatched(world: World, department: str = "CGJ", **overrides: Any) -> str:
    no: str = world.intake(**overrides)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id=department)
    return no


def handling(world: World, department: str = "CGJ", **overrides: Any) -> str:
    """A case dispatched, accepted and responded to at the clock's moment."""
    no = dispatched(world, department, **overrides)
    world.act(no, "accept", HANDLERS[department])
    world.act(no, "respond", HANDLERS[department], note="已电话联系诉求人")
    return no


def resolve(world: World, no: str, outcome: str = "solved", department: str = "CGJ") -> None:
    world.act(no, "resolve", HANDLERS[department], outcome=outcome, reply="已处理完毕")


def resolved(world: World, outcome: str = "solved", department: str = "CGJ", **overrides: Any) -> str:
    no = handling(world, department, **overrides)
    resolve(world, no, outcome, department)
    return no


def callback(world: World, no: str, satisfaction: str | None = "satisfied", solved: bool = True) -> None:
    """A callback that reached the petitioner, or with satisfaction None one that did not."""
    if satisfaction is None:
        world.act(no, "callback", "dispatcher", reached=False, note="电话无人接听")
    else:
        world.act(no, "callback", "dispatcher", reached=True, solved=solved, satisfaction=satisfaction)
