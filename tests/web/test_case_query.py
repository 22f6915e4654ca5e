"""One input layer for case lists and "the case in the URL": the API and the /cases page parse the same filters
with the same model (web/case_query.py) and refuse the same things; a missing case is the same 404 on both."""

from __future__ import annotations

import pytest

from tests.api._support import API, fields_of

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # the SQL is the lists' own, tested on both


def numbers(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [item["case_no"] for item in response.json()["items"]]


def test_a_local_day_means_the_same_on_the_api_and_the_page(world, clock, browser) -> None:  # type: ignore[no-untyped-def]
    from tests.api._support import sh

    clock.set(sh(2025, 11, 3, 23, 30))  # late on Monday, Beijing time: 15:30 UTC
    late = world.intake(title="夜里噪音扰民")["case_no"]
    clock.set(sh(2025, 11, 4, 0, 30))
    next_day = world.intake(title="早上路灯还亮着")["case_no"]
    headers = world.headers("dispatcher")
    day = {"received_from": "2025-11-03", "received_to": "2025-11-03"}  # the whole local day, "to" included
    assert numbers(world.client.get(f"{API}/cases", params=day, headers=headers)) == [late]
    page = browser("dispatcher").page("/cases?received_from=2025-11-03&received_to=2025-11-03")
    shown = [a.get_text(strip=True) for a in page.select("table a[href^='/cases/']")]
    assert late in shown and next_day not in shown


def test_a_misspelt_or_unknown_filter_is_refused_not_ignored(world) -> None:  # type: ignore[no-untyped-def]
    headers = world.headers("dispatcher")
    world.intake(title="路灯不亮")
    misspelt = world.client.get(f"{API}/cases", params={"stat": "received"}, headers=headers)
    assert misspelt.status_code == 422 and "stat" in fields_of(misspelt.json())
    unknown = world.client.get(f"{API}/cases", params={"state": "nowhere"}, headers=headers)
    assert unknown.status_code == 422
    message = fields_of(unknown.json())["state"]
    assert "nowhere" in message["message"] and "received" in message["message_en"]  # names what is accepted


def test_phone_search_is_refused_the_same_way_for_a_role_without_personal_data(world, browser) -> None:  # type: ignore[no-untyped-def]
    refused = world.client.get(f"{API}/cases", params={"phone": "13812345678"}, headers=world.headers("leader"))
    assert refused.status_code == 403 and refused.json()["field"] == "phone"
    page = browser("leader").get("/cases?phone=13812345678")
    assert page.status_code == 422 and "您的角色不能按电话号码查询" in page.text


def test_a_missing_case_is_the_same_404_on_the_api_and_the_page(world, browser) -> None:  # type: ignore[no-untyped-def]
    api = world.client.get(f"{API}/cases/GX-2099-999999", headers=world.headers("dispatcher"))
    assert api.status_code == 404 and "GX-2099-999999" in api.json()["message"]
    assert browser("dispatcher").get("/cases/GX-2099-999999").status_code == 404
    assert browser("dispatcher").get("/cases/GX-2099-999999/attachments/1").status_code == 404


def test_a_day_is_read_in_the_forms_the_meeting_and_intake_forms_accept(world, clock, browser) -> None:  # type: ignore[no-untyped-def]
    from tests.api._support import sh

    clock.set(sh(2025, 9, 28, 10))
    held = world.intake(title="恳谈会上反映的噪音")["case_no"]
    clock.set(sh(2025, 9, 29, 10))
    later = world.intake(title="第二天的来电")["case_no"]
    headers = world.headers("dispatcher")
    for typed in ("2025/9/28", "2025年9月28日", "２０２５－０９－２８", "20250928"):
        day = {"received_from": typed, "received_to": typed}
        assert numbers(world.client.get(f"{API}/cases", params=day, headers=headers)) == [held], typed
    page = browser("dispatcher").page("/cases?received_from=2025/9/28&received_to=2025/9/28")
    shown = [a.get_text(strip=True) for a in page.select("table a[href^='/cases/']")]
    assert held in shown and later not in shown
    # The date fields show the day back in their own form, so searching again keeps the filter.
    assert page.select_one("input[name=received_from]")["value"] == "2025-09-28"
    wrong = world.client.get(f"{API}/cases", params={"received_from": "2025/2/30"}, headers=headers)
    assert wrong.status_code == 422 and "2025/3/5" in fields_of(wrong.json())["received_from"]["message"]
