"""The ledger (台账) format: its columns, their Chinese aliases, and how each cell is read.

Offices keep their cases in Excel; this is the one place that says what a ledger column means, for the
importer, the exporter and the README's table.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from grievance.glossary import LABELS, LabelledEnum
from grievance.input_bounds import moment_problem
from grievance.spreadsheet import read_text


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
    Column(
        "accused_department",
        ("被举报单位", "被举报部门"),
        "department code or name; for a report (举报) the department accused, which never sees the case nor "
        "handles it; also kept for a complaint, ignored for other types",
    ),
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
    Column("note", ("备注", "说明"), "text: kept as a remark on the case's first event (shown on its timeline)"),
]
NAMES = [c.name for c in COLUMNS]
BY_NAME = {c.name: c for c in COLUMNS}
# Each column's `help` in Chinese, for the import page and the template's instructions sheet.
HELP_ZH: dict[str, str] = {
    "case_no": "诉求编号：导入的键，不可重复",
    "received_at": "日期和时间；不写时区按北京时间",
    "channel": "渠道代码或中文名称",
    "case_type": "类型代码或中文名称",
    "urgency": "代码或中文名称；不填为一般",
    "title": "文字",
    "description": "文字",
    "petitioner_name": "文字",
    "petitioner_phone": "文字",
    "enterprise_name": "企业名称；企业包保渠道必填",
    "enterprise_code": "18 位；新企业必填",
    "station": "驿站代码或名称；城市驿站渠道必填",
    "meeting_date": "YYYY-MM-DD；阳光恳谈会渠道与恳谈会名称一起填写",
    "meeting_title": "文字",
    "category": "分类代码或名称（任一级）",
    "department": "单位代码或名称",
    "accused_department": "单位代码或名称；举报件应填写：被举报的单位看不到此件，也不能承办；投诉件也可填写，其他类型不导入",
    "dispatched_at": "时间",
    "accepted_at": "时间",
    "responded_at": "首次响应的时间",
    "respond_due_at": "时间；不填由流程计算",
    "resolved_at": "最后一次办结的时间",
    "resolve_due_at": "时间；不填由流程计算",
    "extended_due_at": "时间：延期获批后的时限",
    "outcome": "代码或中文名称",
    "reply": "文字（可不填）",
    "callback_at": "时间",
    "callback_reached": "是/否",
    "solved": "是/否",
    "satisfaction": "代码或中文名称",
    "reopened_at": "时间；晚于办结时间表示重新办理",
    "closed_at": "时间",
    "duplicate_of": "合并到的诉求的编号",
    "note": "文字：作为台账备注记在诉求的时间线上",
}
# The columns whose cells are words of a vocabulary (read_choice): the glossary's enum of each.
VOCABULARY_COLUMNS = {
    "channel": "Channel",
    "case_type": "CaseType",
    "urgency": "Urgency",
    "outcome": "Outcome",
    "satisfaction": "Satisfaction",
}


def _fold(text: str) -> str:
    """The form a header or vocabulary cell is compared in: NFKC (full-width to half-width, 　 to space),
    no spaces, lower case; a trailing * (Excel templates mark required columns so) dropped."""
    folded = "".join(unicodedata.normalize("NFKC", text).split()).lower().rstrip("*")
    for mark in ("(必填)", "(选填)", "(必填项)", "(可选)"):
        folded = folded.removesuffix(mark)
    return folded.rstrip("*")


ALIASES = {_fold(alias): c.name for c in COLUMNS for alias in (c.name, *c.aliases)}


def header_name(cell: Any) -> str | None:
    """The ledger column a header cell names (English code or a Chinese alias), or None."""
    return ALIASES.get(_fold(text_of(cell).removeprefix("\ufeff")))


# The words offices write for each vocabulary besides the codes and the glossary's labels: DOMAIN.md's own
# ("hotline 12345 / 电话", 企业包保 / 代办帮办) and the usual ones of ledgers and 12345 exports.
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "Channel": {
        "meeting": ("恳谈会", "阳光恳谈", "阳光恳谈会议"),
        "station": ("驿站", "城市驿站站点"),
        "mobile_desk": ("流动办公", "流动办公桌", "流动服务"),
        "hotline": ("12345", "电话", "来电", "热线", "12345热线", "热线电话", "市民热线", "12345市民热线", "政务热线"),
        "online": ("网络", "网上", "网站", "网上留言", "留言", "微信", "app", "网上投诉"),
        "walk_in": ("来访", "走访", "上门", "现场", "窗口", "来人"),
        "letter": ("来信", "信件", "书信", "写信", "信函", "邮件"),
        "enterprise": ("企业", "包保", "企业包保", "代办帮办", "帮办代办", "代办"),
        "inspection": ("巡视", "巡视交办", "巡察", "巡察交办", "督察交办"),
        "leader": ("领导批办", "领导交办", "领导批示"),
    },
    "CaseType": {
        "consult": ("咨询类", "询问"),
        "help": ("求助类", "求援"),
        "complaint": ("投诉类",),
        "report": ("举报类", "检举", "控告", "检举控告"),
        "suggestion": ("建议类", "意见建议", "意见"),
        "praise": ("表扬类", "感谢"),
        "dispute": ("纠纷", "矛盾", "矛盾纠纷类", "纠纷调解"),
        "petition": ("信访件", "信访事项"),
    },
    "Urgency": {
        "emergency": ("特急件", "加急"),
        "urgent": ("急", "急件", "紧急件"),
        "normal": ("普通", "一般件", "常规", "正常"),
    },
    "Outcome": {
        "answered_on_spot": ("直办", "当场办结", "现场答复", "即时答复"),
        "solved": ("解决", "已办理", "已处理"),
        "explained": ("解释说明", "已解释", "已说明", "答复说明"),
        "mediated": ("化解", "调解成功", "已调解"),
        "not_mediated": ("调解不成", "调解未成功", "未调解成功"),
        "rejected": ("不支持", "不予受理", "诉求不合理"),
    },
    "Satisfaction": {
        "satisfied": ("非常满意", "很满意"),
        "basically_satisfied": ("比较满意", "较满意", "基本"),
        "unsatisfied": ("不满意", "很不满意", "非常不满意"),
    },
}
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
TRUE = {"是", "yes", "y", "true", "1", "t", "对", "有", "已联系", "联系到", "已联系到", "已解决", "√", "✓"}
FALSE = {"否", "no", "n", "false", "0", "f", "无", "未联系", "未联系到", "联系不上", "未解决", "×", "✗"}


class CellError(ValueError):
    """A cell that cannot be read: the message says what is accepted (Chinese, English)."""

    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message)
        self.message, self.message_en = message, message_en


# Excel stores a date as days since 1899-12-30; a cell formatted as a number shows that serial (45420).
EXCEL_EPOCH = datetime(1899, 12, 30)
EXCEL_SERIALS = (20000, 80000)  # 1954..2119: plausible ledger dates, not case numbers or phones


def read_time(value: Any, timezone: str) -> datetime | None:
    """A time cell as aware UTC: a date cell, an Excel serial number, ISO 8601, Excel's 2025/3/5 9:05 or
    2025年3月5日 9:05; without a zone in `timezone`. Raises CellError saying what is accepted."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool) and EXCEL_SERIALS[0] < value < EXCEL_SERIALS[1]:
        moment = EXCEL_EPOCH + timedelta(days=float(value))
    else:
        try:
            moment = _local_moment(text_of(value) if not isinstance(value, date | time) else "")
        except ValueError:
            shown = value.isoformat() if isinstance(value, date | time) else text_of(value)
            raise CellError(
                f"时间「{shown}」无效，应为日期和时间，如 2025-03-05 14:30、2025/3/5 14:30、2025年3月5日 14:30 "
                "或 2025-03-05T14:30:00+08:00",
                f"bad time {shown!r}; accepted: a date and time such as 2025-03-05 14:30, 2025/3/5 14:30, "
                "2025年3月5日 14:30 or 2025-03-05T14:30:00+08:00",
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    problem = moment_problem(moment)  # 1900..2200 (grievance.input_bounds): year 1 would overflow in UTC
    if problem is not None:
        raise CellError(*problem)
    return moment.astimezone(UTC)


# What Excel writes in a CSV for a date cell (Chinese locale): 2025/3/5 9:05, without zero padding.
EXCEL_MOMENT = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?")
CHINESE_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]\s*")


def _local_moment(text: str) -> datetime:
    """ISO 8601, Excel's 2025/3/5 9:05 or 2025年3月5日 9:05; raises ValueError."""
    text = unicodedata.normalize("NFKC", text).strip().replace("/", "-").replace("：", ":")
    text = CHINESE_DATE.sub(lambda m: f"{m[1]}-{m[2]}-{m[3]} ", text).strip()
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


@functools.cache
def vocabulary(enum: type[LabelledEnum]) -> dict[str, str]:
    """Every accepted word of a vocabulary, folded, to its code: codes, glossary labels, synonyms."""
    words = {_fold(code): code for code in enum.__members__}
    words.update({_fold(label): code for code, label in LABELS[enum.__name__].items()})
    for code, synonyms in SYNONYMS.get(enum.__name__, {}).items():
        words.update({_fold(s): code for s in synonyms})
    return words


def accepted_words(enum: type[LabelledEnum]) -> str:
    """The accepted values as people read them: each code with its label and synonyms."""
    synonyms = SYNONYMS.get(enum.__name__, {})
    labels = LABELS[enum.__name__]
    return "; ".join(
        f"{code} = {' / '.join(dict.fromkeys((labels[code], *synonyms.get(code, ()))))}" for code in enum.__members__
    )


def read_choice(value: Any, enum: type[LabelledEnum]) -> str | None:
    """A vocabulary cell: the code (solved), its Chinese label (已解决) or a synonym offices write (SYNONYMS),
    compared without spaces, case or full-width forms. Raises CellError naming the accepted values."""
    text = text_of(value)
    if not text:
        return None
    code = vocabulary(enum).get(_fold(text))
    if code is not None:
        return code
    accepted = accepted_words(enum)
    raise CellError(f"取值「{text}」无法识别，可选：{accepted}", f"unknown value {text!r}; accepted: {accepted}")


def read_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _fold(text_of(value))
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
    return read_text(str(value).strip())  # undo the export's ' before a formula character
