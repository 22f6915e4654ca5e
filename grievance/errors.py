"""Domain errors carry their HTTP status, a specific code and their message in Chinese and English as separate
fields, so one handler in web/ (and one printer in the CLI) turns every one into a clear, bilingual answer."""

from __future__ import annotations

from typing import Any, TypedDict


def _is_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def split_glued(text: str) -> tuple[str, str] | None:
    """("中文", "English") for a message in the old glued form "中文 (English)", else None.

    The English half is the last bracketed group, matched with its nested brackets, when it has no Chinese and
    what precedes it has. Kept so a raise site still written the old way is split once, here, at construction."""
    stripped = text.rstrip()
    if not stripped.endswith(")"):
        return None
    depth = 0
    for i in range(len(stripped) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(stripped[i], 0)
        if depth == 0:
            zh, en = stripped[:i].rstrip(), stripped[i + 1 : -1].strip()
            if zh and en and _is_cjk(zh) and not _is_cjk(en):
                return zh, en
            return None
    return None


def _pair(message: str, message_en: str | None) -> tuple[str, str]:
    if message_en is not None:
        return message, message_en
    return split_glued(message) or (message, message)


def in_english(text: str) -> str:
    """An English message as a sentence on a page: its first letter upper-cased."""
    return text[:1].upper() + text[1:]


class DomainError(Exception):
    """A refusal a user can act on. `message` is Chinese, `message_en` English (when left out, a message in
    the old "中文 (English)" form is split; any other text serves for both); `detail` goes into the JSON as is.

    Subclasses fix `status_code` (HTTP) and `code` (the JSON "error" field, stable for clients)."""

    status_code = 400
    code = "error"

    def __init__(self, message: str, message_en: str | None = None, /, **detail: Any) -> None:
        message, message_en = _pair(message, message_en)
        super().__init__(message)
        self.message = message
        self.message_en = message_en
        self.detail = detail

    def __str__(self) -> str:
        return self.message if self.message_en == self.message else f"{self.message} ({self.message_en})"

    def text(self, locale: str) -> str:
        """The message in the reader's language ("en" or a Chinese locale such as "zh_CN")."""
        return in_english(self.message_en) if locale == "en" else self.message

    def to_dict(self) -> dict[str, Any]:
        """{"error": code, "message": 中文, "message_en": English, **detail}: the API's error body."""
        return {"error": self.code, "message": self.message, "message_en": self.message_en, **self.detail}


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
    """Refused for a while after repeated attempts (sign-in, public lookups)."""

    status_code = 429
    code = "too_many_attempts"


class Conflict(DomainError):
    """409: the request clashes with the data as it is now. Raise one of the specific subclasses below; the
    bare `conflict` code is left for a clash none of them describes."""

    status_code = 409
    code = "conflict"


class StaleVersion(Conflict):
    """409 stale_version: the row changed since the client read it (a version check or a lost write race);
    reading it again and retrying may succeed."""

    code = "stale_version"


class NotAllowedNow(Conflict):
    """409 not_allowed_now: the action is not one the current state allows (workflow `from` states); the
    detail lists `state` and `allowed_actions`."""

    code = "not_allowed_now"


class RefusedByRule(Conflict):
    """409 refused_by_rule: a workflow guard or a domain rule said no for the data as it is (e.g. closing a case
    with open sub-tasks, deactivating one's own account). 409 and not 422 because the request itself is
    well-formed and may succeed once the data changes; 422 is kept for input that is wrong whatever the data."""

    code = "refused_by_rule"


class Duplicate(Conflict):
    """409 duplicate: a row with this unique key (user name, department code, case number) already exists."""

    code = "duplicate"


class FieldError(TypedDict):
    """One field's problem in a 422's `errors` list (entries may add keys, e.g. the ledger's `row`)."""

    field: str  # dotted for nested fields (petitioner.phone), "body" for the whole body
    message: str  # Chinese
    message_en: str  # English


def _field_error(entry: dict[str, Any]) -> dict[str, Any]:
    if "message_en" in entry:
        return entry
    zh, en = _pair(str(entry.get("message", "")), None)
    return {**entry, "message": zh, "message_en": en}


class InvalidInput(DomainError):
    """422 invalid_input: input that is well-formed but wrong for the domain; `errors` lists each field's
    problem as {"field", "message", "message_en"} (an entry without message_en is split or repeated)."""

    status_code = 422
    code = "invalid_input"

    def __init__(
        self,
        message: str,
        message_en: str | list[dict[str, Any]] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        if isinstance(message_en, list):  # the older InvalidInput(message, errors) call
            message_en, errors = None, message_en
        super().__init__(message, message_en, errors=[_field_error(e) for e in errors or []])

    @classmethod
    def field(cls, field: str, message: str, message_en: str | None = None) -> InvalidInput:
        """One field's problem; the error's own message is that problem's."""
        zh, en = _pair(message, message_en)
        problem: FieldError = {"field": field, "message": zh, "message_en": en}
        return cls(zh, en, [dict(problem)])


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
