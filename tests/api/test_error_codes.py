"""Every refusal of the API carries a specific code and its message in Chinese and English as separate fields
(STYLE.md item 5): one real request per code, on both databases, and the shape of each error body."""

from __future__ import annotations

from typing import Any

from grievance.errors import Conflict, DomainError, InvalidInput, NotFound, RefusedByRule, StaleVersion
from tests.api._support import API, fire, sh
from tests.factories import World

MON = sh(2025, 11, 3)


def _cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def bilingual(response: Any, status: int, code: str) -> dict[str, Any]:
    """The error body, checked: the status, the code, a Chinese message and a different English one (also in
    each field error of a 422)."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    for part in [body, *body.get("errors", [])]:
        zh, en = part["message"], part["message_en"]
        assert zh and en and zh != en, part
        assert _cjk(zh), part
        assert not _cjk(en), part
        assert not zh.endswith(")"), part  # nothing glued "中文 (English)" left in the Chinese field
    return body


def dispatched_and_accepted(world: World) -> str:
    no: str = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    return no


def test_stale_version_when_the_case_changed_since_the_client_read_it(world, clock):
    clock.set(MON)
    no = dispatched_and_accepted(world)
    read = world.get(no, "handler")["version"]
    world.act(no, "note", "head", note="单位负责人批示：尽快处理")

    body = bilingual(fire(world, no, "respond", "handler", note="已联系", version=read), 409, "stale_version")
    assert body["your_version"] == read and body["current_version"] == read + 1
    assert world.get(no, "handler")["version"] == read + 1  # nothing written


def test_not_allowed_now_when_the_state_does_not_allow_the_action(world, clock):
    clock.set(MON)
    no = dispatched_and_accepted(world)

    body = bilingual(fire(world, no, "dispatch", "dispatcher", department_id="QFJ"), 409, "not_allowed_now")
    assert body["state"] == world.get(no, "dispatcher")["state"]
    assert "dispatch" not in body["allowed_actions"]
    assert "cannot dispatch" in body["message_en"]
    assert world.get(no, "dispatcher")["department_id"] is not None  # still CGJ's


def test_refused_by_rule_when_a_workflow_guard_says_no(world, clock):
    clock.set(MON)
    no = world.intake(
        channel="hotline",
        meeting=None,
        case_type="report",
        title="举报青桐街道工作人员违规收费",
        description="办理居住证时被要求额外缴纳费用",
        accused_department="JD1",
    )["case_no"]

    body = bilingual(fire(world, no, "dispatch", "dispatcher", department_id="JD1"), 409, "refused_by_rule")
    assert body["message"] == "举报件不能派给被举报单位"
    assert body["message_en"] == "a report cannot be sent to the department it accuses"
    assert body["guard"] == "not_accused_department" and body["state"] == "received"
    assert world.get(no, "dispatcher")["department_id"] is None


def test_duplicate_when_the_unique_key_exists(world):
    before = world.client.get(f"{API}/users", headers=world.headers("admin")).json()
    again = {"username": "handler", "role": "handler", "department": "JD1", "password": None}

    body = bilingual(world.client.post(f"{API}/users", json=again, headers=world.headers("admin")), 409, "duplicate")
    assert "handler" in body["message"] and "is taken" in body["message_en"]
    after = world.client.get(f"{API}/users", headers=world.headers("admin")).json()
    assert after == before  # no second row, the first one unchanged

    department = {"code": "CGJ", "name": "另一个城管局"}
    response = world.client.post(f"{API}/departments", json=department, headers=world.headers("admin"))
    bilingual(response, 409, "duplicate")


def test_not_found_forbidden_and_not_authenticated(world, clock):
    clock.set(MON)
    missing = world.client.get(f"{API}/cases/GX-2025-999999", headers=world.headers("dispatcher"))
    assert "GX-2025-999999" in bilingual(missing, 404, "not_found")["message"]

    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    refused = bilingual(fire(world, no, "dispatch", "handler", department_id="JD1"), 403, "forbidden")
    assert "allowed roles: Dispatcher, Supervisor" in refused["message_en"]

    anonymous = world.client.get(f"{API}/cases")
    bilingual(anonymous, 401, "not_authenticated")
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    bilingual(world.client.get(f"{API}/cases", headers={"Authorization": "Bearer gv_nope"}), 401, "not_authenticated")


def test_too_many_attempts_after_ten_public_lookups_a_minute(world):
    for n in range(10):
        lookup = world.client.post(f"{API}/public/lookup", json={"query_code": f"K7QM-3XHD-9TP{n}"})
        bilingual(lookup, 404, "not_found")
    body = bilingual(
        world.client.post(f"{API}/public/lookup", json={"query_code": "K7QM-3XHD-9TPR"}), 429, "too_many_attempts"
    )
    assert body["retry_after"] >= 1


def test_invalid_input_lists_each_field_in_both_languages(world):
    response = world.client.post(f"{API}/cases", json={"channel": "pigeon"}, headers=world.headers("intake"))
    body = bilingual(response, 422, "invalid_input")
    assert {"channel", "title"} <= {e["field"] for e in body["errors"]}


def test_a_route_or_method_that_does_not_exist_answers_in_the_same_shape(world):
    bilingual(world.client.get(f"{API}/no-such-thing"), 404, "not_found")
    bilingual(world.client.delete(f"{API}/cases", headers=world.headers("admin")), 405, "method_not_allowed")


# --- the error classes themselves (no database) ---------------------------------------------------------------


def test_the_old_glued_form_is_split_once_at_construction():
    error = Conflict("诉求 X 同时被他人修改 (case X was changed (concurrently))", state="received")
    assert error.to_dict() == {
        "error": "conflict",
        "message": "诉求 X 同时被他人修改",
        "message_en": "case X was changed (concurrently)",
        "state": "received",
    }
    assert error.text("en") == "Case X was changed (concurrently)" and error.text("zh_CN") == "诉求 X 同时被他人修改"
    assert NotFound("没有（括号）这个").message_en == "没有（括号）这个"  # not of the shape: the text serves both
    old = InvalidInput("输入有误 (invalid input)", [{"field": "a", "message": "甲有误 (a is wrong)"}])
    assert old.to_dict()["errors"] == [{"field": "a", "message": "甲有误", "message_en": "a is wrong"}]
    assert (old.message, old.message_en) == ("输入有误", "invalid input")
    assert [c.code for c in (StaleVersion("a", "b"), RefusedByRule("a", "b"))] == ["stale_version", "refused_by_rule"]
    assert all(issubclass(c, Conflict) and c.status_code == 409 for c in (StaleVersion, RefusedByRule))
    assert str(DomainError("中文", "English")) == "中文 (English)"
