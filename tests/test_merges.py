"""One case, one truth (issue 8, section 4): two opposite merges at once leave exactly one winner and the loser
gets 409; the case a duplicate went into lists it (with an event) and answers for it on the case page, the API
and the public /track page; meeting and station tallies count what the rates of the same cohort count."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlmodel import col, select

from grievance.cases.models import Case, CaseEvent
from grievance.db import transaction
from grievance.errors import Conflict
from grievance.users.service import get_user
from grievance.workflow.engine import fire
from tests.factories import World
from tests.test_concurrency import wait_until_blocked
from tests.web.support import Browser, soup, text_of

API = "/api/v1"


@pytest.fixture
def world(app, client, clock) -> World:  # type: ignore[no-untyped-def]
    return World(app, client)


def resolve(world: World, case_no: str, reply: str = "路灯已修复") -> None:
    world.act(case_no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(case_no, "accept", "handler")
    world.act(case_no, "respond", "handler", note="已电话联系")
    world.act(case_no, "resolve", "handler", outcome="solved", reply=reply)


def merge(world: World, source: str, target: str) -> Any:
    return world.client.post(
        f"{API}/cases/{source}/actions/merge", json={"into": target}, headers=world.headers("intake")
    )


# --- the race -------------------------------------------------------------------------------------------------


ROUNDS, SECONDS = 15, 60.0


def test_opposite_merges_at_once_leave_exactly_one_winner(world: World, database: Any) -> None:
    """A into B and B into A from two threads released together, round after round (bounded in time): exactly
    one succeeds, the other gets 409, and exactly one of the two cases is left to be answered."""
    started, rounds = time.monotonic(), 0
    while rounds < ROUNDS and time.monotonic() - started < SECONDS:
        a = world.intake(title=f"第{rounds}轮：小区门口路灯不亮")["case_no"]
        b = world.intake(title=f"第{rounds}轮：小区门口路灯坏了")["case_no"]
        barrier = threading.Barrier(2)

        def attempt(pair: tuple[str, str], barrier: threading.Barrier = barrier) -> Any:
            barrier.wait()
            return merge(world, *pair)

        with ThreadPoolExecutor(2) as pool:
            responses = list(pool.map(attempt, [(a, b), (b, a)]))
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        states = {no: world.get(no, "dispatcher") for no in (a, b)}
        merged = [no for no, case in states.items() if case["state"] == "merged"]
        assert len(merged) == 1, {no: c["state"] for no, c in states.items()}
        (winner,) = merged
        survivor = b if winner == a else a
        assert states[survivor]["state"] == "received" and states[survivor]["duplicate_of"] is None
        assert states[winner]["duplicate_of"] == survivor
        assert [d["case_no"] for d in states[survivor]["merged_cases"]] == [winner]
        rounds += 1
    assert rounds >= 5, f"only {rounds} rounds in {SECONDS} s"


def test_an_opposite_merge_waits_for_the_first_and_is_refused(app: Any, world: World, database: Any) -> None:
    """Deterministic: B into A starts while A into B is written but not committed. It waits for the lock on the
    cases (PostgreSQL: SELECT ... FOR UPDATE in id order; SQLite: BEGIN IMMEDIATE), then sees A merged and
    is refused with 409, writing nothing."""
    a = world.intake(title="小区门口路灯不亮")
    b = world.intake(title="小区门口路灯坏了")
    runtime = app.state.runtime
    outcome: dict[str, Any] = {}

    def opposite() -> None:
        try:
            with transaction(app.state.sessions) as session:
                case = session.get(Case, b["id"])
                assert case is not None
                actor = get_user(session, "dispatcher")
                fire(session, runtime, case=case, action="merge", actor=actor, payload={"into": a["case_no"]})
        except Exception as exc:
            outcome["error"] = exc

    with transaction(app.state.sessions) as session:
        case = session.get(Case, a["id"])
        assert case is not None
        actor = get_user(session, "intake")
        fire(session, runtime, case=case, action="merge", actor=actor, payload={"into": b["case_no"]})
        thread = threading.Thread(target=opposite)
        thread.start()
        wait_until_blocked(app, database)
    thread.join(30)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), Conflict), repr(outcome.get("error"))
    assert world.get(a["case_no"], "dispatcher")["state"] == "merged"
    survivor = world.get(b["case_no"], "dispatcher")
    assert survivor["state"] == "received" and survivor["duplicate_of"] is None
    assert [e["action"] for e in survivor["timeline"]] == ["intake", "merged_in"]


# --- what a merge leaves to read ------------------------------------------------------------------------------


def test_the_target_lists_the_duplicate_with_an_event_and_the_duplicate_points_to_it(world: World, clock: Any) -> None:
    first = world.intake()["case_no"]
    second = world.intake(petitioner={"name": "李四", "phone": "13900001111"})["case_no"]
    before = world.get(first, "dispatcher")["version"]
    world.act(second, "merge", "intake", into=first)

    target = world.get(first, "dispatcher")
    assert [d["case_no"] for d in target["merged_cases"]] == [second]
    assert target["merged_cases"][0]["title"] == "小区门口路灯不亮"
    last = target["timeline"][-1]
    assert (last["action"], last["label"], last["payload"]) == ("merged_in", "合并入重复件", {"case_no": second})
    assert last["from_state"] == last["to_state"] == "received" and last["actor"]
    assert target["version"] == before + 1  # an event moves the version, like any other
    assert target["merged_into"] is None and target["state"] == "received"

    duplicate = world.get(second, "dispatcher")
    assert duplicate["merged_cases"] == []
    assert duplicate["merged_into"] == {
        "case_no": first,
        "answering_case_no": first,
        "state": "received",
        "state_label": "待派单",
        "resolved_at": None,
        "reply": None,
    }
    resolve(world, first, reply="路灯已于10月1日修复")
    answered = world.get(second, "dispatcher")["merged_into"]
    assert (answered["state_label"], answered["reply"]) == ("已办结", "路灯已于10月1日修复")
    assert answered["resolved_at"] is not None


def test_a_merge_chain_answers_with_its_last_case(world: World, clock: Any) -> None:
    """A into B, later B (with A in it) into C: A's page and /track answer with C."""
    a, b, c = (world.intake(title=t)["case_no"] for t in ("路灯不亮", "路灯坏了", "门口路灯不亮"))
    world.act(a, "merge", "intake", into=b)
    world.act(b, "merge", "intake", into=c)
    resolve(world, c, reply="已修复")
    pointer = world.get(a, "dispatcher")["merged_into"]
    assert (pointer["case_no"], pointer["answering_case_no"], pointer["reply"]) == (b, c, "已修复")
    code = world.get(a, "intake")["query_code"]
    public = world.client.get(f"{API}/public/cases/{code}").json()
    assert public["merged_into"]["case_no"] == c


def test_track_of_a_duplicate_shows_the_target_number_state_and_reply_and_no_personal_data(
    app: Any, world: World, clock: Any
) -> None:
    first = world.intake(petitioner={"name": "王五", "phone": "13700002222"})["case_no"]
    second = world.intake()["case_no"]
    code = world.get(second, "intake")["query_code"]
    world.act(second, "merge", "intake", into=first)

    page = soup(Browser(app).post("/track", {"code": code}).text)
    assert text_of(page.find(id="status")) == "已合并"
    merged = page.find(id="merged-into")
    assert first in text_of(merged.find("h2")) and text_of(merged.find(id="merged-status")) == "待派单"
    assert "暂无答复" in text_of(merged)

    resolve(world, first, reply="路灯已于10月1日修复")
    page = soup(Browser(app).post("/track", {"code": code}).text)
    merged = page.find(id="merged-into")
    assert text_of(merged.find(id="merged-status")) == "已办结"
    assert "路灯已于10月1日修复" in text_of(merged)
    for personal in ("王五", "13700002222", "张三", "13812341234", "1381234"):
        assert personal not in page.text
    body = world.client.get(f"{API}/public/cases/{code}").json()
    assert body["state"] == "merged" and body["replies"] == []
    assert body["merged_into"]["case_no"] == first and body["merged_into"]["state_label"] == "已办结"
    assert [r["reply"] for r in body["merged_into"]["replies"]] == ["路灯已于10月1日修复"]
    assert set(body["merged_into"]) == {"case_no", "state", "state_label", "resolved_at", "replies"}


def test_the_case_pages_point_both_ways(app: Any, world: World, clock: Any) -> None:
    first = world.intake()["case_no"]
    second = world.intake(title="门口路灯坏了")["case_no"]
    world.act(second, "merge", "intake", into=first)
    resolve(world, first, reply="路灯已修复")
    b = Browser(app, "dispatcher")

    target = b.page(f"/cases/{first}")
    listed = target.select(".merged-cases li")
    assert len(listed) == 1 and listed[0].find("a")["href"] == f"/cases/{second}"
    assert "门口路灯坏了" in text_of(listed[0])
    event = [li for li in target.select(".timeline li") if "合并入重复件" in text_of(li)]
    assert len(event) == 1 and second in text_of(event[0])

    duplicate = b.page(f"/cases/{second}")
    card = duplicate.find(class_="card-merged-into")
    assert first in text_of(card.find("h2")) and card.find("a", href=f"/cases/{first}") is not None
    assert text_of(card.find(class_="merged-state")) == "已办结"
    assert text_of(card.find(class_="merged-reply")) == "路灯已修复"


def test_a_merged_in_event_is_the_targets_and_leaves_its_chain_whole(app: Any, world: World, clock: Any) -> None:
    first = world.intake()
    world.act(first["case_no"], "dispatch", "dispatcher", department_id="CGJ")
    second = world.intake()["case_no"]
    world.act(second, "merge", "dispatcher", into=first["case_no"])
    with transaction(app.state.sessions) as session:
        events = session.exec(
            select(CaseEvent).where(CaseEvent.case_id == first["id"]).order_by(col(CaseEvent.id))
        ).all()
        chain = [(e.action, e.from_state, e.to_state) for e in events]
        case = session.get(Case, first["id"])
        assert case is not None and case.version == len(events)
    assert chain == [
        ("intake", None, "received"),
        ("dispatch", "received", "dispatched"),
        ("merged_in", "dispatched", "dispatched"),
    ]


# --- tallies agree with the rates -----------------------------------------------------------------------------


def rates(world: World, **filters: Any) -> dict[str, Any]:
    response = world.client.get(
        f"{API}/reports/rates",
        params={"from": "2025-09-01", "to": "2025-10-01", **filters},
        headers=world.headers("leader"),
    )
    assert response.status_code == 200, response.text
    return response.json()["metrics"]  # type: ignore[no-any-return]


def test_a_meeting_with_a_merged_and_a_resolved_case_counts_as_the_rates(app: Any, world: World, clock: Any) -> None:
    kept = world.intake(title="路灯不亮")["case_no"]
    done = world.intake(title="垃圾清运不及时")["case_no"]
    duplicate = world.intake(title="门口路灯坏了")["case_no"]
    resolve(world, done, reply="已安排每日清运")
    world.act(duplicate, "merge", "intake", into=kept)

    m = rates(world, meeting=world.meeting_id)
    assert m["intake_count"]["value"] == 2 and m["duplicate_count"]["value"] == 1
    assert (m["resolution_rate"]["numerator"], m["resolution_rate"]["denominator"]) == (1, 2)

    b = Browser(app, "intake")
    page = b.page(f"/meetings/{world.meeting_id}")
    assert "共 2 件，已办结 1 件，办理中 1 件，另有重复件 1 件已合并" in text_of(page.find(id="meeting-cases"))
    row = next(tr for tr in page.select(".fd-register tbody tr") if duplicate in text_of(tr))
    assert f"已合并 → {kept}" in text_of(row) and row.find("a", class_="merged-into")["href"] == f"/cases/{kept}"

    report = b.page(f"/meetings/{world.meeting_id}/report")
    said = text_of(report.find("article"))
    assert "本次恳谈会共 2 件诉求：已办结答复 1 件，正在办理 1 件。" in said
    assert "另有 1 件为重复诉求，已合并到原诉求一并办理。" in said
    rows = {tr.find_all("td")[1].get_text(strip=True): tr for tr in report.select("tbody tr")}
    assert text_of(rows[duplicate].find_all("td")[4]) == f"已合并到 {kept}"
    assert "正在办理" in text_of(rows[duplicate].find_all("td")[5])  # its target is not answered yet

    meetings = b.page("/meetings")
    listed = meetings.find("a", string="第一期阳光恳谈会").find_parent("tr")
    assert [text_of(td) for td in listed.find_all("td")][5:8] == ["2", "1", "1"]

    resolve(world, kept, reply="路灯已修复")
    report = b.page(f"/meetings/{world.meeting_id}/report")
    rows = {tr.find_all("td")[1].get_text(strip=True): tr for tr in report.select("tbody tr")}
    assert text_of(rows[duplicate].find_all("td")[5]) == "路灯已修复"  # answered with its target's reply
    assert "共 2 件诉求：已办结答复 2 件，正在办理 0 件" in text_of(report.find("article"))


def test_a_station_counts_as_the_rates(app: Any, world: World, clock: Any) -> None:
    station = {"channel": "station", "station": "ZS01", "meeting": None}
    kept = world.intake(title="驿站门口积水", **station)["case_no"]
    done = world.intake(title="路灯不亮", **station)["case_no"]
    duplicate = world.intake(title="驿站门口又积水", **station)["case_no"]
    resolve(world, done)
    world.act(duplicate, "merge", "intake", into=kept)

    m = rates(world, station="ZS01")
    assert (m["intake_count"]["value"], m["duplicate_count"]["value"]) == (2, 1)
    assert m["resolution_rate"]["numerator"] == 1

    b = Browser(app, "dispatcher")
    page = b.page("/stations/ZS01")
    assert "共 2 件，已办结 1 件，办理中 1 件，另有重复件 1 件已合并" in text_of(page.find(id="station-cases"))
    listed = b.page("/stations").find("a", string="青桐驿站").find_parent("tr")
    assert [text_of(td) for td in listed.find_all("td")][5:8] == ["2", "1", "1"]
