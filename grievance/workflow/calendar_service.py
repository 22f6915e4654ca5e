"""The administrator's calendar overrides: list, add, remove, and import a year's list from a file."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

import chinese_calendar
from chinese_calendar.constants import Holiday
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from grievance.cases.models import CalendarOverride, Case, CaseClock
from grievance.cases.states import current_state, record_state, state_after
from grievance.db import utcnow
from grievance.errors import InvalidInput, NotFound
from grievance.textfiles import decode_text
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.clocks import refresh_next_due

WORKDAY_WORDS = {"workday": True, "work": True, "班": True, "上班": True, "补班": True, "工作日": True}
HOLIDAY_WORDS = {"holiday": False, "off": False, "休": False, "休息": False, "放假": False, "节假日": False}


def parse_kind(text: str, where: str = "kind") -> bool:
    word = text.strip().lower()
    if word in WORKDAY_WORDS:
        return True
    if word in HOLIDAY_WORDS:
        return False
    raise InvalidInput.field(
        where,
        f"{where} 应为 workday（上班/补班）或 holiday（休息/放假），收到 {text!r}",
        f"{where} must be 'workday' or 'holiday', got {text!r}",
    )


def parse_day(text: str, where: str = "day") -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput.field(
            where,
            f"{where} 应为日期，如 2027-10-01，收到 {text!r}",
            f"{where} must be a date like 2027-10-01, got {text!r}",
        ) from None


def parse_moment(text: str, tz: tzinfo, where: str = "start") -> datetime:
    """An ISO time; without a zone it is local (Asia/Shanghai)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput.field(
            where,
            f"{where} 应为时间，如 2025-09-30T10:00 或 2025-09-30T10:00+08:00，收到 {text!r}",
            f"{where} must be a time like 2025-09-30T10:00 or 2025-09-30T10:00+08:00, got {text!r}",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


MAX_AMOUNT = {"working_days": 366, "days": 366, "hours": 24 * 366}


def check_amount(amount: float, unit: str) -> float:
    """Day limits are whole days; hours may be fractional (0.5 = 30 minutes); at most a year."""
    if not 0 < amount <= MAX_AMOUNT.get(unit, 0) or (unit != "hours" and amount != int(amount)):
        raise InvalidInput.field(
            "amount",
            f"时限应为正数且不超过一年，{unit} 须为整数，收到 {amount:g}",
            f"amount must be positive, at most a year, and whole for {unit}; got {amount:g}",
        )
    return amount


def list_overrides(session: Session, year: int | None = None) -> list[CalendarOverride]:
    stmt = select(CalendarOverride).order_by(col(CalendarOverride.day))
    if year is not None:
        stmt = stmt.where(CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day < date(year + 1, 1, 1))
    return list(session.exec(stmt).all())


def _overrides(session: Session) -> dict[date, bool]:
    return {o.day: o.is_workday for o in session.exec(select(CalendarOverride)).all()}


def reschedule_running_clocks(
    session: Session, old: WorkCalendar, new: WorkCalendar, first_day: date, now: datetime
) -> int:
    """Keep the working time each running working-day clock has left when the calendar changes on or after
    `first_day` (importing next year's holidays, say): its due time and warning move accordingly.
    Paused clocks need nothing: they keep their remaining working time and resume on the new calendar."""
    after = max(now, new.local_midnight(first_day))
    clocks = session.exec(
        select(CaseClock).where(
            col(CaseClock.stopped_at).is_(None),
            col(CaseClock.paused_at).is_(None),
            col(CaseClock.limit_text).endswith(" working_days"),
            CaseClock.due_at > after,
        )
    ).all()
    moved: set[int] = set()
    for clock in clocks:
        due = new.add_working_seconds(now, old.working_seconds_between(now, clock.due_at))
        warn = new.add_working_seconds(now, old.working_seconds_between(now, clock.warn_at))
        if due != clock.due_at or (clock.warn_at > now and warn != clock.warn_at):
            clock.due_at = due
            clock.warn_at = warn if clock.warn_at > now else clock.warn_at
            session.add(clock)
            moved.add(clock.case_id)
    if moved:
        running = session.exec(select(CaseClock).where(col(CaseClock.case_id).in_(moved))).all()
        for case in session.exec(select(Case).where(col(Case.id).in_(moved))).all():
            own = [c for c in running if c.case_id == case.id]
            refresh_next_due(case, own)
            # Bump the version even if no column changed, so a concurrent action on the case conflicts.
            flag_modified(case, "state")
            session.add(case)
            # Reports as of later moments see the moved due times.
            previous = current_state(session, case.id)  # type: ignore[arg-type]
            record_state(session, state_after(case, own, now, previous=previous), previous)
    session.flush()
    return len(moved)


def change_overrides(
    session: Session,
    changes: list[tuple[date, bool | None, str]],
    *,
    timezone: str = "Asia/Shanghai",
    now: datetime | None = None,
) -> int:
    """Set (True/False) or remove (None) overrides, then move the running clocks they affect.
    Returns how many cases had their due times moved."""
    if not changes:
        return 0
    old = WorkCalendar(_overrides(session), timezone)
    for day, is_workday, note in changes:
        row = session.get(CalendarOverride, day)
        if is_workday is None:
            if row is None:
                raise NotFound(f"{day} 没有本地调整 (no override on {day})")
            session.delete(row)
            continue
        row = row or CalendarOverride(day=day, is_workday=is_workday)
        row.is_workday = is_workday
        row.note = note[:200]
        session.add(row)
    session.flush()
    new = WorkCalendar(_overrides(session), timezone)
    return reschedule_running_clocks(session, old, new, min(day for day, _, _ in changes), now or utcnow())


def import_overrides(
    session: Session, source: str | bytes, *, timezone: str = "Asia/Shanghai", now: datetime | None = None
) -> int:
    """Import lines `YYYY-MM-DD,workday|holiday[,note]` (a header line is allowed); all or nothing.
    `source` is the file's bytes (UTF-8 with or without BOM, or GB18030 as Chinese Excel saves a CSV: decoded
    by grievance.textfiles) or its text. Returns how many days were imported; raises InvalidInput listing
    every bad line (nothing imported) or naming the encodings accepted."""
    rows = []
    errors = []
    text = decode_text(source) if isinstance(source, bytes) else source
    text = text.removeprefix("\ufeff")  # Excel and WPS save UTF-8 CSV with a byte-order mark
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or not "".join(fields).strip() or fields[0].strip().startswith("#"):
            continue
        if number == 1 and fields[0].strip().lower() in ("day", "date", "日期"):
            continue
        try:
            if len(fields) < 2:
                raise InvalidInput.field(
                    f"line {number}",
                    f"第{number}行应为：日期,workday|holiday[,说明]",
                    f"line {number}: expected day,kind[,note]",
                )
            rows.append(
                (
                    parse_day(fields[0], f"line {number}"),
                    parse_kind(fields[1], f"line {number}"),
                    ",".join(fields[2:]).strip(),
                )
            )
        except InvalidInput as exc:
            errors.extend(exc.detail["errors"])
    if errors:
        raise InvalidInput("日历文件有误，未导入任何一天 (the calendar file has errors; nothing was imported)", errors)
    change_overrides(session, rows, timezone=timezone, now=now)
    return len(rows)


@dataclass(frozen=True)
class DayInfo:
    """Why a day is or is not a working day, for the administrator's calendar page."""

    day: date
    is_workday: bool
    source: str  # "override" (a local adjustment), "statutory" (节假日 and 调休), "weekdays" (year not known)
    holiday: str | None = None  # the statutory holiday in Chinese (国庆节), also for its make-up workdays
    holiday_en: str | None = None
    note: str = ""  # the override's note


def describe_day(calendar: WorkCalendar, day: date, note: str = "") -> DayInfo:
    """Whether `day` is a working day on this calendar, and which rule says so."""
    is_workday = calendar.is_workday(day)
    if day in calendar.overrides:
        return DayInfo(day, is_workday, "override", note=note)
    if not calendar.knows_year(day.year):
        return DayInfo(day, is_workday, "weekdays")
    try:
        _on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        name = None
    chinese = {h.value: h.chinese for h in Holiday}
    # A weekday that is not a holiday carries no name; a weekend carries none either.
    named = name if name and (not is_workday or day.weekday() >= 5) else None
    return DayInfo(day, is_workday, "statutory", chinese.get(named or ""), named)
