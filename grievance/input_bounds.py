"""The bounds every input value must keep before it reaches the database, in one place: ids that fit the id
columns, days and years in a sane range, and text without NUL bytes or lone surrogates.

Why these bounds:
- Ids are 32-bit INTEGER columns (alembic/versions/0001: `sa.Integer()`), so 1..2,147,483,647. A larger number
  names nothing, and PostgreSQL would refuse to compare it with the column (a 500 before this module).
- Days and moments: 1900-01-01 to 2200-01-01. Far beyond any real case (the zone was founded this century) yet
  bounded, so a typo such as 0001-01-01 or 9999-12-31 is a clear 422 rather than an OverflowError when a time
  zone or a limit of 300 days is added (Python's dates end at 9999-12-31), or a report of a hundred thousand
  months. The reports used these bounds first (grievance.reports.periods); they live here now.
- Text: PostgreSQL text columns cannot hold NUL (U+0000, psycopg refuses to send it), and SQLite would store it,
  so a database could no longer move to PostgreSQL; a lone surrogate (U+D800..U+DFFF, which JSON's "\\ud800"
  escape can make) cannot be encoded as UTF-8 by either driver. Both are refused everywhere text enters: the
  web's input guard (web.input_guard) before a route runs, and `refuse_bad_text_on_flush` for whatever bypasses
  HTTP (the CLI, files read by the calendar or category import).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from grievance.errors import BilingualValueError, InvalidInput, field_label

MAX_ID = 2_147_483_647  # the largest value of a 32-bit INTEGER id column
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2200, 1, 1)
FIRST_YEAR, LAST_YEAR = EARLIEST_DAY.year, LATEST_DAY.year
EARLIEST_MOMENT = datetime.combine(EARLIEST_DAY, time(0), tzinfo=UTC)
LATEST_MOMENT = datetime.combine(LATEST_DAY, time(0), tzinfo=UTC)

BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def id_problem(value: int) -> tuple[str, str] | None:
    """(中文, English) saying why `value` cannot be a row id, or None when it can (1..MAX_ID)."""
    if 1 <= value <= MAX_ID:
        return None
    return (
        f"编号应为 1 至 {MAX_ID} 的整数，收到 {value}",
        f"an id is a whole number from 1 to {MAX_ID}; got {value}",
    )


def day_problem(day: date) -> tuple[str, str] | None:
    """(中文, English) saying why `day` is out of range, or None when EARLIEST_DAY <= day <= LATEST_DAY."""
    if EARLIEST_DAY <= day <= LATEST_DAY:
        return None
    return (
        f"日期 {day} 超出范围，可接受 {EARLIEST_DAY} 至 {LATEST_DAY}",
        f"{day} is out of range; accepted: {EARLIEST_DAY} to {LATEST_DAY}",
    )


def moment_problem(moment: datetime) -> tuple[str, str] | None:
    """Like day_problem for an aware moment (compared in UTC); a naive moment is compared as UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if EARLIEST_MOMENT <= aware <= LATEST_MOMENT:
        return None
    return (
        f"时间 {moment.isoformat()} 超出范围，可接受 {EARLIEST_DAY} 至 {LATEST_DAY} 之间",
        f"{moment.isoformat()} is out of range; accepted: between {EARLIEST_DAY} and {LATEST_DAY}",
    )


def year_problem(year: int) -> tuple[str, str] | None:
    """(中文, English) saying why `year` is out of range, or None for FIRST_YEAR..LAST_YEAR."""
    if FIRST_YEAR <= year <= LAST_YEAR:
        return None
    return (
        f"年份应为 {FIRST_YEAR} 至 {LAST_YEAR}，收到 {year}",
        f"the year must be from {FIRST_YEAR} to {LAST_YEAR}; got {year}",
    )


def text_problem(text: str) -> tuple[str, str] | None:
    """(中文, English) saying why `text` cannot be stored (a NUL byte or a lone surrogate), or None."""
    found = BAD_TEXT.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return ("不能包含空字符（NUL，\\u0000）", "must not contain a NUL character (\\u0000)")
    if "\udc80" <= found.group() <= "\udcff":  # a byte that was not UTF-8, kept by errors="surrogateescape"
        return (
            f"不是有效的 UTF-8 文本（字节 0x{ord(found.group()) - 0xDC00:02X} 无法解码）；请以 UTF-8 编码提交",
            f"is not valid UTF-8 text (byte 0x{ord(found.group()) - 0xDC00:02X} cannot be decoded); send UTF-8",
        )
    return (
        f"包含无效字符（孤立的代理项 \\u{ord(found.group()):04x}）",
        f"contains an invalid character (a lone surrogate \\u{ord(found.group()):04x})",
    )


def _raise_value_error(problem: tuple[str, str] | None) -> None:
    if problem is not None:
        raise BilingualValueError(*problem)


def checked_id(value: int) -> int:
    """For an input model's validator: `value` when it can be a row id; else BilingualValueError (a 422 field)."""
    _raise_value_error(id_problem(value))
    return value


def not_a_number(value: Any) -> Any:
    """For a date or time field's before-validator: `value` unchanged unless it is a number (0, 86400, "0"), which
    pydantic would read as seconds since 1970; then BilingualValueError saying a day is written 2025-03-05."""
    if isinstance(value, (int, float)) or (
        isinstance(value, str) and value.strip().isdigit() and len(value.strip()) != 8
    ):
        raise BilingualValueError("应为日期，如 2025-03-05", "should be a day such as 2025-03-05")
    return value


def checked_day(value: date) -> date:
    """For an input model's validator: `value` when in EARLIEST_DAY..LATEST_DAY; else BilingualValueError."""
    _raise_value_error(day_problem(value))
    return value


def checked_moment(value: datetime) -> datetime:
    """For an input model's validator: `value` when between EARLIEST_DAY and LATEST_DAY; else BilingualValueError."""
    _raise_value_error(moment_problem(value))
    return value


def checked_year(value: int) -> int:
    """For an input model's validator: `value` when in FIRST_YEAR..LAST_YEAR; else BilingualValueError."""
    _raise_value_error(year_problem(value))
    return value


def check(field: str, problem: tuple[str, str] | None) -> None:
    """Raise InvalidInput naming `field` when `problem` (from one of the functions above) is not None."""
    if problem is not None:
        zh, en = problem
        raise InvalidInput.field(field, f"{field_label(field)}：{zh}", f"{field}: {en}")


def _check_value(field: str, value: Any) -> None:
    """check() every string in `value`: text, or the lists and dicts of a JSON column (jsonb refuses \u0000 too)."""
    if isinstance(value, str):
        check(field, text_problem(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_value(field, key)
            _check_value(field, item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_value(field, item)


def refuse_bad_text_on_flush(session: Session, flush_context: Any, instances: Any) -> None:
    """Before any flush (every session, web or CLI): InvalidInput naming the column when a new row, or a changed
    column of a row, holds text with a NUL or a lone surrogate (a row stored so before is not refused for its
    other columns). The transaction is then rolled back by its owner, so nothing of the request or command is
    stored."""
    for obj in session.new:
        for name, value in vars(obj).items():
            if not name.startswith("_"):
                _check_value(name, value)
    for obj in session.dirty:
        for attr in inspect(obj).attrs:
            for value in attr.history.added:
                _check_value(attr.key, value)


if not event.contains(Session, "before_flush", refuse_bad_text_on_flush):
    event.listen(Session, "before_flush", refuse_bad_text_on_flush)
