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


class NothingToChange(Conflict):
    """409 nothing_to_change: the request would leave things as they are (a key case given the lead leader it
    already has; a calendar override, or a whole calendar file, that leaves every day as it already is)."""

    code = "nothing_to_change"


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


# Chinese wording for pydantic's error types, as specific as pydantic's English (which is kept as is); `{...}`
# is filled from the error's ctx (max_length, ge, pattern...). Source: pydantic_core.core_schema.ErrorType.
# Types no input of ours can produce (Python-object checks, function arguments) are left out; INTERNAL names them.
ZH = {
    "missing": "为必填项",
    "json_invalid": "不是有效的 JSON：{error}",
    "json_type": "应为 JSON 文本",
    "recursion_loop": "嵌套过深或有循环引用",
    "recursion_depth_exceeded": "嵌套过深",
    "frozen_field": "不可修改",
    "frozen_instance": "不可修改",
    "extra_forbidden": "不是可接受的字段",
    "invalid_key": "键应为文本",
    "model_type": "应为对象（JSON 的 {{...}}）",
    "model_attributes_type": "应为对象（JSON 的 {{...}}）",
    "dataclass_type": "应为对象（JSON 的 {{...}}）",
    "dataclass_exact_type": "应为对象（JSON 的 {{...}}）",
    "none_required": "应为空（null）",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "multiple_of": "应为 {multiple_of} 的整数倍",
    "finite_number": "应为有限的数（不能是无穷大或 NaN）",
    "too_short": "至少要有 {min_length} 项，现有 {actual_length} 项",
    "too_long": "最多 {max_length} 项，现有 {actual_length} 项",
    "iterable_type": "应为列表",
    "iteration_error": "列表读取出错：{error}",
    "string_type": "应为文本",
    "string_unicode": "应为有效的 Unicode 文本",
    "string_too_short": "至少要有 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不符，应匹配 {pattern}",
    "string_not_ascii": "只能含 ASCII 字符（英文字母、数字和常见符号）",
    "enum": "不是可接受的取值；可接受：{expected}",
    "literal_error": "不是可接受的取值；可接受：{expected}",
    "dict_type": "应为对象（JSON 的 {{...}}）",
    "mapping_type": "应为对象（JSON 的 {{...}}）",
    "frozen_dict_type": "应为对象（JSON 的 {{...}}）",
    "ordered_dict_type": "应为对象（JSON 的 {{...}}）",
    "counter_type": "应为对象（JSON 的 {{...}}）",
    "list_type": "应为列表（JSON 的 [...]）",
    "deque_type": "应为列表（JSON 的 [...]）",
    "tuple_type": "应为列表（JSON 的 [...]）",
    "set_type": "应为列表（JSON 的 [...]）",
    "frozen_set_type": "应为列表（JSON 的 [...]）",
    "set_item_not_hashable": "列表项应为文本或数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_parsing_size": "整数过大，超出可处理的范围",
    "int_from_float": "应为整数，不能带小数部分",
    "float_type": "应为数字",
    "float_parsing": "应为数字，如 3 或 2.5",
    "bytes_type": "应为文本",
    "bytes_too_short": "至少要有 {min_length} 个字节",
    "bytes_too_long": "最多 {max_length} 个字节",
    "bytes_invalid_encoding": "编码无效：{encoding_error}",
    "assertion_error": "不符合要求：{error}",
    "date_type": "应为日期，如 2025-03-05",
    "date_parsing": "应为日期，如 2025-03-05",
    "date_from_datetime_parsing": "应为日期，如 2025-03-05",
    "date_from_datetime_inexact": "应为日期，不能带时刻（如 2025-03-05，而不是 2025-03-05T09:30）",
    "date_past": "应为今天以前的日期",
    "date_future": "应为今天以后的日期",
    "time_type": "应为时刻，如 09:30",
    "time_parsing": "应为时刻，如 09:30",
    "datetime_type": "应为带时区的时间，如 2025-03-05T09:30:00+08:00",
    "datetime_parsing": "应为带时区的时间，如 2025-03-05T09:30:00+08:00",
    "datetime_object_invalid": "不是有效的时间：{error}",
    "datetime_from_date_parsing": "应为带时区的时间，如 2025-03-05T09:30:00+08:00",
    "datetime_past": "应为现在以前的时间",
    "datetime_future": "应为现在以后的时间",
    "timezone_naive": "不能带时区",
    "timezone_aware": "须带时区，如 +08:00",
    "timezone_offset": "时区应为 {tz_expected} 秒偏移，实际为 {tz_actual}",
    "time_delta_type": "应为时长，如 PT2H 或 7200（秒）",
    "time_delta_parsing": "应为时长，如 PT2H 或 7200（秒）",
    "union_tag_invalid": "类型标记 {tag} 不可接受；可接受：{expected_tags}",
    "union_tag_not_found": "缺少类型标记字段 {discriminator}",
    "url_type": "应为网址文本",
    "url_parsing": "不是有效的网址：{error}",
    "url_syntax_violation": "网址格式有误：{error}",
    "url_too_long": "网址过长，最多 {max_length} 个字符",
    "url_scheme": "网址应以 {expected_schemes} 开头",
    "uuid_type": "应为 UUID 文本",
    "uuid_parsing": "不是有效的 UUID：{error}",
    "uuid_version": "应为第 {expected_version} 版 UUID",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字，如 3 或 2.5",
    "decimal_max_digits": "最多 {max_digits} 位数字",
    "decimal_max_places": "小数最多 {decimal_places} 位",
    "decimal_whole_digits": "整数部分最多 {whole_digits} 位",
    "fraction_type": "应为分数或数字",
    "fraction_parsing": "应为分数或数字，如 1/2",
    "complex_type": "应为数字",
    "complex_str_parsing": "应为数字",
    "value_error": "不符合要求：{error}",
}

# Error types only Python code (not a request, form or command line) can cause; they keep a generic wording.
INTERNAL = frozenset(
    {
        "no_such_attribute",
        "needs_python_object",
        "get_attribute_error",
        "named_tuple_type",
        "default_factory_not_called",
        "is_instance_of",
        "is_subclass_of",
        "callable_type",
        "arguments_type",
        "missing_argument",
        "unexpected_keyword_argument",
        "missing_keyword_only_argument",
        "unexpected_positional_argument",
        "missing_positional_only_argument",
        "multiple_argument_values",
        "missing_sentinel_error",
        "ellipsis_error",
    }
)

# Chinese labels of the input fields, as the pages show them (the JSON "field" keeps the key).
FIELD_ZH = {
    "accused_department": "被反映单位",
    "address": "地址",
    "attendee_count": "参会人数",
    "case_type": "诉求类型",
    "category": "分类",
    "channel": "来源渠道",
    "code": "编码",
    "community": "社区",
    "credit_code": "统一社会信用代码",
    "day": "日期",
    "department": "部门",
    "description": "诉求内容",
    "display_name": "姓名",
    "enterprise": "企业",
    "held_on": "召开日期",
    "hosts": "接待领导",
    "id_no": "身份证号",
    "is_large": "是否大型",
    "kind": "类别",
    "liaison": "联络员",
    "location": "地点",
    "meeting": "会议",
    "name": "名称",
    "note": "备注",
    "occurred_at": "发生时间",
    "parent": "上级",
    "password": "密码",
    "petitioner": "诉求人",
    "phone": "电话",
    "role": "角色",
    "station": "站点",
    "title": "标题",
    "urgency": "紧急程度",
    "username": "用户名",
    "venue": "地点",
    "version": "版本号",
    "reason": "理由",
    "reply": "答复",
    "outcome": "办理结果",
    "satisfaction": "满意度",
    "filename": "文件名",
    "file": "文件",
    "body": "请求内容",
    "date_from": "起始日期",
    "date_to": "截止日期",
    "limit": "条数",
    "offset": "起始位置",
    "page": "页码",
}


def field_label(field: str) -> str:
    """The Chinese name of a (dotted) field key for a message: "petitioner.phone" -> "诉求人·电话", a list
    index -> "第 n 项"; a key without a label is shown as is."""
    parts = []
    for part in field.split("."):
        parts.append(f"第 {int(part) + 1} 项" if part.isdigit() else FIELD_ZH.get(part, part))
    return "·".join(parts)


# pydantic's (speedate's) reasons a date or time does not parse (ctx "error"), in Chinese; others are quoted.
PARSE_REASON_ZH = {
    "day value is outside expected range": "该月没有这一天",
    "month value is outside expected range": "月份应为 1 至 12",
    "hour value is outside expected range": "小时应为 0 至 23",
    "minute value is outside expected range": "分钟应为 0 至 59",
    "second value is outside expected range": "秒应为 0 至 59",
    "input is too short": "内容不完整",
    "input is too long": "末尾有多余的字符",
    "invalid character in year": "年份中有无效字符",
    "invalid character in month": "月份中有无效字符",
    "invalid character in day": "日中有无效字符",
    "invalid date separator, expected `-`": "日期应以 - 分隔",
    "invalid timezone sign": "时区写法有误",
    "unexpected extra characters at the end of the input": "末尾有多余的字符",
}
_PARSE_TYPES = {"date_parsing", "date_from_datetime_parsing", "datetime_parsing", "datetime_from_date_parsing"}


class _Ctx(dict):
    def __missing__(self, key: str) -> str:
        return "…"


def _zh_for(err: dict[str, Any], english: str) -> str:
    kind = err.get("type", "")
    ctx = _Ctx({k: str(v) for k, v in (err.get("ctx") or {}).items()})
    if "expected" in ctx:  # pydantic words a choice "'a', 'b' or 'c'": the Chinese half says 或
        ctx["expected"] = ctx["expected"].replace(" or ", " 或 ")
    template = ZH.get(kind)
    if kind == "string_too_short" and ctx.get("min_length") == "1":
        return "不能为空"
    if template is None:  # an INTERNAL type or one a newer pydantic added: say what pydantic said
        return f"不符合要求（{english}）"
    text = template.format_map(ctx)
    reason = ctx.get("error")
    if kind in _PARSE_TYPES and reason:
        text += f"（{PARSE_REASON_ZH.get(reason, reason)}）"
    return text


def field_errors(errors: list[Any], skip_body: bool = True) -> list[dict[str, Any]]:
    """Pydantic's errors (`ValidationError.errors()` dicts) as [{"field", "message", "message_en"}]: the field
    key dotted, the Chinese message naming the field by its label (FIELD_ZH) and the rule as specifically as
    pydantic's English (ZH), the English "field: pydantic's message"."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        if skip_body and loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]
        field = ".".join(loc) or "body"
        english = err.get("msg", "invalid")
        if err.get("type") == "enum":
            english += f" (accepted: {err.get('ctx', {}).get('expected', '')})"
        if err.get("type") == "value_error":
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, BilingualValueError):
                zh, english = cause.message, cause.message_en
            else:
                zh = english.removeprefix("Value error, ")
        else:
            zh = _zh_for(err, english)
        out.append({"field": field, "message": f"{field_label(field)}：{zh}", "message_en": f"{field}: {english}"})
    return out
