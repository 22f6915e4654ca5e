"""The audit log read back: who viewed a confidential case or exported data, when, and where, for the
administrator.

Why it exists: the service writes an entry (grievance.cases.models.AuditEntry, table audit_log) for every view of
a confidential case (a report, 举报, is never shown to the department it accuses and its petitioner's identity is
never disclosed to it: 信访工作条例) and for every export (DOMAIN.md, "Privacy rules"), but a record nobody can
read protects no one. This module lists the entries newest first, filtered by person, action, case and local
days, one page per query (keyset order on (at, id)), and writes the filtered entries as CSV. It also holds the
vocabulary of the entries: each action's label in Chinese and English, and the channels a case is seen through
(`view_confidential`'s detail: the case page, the API, a download, a merged duplicate's page ...).

The query model (AuditQuery) is shared by GET /api/v1/admin/audit and the /admin/audit page, so a filter is read
and refused the same way in both. Every function works in the caller's transaction and never commits.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import or_
from sqlmodel import Session, col, select

from grievance.cases.models import AuditEntry, Case
from grievance.db import find_by_ref
from grievance.errors import InvalidInput, field_errors
from grievance.identifiers import halfwidth
from grievance.input_bounds import id_problem, moment_problem
from grievance.reference.schemas import day_or_moment
from grievance.spreadsheet import csv_row
from grievance.users.models import User
from grievance.users.service import account_label

# Every action the service writes to the audit log, with its label (中文, English). A new kind of entry gets its
# labels here (tests/test_audit_log.py finds every action written in the code and checks it is listed).
ACTIONS: dict[str, tuple[str, str]] = {
    "view_confidential": ("查看保密件", "Viewed a confidential case"),
    "list_confidential": ("列表中显示保密件", "Confidential case shown in a list"),
    "hint_confidential": ("疑似重复提示中显示保密件", "Confidential case shown as a possible duplicate"),
    "export": ("导出数据", "Exported data"),
    "meeting_update": ("修改恳谈会信息", "Changed a meeting's details"),
    "publish_month": ("发布月报", "Published a monthly report"),
}

# Where a confidential case was seen: the detail of a `view_confidential` entry (view_detail writes it).
VIEW_CHANNELS: dict[str, tuple[str, str]] = {
    "page": ("诉求页面", "Case page"),
    "page_action": ("诉求页面上的办理或上传", "An action or upload on the case page"),
    "download": ("页面下载附件", "Attachment download (page)"),
    "receipt": ("回执页面", "Receipt page"),
    "api": ("接口读取", "API read"),
    "api_action": ("接口办理或上传", "An action or upload through the API"),
    "api_download": ("接口下载附件", "Attachment download (API)"),
    "merge_view": ("重复件页面所示的合并去向", "Shown on a merged duplicate's page"),
    "dispatch_sheet": ("每周调度表", "Weekly dispatch sheet"),
    "meeting_report": ("恳谈会反馈报告", "Meeting follow-up report"),
    "bulk_dispatch": ("待派单页批量派单", "Bulk dispatch in the pool"),
}
# The label of a view written before the channel was recorded (its detail is empty).
UNRECORDED_CHANNEL = ("未记录", "Not recorded")
SYSTEM_ACTOR = ("系统或命令行", "System or command line")  # an entry without a user: a CLI export, a task

PAGE_LIMIT = 200  # the most entries one page (API or page) holds
CSV_MAX_ROWS = 100_000  # the most entries one CSV download holds; more asks for narrower filters
CURSOR_KIND = "audit"


def action_label(code: str, locale: str = "zh_CN") -> str:
    """An action's label in a page locale ("en" or Chinese); an unknown code (an old row) is shown as itself."""
    labels = ACTIONS.get(code)
    return (labels[1] if locale == "en" else labels[0]) if labels else code


def view_detail(channel: str, via: str | None = None) -> str:
    """The detail of a `view_confidential` entry: the channel code (VIEW_CHANNELS), followed by the number of the
    case it was seen through (`via`: the merged duplicate whose page showed it), e.g. "page" or
    "merge_view GX-2025-000045". Raises ValueError for a channel not in VIEW_CHANNELS (a programming error)."""
    if channel not in VIEW_CHANNELS:
        raise ValueError(f"no view channel {channel!r}; known: {', '.join(VIEW_CHANNELS)}")
    return f"{channel} {via}"[:500] if via else channel


def seen_in(action: str, detail: str) -> tuple[str | None, str]:
    """For a `view_confidential` entry: (its channel code, the rest of its detail: the case it was seen through);
    (None, "") for an entry written before channels were recorded, or any other action."""
    if action != "view_confidential":
        return None, ""
    code, _space, via = detail.partition(" ")
    return (code, via) if code in VIEW_CHANNELS else (None, "")


def channel_label(code: str | None, locale: str = "zh_CN") -> str:
    """A view channel's label in a page locale; UNRECORDED_CHANNEL's for None."""
    labels = VIEW_CHANNELS.get(code or "", UNRECORDED_CHANNEL)
    return labels[1] if locale == "en" else labels[0]


# --- the filters --------------------------------------------------------------------------------------------------


class AuditQuery(BaseModel):
    """The filters of the audit log as a query string carries them (API and page alike).

    `date_from` / `date_to` take a local day (2025-03-05, also 2025/3/5 or 2025年3月5日, in Settings.timezone: from
    its start; `date_to` includes the whole day) or an aware moment (taken as is; `date_to` is then exclusive),
    between 1900-01-01 and 2200-01-01. `user`, `action` and `case_no` are checked against the database and the
    vocabulary by to_filter, each with its own bilingual message."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(None, description="the person: account name (username) or user id")
    action: str | None = Field(
        None,
        description="one action: " + ", ".join(f"{code} ({zh})" for code, (zh, _en) in ACTIONS.items()),
        json_schema_extra={"enum": list(ACTIONS)},
    )
    case_no: str | None = Field(None, description="the case number, e.g. GX-2025-000123 (or the case id)")
    date_from: datetime | date | None = Field(
        None, description="2025-03-05 (a local day, from its start) or an aware time, 1900-01-01 to 2200-01-01"
    )
    date_to: datetime | date | None = Field(
        None, description="2025-03-05 (the whole day included) or an aware time (exclusive), 1900-01-01 to 2200-01-01"
    )
    cursor: str | None = Field(None, description="the next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=PAGE_LIMIT, description=f"entries per page, 1 to {PAGE_LIMIT}")

    @field_validator("date_from", "date_to", mode="plain")
    @classmethod
    def _day_or_moment(cls, value: Any) -> datetime | date | None:
        return day_or_moment(value)

    @classmethod
    def from_form(cls, params: dict[str, Any]) -> AuditQuery:
        """A page's filter form: blank fields are not given. Raises InvalidInput naming each field it cannot use."""
        given = {k: v for k, v in params.items() if v not in ("", None)}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            raise InvalidInput("筛选条件有误", "invalid filters", field_errors(list(exc.errors()))) from None

    def to_filter(self, session: Session, timezone: str) -> AuditFilter:
        """The filters resolved against the database: the user and the case by name or id, the days as moments
        in `timezone`. Raises InvalidInput listing every field it cannot use (an unknown account, action or case
        number; a range that ends before it starts; a bad cursor), in Chinese and English."""
        problems: list[dict[str, str]] = []

        def refuse(field: str, zh: str, en: str) -> None:
            problems.append({"field": field, "message": zh, "message_en": en})

        user_id = case_id = None
        if self.user is not None:
            ref = halfwidth(self.user)
            found = find_by_ref(session, User, ref, "username") if 0 < len(ref) <= 64 else None
            if found is None:
                refuse(
                    "user",
                    f"没有账号“{ref[:64]}”；请填写账号名或用户编号",
                    f"no account {ref[:64]!r}: give its name or id",
                )
            else:
                user_id = found.id
        if self.action is not None and self.action not in ACTIONS:
            accepted_zh = "、".join(f"{code}（{zh}）" for code, (zh, _en) in ACTIONS.items())
            accepted_en = ", ".join(f"{code} ({en})" for code, (_zh, en) in ACTIONS.items())
            refuse(
                "action",
                f"没有操作“{self.action[:40]}”；可选：{accepted_zh}",
                f"no action {self.action[:40]!r}; accepted: {accepted_en}",
            )
        if self.case_no is not None:
            ref = halfwidth(self.case_no).upper()
            found_case = find_by_ref(session, Case, ref, "case_no") if 0 < len(ref) <= 32 else None
            if found_case is None:
                refuse(
                    "case_no",
                    f"没有诉求编号“{ref[:32]}”；请填写完整编号，如 GX-2025-000123",
                    f"no case {ref[:32]!r}: give the whole number, e.g. GX-2025-000123",
                )
            else:
                case_id = found_case.id
        start = _moment(self.date_from, timezone, end_of_day=False)
        end = _moment(self.date_to, timezone, end_of_day=True)
        if start is not None and end is not None and end <= start:
            if isinstance(self.date_from, datetime) or isinstance(self.date_to, datetime):
                refuse("date_to", "截止时间应晚于起始时间", "date_to must be after date_from")
            else:
                refuse("date_to", "截止日期应不早于起始日期", "date_to must not be before date_from")
        after = None
        if self.cursor is not None:
            after = _decode_cursor(self.cursor)
            if after is None:
                refuse(
                    "cursor",
                    "分页游标无效，请从第一页重新开始",
                    "invalid cursor: use the next_cursor of the previous page",
                )
        if problems:
            raise InvalidInput("筛选条件有误", "invalid filters", problems)
        return AuditFilter(
            user_id=user_id,
            action=self.action,
            case_id=case_id,
            start=start,
            end=end,
            after=after,
            limit=self.limit,
        )


def _moment(value: datetime | date | None, timezone: str, *, end_of_day: bool) -> datetime | None:
    """A local day as the moment it starts (or, for the end of a range, the moment the next day starts)."""
    if value is None or isinstance(value, datetime):
        return value
    day = value + timedelta(days=1) if end_of_day else value
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))


def _encode_cursor(at: datetime, entry_id: int) -> str:
    raw = json.dumps([CURSOR_KIND, at.isoformat(), entry_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """(at, id) of the last entry of the previous page, or None for a cursor this list did not make (another
    list's, a typed one, one out of range: it must not reach the database as a 500)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, at, entry_id = json.loads(raw)
        moment = datetime.fromisoformat(at)
        if kind != CURSOR_KIND or moment.tzinfo is None or moment_problem(moment) or id_problem(int(entry_id)):
            return None
        return moment, int(entry_id)
    except (ValueError, TypeError, json.JSONDecodeError):
        return None


@dataclass(frozen=True)
class AuditFilter:
    """Resolved filters: ids, aware moments [start, end), and the (at, id) the page starts after."""

    user_id: int | None = None
    action: str | None = None
    case_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    after: tuple[datetime, int] | None = None
    limit: int = 50


# --- reading --------------------------------------------------------------------------------------------------


class AuditActor(BaseModel):
    id: int
    username: str
    display_name: str


class AuditEntryRead(BaseModel):
    """One audit entry as the administrator reads it: who, what, which case, where."""

    id: int
    at: AwareDatetime = Field(description="when, in the deployment's time zone")
    user: AuditActor | None = Field(description="who; null for a command-line export or a system task")
    action: str = Field(description="view_confidential, list_confidential, hint_confidential, export ...")
    action_label: str
    action_label_en: str
    case_no: str | None = Field(description="the case concerned; null for an export or a meeting change")
    detail: str = Field(description="as recorded: the channel of a view, what an export held, what changed")
    seen_in: str | None = Field(
        description="for view_confidential: where the case was seen ("
        + ", ".join(VIEW_CHANNELS)
        + "); null for other actions and for views recorded before channels were"
    )
    seen_in_label: str | None
    seen_in_label_en: str | None
    seen_via: str | None = Field(description="for a merge_view: the number of the duplicate whose page showed it")


class AuditPage(BaseModel):
    items: list[AuditEntryRead]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


def _statement(filters: AuditFilter) -> Any:
    """The one SELECT of a page: entries with their person's names and their case's number (outer joins: an
    entry may have neither), newest first.

    The indexes behind each filter: none or dates, ix_audit_log_at (at); a person, ix_audit_log_user (user_id,
    at, id); an action, ix_audit_log_action (action, at, id); a case, ix_audit_log_case_id. The keyset condition
    is written `at <= last AND (at < last OR id < last_id)` rather than as a row comparison so that its first
    half bounds the index range on both databases."""
    entry = AuditEntry
    stmt = (
        select(
            entry.id,
            entry.at,
            entry.action,
            entry.detail,
            entry.user_id,
            User.username,
            User.display_name,
            Case.case_no,
        )
        .select_from(entry)
        .outerjoin(User, col(User.id) == col(entry.user_id))
        .outerjoin(Case, col(Case.id) == col(entry.case_id))
    )
    if filters.user_id is not None:
        stmt = stmt.where(col(entry.user_id) == filters.user_id)
    if filters.action is not None:
        stmt = stmt.where(col(entry.action) == filters.action)
    if filters.case_id is not None:
        stmt = stmt.where(col(entry.case_id) == filters.case_id)
    if filters.start is not None:
        stmt = stmt.where(col(entry.at) >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(col(entry.at) < filters.end)
    if filters.after is not None:
        at, last_id = filters.after
        stmt = stmt.where(col(entry.at) <= at, or_(col(entry.at) < at, col(entry.id) < last_id))
    return stmt.order_by(col(entry.at).desc(), col(entry.id).desc())


def _read(row: Any, tz: ZoneInfo) -> AuditEntryRead:
    code, via = seen_in(row.action, row.detail)
    return AuditEntryRead(
        id=row.id,
        at=row.at.astimezone(tz),
        user=AuditActor(id=row.user_id, username=row.username, display_name=row.display_name)
        if row.user_id is not None
        else None,
        action=row.action,
        action_label=action_label(row.action),
        action_label_en=action_label(row.action, "en"),
        case_no=row.case_no,
        detail=row.detail,
        seen_in=code,
        seen_in_label=channel_label(code) if row.action == "view_confidential" else None,
        seen_in_label_en=channel_label(code, "en") if row.action == "view_confidential" else None,
        seen_via=via or None,
    )


def list_entries(session: Session, filters: AuditFilter, *, timezone: str) -> AuditPage:
    """One page of audit entries, newest first (at, then id, descending), in one query whatever the page holds.

    Shape: AuditPage(items=[AuditEntryRead...] at most filters.limit, times in `timezone`; next_cursor or None).
    Raises nothing of its own: AuditQuery.to_filter has checked every value."""
    limit = max(1, min(filters.limit, PAGE_LIMIT))
    rows = session.execute(_statement(filters).limit(limit + 1)).all()
    tz = ZoneInfo(timezone)
    items = [_read(row, tz) for row in rows[:limit]]
    next_cursor = _encode_cursor(rows[limit - 1].at, rows[limit - 1].id) if len(rows) > limit else None
    return AuditPage(items=items, next_cursor=next_cursor)


def all_entries(
    session: Session, filters: AuditFilter, *, timezone: str, max_rows: int | None = None
) -> list[AuditEntryRead]:
    """Every entry the filters select (cursor and limit ignored), newest first, in one query: for a download.
    Raises InvalidInput (field "_") when more than `max_rows` (default CSV_MAX_ROWS) match, asking for narrower
    filters, rather than cutting the file short."""
    max_rows = CSV_MAX_ROWS if max_rows is None else max_rows
    unpaged = replace(filters, after=None)
    rows = session.execute(_statement(unpaged).limit(max_rows + 1)).all()
    if len(rows) > max_rows:
        raise InvalidInput.field(
            "_",
            f"符合条件的记录超过 {max_rows} 条，一次下载不了；请缩小日期范围或加上人员、操作条件",
            f"more than {max_rows} entries match, more than one download holds; narrow the dates or add a person "
            "or an action",
        )
    tz = ZoneInfo(timezone)
    return [_read(row, tz) for row in rows]


CSV_HEADER = {
    "zh_CN": ("时间", "账号", "姓名", "操作", "操作代码", "诉求编号", "查看渠道", "经由", "详情"),
    "en": ("Time", "Account", "Name", "Action", "Action code", "Case number", "Seen in", "Via", "Detail"),
}


def to_csv(entries: list[AuditEntryRead], locale: str = "zh_CN") -> bytes:
    """The entries as CSV (UTF-8 with a byte-order mark, so Excel and WPS open the Chinese), headers and labels in
    the page locale ("en" or Chinese), times as 2025-09-29 10:00:00+08:00. Every text that could start a formula
    (= + - @ TAB CR LF: a meeting's title in a meeting_update detail, say) is written with a leading ' as in every
    export (grievance.spreadsheet, OWASP CSV injection)."""
    en = locale == "en"
    system = SYSTEM_ACTOR[1] if en else SYSTEM_ACTOR[0]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER["en" if en else "zh_CN"])
    for e in entries:
        writer.writerow(
            csv_row(
                [
                    e.at.isoformat(sep=" ", timespec="seconds"),
                    e.user.username if e.user else "",
                    (account_label(e.user.display_name, locale) or "") if e.user else system,
                    e.action_label_en if en else e.action_label,
                    e.action,
                    e.case_no or "",
                    (e.seen_in_label_en if en else e.seen_in_label) or "",
                    e.seen_via or "",
                    e.detail if e.seen_in is None else "",
                ]
            )
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
