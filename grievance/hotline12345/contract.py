"""The 12345 contract's bodies (README, "12345 工单对接 / 12345 work orders"): the work order (派单) and the callback
result (回访结果) the platform pushes, their vocabularies and field names, and the check that answers every problem
of a body at once, each named by the contract's field and its Chinese name. Kept apart from inbound.py, which
takes checked bodies in (signature, idempotency, the case)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from grievance.cases.phones import INVALID_EN, INVALID_ZH, normalize_phone
from grievance.errors import BilingualValueError, InvalidInput, field_errors
from grievance.glossary import CaseType, Satisfaction, Urgency
from grievance.input_bounds import checked_moment, text_problem

# The platform's words, and our codes, for the closed vocabularies of the contract.
ORDER_TYPES = {
    "求助": "help",
    "投诉": "complaint",
    "咨询": "consult",
    "建议": "suggestion",
    "举报": "report",
    "表扬": "praise",
}
URGENCIES = {"一般": "normal", "紧急": "urgent", "特急": "emergency"}
SATISFACTIONS = {"满意": "satisfied", "基本满意": "basically_satisfied", "不满意": "unsatisfied"}

# The contract's field names in Chinese, for error messages (the JSON "field" keeps the key).
FIELD_ZH = {
    "order_id": "工单编号",
    "title": "工单标题",
    "content": "诉求内容",
    "petitioner_name": "诉求人姓名",
    "petitioner_phone": "联系电话",
    "address": "事发地址",
    "category": "业务分类",
    "urgency": "紧急程度",
    "order_type": "诉求类型",
    "accused_department": "被举报单位",
    "received_at": "受理时间",
    "due_at": "办结时限",
    "reached": "是否联系到诉求人",
    "solved": "是否解决",
    "satisfaction": "满意度",
    "comment": "回访意见",
    "body": "请求内容",
}


def _text(value: Any) -> Any:
    if isinstance(value, str) and (problem := text_problem(value)) is not None:
        raise BilingualValueError(*problem)
    return value


def _vocabulary(value: str, words: dict[str, str], codes: type[Any], zh: str, en: str) -> str:
    """Our code for a value the platform sends in Chinese (投诉) or as our code (complaint)."""
    code = words.get(value, value)
    if code in {member.value for member in codes} and code in words.values():
        return code
    accepted = "、".join(words)
    raise BilingualValueError(
        f"{zh}「{value}」无法识别，可填写：{accepted}",
        f"{en} {value!r} is not accepted; accepted: {', '.join(words)} (or {', '.join(words.values())})",
    )


def _utc(value: datetime) -> datetime:
    return checked_moment(value).astimezone(UTC)


ORDER_ID_PATTERN = r"^[A-Za-z0-9_\-]+$"  # documented in the schema; checked by order_id_problem, said in words
_ORDER_ID = re.compile(ORDER_ID_PATTERN)


def order_id_problem(value: str) -> tuple[str, str] | None:
    """(中文, English) saying why `value` cannot be an order number (1-64 of A-Z a-z 0-9 _ -), or None."""
    if 1 <= len(value) <= 64 and _ORDER_ID.match(value):
        return None
    return (
        "应为 1 至 64 个字符，只能包含英文字母、数字、下划线 _ 和连字符 -",
        "must be 1 to 64 characters, only letters (A-Z, a-z), digits (0-9), _ and -",
    )


# A problem a rule found across fields: (field, 中文, English), the field named by its contract key.
RuleProblem = tuple[str, str, str]


class _In(BaseModel):
    # Fields this contract does not read are ignored: the platform may send more than we take. A default goes
    # through the same validators as a value sent (validate_default): a field left out is mapped like one sent.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, validate_default=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _text(value)

    @classmethod
    def rule_problems(cls, values: dict[str, Any], now: datetime) -> list[RuleProblem]:
        """The rules across fields, each checked when the fields it reads are valid (`values`: the valid ones,
        validated): every problem at once, so one answer lists all that is wrong."""
        return []


class OrderIn(_In):
    """One work order as the platform pushes it (派单). Times carry their offset (2025-03-05T09:30:00+08:00) and are
    kept in UTC. An optional field left out or sent as null takes its default, mapped like a value sent."""

    order_id: str = Field(
        description="工单编号: the platform's order number, 1-64 of A-Z a-z 0-9 _ -",
        json_schema_extra={"pattern": ORDER_ID_PATTERN, "minLength": 1, "maxLength": 64},
    )
    title: str = Field(min_length=1, max_length=200, description="工单标题")
    content: str = Field(default="", max_length=5000, description="诉求内容")
    petitioner_name: str = Field(default="", max_length=100, description="诉求人姓名")
    petitioner_phone: str = Field(
        default="", max_length=32, description="联系电话: stored in the form of grievance/cases/phones.py"
    )
    address: str = Field(default="", max_length=200, description="事发地址")
    category: str = Field(
        default="",
        max_length=200,
        description="业务分类: our category code (e.g. CS-01-02) or its name path 城乡建设/市政设施/路灯; "
        "an unknown one is accepted without a category, with a warning",
    )
    urgency: str = Field(default="一般", description="紧急程度: 一般 | 紧急 | 特急 (or normal | urgent | emergency)")
    order_type: str = Field(
        description="诉求类型: 求助 | 投诉 | 咨询 | 建议 | 举报 | 表扬 (or help, complaint, consult, suggestion, "
        "report, praise)"
    )
    accused_department: str = Field(
        default="",
        max_length=100,
        description="被举报单位: our department code or name; required for 举报 (that department never sees the case)",
    )
    received_at: AwareDatetime = Field(description="受理时间: when the platform took the call (来电/受理)")
    due_at: AwareDatetime | None = Field(default=None, description="办结时限: the platform's own due time")

    @field_validator("order_id")
    @classmethod
    def _order_id(cls, value: str) -> str:
        if (problem := order_id_problem(value)) is not None:
            raise BilingualValueError(*problem)
        return value

    @field_validator("petitioner_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        phone = normalize_phone(value)
        if phone is None:
            raise BilingualValueError(INVALID_ZH, INVALID_EN)
        return phone

    @field_validator("urgency")
    @classmethod
    def _urgency(cls, value: str) -> str:
        return _vocabulary(value, URGENCIES, Urgency, "紧急程度", "urgency")

    @field_validator("order_type")
    @classmethod
    def _order_type(cls, value: str) -> str:
        return _vocabulary(value, ORDER_TYPES, CaseType, "诉求类型", "order_type")

    @field_validator("received_at", "due_at")
    @classmethod
    def _moment(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)

    @classmethod
    def rule_problems(cls, values: dict[str, Any], now: datetime) -> list[RuleProblem]:
        """举报 needs accused_department; received_at no later than `now` (+5 minutes for the platform's clock);
        due_at after received_at."""
        problems: list[RuleProblem] = []
        if values.get("order_type") == CaseType.report and values.get("accused_department") == "":
            problems.append(
                (
                    "accused_department",
                    "举报件须填写被举报单位，该单位看不到此件",
                    "a 举报 (report) needs accused_department",
                )
            )
        received, due = values.get("received_at"), values.get("due_at")
        if received is not None and received > now + timedelta(minutes=5):
            problems.append(("received_at", "不能晚于现在", "cannot be in the future"))
        if received is not None and due is not None and due <= received:
            problems.append(("due_at", "办结时限应晚于受理时间", "due_at must be after received_at"))
        return problems

    def fingerprint(self) -> str:
        """SHA-256 (hex) of the order as validated (phone normalised, times in UTC, defaults filled in, keys
        sorted): two pushes of one order give the same value whatever their JSON layout, and a field left out,
        sent as null or sent as its default are the same order."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CallbackIn(_In):
    """The platform's callback (回访) result for an order it sent us and we resolved."""

    reached: bool = Field(description="是否联系到诉求人")
    solved: bool | None = Field(default=None, description="是否解决: required when reached")
    satisfaction: str | None = Field(
        default=None,
        description="满意度: 满意 | 基本满意 | 不满意 (or satisfied | basically_satisfied | unsatisfied); required "
        "when reached",
    )
    comment: str = Field(default="", max_length=500, description="回访意见 (at most 500 characters)")

    @field_validator("satisfaction")
    @classmethod
    def _satisfaction(cls, value: str | None) -> str | None:
        return (
            None if value in (None, "") else _vocabulary(value, SATISFACTIONS, Satisfaction, "满意度", "satisfaction")
        )

    @classmethod
    def rule_problems(cls, values: dict[str, Any], now: datetime) -> list[RuleProblem]:
        """When reached: solved and satisfaction are both required (each missing one is a problem)."""
        if values.get("reached") is not True:
            return []
        problems: list[RuleProblem] = []
        if values.get("solved") is None:
            problems.append(("solved", "联系到诉求人时须填写是否解决", "solved is required when reached is true"))
        if values.get("satisfaction") is None:
            problems.append(
                ("satisfaction", "联系到诉求人时须填写满意度", "satisfaction is required when reached is true")
            )
        return problems


def problem(name: str, zh: str, en: str) -> dict[str, str]:
    """One field's problem in the contract's terms: the key, its Chinese name (FIELD_ZH) before the Chinese."""
    return {"field": name, "message": f"{FIELD_ZH.get(name, name)}：{zh}", "message_en": f"{name}: {en}"}


def _problems(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors as the contract's field problems, named by the contract's Chinese field names."""
    out = []
    for found in field_errors(list(exc.errors()), skip_body=False):
        name = found["field"]
        zh = found["message"].split("：", 1)[-1]
        out.append({**found, "message": f"{FIELD_ZH.get(name.split('.')[0], name)}：{zh}"})
    return out


def _valid_fields(model: type[_In], data: dict[str, Any]) -> dict[str, Any]:
    """The fields of `data` that are valid on their own, validated (defaults for those left out), so that the
    rules across fields still run when another field is wrong."""
    instance = model.model_construct()
    valid: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name not in data and info.is_required():
            continue
        value = data[name] if name in data else info.get_default(call_default_factory=True)
        try:
            model.__pydantic_validator__.validate_assignment(instance, name, value)
        except ValidationError:
            continue
        valid[name] = getattr(instance, name)
    return valid


@dataclass
class Checked:
    """A body checked against a contract model: the model (None when a field is wrong), the fields that are
    valid (validated) and every problem found, fields and rules together."""

    model: Any
    values: dict[str, Any]
    problems: list[dict[str, Any]]


def check(model: type[_In], body: bytes, *, now: datetime) -> Checked:
    """The body against `model`: JSON null for a field is the field left out (its default, validated like a value
    sent); every field's problem and every rule's (model.rule_problems) at once. Raises InvalidInput (422,
    field `body`) only for a body that is no JSON object."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput.field(
            "body", "请求体不是有效的 JSON（UTF-8）", "the body is not valid JSON (UTF-8)"
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput.field("body", "请求体应为 JSON 对象 {...}", "the body must be a JSON object {...}")
    data = {key: value for key, value in data.items() if value is not None}  # platforms send null for "empty"
    try:
        validated: Any = model.model_validate(data)
        values, problems = dict(validated), []
    except ValidationError as exc:
        validated, values, problems = None, _valid_fields(model, data), _problems(exc)
    problems += [problem(*found) for found in model.rule_problems(values, now)]
    return Checked(None if problems else validated, values, problems)


def refuse(problems: list[dict[str, Any]], what_zh: str, what_en: str) -> InvalidInput:
    """InvalidInput (422) listing every problem, its message naming the fields (中文 and English)."""
    zh_fields = "、".join(dict.fromkeys(p["message"].split("：", 1)[0] for p in problems))
    en_fields = ", ".join(dict.fromkeys(p["field"] for p in problems))
    return InvalidInput(f"{what_zh}有误：{zh_fields}", f"invalid {what_en}: {en_fields}", problems)


def parse(model: type[_In], body: bytes, what_zh: str, what_en: str, *, now: datetime) -> Any:
    """The body as `model`, or InvalidInput (422) listing every field's and rule's problem in both languages."""
    checked = check(model, body, now=now)
    if checked.problems:
        raise refuse(checked.problems, what_zh, what_en)
    return checked.model
