"""The public lookup API: the query code in a POST body (not in the URL), read as typed; the old GET answers the
same and is marked deprecated."""

from __future__ import annotations

import pytest

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
