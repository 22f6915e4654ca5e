"""The ledger (台账) format: its columns, their Chinese aliases, and how each cell is read.

Offices keep their cases in Excel; this is the one place that says what a ledger column means, for the
importer, the exporter and the README's table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from grievance.glossary import LABELS, LabelledEnum


@dataclass(frozen=True)
class Column:
    name: str
    aliases: tuple[str, ...]
    help: str


COLUMNS: list[Column] = [
    Column("case_no", ("诉求编号", "工单编号", "编号"), "the case number: the key, unique"),
    Column("received_at", ("受理时间", "登记时间"), "ISO 8601; without a zone Asia/Shanghai"),
    Column("channel", ("来源渠道", "渠道"), "code or Chinese label"),
    Column("case_type", ("诉求类型", "类型"), "code or Chinese label"),
    Column("urgency", ("紧急程度",), "code or Chinese label; default normal"),
    Column("title", ("标题", "诉求标题"), "text"),
    Column("description", ("诉求内容", "内容"), "text"),
    Column("petitioner_name", ("诉求人", "诉求人姓名"), "text"),
    Column("petitioner_phone", ("联系电话", "电话"), "text"),
    Column("enterprise_name", ("企业名称",), "the enterprise; required for the enterprise channel"),
    Column("enterprise_code", ("统一社会信用代码", "企业代码"), "18 characters; needed for a new enterprise"),
    Column("station", ("城市驿站", "驿站"), "station code or name; required for the station channel"),
    Column("meeting_date", ("恳谈会日期",), "YYYY-MM-DD; with meeting_title for the meeting channel"),
    Column("meeting_title", ("恳谈会名称", "恳谈会"), "text"),
    Column("category", ("业务分类", "分类"), "category code or name (any level)"),
    Column("department", ("承办单位",), "department code or name"),
    Column("dispatched_at", ("派单时间",), "time"),
    Column("accepted_at", ("签收时间",), "time"),
    Column("responded_at", ("响应时间",), "time of the first response"),
    Column("respond_due_at", ("响应时限", "响应截止时间"), "time; computed by the workflow when empty"),
    Column("resolved_at", ("办结时间",), "time of the last resolution"),
    Column("resolve_due_at", ("办结时限", "办结截止时间"), "time; computed by the workflow when empty"),
    Column("extended_due_at", ("延期后时限", "延期截止时间"), "time: the due time after an approved extension"),
    Column("outcome", ("办理结果",), "code or Chinese label"),
    Column("reply", ("答复内容", "办理答复"), "text (optional)"),
    Column("callback_at", ("回访时间",), "time"),
    Column("callback_reached", ("是否联系到", "回访联系到"), "是/否 (yes/no, true/false, 1/0)"),
    Column("solved", ("是否解决",), "是/否"),
    Column("satisfaction", ("满意度",), "code or Chinese label"),
    Column("reopened_at", ("重办时间",), "time; later than resolved_at means open again"),
    Column("closed_at", ("归档时间",), "time"),
    Column("duplicate_of", ("重复件（合并到）", "合并到"), "case_no of the case it was merged into"),
]
NAMES = [c.name for c in COLUMNS]
ALIASES = {alias: c.name for c in COLUMNS for alias in (c.name, *c.aliases)}
TIME_COLUMNS = (
    "received_at",
    "dispatched_at",
    "accepted_at",
    "responded_at",
    "respond_due_at",
    "resolved_at",
    "resolve_due_at",
    "extended_due_at",
    "callback_at",
    "reopened_at",
    "closed_at",
)
TRUE = {"是", "yes", "y", "true", "1", "t", "对"}
FALSE = {"否", "no", "n", "false", "0", "f"}


class CellError(ValueError):
    """A cell that cannot be read: the message says what is accepted (Chinese, English)."""

    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message)
        self.message, self.message_en = message, message_en


def header_names(header: list[Any]) -> tuple[list[str | None], list[str]]:
    """Column names for each header cell (None for unknown ones), and the unknown headers."""
    names: list[str | None] = []
    unknown: list[str] = []
    for cell in header:
        text = "" if cell is None else str(cell).strip().removeprefix("\ufeff")
        name = ALIASES.get(text) or ALIASES.get(text.lower())
        names.append(name)
        if name is None and text:
            unknown.append(text)
    return names, unknown


def read_time(value: Any, timezone: str) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = _local_moment(str(value))
        except ValueError:
            raise CellError(
                f"时间「{value}」无效，应为 ISO 8601，如 2025-03-05 14:30 或 2025-03-05T14:30:00+08:00",
                f"bad time {value!r}; accepted: ISO 8601 such as 2025-03-05 14:30 or 2025-03-05T14:30:00+08:00",
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


# What Excel writes in a CSV for a date cell (Chinese locale): 2025/3/5 9:05, without zero padding.
EXCEL_MOMENT = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?")


def _local_moment(text: str) -> datetime:
    """ISO 8601, or Excel's 2025/3/5 9:05; raises ValueError."""
    text = text.strip().replace("/", "-")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        match = EXCEL_MOMENT.fullmatch(text)
        if match is None:
            raise
        return datetime(*(int(part) for part in match.groups() if part is not None))


def read_day(value: Any) -> date:
    """A day: a date cell, 2025-03-05, 2025/3/5 (a time of day, if any, is ignored); raises ValueError."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return _local_moment(text_of(value)).date()


def read_choice(value: Any, enum: type[LabelledEnum]) -> str | None:
    """A vocabulary cell: the code (solved) or its Chinese label (已解决)."""
    text = text_of(value)
    if not text:
        return None
    if text in enum.__members__:
        return text
    by_label = {label: code for code, label in LABELS[enum.__name__].items()}
    if text in by_label:
        return by_label[text]
    raise CellError(f"取值「{text}」无效，可选：{enum.accepted()}", f"bad value {text!r}; accepted: {enum.accepted()}")


def read_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = text_of(value).lower()
    if not text:
        return None
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise CellError(
        f"取值「{value}」无效，可选：是 / 否", f"bad value {value!r}; accepted: 是/否, yes/no, true/false, 1/0"
    )


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel turns 13812341234 into a float
    return str(value).strip()
