"""A refusal names roles and actions as people call them: "承办人不能执行「派单」", never "角色 handler" or "动作
request_extension", in the API's Chinese message and on the pages; the English message names the English labels."""

from __future__ import annotations

import re
from typing import Any

from tests.api._support import API, sh
from tests.factories import World
from tests.web.support import soup, text_of

MON = sh(2025, 11, 3)
ASCII_WORD = re.compile(r"[A-Za-z_]{2,}")


def codes(app: Any, roles: bool = True) -> re.Pattern[str]:
    """Every action code of the workflows (and every role code), as a word of its own."""
    from grievance.glossary import Role

    runtime = app.state.runtime
    words = {a for w in runtime.workflows.definitions.values() for a in w.actions}
    words |= {r.value for r in Role} if roles else set()
    return re.compile(r"(?<![A-Za-z_])(" + "|".join(sorted(words, key=len, reverse=True)) + r")(?![A-Za-z_])")


def chinese_only(body: dict[str, Any]) -> str:
    message = body["message"]
    assert not ASCII_WORD.search(message), message
    return message  # type: ignore[no-any-return]


def handling(world: World) -> str:
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    return no


def test_api_refusals_name_roles_by_their_labels(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    refused = world.act(no, "dispatch", "handler", expect=403, department_id="JD1")
    assert chinese_only(refused) == "承办人不能执行「派单」；可执行的角色：派单员、督办员"
    assert refused["message_en"] == 'the Handler role may not do "Dispatch"; allowed roles: Dispatcher, Supervisor'
    headers = world.headers("leader")
    phone = world.client.get(f"{API}/cases", params={"phone": "13812345678"}, headers=headers).json()
    assert chinese_only(phone) == "领导不能按电话号码查询" and phone["allowed"] and phone["field"] == "phone"
    assert phone["message_en"] == "the Leader role may not search by phone"
    intake = world.client.post(f"{API}/cases", json=world.case_body(), headers=headers)
    assert intake.status_code == 403 and chinese_only(intake.json()).startswith("领导不能登记诉求")
    assert "Dispatcher, Front desk, Supervisor may" in intake.json()["message_en"]
    ledger = world.client.post(f"{API}/ledger/import", headers=world.headers("handler"), files={"file": ("a.csv", b"")})
    assert ledger.status_code == 403 and chinese_only(ledger.json()).startswith("承办人无权进行此操作")
    reports = world.client.get(
        f"{API}/reports/rates", params={"from": "2025-11-01", "to": "2025-12-01"}, headers=world.headers("handler")
    )
    assert reports.status_code == 403 and chinese_only(reports.json()).startswith("承办人不能查看报表")
    monthly = world.client.get(f"{API}/reports/monthly/2025-11", headers=world.headers("head"))
    assert monthly.status_code == 403 and chinese_only(monthly.json()).startswith("单位负责人不能查看全区月报")
    users = world.client.get(f"{API}/users", headers=headers).json()  # require_roles
    assert chinese_only(users) == "领导无权进行此操作；可进行的角色：管理员"
    assert users["message_en"] == "the Leader role may not do this; allowed: Administrator"


def test_api_input_errors_name_the_action_by_its_label(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = handling(world)
    refused = world.act(no, "request_extension", "handler", expect=422, days=99, reason="需协调")
    assert chinese_only(refused) == "「申请延期」的输入有误"
    assert refused["message_en"] == 'invalid input for "Request extension"'
    unknown = world.act(no, "request_extension", "handler", expect=422, days=3, reason="需协调", colour="red")
    assert unknown["errors"][0]["message"].startswith("「申请延期」不接受字段 colour")


def test_pages_show_role_and_action_labels_not_codes(app, world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    code = codes(app)
    refused = browser("handler").page("/admin/import", expect=403)
    text = text_of(refused.find("main"))
    assert "承办人无权访问此页面" in text and not code.search(text), text
    desk = browser("leader").page("/intake/lookup?petitioner_phone=13812345678", expect=403)
    text = text_of(desk.find("main"))
    assert "领导不能登记诉求" in text and not code.search(text), text
    assert "不能按电话号码查询" in text_of(browser("head").page("/cases?phone=13812341234", expect=422))
    no = handling(world)
    handler = browser("handler")
    handler.page(f"/cases/{no}")
    problem = soup(handler.post(f"/cases/{no}/actions/dispatch", {"department_id": "2"}).text).find(class_="problem")
    assert text_of(problem).startswith("承办人不能执行「派单」；可执行的角色：派单员、督办员")
    assert not ASCII_WORD.search(text_of(problem))
    response = handler.post(f"/cases/{no}/actions/request_extension", {"days": "99", "reason": "需协调"})
    assert response.status_code == 422
    text = text_of(soup(response.text).find("main"))  # the test accounts' names are role codes: actions only
    assert "应在 1 到 15 之间" in text and not codes(app, roles=False).search(text), text
    # In English the same refusals use the English labels.
    english = browser("handler")
    english.client.cookies.set("lang", "en")
    text = text_of(english.page("/admin/import", expect=403).find("main"))
    assert "A Handler may not open this page" in text and not code.search(text), text
