"""Domain errors carry their HTTP status, so one handler in web/ turns every one into a clear response."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.detail}


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class TooManyAttempts(DomainError):
    """Sign-in refused for a while after repeated failures."""

    status_code = 429
    code = "too_many_attempts"


class Conflict(DomainError):
    """A disallowed transition, a stale version, a duplicate key."""

    status_code = 409
    code = "conflict"


class InvalidInput(DomainError):
    """Input that is well-formed but wrong for the domain; `errors` lists each field's problem."""

    status_code = 422
    code = "invalid_input"

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message, errors=errors or [])

    @classmethod
    def field(cls, field: str, message: str, message_en: str | None = None) -> InvalidInput:
        return cls(
            message,
            [{"field": field, "message": message, "message_en": message_en or message}],
        )


class BilingualValueError(ValueError):
    """Raised by an input model's validator so the field error carries its rule in both languages
    (field_errors reads them) instead of one string glued "中文 (English)"."""

    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(f"{message} ({message_en})")
        self.message = message
        self.message_en = message_en


# Chinese wording for pydantic's error types; the English message is pydantic's own.
ZH = {
    "missing": "为必填项",
    "string_too_short": "不能为空",
    "string_too_long": "过长",
    "enum": "取值无效",
    "literal_error": "取值无效",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "date_from_datetime_parsing": "应为日期，如 2025-03-05",
    "date_parsing": "应为日期，如 2025-03-05",
    "datetime_parsing": "应为带时区的时间，如 2025-03-05T09:30:00+08:00",
    "datetime_from_date_parsing": "应为带时区的时间，如 2025-03-05T09:30:00+08:00",
    "timezone_aware": "须带时区，如 +08:00",
    "extra_forbidden": "不是可接受的字段",
    "greater_than_equal": "过小",
    "less_than_equal": "过大",
    "value_error": "取值无效",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "应为对象",
    "dict_type": "应为对象",
    "string_type": "应为文本",
}


def field_errors(errors: list[Any], skip_body: bool = True) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        if skip_body and loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        field = ".".join(loc) or "body"
        english = err.get("msg", "invalid")
        if err.get("type") == "enum":
            english += f" (accepted: {err.get('ctx', {}).get('expected', '')})"
        zh = ZH.get(err.get("type", ""), "取值无效")
        if err.get("type") == "value_error":
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, BilingualValueError):
                zh, english = cause.message, cause.message_en
            else:
                zh = english.removeprefix("Value error, ")
        out.append({"field": field, "message": f"{field} {zh}", "message_en": f"{field}: {english}"})
    return out
