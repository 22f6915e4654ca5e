"""The Chinese half of a 422 is as specific as the English: each rule pydantic states (a date with a time, a
text too long, a number with decimals...) is stated in Chinese too, and fields are named by their Chinese label."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from pydantic_core.core_schema import ErrorType

from grievance.errors import INTERNAL, ZH, field_errors
from tests.api._support import API, fields_of

VAGUE = ("取值无效", "不符合要求（")


def _refusal(response: Any, field: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    errors = fields_of(response.json())
    assert field in errors, errors
    message = errors[field]["message"]
    assert not any(v in message for v in VAGUE), message
    return errors[field]


def test_every_error_type_an_input_can_produce_has_its_own_chinese_wording() -> None:
    kinds = set(typing.get_args(ErrorType))
    assert kinds - INTERNAL - set(ZH) == set()
    assert "date_from_datetime_inexact" in ZH and "string_pattern_mismatch" in ZH


def test_a_meeting_day_with_a_time_says_so_in_both_languages(world) -> None:  # type: ignore[no-untyped-def]
    meeting = {"title": "第二期", "held_on": "2025-09-28T10:00:00"}
    error = _refusal(world.client.post(f"{API}/meetings", json=meeting, headers=world.headers("admin")), "held_on")
    assert error["message"] == "召开日期：应为日期，不能带时刻（如 2025-03-05，而不是 2025-03-05T09:30）"
    assert "zero time" in error["message_en"] and error["message_en"].startswith("held_on: ")


def test_a_wrong_type_names_the_field_by_its_label_and_the_rule(world) -> None:  # type: ignore[no-untyped-def]
    meeting = {"title": 123, "held_on": "2025-09-28", "attendee_count": 2.5}
    response = world.client.post(f"{API}/meetings", json=meeting, headers=world.headers("admin"))
    title = _refusal(response, "title")
    assert title["message"] == "标题：应为文本" and "valid string" in title["message_en"]
    count = _refusal(response, "attendee_count")
    assert count["message"] == "参会人数：应为整数，不能带小数部分" and "fractional part" in count["message_en"]


def test_an_account_with_a_bad_role_lists_the_accepted_ones(world) -> None:  # type: ignore[no-untyped-def]
    user = {"username": "wang", "role": "boss"}
    error = _refusal(world.client.post(f"{API}/users", json=user, headers=world.headers("admin")), "role")
    assert error["message"].startswith("角色：不是可接受的取值；可接受：")
    assert "handler" in error["message"] and "handler" in error["message_en"]


def test_a_list_where_an_object_belongs_is_named_in_chinese(world) -> None:  # type: ignore[no-untyped-def]
    case = {"channel": "hotline", "case_type": "help", "title": "路灯", "description": "不亮", "petitioner": [1]}
    error = _refusal(world.client.post(f"{API}/cases", json=case, headers=world.headers("intake")), "petitioner")
    assert error["message"].startswith("诉求人：应为对象")
    assert "valid dictionary" in error["message_en"] or "object" in error["message_en"]


@pytest.mark.parametrize(
    ("kind", "ctx", "zh"),
    [
        ("string_too_long", {"max_length": 20}, "用户名：最多 20 个字符"),
        ("string_pattern_mismatch", {"pattern": "^[a-z]+$"}, "用户名：格式不符，应匹配 ^[a-z]+$"),
        ("too_long", {"max_length": 3, "actual_length": 5}, "用户名：最多 3 项，现有 5 项"),
        ("float_parsing", {}, "用户名：应为数字，如 3 或 2.5"),
        ("url_scheme", {"expected_schemes": "'https'"}, "用户名：网址应以 'https' 开头"),
    ],
)
def test_rules_with_a_limit_quote_the_limit(kind: str, ctx: dict[str, Any], zh: str) -> None:
    [error] = field_errors([{"type": kind, "loc": ("body", "username"), "msg": "English", "ctx": ctx}])
    assert error == {"field": "username", "message": zh, "message_en": "username: English"}
