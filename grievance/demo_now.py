"""The demo's present: the synthetic 2025's loose ends finished early the next year, and the time since then up
to the moment the demo is loaded, ending in a live office: cases in every state of the workflows, some due
soon, a few overdue by days (never by hundreds of days).

Like the 2025 year (grievance.demo_year) it is written as ledger rows and brought in by the ledger importer;
the steps a ledger does not record (发布揭榜, 退单, 分派给承办人, 申请延期, 中止, 督办, 催办) are then taken through the workflow
engine's `fire`, as a person would, at their moments. Everything is drawn from a generator seeded with the
day of loading: the same day gives the same people and appeals.

Working days come from the runtime's calendar: for a year the statutory calendar does not know (chinese_calendar
stops at 2026) it counts weekends and the administrator's overrides only, with a warning, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from grievance.demo_texts import add_replies
from grievance.demo_year import ACCUSABLE, ORDINARY, YEAR, DemoZone, _local, _Year
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.loader import Workflows

LOCAL = ZoneInfo("Asia/Shanghai")
FIRST_DAY = date(YEAR + 1, 1, 1)  # the present never reaches back into the articles' year
# The annual report of 2025 is read as of 2026-01-10 (tests/test_demo.py): the ten enterprise appeals still
# open at the year's end (resolution rate 98 %) are resolved after it.
LATE_ENTERPRISE_FROM = date(YEAR + 1, 1, 12)
PRESENT_DAYS = 45  # early in a year, the present starts this many days back (in the year before)
PER_WORKDAY = 4  # ordinary cases a working day (2025 had about 18; fewer keep `grievance demo` quick)
MEETING_EVERY_DAYS = 10
CASES_PER_MEETING = 6
# The handlers of 城管局 (CGJ), the department of the demo's handler and head (grievance.demo creates them).
HANDLERS = ("demo_handler", "cgj_handler02", "cgj_handler03")
OFFICE_OPENS = time(8, 30)
OFFICE_CLOSES = time(17, 30)

# Ledger columns that follow a step, dropped with it when the step lies after the present moment.
DEPENDENTS = {
    "dispatched_at": ("department",),
    "resolved_at": ("outcome", "reply", "resolve_due_at", "extended_due_at"),
    "callback_at": ("callback_reached", "solved", "satisfaction"),
}


@dataclass
class LiveAction:
    """A workflow action taken on a demo case after the import: `actor` is a demo account's username."""

    row: dict[str, Any]  # the ledger row of the case (its case_no is given once all rows are numbered)
    action: str
    at: datetime  # UTC
    actor: str
    payload: dict[str, Any] = field(default_factory=dict)
    # The row of the case a merge goes into: its number is known only once every row is numbered.
    into: dict[str, Any] | None = None

    @property
    def case_no(self) -> str:
        return str(self.row["case_no"])


@dataclass
class Present:
    meetings: list[tuple[date, str, str, int, str]]  # day, title, venue, attendees, station code (as DemoZone)
    rows: list[dict[str, Any]]  # ledger rows, numbered GX-<year>-000001... per year by received time
    actions: list[LiveAction]  # in time order


def finish_year(
    rows: list[dict[str, Any]],
    workflows: Workflows,
    calendar: WorkCalendar,
    categories: dict[str, list[str]],
    now: datetime,
) -> None:
    """Give the 2025 rows left open at the year's end (`demo_year.year_ledger`) their next steps in early 2026,
    none after `now` (aware UTC): resolved within a few working days (the ten open enterprise appeals from
    LATE_ENTERPRISE_FROM on), called back one working day after the resolution and closed; a resolved row
    never called back gets its callback. Nobody is reopened here, so the annual figures read as of 2026-01-10
    stay those of the articles. Changes the rows in place."""
    year = _Year(workflows, calendar, categories, seed=YEAR + 1, end=now)
    rng = year.rng
    start = year.working_moment(FIRST_DAY)
    for row in rows:
        if row.get("duplicate_of"):
            continue
        reopened = row.get("reopened_at")
        if "resolved_at" not in row or (reopened and reopened > row["resolved_at"]):
            base = max([start, *(v for k, v in row.items() if k.endswith("_at") and isinstance(v, datetime))])
            if row["channel"] == "enterprise":
                base = max(base, year.working_moment(LATE_ENTERPRISE_FROM))
            resolved = year.after(base, rng.uniform(0.5, 4))
            if resolved > now:
                continue
            for key in ("callback_at", "callback_reached", "solved", "satisfaction", "closed_at"):
                row.pop(key, None)
            row.update(resolved_at=resolved, outcome=row.get("outcome") or "solved")
            _callback_and_close(year, row, resolved, now)
        elif "callback_at" not in row:
            _callback_and_close(year, row, row["resolved_at"], now)
        elif row.get("callback_reached") and "closed_at" not in row:
            closed = year.after(max(row["callback_at"], start), rng.uniform(0.3, 1.5))
            if closed <= now:
                row["closed_at"] = closed
    year.call_again(rows)
    add_replies(rows)


def _callback_and_close(year: _Year, row: dict[str, Any], resolved: datetime, now: datetime) -> None:
    """A callback one working day after `resolved` (reached nine times in ten, never unsatisfied) and, when
    reached, the closing a little later; nothing after `now`."""
    rng = year.rng
    callback = year.after(resolved, 1)
    if callback > now:
        return
    reached = rng.random() < 0.93
    row.update(callback_at=callback, callback_reached=reached)
    if not reached:
        return
    row.update(solved=True, satisfaction="satisfied" if rng.random() < 0.9 else "basically_satisfied")
    closed = year.after(callback, rng.uniform(0.3, 1.5))
    if closed <= now:
        row["closed_at"] = closed


def window(now: datetime, calendar: WorkCalendar) -> tuple[date, date] | None:
    """The days of the present (local dates, both included): the current year up to today, reaching back
    PRESENT_DAYS days when the year has just begun, never before FIRST_DAY; None before FIRST_DAY."""
    today = now.astimezone(LOCAL).date()
    first = max(FIRST_DAY, min(date(today.year, 1, 1), today - timedelta(days=PRESENT_DAYS)))
    return (first, today) if first <= today else None


def last_office_day(now: datetime, calendar: WorkCalendar) -> tuple[date, datetime]:
    """The working day whose office hours the live cases fill, and the latest moment (UTC) they may take:
    today when it is a working day and the office has been open two hours, else the working day before."""
    local = now.astimezone(LOCAL)
    day = local.date()
    opened = datetime.combine(day, OFFICE_OPENS, tzinfo=LOCAL)
    if calendar.is_workday(day) and local >= opened + timedelta(hours=2):
        closes = datetime.combine(day, OFFICE_CLOSES, tzinfo=LOCAL)
        return day, min(local - timedelta(minutes=15), closes).astimezone(now.tzinfo)
    day = back(calendar, day, 1)
    return day, datetime.combine(day, OFFICE_CLOSES, tzinfo=LOCAL).astimezone(now.tzinfo)


def back(calendar: WorkCalendar, day: date, working_days: int) -> date:
    """The working day `working_days` working days before `day`."""
    while working_days > 0:
        day -= timedelta(days=1)
        if calendar.is_workday(day):
            working_days -= 1
    return day


def cut(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The row as it stands at `now`: every step after it dropped, with the columns that come with the step."""
    for key in [k for k, v in row.items() if k.endswith("_at") and not k.endswith("_due_at")]:
        if key != "received_at" and row[key] > now:
            row.pop(key)
            for dependent in DEPENDENTS.get(key, ()):
                row.pop(dependent, None)
    return row


def present(
    workflows: Workflows,
    calendar: WorkCalendar,
    categories: dict[str, list[str]],
    zone: DemoZone,
    now: datetime,
) -> Present:
    """The cases from the first day of the `window` up to `now` (aware UTC), with the meetings they came from
    and the live actions to take after the import. Empty before FIRST_DAY."""
    days = window(now, calendar)
    if days is None:
        return Present([], [], [])
    first, today = days
    year = _Year(workflows, calendar, categories, seed=today.toordinal(), end=now, callback_share=1.0)
    rng = year.rng
    rows: list[dict[str, Any]] = []
    meetings = _meetings(calendar, zone, first, today)
    for held_on, title, _venue, _attendees, _station in meetings:
        for _ in range(CASES_PER_MEETING):
            received = _local(held_on, rng.randint(9, 11), rng.randint(0, 59))
            extra = {"meeting_date": held_on.isoformat(), "meeting_title": title}
            rows.append(year.case("meeting", received, extra=extra, first_level=rng.choice(["01", "03", "05"])))
    large = [e for e in zone.enterprises if e[2]]
    channels = list(ORDINARY)
    weights = list(ORDINARY.values())
    day = first
    while day <= today:
        workday = calendar.is_workday(day)
        for _ in range(rng.randint(PER_WORKDAY - 3, PER_WORKDAY + 3) if workday else rng.randint(0, 2)):
            channel = rng.choices(channels, weights)[0] if workday else "hotline"
            if channel == "hotline":
                received = _local(day, rng.randint(7, 21), rng.randint(0, 59))
            else:
                received = _local(day, rng.randint(8, 16), rng.choice((0, 10, 20, 30, 40, 50)))
            extra = {"station": rng.choice(zone.stations)[0]} if channel == "station" else {}
            case_type = "suggestion" if channel == "leader" else None
            if received < now:
                rows.append(year.case(channel, received, case_type=case_type, extra=extra))
        if workday and rng.random() < 0.9:
            name, code, _large = rng.choice(large)
            received = _local(day, rng.randint(8, 16), rng.randint(0, 59))
            if received < now:
                extra = {"enterprise_name": name, "enterprise_code": code}
                rows.append(
                    year.case(
                        "enterprise", received, case_type="help", first_level="02", extra=extra, quick_response=True
                    )
                )
        if workday and rng.random() < 0.5:
            received = _local(day, rng.randint(8, 16), rng.randint(0, 59))
            outcome = "mediated" if rng.random() < 0.95 else "not_mediated"
            if received < now:
                row = year.case("walk_in", received, case_type="dispute", first_level="04", outcome=outcome)
                row.pop("reopened_at", None)  # a dispute's outcome stands
                rows.append(row)
        day += timedelta(days=1)
    rows = [cut(row, now) for row in rows]
    year.call_again(rows)
    live = _Live(year, now, first, zone.enterprises)
    live.office()
    rows.extend(live.rows)
    add_replies(rows)
    rows.sort(key=lambda r: r["received_at"])
    numbers: dict[int, int] = {}
    for row in rows:
        case_year = row["received_at"].astimezone(LOCAL).year
        numbers[case_year] = numbers.get(case_year, 0) + 1
        row["case_no"] = f"GX-{case_year}-{numbers[case_year]:06d}"
    return Present(meetings, rows, sorted(live.actions, key=lambda a: a.at))


def _meetings(
    calendar: WorkCalendar, zone: DemoZone, first: date, today: date
) -> list[tuple[date, str, str, int, str]]:
    """A 阳光恳谈会 every MEETING_EVERY_DAYS days of the present, before today, numbered within its year."""
    meetings = []
    day = first + timedelta(days=6)
    numbers: dict[int, int] = {}
    while day < today:
        while not calendar.is_workday(day):
            day += timedelta(days=1)
        if day >= today:
            break
        numbers[day.year] = numbers.get(day.year, 0) + 1
        n = numbers[day.year]
        station = zone.stations[(n * 11) % len(zone.stations)]
        meetings.append((day, f"{day.year}年第{n}期阳光恳谈会", station[1], 35 + (n * 17) % 50, station[0]))
        day += timedelta(days=MEETING_EVERY_DAYS)
    return meetings


class _Live:
    """The cases of the last working days, each drawn to end in a given state of the workflow, with the due
    times that make a live office: due today and tomorrow, overdue by two and four working days."""

    def __init__(self, year: _Year, now: datetime, first: date, enterprises: list[tuple[str, str, bool]]) -> None:
        self.year = year
        self.enterprises = enterprises
        self.calendar = year.calendar
        self.now = now
        self.first = first
        self.day, self.latest = last_office_day(now, self.calendar)
        self.opens = datetime.combine(self.day, OFFICE_OPENS, tzinfo=LOCAL).astimezone(now.tzinfo)
        self.rows: list[dict[str, Any]] = []
        self.actions: list[LiveAction] = []

    def at(self, share: float) -> datetime:
        """A moment of the last office day: `share` of the way from opening to the latest moment."""
        return self.opens + (self.latest - self.opens) * share

    def before(self, working_days: int, hour: int = 10) -> datetime:
        return _local(back(self.calendar, self.day, working_days), hour, self.year.rng.choice((0, 15, 30, 45)))

    def case(
        self,
        received: datetime,
        *,
        first_level: str = "01",
        channel: str = "walk_in",
        case_type: str = "help",
        urgency: str = "normal",
        department: str | None = "CGJ",
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """A case received at `received` and not yet dispatched (None when that lies before the present)."""
        if received.astimezone(LOCAL).date() < self.first or received > self.now:
            return None
        row = self.year.case(
            channel, received, case_type=case_type, first_level=first_level, resolve=False, extra=extra
        )
        for key in ("dispatched_at", "accepted_at", "responded_at", "department"):
            row.pop(key, None)
        row["urgency"] = urgency
        row["_department"] = department  # given by `dispatch`
        if row.get("accused_department") == department:  # a report is never given to the department it accuses
            row["accused_department"] = next(d for d in ACCUSABLE if d != department)
        self.rows.append(row)
        return row

    def dispatch(self, row: dict[str, Any] | None, after: timedelta = timedelta(minutes=15)) -> datetime | None:
        if row is None:
            return None
        row.update(dispatched_at=row["received_at"] + after, department=row.pop("_department"))
        return row["dispatched_at"]  # type: ignore[no-any-return]

    def handle(self, row: dict[str, Any] | None) -> dict[str, Any] | None:
        """Dispatched, accepted and responded to on the day it came in."""
        dispatched = self.dispatch(row)
        if row is None or dispatched is None:
            return None
        row.update(accepted_at=dispatched + timedelta(minutes=30), responded_at=dispatched + timedelta(hours=2))
        return row

    def act(
        self,
        row: dict[str, Any] | None,
        action: str,
        at: datetime,
        actor: str,
        into: dict[str, Any] | None = None,
        **payload: Any,
    ) -> None:
        if row is not None and at <= self.now:
            self.actions.append(LiveAction(row, action, at, actor, payload, into))

    def assign(self, row: dict[str, Any] | None, handler: str, actor: str = "demo_dept_head") -> None:
        """The department head gives the case to one of the department's handlers (a handler may take it for
        themselves), ten minutes after the case's last recorded step."""
        if row is not None:
            last = max(v for k, v in row.items() if k.endswith("_at") and not k.endswith("_due_at") and v <= self.now)
            self.act(row, "assign", last + timedelta(minutes=10), actor, handler_id=handler)

    def office(self) -> None:
        at, before = self.at, self.before
        # 待派单 and 揭榜中: in today, not yet routed; two of them offered to the departments (揭榜).
        for share in (0.75, 0.9):
            row = self.case(at(share), case_type="consult", department=None)
            if row is not None:
                row.pop("_department")
        for share in (0.3, 0.5):
            row = self.case(at(share), first_level="03", department=None)
            if row is not None:
                row.pop("_department")
            self.act(row, "publish", at(share) + timedelta(minutes=20), "demo_dispatcher", note="欢迎有关单位揭榜认领")
        # 待签收 and 退单: dispatched today; two sent back within the return window.
        for share in (0.4, 0.55, 0.65):
            self.dispatch(self.case(at(share)))
        for share in (0.1, 0.2):
            row = self.case(at(share), first_level="01")
            dispatched = self.dispatch(row)
            if dispatched is not None:
                reason = "该路段属白沙街道管辖，请改派街道办理"
                self.act(row, "return", dispatched + timedelta(minutes=40), "demo_handler", reason=reason)
        # 已签收: accepted, the petitioner not yet contacted; one given to a handler, one not yet (未分配).
        for share, handler in ((0.3, HANDLERS[1]), (0.45, None)):
            row = self.case(at(share))
            dispatched = self.dispatch(row)
            if row is not None and dispatched is not None:
                row["accepted_at"] = dispatched + timedelta(minutes=30)
                if handler:
                    self.assign(cut(row, self.now), handler)
        # 办理中: an emergency due within a day, cases due tonight and tomorrow, two overdue by days; the head
        # gives most to the department's handlers, a handler takes one for himself (我来办).
        self.handle(self.case(at(0.1), urgency="emergency", case_type="help"))
        self.handle(self.case(before(1, 15), case_type="consult"))
        for working_days, handler in ((14, HANDLERS[0]), (15, HANDLERS[2]), (9, None), (5, HANDLERS[1]), (3, None)):
            row = self.handle(self.case(before(working_days)))
            if handler:
                self.assign(row, handler)
        self.assign(self.handle(self.case(before(4))), HANDLERS[0], actor=HANDLERS[0])
        for working_days, handler in ((17, HANDLERS[0]), (19, HANDLERS[1])):
            row = self.handle(self.case(before(working_days), case_type="complaint"))
            self.assign(row, handler)
            note = "已超期，请加快办理并每日报告进展"
            self.act(row, "supervise", at(0.15), "demo_supervisor", note=note)
            self.act(row, "urge", at(0.2), "demo_dispatcher", note="请今日内反馈办理进度")
        # Key cases (重点件): under lead leaders, with plans of nodes (grievance/demo_keycases.py).
        from grievance.demo_keycases import present_key_cases

        present_key_cases(self)
        # 延期: two requests waiting for the supervisor, one approved earlier.
        for working_days in (12, 10):
            row = self.handle(self.case(before(working_days)))
            self.assign(row, HANDLERS[0])
            reason = "需协调供电部门更换线路，预计下周完成"
            self.act(row, "request_extension", at(0.35), "demo_handler", days=5, reason=reason)
        row = self.handle(self.case(before(13)))
        self.assign(row, HANDLERS[0])
        self.act(row, "request_extension", before(3, 10), "demo_handler", days=5, reason="需等待材料到货")
        self.act(row, "approve_extension", before(2, 14), "demo_supervisor", note="同意延期五个工作日")
        # 已中止: the clock paused while the petitioner is away.
        row = self.handle(self.case(before(6)))
        self.assign(row, HANDLERS[2])
        self.act(row, "suspend", before(2, 16), "demo_handler", reason="诉求人外出，约定下周现场查看")
        # 待回访: resolved today and yesterday; one callback two working days late.
        for working_days, resolved_back in ((6, 0), (7, 1), (9, 4)):
            row = self.handle(self.case(before(working_days)))
            if row is not None:
                resolved = at(0.4) if resolved_back == 0 else before(resolved_back, 15)
                row.update(resolved_at=resolved, outcome="solved")
        # 重办: the callback found the petitioner unsatisfied; handled again since.
        row = self.handle(self.case(before(9), first_level="01"))
        if row is not None:
            row.update(resolved_at=before(3, 15), outcome="explained", callback_at=before(2, 10))
            row.update(callback_reached=True, solved=False, satisfaction="unsatisfied", reopened_at=before(2, 11))
        # 已合并: the same appeal logged twice this morning by the same petitioner; the dispatcher merges the second.
        first = self.case(at(0.15))
        self.dispatch(first)
        second = self.case(at(0.2))
        if first is not None and second is not None:
            second.pop("_department")
            for key in ("title", "description", "location", "petitioner_name", "petitioner_phone", "category"):
                if key in first:
                    second[key] = first[key]
            self.act(second, "merge", at(0.2) + timedelta(minutes=20), "demo_dispatcher", into=first)
        # 信访 (the petition workflow): a letter still to be decided, one declined (不予受理), and one whose written
        # opinion the petitioner asked to have reviewed (复查中).
        for received in (at(0.35), before(2)):
            row = self.case(received, channel="letter", case_type="petition", department=None)
            if row is not None:
                row.pop("_department")
        notice = "所反映事项已进入诉讼程序，依法不属于信访受理范围，请通过司法途径解决"
        self.act(row, "decline_petition", before(1, 11), "demo_dispatcher", notice=notice)
        row = self.handle(self.case(before(12), channel="letter", case_type="petition"))
        if row is not None:
            row.update(resolved_at=before(3, 15), outcome="explained")
        self.act(row, "request_review", before(1, 10), "demo_dispatcher", reason="诉求人对处理意见不服，请求复查")
        # An enterprise's appeal, contacted within the hour.
        name, code, _large = next(e for e in self.enterprises if e[2])
        extra = {"enterprise_name": name, "enterprise_code": code}
        row = self.case(at(0.2), channel="enterprise", first_level="02", department="QFJ", extra=extra)
        dispatched = self.dispatch(row, timedelta(minutes=5))
        if row is not None and dispatched is not None:
            row.update(accepted_at=dispatched + timedelta(minutes=5), responded_at=dispatched + timedelta(minutes=40))
        for row in self.rows:
            row.pop("_department", None)
            cut(row, self.now)
