"""The administrator's calendar overrides: list, add, remove, and import a year's list from a file.

An override must change the calendar: a day made what it already is is refused (NothingToChange), here, so
the CLI, the API and the pages refuse it alike; a file's lines that change nothing are reported, not stored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING

import chinese_calendar
from chinese_calendar.constants import Holiday
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from grievance.cases.models import CalendarOverride, Case, CaseClock
from grievance.cases.states import current_state, record_state, state_after
from grievance.db import utcnow
from grievance.errors import InvalidInput, NotFound, NothingToChange
from grievance.identifiers import halfwidth
from grievance.input_bounds import check, day_problem, moment_problem
from grievance.reference.schemas import written_day
from grievance.textfiles import decode_text
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.clocks import mirror_node_dues, refresh_next_due
from grievance.workflow.definition import is_node_clock

if TYPE_CHECKING:
    from grievance.workflow.loader import Workflows

WORKDAY_WORDS = {"workday": True, "work": True, "班": True, "上班": True, "补班": True, "工作日": True}
HOLIDAY_WORDS = {"holiday": False, "off": False, "休": False, "休息": False, "放假": False, "节假日": False}
MAX_NOTE = 200  # characters of an override's note (the column's size)
# The days an override may be set on: a typo such as 5928-09-28 (a date field typed 2025/9/28) is refused, not
# stored where no year view shows it. Statutory holiday data (chinese_calendar) starts in 2004.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


FIELD_NAMES_EN = {"day": "The day", "check_day": "The day", "kind": "The kind of day", "start": "The start"}


def _prefix(where: str, label_en: str) -> tuple[str, str]:
    """How a message starts: a file line by its number and what it holds ("第3行：" / "line 3: the day "); a
    form field or a command's argument by nothing in Chinese (the message sits beside its label) and by its
    name in English."""
    if where.startswith("line "):
        return f"第{where.removeprefix('line ')}行：", f"{where}: {label_en.lower()} "
    return "", f"{FIELD_NAMES_EN.get(where, where)} "


def parse_kind(text: str, where: str = "kind") -> bool:
    """True for a working day, False for a day off, from the words WORKDAY_WORDS and HOLIDAY_WORDS accept.
    Raises InvalidInput at `where` (a field, or "line N" of a file)."""
    word = text.strip().lower()
    if word in WORKDAY_WORDS:
        return True
    if word in HOLIDAY_WORDS:
        return False
    zh, en = _prefix(where, "The kind of day")
    raise InvalidInput.field(
        where,
        f"{zh}应为 workday（上班/补班）或 holiday（休息/放假），收到 {text!r}",
        f"{en}must be 'workday' or 'holiday', got {text!r}",
    )


def parse_day(text: str, where: str = "day") -> date:
    """A day written YYYY-MM-DD (also 2025/9/28, 2025年9月28日, full-width digits: the forms the meeting form reads,
    grievance.reference.schemas.written_day). Raises InvalidInput at `where` (a field, or "line N" of a file)."""
    try:
        day = written_day(text) or date.fromisoformat(halfwidth(text))
    except ValueError:
        zh, en = _prefix(where, "The day")
        raise InvalidInput.field(
            where,
            f"{zh}应为日期，如 2027-10-01，收到 {text!r}",
            f"{en}must be a date like 2027-10-01, got {text!r}",
        ) from None
    return day


def parse_day_in_range(text: str, where: str = "day") -> date:
    """parse_day, and InvalidInput at `where` for a day outside 1900-01-01..2200-01-01 (grievance.input_bounds):
    for days that become UTC moments (a ledger export's from/to), where 0001-01-01 would overflow. The calendar's
    own days keep check_calendar_day's narrower range and message."""
    day = parse_day(text, where)
    check(where, day_problem(day))
    return day


def check_calendar_day(day: date, where: str = "day") -> date:
    """`day` if an override may be set on it (FIRST_DAY to LAST_DAY); else InvalidInput at `where` (a field, or
    "line N" of a file) naming the accepted range."""
    if FIRST_DAY <= day <= LAST_DAY:
        return day
    zh, en = _prefix(where, "The day")
    raise InvalidInput.field(
        where,
        f"{zh}日期 {day} 超出范围，可调整 {FIRST_DAY} 至 {LAST_DAY} 之间的日期",
        f"{en}{day} is out of range; accepted: {FIRST_DAY} to {LAST_DAY}",
    )


def preview_due(calendar: WorkCalendar, start: datetime, amount: int, unit: str) -> datetime:
    """The due time of a limit of `amount` `unit`s from `start` (an aware datetime), as clocks compute it; the
    API's calendar/due and `grievance calendar due` both answer with it. InvalidInput (field "start") when the
    due time would fall after 2200-01-01 (grievance.input_bounds) or past Python's last date."""
    try:
        due = calendar.add(start, check_amount(amount, unit), unit)
    except OverflowError:
        due = None
    if due is None or moment_problem(due) is not None:
        raise InvalidInput.field(
            "start",
            "到期时间超出日历范围（1900-01-01 至 2200-01-01）",
            "the due time would be beyond the calendar's range (1900-01-01 to 2200-01-01)",
        )
    return due


def parse_moment(text: str, tz: tzinfo, where: str = "start") -> datetime:
    """An ISO time; without a zone it is local (Asia/Shanghai)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        zh, en = _prefix(where, "The start")
        raise InvalidInput.field(
            where,
            f"{zh}应为时间，如 2025-09-30T10:00 或 2025-09-30T10:00+08:00，收到 {text!r}",
            f"{en}must be a time like 2025-09-30T10:00 or 2025-09-30T10:00+08:00, got {text!r}",
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=tz)
    check(where, moment_problem(moment))  # 1900..2200: a limit added to 9999-12-31 would overflow
    return moment


MAX_AMOUNT = {"working_days": 366, "days": 366, "hours": 24 * 366}


def check_amount(amount: float, unit: str) -> float:
    """Day limits are whole days; hours may be fractional (0.5 = 30 minutes); at most a year."""
    if not 0 < amount <= MAX_AMOUNT.get(unit, 0) or (unit != "hours" and amount != int(amount)):
        raise InvalidInput.field(
            "amount",
            f"时限应为正数且不超过一年，天数须为整数，收到 {amount:g}",
            f"The limit must be positive, at most a year, and whole days unless in hours; got {amount:g}",
        )
    return amount


def list_overrides(session: Session, year: int | None = None) -> list[CalendarOverride]:
    stmt = select(CalendarOverride).order_by(col(CalendarOverride.day))
    if year is not None:
        stmt = stmt.where(CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day < date(year + 1, 1, 1))
    return list(session.exec(stmt).all())


def _overrides(session: Session) -> dict[date, bool]:
    return {o.day: o.is_workday for o in session.exec(select(CalendarOverride)).all()}


def _clock_moves(
    session: Session, old: WorkCalendar, new: WorkCalendar, first_day: date, now: datetime
) -> list[tuple[CaseClock, datetime, datetime]]:
    """The running working-day clocks whose due time or warning moves from `old` to `new` (a change on or
    after `first_day`), each with its new due time and warning; nothing is written."""
    after = max(now, new.local_midnight(first_day))
    clocks = session.exec(
        select(CaseClock).where(
            col(CaseClock.stopped_at).is_(None),
            col(CaseClock.paused_at).is_(None),
            col(CaseClock.limit_text).endswith(" working_days"),
            ~col(CaseClock.limit_text).like("____-__-__ %"),  # due by a day (a 12345 order's): it stays
            CaseClock.due_at > after,
        )
    ).all()
    moves = []
    for clock in clocks:
        due = new.add_working_seconds(now, old.working_seconds_between(now, clock.due_at))
        warn = new.add_working_seconds(now, old.working_seconds_between(now, clock.warn_at))
        if due != clock.due_at or (clock.warn_at > now and warn != clock.warn_at):
            moves.append((clock, due, warn if clock.warn_at > now else clock.warn_at))
    return moves


def _workflows(workflows: Workflows | None) -> Workflows:
    """The deployment's workflows: those given (the runtime's), else loaded from Settings.workflows_dir (the CLI and
    callers that have no runtime at hand)."""
    if workflows is not None:
        return workflows
    from grievance.config import get_settings
    from grievance.workflow.loader import load_workflows

    return load_workflows(get_settings().workflows_dir)


def reschedule_running_clocks(
    session: Session,
    old: WorkCalendar,
    new: WorkCalendar,
    first_day: date,
    now: datetime,
    workflows: Workflows | None = None,
) -> int:
    """Keep the working time each running working-day clock has left when the calendar changes on or after
    `first_day` (importing next year's holidays, say): its due time and warning move accordingly, and a key case's
    node whose clock moved gets the same due time (clocks.mirror_node_dues: what people see is what the sweeper
    enforces). A node due by a date has a clock in days: it never moves. Paused clocks need nothing: they keep their
    remaining working time and resume on the new calendar (the node follows then). `workflows` tell node clocks
    from the others (default: loaded from the settings, only when a sub-clock moved).
    Returns how many cases had a due time moved."""
    moved: set[int] = set()
    sub_clocks: dict[int, dict[str, datetime]] = {}
    for clock, due, warn in _clock_moves(session, old, new, first_day, now):
        clock.due_at = due
        clock.warn_at = warn
        session.add(clock)
        moved.add(clock.case_id)
        if is_node_clock(clock.name):
            sub_clocks.setdefault(clock.case_id, {})[clock.name] = due
    if moved:
        running = session.exec(select(CaseClock).where(col(CaseClock.case_id).in_(moved))).all()
        definitions = _workflows(workflows) if sub_clocks else None
        for case in session.exec(select(Case).where(col(Case.id).in_(moved))).all():
            if definitions is not None and case.id in sub_clocks and case.workflow in definitions.definitions:
                mirror_node_dues(session, definitions.get(case.workflow), case.id, sub_clocks[case.id])
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


def _already(calendar: WorkCalendar, day: date, row: CalendarOverride | None) -> tuple[str, str]:
    """The refusal (Chinese, English) of an override that changes nothing: what the day is and which rule says so."""
    info = describe_day(calendar, day, row.note if row else "")
    kind_zh, kind_en = ("工作日", "a working day") if info.is_workday else ("休息日", "a day off")
    if info.source == "override":
        why_zh, why_en = "本地调整", "a local adjustment"
    elif info.source == "weekdays":
        why_zh, why_en = f"{day.year} 年尚无法定节假日数据，按周末计算", f"no statutory holidays known for {day.year}"
    elif info.holiday and info.is_workday:
        why_zh, why_en = f"{info.holiday}调休上班", f"a make-up workday for {info.holiday_en}"
    elif info.holiday:
        why_zh, why_en = f"法定节假日：{info.holiday}", f"statutory holiday, {info.holiday_en}"
    elif info.is_workday:
        why_zh, why_en = "平日", "an ordinary weekday"
    else:
        why_zh, why_en = "周末", "a weekend"
    return f"{day} 已是{kind_zh}（{why_zh}），无需调整", f"{day} is already {kind_en}: {why_en}; nothing to change"


def change_overrides(
    session: Session,
    changes: list[tuple[date, bool | None, str]],
    *,
    timezone: str = "Asia/Shanghai",
    now: datetime | None = None,
    workflows: Workflows | None = None,
) -> int:
    """Set (True: a working day, False: a day off) or remove (None) overrides, then move the running clocks
    they affect (and the nodes they run: reschedule_running_clocks, `workflows` as it takes them). Returns how many cases had their due times moved.
    Raises InvalidInput (field day) for a day outside FIRST_DAY..LAST_DAY (an override stored there before
    may still be removed), NotFound for removing a day without an override, and NothingToChange (409) for
    setting a day to what it already is with the note it already has (the issue 9 rule: an override must change
    something)."""
    if not changes:
        return 0
    old = WorkCalendar(_overrides(session), timezone)
    for day, is_workday, note in changes:
        row = session.get(CalendarOverride, day)
        if is_workday is not None or row is None:
            check_calendar_day(day)
        if is_workday is None:
            if row is None:
                raise NotFound(f"{day} 没有本地调整", f"no override on {day}")
            session.delete(row)
            continue
        if old.is_workday(day) == is_workday and (row is None or row.note == note[:MAX_NOTE]):
            raise NothingToChange(*_already(old, day, row))
        row = row or CalendarOverride(day=day, is_workday=is_workday)
        row.is_workday = is_workday
        row.note = note[:MAX_NOTE]
        session.add(row)
    session.flush()
    new = WorkCalendar(_overrides(session), timezone)
    return reschedule_running_clocks(
        session, old, new, min(day for day, _, _ in changes), now or utcnow(), workflows=workflows
    )


@dataclass(frozen=True)
class DayChange:
    """A day a calendar file changes: what it was, what it becomes, and its note (a new note alone is a
    change too)."""

    line: int
    day: date
    was_workday: bool
    is_workday: bool
    note: str


@dataclass(frozen=True)
class CalendarImport:
    """What a calendar file did, or on a dry run would do."""

    changes: list[DayChange]  # in the file's order
    unchanged: list[date]  # days already as the file says: nothing is stored for them
    moved: int  # open cases whose running due times moved (or would move)
    dry_run: bool

    @property
    def first_year(self) -> int:
        return min(c.day for c in self.changes).year


def read_calendar_file(source: str | bytes) -> list[tuple[int, date, bool, str]]:
    """The lines `YYYY-MM-DD,workday|holiday[,note]` of a calendar file as (line, day, is_workday, note).
    A header on the first line, blank lines and lines starting with # are skipped. `source` is the file's
    bytes (UTF-8 with or without BOM, or GB18030 as Chinese Excel saves a CSV: decoded by grievance.textfiles)
    or its text. Raises InvalidInput listing every bad line (a day twice included, a day outside FIRST_DAY to
    LAST_DAY), or at "file" when the
    file lists no day or its encoding is not one of those."""
    rows: list[tuple[int, date, bool, str]] = []
    errors: list[dict[str, object]] = []
    seen: dict[date, int] = {}
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
            day = check_calendar_day(parse_day(fields[0], f"line {number}"), f"line {number}")
            is_workday = parse_kind(fields[1], f"line {number}")
            if day in seen:
                raise InvalidInput.field(
                    f"line {number}",
                    f"第{number}行：{day} 已在第{seen[day]}行列出，每天只能列一次",
                    f"line {number}: {day} is already listed on line {seen[day]}; list each day once",
                )
            seen[day] = number
            note = ",".join(fields[2:]).strip()
            if len(note) > MAX_NOTE:
                raise InvalidInput.field(
                    f"line {number}",
                    f"第{number}行：说明最多 {MAX_NOTE} 个字",
                    f"line {number}: the note is longer than {MAX_NOTE} characters",
                )
            rows.append((number, day, is_workday, note))
        except InvalidInput as exc:
            errors.extend(exc.detail["errors"])
    if errors:
        raise InvalidInput("日历文件有误，未导入任何一天", "the calendar file has errors; nothing was imported", errors)
    if not rows:
        raise InvalidInput.field(
            "file",
            "文件中没有日期行，应为每行一天：2027-10-01,holiday,国庆节",
            "the file lists no day; expected one day a line: 2027-10-01,holiday,国庆节",
        )
    return rows


def import_overrides(
    session: Session,
    source: str | bytes,
    *,
    timezone: str = "Asia/Shanghai",
    now: datetime | None = None,
    dry_run: bool = False,
    workflows: Workflows | None = None,
) -> CalendarImport:
    """Import a calendar file (read_calendar_file says its form), all or nothing: the days it changes become
    overrides and the running due times they affect move; days already as the file says are left alone and
    reported. A dry run writes nothing and says the same. The file a year's statutory holidays are published
    in lists weekends too, so such days are no error; a file that changes no day at all is refused with
    NothingToChange (409), a bad file with InvalidInput (read_calendar_file)."""
    rows = read_calendar_file(source)
    now = now or utcnow()
    old = WorkCalendar(_overrides(session), timezone)
    stored = {o.day: o for o in session.exec(select(CalendarOverride)).all()}
    changes: list[DayChange] = []
    unchanged: list[date] = []
    for line, day, is_workday, note in rows:
        row = stored.get(day)
        if old.is_workday(day) == is_workday and (row is None or row.note == note):
            unchanged.append(day)
        else:
            changes.append(DayChange(line, day, old.is_workday(day), is_workday, note))
    if not changes:
        raise NothingToChange(
            f"文件所列的 {len(unchanged)} 天都已是文件所写的安排，没有需要导入的调整",
            f"all {len(unchanged)} day(s) in the file are already as it says; nothing to import",
        )
    if dry_run:
        new = WorkCalendar({**old.overrides, **{c.day: c.is_workday for c in changes}}, timezone)
        moves = _clock_moves(session, old, new, min(c.day for c in changes), now)
        moved = len({clock.case_id for clock, _, _ in moves})
    else:
        moved = change_overrides(
            session, [(c.day, c.is_workday, c.note) for c in changes], timezone=timezone, now=now, workflows=workflows
        )
    return CalendarImport(changes, unchanged, moved, dry_run)


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
