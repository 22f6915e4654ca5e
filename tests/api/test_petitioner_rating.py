"""The petitioner rates their resolved case with nothing but the receipt's query code (POST /public/rating): recorded
as a self-reported callback that the rates count; once per resolution; a dissatisfied rating keeps the case on the
centre's callback list; attempts are limited per address and per case; the 12345 platform's result goes the same
way (grievance/cases/ratings.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from grievance.cases.callbacks import list_callbacks
from grievance.cases.models import Case
from grievance.cases.ratings import AlreadyRated, record_external_callback
from grievance.db import transaction
from grievance.outbox.models import OutboxMessage
from grievance.users.models import User
from tests.api._support import API
from tests.factories import World
from tests.reports.metrics_support import MON, NOVEMBER, counted, metrics, rate, resolved
from web.app import create_app

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _code(world: World, no: str) -> str:
    return world.get(no, "intake")["query_code"]  # type: ignore[no-any-return]


def _rate(world: World, code: str, expect: int = 201, ip: str = "203.0.113.7", **answers: object) -> dict:
    body = {"query_code": code, "solved": True, "satisfaction": "satisfied", **answers}
    with TestClient(world.app, client=(ip, 50000)) as client:
        response = client.post(f"{API}/public/rating", json=body)
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


def _clock(world: World, no: str, name: str = "callback") -> dict:
    return next(c for c in world.get(no, "dispatcher")["clocks"] if c["name"] == name)


def _on_callback_list(world: World) -> dict[str, object]:
    """The centre's 待回访 list as the dispatcher reads it: case number -> the self-rating shown in the row."""
    app = world.app
    with transaction(app.state.sessions) as session:
        dispatcher = session.exec(select(User).where(User.username == "dispatcher")).one()
        page = list_callbacks(session, app.state.runtime, dispatcher)
        return {item.case_no: item.self_rating for item in page.items}


def test_a_satisfied_rating_is_the_callback_and_the_months_rates_count_it(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = resolved(world)
    code = _code(world, no)
    before = world.client.post(f"{API}/public/lookup", json={"query_code": code}).json()
    assert before["can_rate"] is True and before["rating"] is None
    clock.set(MON + timedelta(hours=3))
    body = _rate(world, code, solved=True, satisfaction="basically_satisfied", comment="处理及时")
    assert body["case_no"] == no and body["can_rate"] is False
    assert body["rating"]["satisfaction"] == "basically_satisfied" and body["rating"]["solved"] is True
    assert body["rating"]["commented"] is True and body["rating"]["centre_will_call"] is False
    assert "处理及时" not in str(body)  # the comment is not given back on the public side
    case = world.get(no, "dispatcher")
    assert case["callback_reached"] is True and case["satisfaction"] == "basically_satisfied"
    assert _clock(world, no)["status"] == "met"  # the centre need not call
    assert no not in _on_callback_list(world)
    event = case["timeline"][-1]
    assert event["action"] == "callback" and event["actor"] == "诉求人（自评）"
    assert event["payload"] == {
        "reached": True,
        "solved": True,
        "satisfaction": "basically_satisfied",
        "note": "处理及时",
        "self_reported": True,
        "source": "petitioner",
    }
    with transaction(world.app.state.sessions) as session:
        message = session.exec(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()  # type: ignore[union-attr]
        assert message is not None and message.event == "callback"
        assert message.body["input"]["self_reported"] is True and message.body["input"]["source"] == "petitioner"
    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "callback_rate") == (1, 1, 1.0)
    assert rate(figures, "satisfaction_rate") == (1, 1, 1.0)
    assert rate(figures, "solved_rate") == (1, 1, 1.0)
    assert counted(world, "satisfaction_rate", **NOVEMBER) == [no]
    assert counted(world, "solved_rate", "denominator", **NOVEMBER) == [no]


def test_a_dissatisfied_rating_counts_and_puts_the_case_on_the_callback_list_with_its_comment(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = resolved(world)
    due = _clock(world, no)["due_at"]
    clock.set(MON + timedelta(hours=2))
    body = _rate(world, _code(world, no), solved=False, satisfaction="unsatisfied", comment="路灯还是不亮")
    assert body["rating"]["centre_will_call"] is True
    callback = _clock(world, no)
    assert callback["status"] == "running" and callback["due_at"] == due  # the clock runs on, due time kept
    listed = _on_callback_list(world)
    assert no in listed
    note = listed[no]
    assert note is not None and note.source == "petitioner" and note.wants_call
    assert (note.satisfaction, note.solved, note.comment) == ("unsatisfied", False, "路灯还是不亮")
    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "satisfaction_rate") == (0, 1, 0.0)
    assert rate(figures, "solved_rate") == (0, 1, 0.0)
    assert counted(world, "satisfaction_rate", "denominator", **NOVEMBER) == [no]
    # The centre calls: an unreached call keeps the petitioner's answers and the list; a reached one ends it.
    world.act(no, "callback", "dispatcher", reached=False, note="无人接听")
    assert no in _on_callback_list(world)
    assert world.get(no, "dispatcher")["satisfaction"] == "unsatisfied"
    world.act(no, "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied", note="已再次处理")
    assert no not in _on_callback_list(world)
    assert rate(metrics(world, **NOVEMBER), "satisfaction_rate") == (1, 1, 1.0)  # the latest callback counts


def test_a_dissatisfied_rating_after_the_centres_call_starts_the_callback_clock_again(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = resolved(world)
    world.act(no, "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    assert _clock(world, no)["status"] == "met" and no not in _on_callback_list(world)
    clock.set(MON + timedelta(days=2))  # Wednesday
    _rate(world, _code(world, no), solved=True, satisfaction="unsatisfied", comment="态度不好")
    callback = _clock(world, no)
    assert callback["status"] == "running"
    assert callback["started_at"] == "2025-11-05T02:00:00Z"  # a full limit from the rating: Wednesday 10:00
    assert callback["due_at"] == "2025-11-07T16:00:00Z"  # the end of Friday, 2 working days on
    assert _on_callback_list(world)[no].comment == "态度不好"  # type: ignore[union-attr]
    assert world.get(no, "dispatcher")["satisfaction"] == "unsatisfied"  # the petitioner's word is the latest


def test_once_per_resolution_and_again_after_a_reopen(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = resolved(world)
    code = _code(world, no)
    _rate(world, code, solved=False, satisfaction="unsatisfied")
    again = _rate(world, code, expect=409, ip="203.0.113.8")
    assert again["error"] == "already_rated"
    assert again["message"] == "本次办理结果已评价过，每次办结只能评价一次"
    assert again["message_en"] == "this resolution has already been rated; a resolution is rated once"
    # The unsatisfied rating lets the supervisor reopen; the new resolution may be rated again.
    world.act(no, "reopen", "supervisor", reason="诉求人自评不满意")
    refused = _rate(world, code, expect=409, ip="203.0.113.9")
    assert refused["error"] == "not_allowed_now" and "尚未办结" in refused["message"]
    world.act(no, "resolve", "handler", outcome="solved", reply="已重新安装路灯")
    body = _rate(world, code, ip="203.0.113.10")
    assert body["rating"]["satisfaction"] == "satisfied"
    assert world.get(no, "dispatcher")["satisfaction"] == "satisfied"


@SQLITE_ONLY
def test_refusals_are_bilingual_and_say_what_is_wrong(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    open_case = world.intake()["case_no"]
    not_yet = _rate(world, _code(world, open_case), expect=409)
    assert not_yet["error"] == "not_allowed_now"
    assert not_yet["message_en"] == "the case is not resolved yet; it can be rated once it is resolved"
    unknown = _rate(world, "K7QM-3XHD-9TPR", expect=404, ip="203.0.113.20")
    assert unknown["error"] == "not_found" and unknown["message"] == "查询码无效"
    no = resolved(world)
    bad = _rate(world, _code(world, no), expect=422, ip="203.0.113.21", solved="maybe", satisfaction="great",
                comment="长" * 501)  # fmt: skip
    assert [e["field"] for e in bad["errors"]] == ["solved", "satisfaction", "comment"]
    assert bad["errors"][2]["message"] == "意见不能超过500字"
    assert bad["errors"][2]["message_en"] == "comment must be at most 500 characters"
    missing = _rate(world, _code(world, no), expect=422, ip="203.0.113.22", solved=None, satisfaction=None)
    assert [e["message"] for e in missing["errors"]] == ["请选择问题是否已解决", "请选择满意度：满意、基本满意、不满意"]
    assert world.get(no, "dispatcher")["callback_at"] is None  # nothing of a refused rating is kept
    # A closed case was called back by the centre already: it is not rated any more.
    world.act(no, "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    world.act(no, "close", "dispatcher")
    closed = _rate(world, _code(world, no), expect=409, ip="203.0.113.23")
    assert closed["error"] == "not_allowed_now" and "已归档" in closed["message"]


@SQLITE_ONLY
def test_attempts_are_limited_per_case_and_per_address_with_retry_after(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = resolved(world)
    code = _code(world, no)
    # Per case: 5 attempts an hour, from any addresses (422s count: every attempt does).
    for n in range(5):
        _rate(world, code, expect=422, ip=f"198.51.100.{n + 1}", satisfaction="great")
    with TestClient(world.app, client=("198.51.100.99", 50000)) as client:
        refused = client.post(
            f"{API}/public/rating", json={"query_code": code, "solved": True, "satisfaction": "satisfied"}
        )
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_attempts"
    assert int(refused.headers["Retry-After"]) == 3600 and refused.json()["message_en"].startswith("too many rating")
    assert world.get(no, "dispatcher")["callback_at"] is None
    clock.set(MON + timedelta(hours=1))
    assert _rate(world, code, ip="198.51.100.99")["rating"]["satisfaction"] == "satisfied"
    # Per address: 5 a minute, wrong codes included; another address is not held up.
    for _ in range(5):
        _rate(world, "K7QM-3XHD-9TPR", expect=404, ip="192.0.2.1")
    held = _rate(world, "K7QM-3XHD-9TPR", expect=429, ip="192.0.2.1")
    assert held["retry_after"] == 60 and held["minutes"] == 1
    _rate(world, "K7QM-3XHD-9TPR", expect=404, ip="192.0.2.2")
    paths = world.client.get("/openapi.json").json()["paths"]
    assert {"201", "404", "409", "422", "429"} <= set(paths[f"{API}/public/rating"]["post"]["responses"])


def test_the_12345_platforms_callback_result_goes_the_same_way(world, clock) -> None:  # type: ignore[no-untyped-def]
    """H5's call: an unreached result is an attempt (the clock runs on), a reached one counts like the centre's;
    the petitioner may still rate on the public page (another source)."""
    clock.set(MON)
    no = resolved(world)
    app = world.app
    with transaction(app.state.sessions) as session:
        case = session.exec(select(Case).where(Case.case_no == no)).one()
        first = record_external_callback(
            session, app.state.runtime, case=case, source="12345", solved=None, satisfaction=None, comment="",
            reached=False,
        )  # fmt: skip
        assert first.payload == {"reached": False, "self_reported": True, "source": "12345"}
    assert _clock(world, no)["status"] == "running"
    with transaction(app.state.sessions) as session:
        case = session.exec(select(Case).where(Case.case_no == no)).one()
        record_external_callback(
            session, app.state.runtime, case=case, source="12345", solved=True, satisfaction="satisfied",
            comment="平台回访满意",
        )  # fmt: skip
    detail = world.get(no, "dispatcher")
    assert detail["timeline"][-1]["payload"]["source"] == "12345" and detail["satisfaction"] == "satisfied"
    assert detail["timeline"][-1]["actor"] != "诉求人（自评）"  # the platform's own account
    assert _clock(world, no)["status"] == "met"
    assert rate(metrics(world, **NOVEMBER), "satisfaction_rate") == (1, 1, 1.0)
    with transaction(app.state.sessions) as session:
        case = session.exec(select(Case).where(Case.case_no == no)).one()
        with pytest.raises(AlreadyRated):
            record_external_callback(
                session, app.state.runtime, case=case, source="12345", solved=True, satisfaction="satisfied",
                comment="",
            )  # fmt: skip
    lookup = world.client.post(f"{API}/public/lookup", json={"query_code": _code(world, no)}).json()
    assert lookup["can_rate"] is True


def test_two_ratings_sent_at_once_record_one(app, world, settings, clock) -> None:  # type: ignore[no-untyped-def]
    """Two worker processes (two apps on one database) get the same rating at the same moment, before any rating
    made the petitioner's account: one is recorded, the other is refused 409, never a 500 or two callbacks."""
    clock.set(MON)
    no = resolved(world)
    code = _code(world, no)
    other_worker = create_app(settings)
    other_worker.state.runtime.now = clock
    barrier = threading.Barrier(2)

    def send(application: object, ip: str) -> int:
        with TestClient(application, client=(ip, 50000)) as client:  # type: ignore[arg-type]
            barrier.wait()
            body = {"query_code": code, "solved": True, "satisfaction": "satisfied"}
            return client.post(f"{API}/public/rating", json=body).status_code

    try:
        with ThreadPoolExecutor(2) as pool:
            answers = sorted(pool.map(send, [app, other_worker], ["203.0.113.31", "203.0.113.32"]))
    finally:
        other_worker.state.engine.dispose()
    assert answers == [201, 409]
    events = [e for e in world.get(no, "dispatcher")["timeline"] if e["action"] == "callback"]
    assert len(events) == 1
