"""The public lookup API: the query code in a POST body (not in the URL), read as typed; the old GET answers the
same and is marked deprecated; the lookup throttle holds across worker processes and concurrent lookups."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from web.app import create_app
from web.lookup_throttle import LookupThrottle

API = "/api/v1"
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # the SQL is tested with the page


@SQLITE_ONLY
def test_a_posted_code_finds_the_case_however_it_is_typed_and_carries_no_personal_data(world) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]
    world.act(no, "answer_on_spot", "intake", reply="已答复")
    code = world.get(no, "intake")["query_code"]
    typed = f"{code[:4]} {code[4:8]} {code[8:]}".lower().replace("0", "o").replace("1", "l")
    response = world.client.post(f"{API}/public/lookup", json={"query_code": typed})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["case_no"] == no and [r["reply"] for r in body["replies"]] == ["已答复"]
    assert "13812341234" not in response.text and "张三" not in response.text


@SQLITE_ONLY
def test_a_bad_or_unknown_code_is_answered_clearly(world) -> None:  # type: ignore[no-untyped-def]
    unknown = world.client.post(f"{API}/public/lookup", json={"query_code": "K7QM-3XHD-9TPR"})
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    for body in ({}, {"query_code": ""}, {"query_code": "x" * 65}):
        refused = world.client.post(f"{API}/public/lookup", json=body)
        assert refused.status_code == 422, body
        assert refused.json()["errors"][0]["field"] == "query_code"


@SQLITE_ONLY
def test_the_old_get_still_answers_and_is_marked_deprecated(world) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]
    code = world.get(no, "intake")["query_code"]
    assert world.client.get(f"{API}/public/cases/{code.lower()}").json()["case_no"] == no
    paths = world.client.get("/openapi.json").json()["paths"]
    assert paths[f"{API}/public/cases/{{query_code}}"]["get"]["deprecated"] is True
    assert "429" in paths[f"{API}/public/lookup"]["post"]["responses"]


def _lookup_from(app, ip: str, code: str = "K7QM-3XHD-9TPR") -> int:  # type: ignore[no-untyped-def]
    with TestClient(app, client=(ip, 50000)) as client:
        return client.post(f"{API}/public/lookup", json={"query_code": code}).status_code


def test_two_worker_processes_share_one_lookup_count_per_address(app, world, settings, clock) -> None:  # type: ignore[no-untyped-def]
    """Two apps on one database stand for two worker processes: the counts live in the database, so ten
    lookups split between them use up the address's minute, on both."""
    other_worker = create_app(settings)
    other_worker.state.runtime.now = clock
    try:
        answers = [_lookup_from(app if n % 2 else other_worker, "198.51.100.1") for n in range(10)]
        assert answers == [404] * 10
        assert _lookup_from(app, "198.51.100.1") == 429
        assert _lookup_from(other_worker, "198.51.100.1") == 429
        assert _lookup_from(other_worker, "198.51.100.2") == 404  # another address has its own count
        clock.set(clock.at + timedelta(minutes=1))
        assert _lookup_from(app, "198.51.100.1") == 404
    finally:
        other_worker.state.engine.dispose()


def test_of_thirty_concurrent_lookups_from_one_address_exactly_ten_are_answered(app, world, settings, clock) -> None:  # type: ignore[no-untyped-def]
    other_worker = create_app(settings)
    other_worker.state.runtime.now = clock
    barrier = threading.Barrier(30)

    def look(n: int) -> int:
        barrier.wait(timeout=30)
        return _lookup_from(app if n % 2 else other_worker, "198.51.100.9")

    try:
        with ThreadPoolExecutor(max_workers=30) as pool:
            answers = list(pool.map(look, range(30)))
    finally:
        other_worker.state.engine.dispose()
    assert sorted(answers) == [404] * 10 + [429] * 20


def test_an_address_gets_a_hundred_lookups_an_hour_and_is_told_when_to_come_back(app, world) -> None:  # type: ignore[no-untyped-def]
    throttle: LookupThrottle = app.state.lookup_throttle
    start = datetime(2025, 9, 29, 2, 0, tzinfo=UTC)
    for minute in range(10):
        at = start + timedelta(minutes=minute)
        assert [throttle.refusal(app.state.sessions, "2001:db8::1", at) for _ in range(10)] == [None] * 10
        refused = throttle.refusal(app.state.sessions, "2001:db8::1", at)
        # The eleventh in a minute waits for the minute's end; after the hundredth, for the hour's.
        assert refused is not None and refused.detail["retry_after"] == (60 if minute < 9 else 51 * 60)
    # The hour is used up: the next minute does not help; the refusal names the hour's end.
    refused = throttle.refusal(app.state.sessions, "2001:db8::2", start + timedelta(minutes=10))  # same /64
    assert refused is not None and refused.status_code == 429
    assert refused.detail["retry_after"] == 50 * 60 and refused.detail["minutes"] == 50
    assert refused.message == "查询过于频繁，请50分钟后再试"
    assert refused.message_en == "too many lookups from this address; try again in 50 minutes"
    assert throttle.refusal(app.state.sessions, "2001:db8::1", start + timedelta(hours=1)) is None
