"""A synthetic year 2025 for the fictional zone, written as a ledger and brought in by the ledger importer,
whose annual report reproduces the figures of DOMAIN.md "What the articles report":

37 meetings with at least 260 resolved meeting cases; mediation rate 96.1 % (148 of 154 disputes);
104 urban stations; 174 enterprises served by 508 enterprise-channel cases; 179 large enterprises, each
with a liaison (coverage 100 %); enterprise response rate 100 % and resolution rate 98 % (498 of 508);
34 inspection referrals, all resolved; no complaint about the demolition programme (征迁安置). Around them, a
few thousand ordinary cases over the months, departments and categories: some late, some extended, some
reopened, some merged, some still open at the year's end (grievance.demo_now finishes them the next year).

Everything is drawn from a seeded random generator, so every run produces the same year.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from grievance.demo_texts import STREET_NAMES, add_replies, case_text
from grievance.identifiers import with_credit_check_digit
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.definition import RESOLVE_CLOCK
from grievance.workflow.loader import Workflows

YEAR = 2025
MEETINGS = 37
MEETING_CASES = 296
MEETING_OPEN = 11  # 285 resolved
STATIONS = 104
LARGE_ENTERPRISES = 179
ENTERPRISES_SERVED = 174
ENTERPRISE_CASES = 508
ENTERPRISE_OPEN = 10  # 498 resolved: 98.0 %
DISPUTES = 154
DISPUTES_NOT_MEDIATED = 6  # 148 mediated: 96.1 %
INSPECTIONS = 34
ORDINARY = {
    "station": 1180,
    "hotline": 1150,
    "online": 520,
    "walk_in": 310,
    "mobile_desk": 260,
    "letter": 80,
    "leader": 40,
}
DISPUTE_CHANNELS = ["station", "walk_in", "hotline", "mobile_desk"]

# Category codes of config/categories.yaml by first level, with the department each routes to.
CATEGORY_DEPARTMENTS = {"01": "CGJ", "02": "QFJ", "03": "SSJ", "04": "ZFB", "05": "ZQB"}
DEMOLITION = "05"  # 征迁安置: appeals about it are questions and requests for help, never complaints
# The departments a report (举报) may accuse: never the centre, whose dispatchers route every case.
ACCUSABLE = ["CGJ", "SSJ", "ZQB", "JD1", "JD2"]
ORDINARY_TYPES = [("help", 34), ("complaint", 20), ("consult", 22), ("suggestion", 9), ("report", 3), ("praise", 2)]
# How many titles each first level once drew from, twice a case: the main generator still draws as many numbers
# there (the year's other draws, on which the articles' figures rest, stay the same); the words come from
# grievance.demo_texts, drawn by a generator of their own.
TEXT_DRAWS = {"01": 6, "02": 5, "03": 5, "04": 4, "05": 3}
ORDINALS = ["", "", "第二", "第三", "第四"]  # of a community's stations: the first has none
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


@dataclass
class DemoZone:
    """The reference records the year needs, created before the ledger is imported."""

    stations: list[tuple[str, str, str, str, str]]  # code, name, address, community, department
    meetings: list[tuple[date, str, str, int, str]]  # day, title, venue, attendees, station code
    enterprises: list[tuple[str, str, bool]]  # name, credit code, large


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def credit_code(n: int) -> str:
    return with_credit_check_digit(f"91420100MA4K{n:05d}")  # GB 32100: the 18th character is a check


def zone() -> DemoZone:
    stations = []
    in_community: dict[str, int] = {}  # stations so far in each community: the second is named 第二城市驿站
    for n in range(1, STATIONS + 1):
        street = STREET_NAMES[n % len(STREET_NAMES)]
        community = f"{street}{'东西南北中'[n % 5]}社区"
        in_community[community] = in_community.get(community, 0) + 1
        name = f"{community}{ORDINALS[in_community[community]]}城市驿站"
        stations.append((f"ZS{n:03d}", name, f"{street}路{n * 3}号", community, "JD1" if n % 2 else "JD2"))
    meetings = []
    calendar = WorkCalendar()
    day = date(YEAR, 1, 8)
    for n in range(1, MEETINGS + 1):
        while not calendar.is_workday(day):
            day += timedelta(days=1)
        station = stations[(n * 7) % STATIONS]
        meetings.append((day, f"{YEAR}年第{n}期阳光恳谈会", station[1], 40 + (n * 13) % 60, station[0]))
        day += timedelta(days=9 if n % 3 else 10)
    enterprises = []
    for n in range(1, LARGE_ENTERPRISES + 1):
        street = STREET_NAMES[n % len(STREET_NAMES)]
        kind = ["光电科技", "精密制造", "生物医药", "新材料", "智能装备", "软件信息"][n % 6]
        enterprises.append((f"{street}{kind}有限公司{n:03d}号", credit_code(n), True))
    for n in range(LARGE_ENTERPRISES + 1, LARGE_ENTERPRISES + 21):
        enterprises.append((f"{STREET_NAMES[n % len(STREET_NAMES)]}小微商贸有限公司{n:03d}号", credit_code(n), False))
    return DemoZone(stations, meetings, enterprises)


class _Year:
    """Draws the cases of the year, each as a ledger row with its whole life."""

    def __init__(
        self,
        workflows: Workflows,
        calendar: WorkCalendar,
        categories: dict[str, list[str]],
        *,
        seed: int = YEAR,
        end: datetime | None = None,
        callback_share: float = 0.95,
    ) -> None:
        self.rng = random.Random(seed)
        # Draws the department each report accuses: a generator of its own, so the rest of the year is the same
        # with or without it (the articles' figures depend on the main one's sequence).
        self.accused_rng = random.Random(f"accused-{seed}")
        self.text_rng = random.Random(f"text-{seed}")  # the words of titles and descriptions (demo_texts)
        self.callback_rng = random.Random(f"callback-{seed}")  # second callbacks (call_again)
        self.callback_share = callback_share  # of resolved cases called back (the rest never are)
        self.workflows = workflows
        self.calendar = calendar
        self.categories = categories  # first-level code -> leaf codes
        self.rows: list[dict[str, Any]] = []
        self.end = end or _local(date(YEAR, 12, 31), 18)  # nothing of a case happens after it

    # --- moments -------------------------------------------------------------------------------------------

    def working_moment(self, day: date, rng: random.Random | None = None) -> datetime:
        """A moment of office hours on `day` or the next working day, drawn by `rng` (default the main one)."""
        rng = rng or self.rng
        while not self.calendar.is_workday(day):
            day += timedelta(days=1)
        return _local(day, rng.randint(8, 16), rng.choice((0, 10, 20, 30, 40, 50)))

    def any_day(self) -> date:
        return date(YEAR, 1, 2) + timedelta(days=self.rng.randint(0, 362))

    def after(self, moment: datetime, working_days: float, rng: random.Random | None = None) -> datetime:
        """A moment some working days later, during office hours, drawn by `rng` (default the main one)."""
        whole = int(working_days)
        base = self.calendar.add(moment, whole, "working_days") - timedelta(days=1) if whole else moment
        day = base.astimezone(ZoneInfo("Asia/Shanghai")).date()
        candidate = self.working_moment(day, rng)
        return max(candidate, moment + timedelta(minutes=30))

    # --- one case ------------------------------------------------------------------------------------------

    def person(self) -> tuple[str, str]:
        name = (
            self.rng.choice(SURNAMES)
            + self.rng.choice(GIVEN)
            + ("" if self.rng.random() < 0.4 else self.rng.choice(GIVEN))
        )
        return name, f"1{self.rng.choice('3578')}{self.rng.randint(0, 9)}{self.rng.randint(10000000, 99999999)}"

    def case(
        self,
        channel: str,
        received: datetime,
        *,
        case_type: str | None = None,
        first_level: str | None = None,
        resolve: bool = True,
        outcome: str | None = None,
        extra: dict[str, Any] | None = None,
        quick_response: bool = False,
    ) -> dict[str, Any]:
        rng = self.rng
        case_type = case_type or self._weighted(ORDINARY_TYPES)
        first_level = first_level or rng.choice(["01", "01", "01", "02", "03", "03", "05"])
        if case_type == "complaint" and first_level == DEMOLITION:
            case_type = "help"  # the articles: zero complaints about the demolition programme
        category = rng.choice(self.categories[first_level])
        title, description = case_text(
            self.text_rng,
            category,
            case_type,
            (extra or {}).get("enterprise_name") if channel == "enterprise" else None,
        )
        name, phone = self.person()
        urgency = "normal" if rng.random() < 0.9 else ("urgent" if rng.random() < 0.8 else "emergency")
        if channel == "enterprise":
            urgency = "normal"
        for _ in range(2):
            rng.randrange(TEXT_DRAWS.get(first_level, 1))  # see TEXT_DRAWS
        row: dict[str, Any] = {
            "received_at": received,
            "channel": channel,
            "case_type": case_type,
            "urgency": urgency,
            "title": title,
            "description": description,
            "petitioner_name": name,
            "petitioner_phone": phone,
            "category": category,
            **(extra or {}),
        }
        if case_type == "consult" and channel not in ("enterprise", "inspection") and rng.random() < 0.35 and resolve:
            row.update(resolved_at=received + timedelta(minutes=rng.randint(5, 25)), outcome="answered_on_spot")
            return self._callback(row, row["resolved_at"])
        department = CATEGORY_DEPARTMENTS[first_level]
        if channel == "station" and first_level == "01" and rng.random() < 0.5:
            department = rng.choice(["JD1", "JD2"])
        if case_type == "report":  # 被举报单位: never the department that handles it (nor sees it)
            row["accused_department"] = self.accused_rng.choice([d for d in ACCUSABLE if d != department])
        dispatched = received + timedelta(minutes=rng.randint(10, 120))
        accepted = dispatched + timedelta(minutes=rng.randint(5, 180))
        if quick_response:  # enterprises: contact within the hour, nearly always
            responded = received + timedelta(
                minutes=rng.randint(15, 55) if rng.random() < 0.97 else rng.randint(65, 100)
            )
            dispatched = received + timedelta(minutes=rng.randint(3, 10))
            accepted = dispatched + timedelta(minutes=rng.randint(2, 8))
        else:
            responded = accepted + timedelta(minutes=rng.randint(20, 600))
        row.update(department=department, dispatched_at=dispatched, accepted_at=accepted, responded_at=responded)
        if not resolve:
            return row
        workflow = self.workflows.select(channel=channel, case_type=case_type)
        rule = workflow.clocks[RESOLVE_CLOCK].limit_for(urgency=urgency, case_type=case_type, channel=channel)
        due = self.calendar.add(received, rule.amount, rule.unit)
        draw = rng.random()
        if rule.unit == "hours":
            resolved = received + timedelta(hours=rule.amount * rng.uniform(0.3, 0.9 if draw < 0.93 else 1.3))
        elif draw < 0.85:
            resolved = self.after(responded, rng.uniform(0.5, max(1.0, rule.amount * 0.8)))
        elif draw < 0.94:  # extended by 5 working days, resolved in the extra time
            extended = self.calendar.add(due - timedelta(seconds=1), 5, "working_days")
            row.update(resolve_due_at=due, extended_due_at=extended)
            resolved = self.after(due, rng.uniform(0.5, 4))
            resolved = min(resolved, extended - timedelta(hours=2))
        else:  # late
            resolved = self.after(due, rng.uniform(1, 6))
        resolved = max(resolved, responded + timedelta(minutes=10))
        if resolved > self.end:
            return row  # still being handled at the end of the year
        row.update(resolved_at=resolved, outcome=outcome or rng.choice(["solved"] * 5 + ["explained"]))
        return self._callback(row, resolved)

    def _callback(self, row: dict[str, Any], resolved: datetime) -> dict[str, Any]:
        rng = self.rng
        if rng.random() > self.callback_share:
            return row
        callback = self.after(resolved, 1)
        if callback > self.end:
            return row
        reached = rng.random() < 0.93
        row.update(callback_at=callback, callback_reached=reached)
        if not reached:
            return row
        satisfaction = self._weighted([("satisfied", 88), ("basically_satisfied", 9), ("unsatisfied", 3)])
        row.update(solved=satisfaction != "unsatisfied" and rng.random() < 0.97, satisfaction=satisfaction)
        if satisfaction == "unsatisfied" and row["outcome"] != "answered_on_spot" and rng.random() < 0.7:
            reopened = callback + timedelta(hours=rng.randint(2, 20))
            again = self.after(reopened, rng.uniform(2, 8))
            if again < self.end - timedelta(days=5):
                # Reopened and resolved again; the ledger keeps the last resolution and callback.
                second = self.after(again, 1)
                row.update(
                    reopened_at=reopened,
                    resolved_at=again,
                    callback_at=second,
                    satisfaction="basically_satisfied",
                    solved=True,
                )
                row.update(closed_at=self.after(second, 1))
                return row
            row.update(reopened_at=reopened)
            return row
        closed = self.after(callback, rng.uniform(0.5, 2))
        if closed < self.end:
            row["closed_at"] = closed
        return row

    def call_again(self, rows: list[dict[str, Any]]) -> None:
        """A callback that did not reach the petitioner (未联系到) is an attempt: the workflows' callback clock
        runs on until one reaches them (workflows/*.yaml, stop_if). So each such row is called again the next
        working day, reached, and closed a little later; the ledger keeps the last callback. Nothing after
        `end`; drawn by a generator of its own, so the year's other draws stay the same. Changes rows in place."""
        rng = self.callback_rng
        for row in rows:
            if row.get("callback_reached") is not False or row.get("duplicate_of") or "closed_at" in row:
                continue
            again = self.after(row["callback_at"], 1, rng)
            if again > self.end:
                continue
            satisfaction = "satisfied" if rng.random() < 0.9 else "basically_satisfied"
            row.update(callback_at=again, callback_reached=True, solved=True, satisfaction=satisfaction)
            closed = self.after(again, rng.uniform(0.5, 2), rng)
            if closed <= self.end:
                row["closed_at"] = closed

    def _weighted(self, options: list[tuple[str, int]]) -> str:
        return self.rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def year_ledger(
    workflows: Workflows, calendar: WorkCalendar, categories: dict[str, list[str]], demo: DemoZone
) -> list[dict[str, Any]]:
    """The year's cases as ledger rows (times as datetimes), numbered GX-2025-000001... by received time."""
    year = _Year(workflows, calendar, categories)
    rng = year.rng
    rows: list[dict[str, Any]] = []
    # 阳光恳谈会: 296 cases at 37 meetings; the last meetings' cases partly still open.
    per_meeting = [MEETING_CASES // MEETINGS] * MEETINGS
    for i in range(MEETING_CASES - sum(per_meeting)):
        per_meeting[i * 5 % MEETINGS] += 1
    open_left = MEETING_OPEN
    for (day, title, _venue, _n, _station), count in reversed(list(zip(demo.meetings, per_meeting, strict=True))):
        for _ in range(count):
            received = _local(day, rng.randint(9, 11), rng.randint(0, 59))
            still_open = open_left > 0
            open_left -= int(still_open)
            extra = {"meeting_date": day.isoformat(), "meeting_title": title}
            row = year.case(
                "meeting", received, resolve=not still_open, extra=extra, first_level=rng.choice(["01", "03", "05"])
            )
            if not still_open and "resolved_at" not in row:  # a late meeting case: resolve before the year ends
                row.update(resolved_at=year.after(row["responded_at"], 2), outcome="solved")
            rows.append(row)
    # 企业包保 / 代办帮办: 508 cases for 174 enterprises, responded within the hour, 498 resolved.
    served = [e for e in demo.enterprises if e[2]][:ENTERPRISES_SERVED]
    owners = [*served, *(rng.choice(served) for _ in range(ENTERPRISE_CASES - ENTERPRISES_SERVED))]
    enterprise_rows = []
    for name, code, _large in owners:
        received = year.working_moment(year.any_day())
        extra = {"enterprise_name": name, "enterprise_code": code}
        row = year.case(
            "enterprise",
            received,
            case_type=rng.choice(["help", "consult", "help"]),
            first_level="02",
            extra=extra,
            quick_response=True,
        )
        enterprise_rows.append(row)
    enterprise_rows.sort(key=lambda r: r["received_at"])
    for row in enterprise_rows[-ENTERPRISE_OPEN:]:  # the last ten are still being handled
        for key in (
            "resolved_at",
            "outcome",
            "callback_at",
            "callback_reached",
            "solved",
            "satisfaction",
            "closed_at",
            "reopened_at",
            "resolve_due_at",
            "extended_due_at",
        ):
            row.pop(key, None)
    for row in enterprise_rows[:-ENTERPRISE_OPEN]:
        if "resolved_at" not in row or (row.get("reopened_at") and row["reopened_at"] > row["resolved_at"]):
            row.pop("reopened_at", None)
            row.update(resolved_at=year.after(row["responded_at"], 1), outcome="solved")
    rows.extend(enterprise_rows)
    # 巡视交办: 34 key cases, all resolved.
    for _ in range(INSPECTIONS):
        received = year.working_moment(date(YEAR, 1, 2) + timedelta(days=rng.randint(0, 320)))
        row = year.case("inspection", received, case_type="complaint", first_level=rng.choice(["01", "05"]))
        if "resolved_at" not in row or (row.get("reopened_at") and row["reopened_at"] > row["resolved_at"]):
            row.pop("reopened_at", None)
            row.update(resolved_at=year.after(row["responded_at"], 10), outcome="solved")
        rows.append(row)
    # 矛盾纠纷: 154 disputes, all resolved, 148 of them mediated.
    for n in range(DISPUTES):
        received = year.working_moment(date(YEAR, 1, 2) + timedelta(days=rng.randint(0, 330)))
        channel = DISPUTE_CHANNELS[n % len(DISPUTE_CHANNELS)]
        outcome = "not_mediated" if n < DISPUTES_NOT_MEDIATED else "mediated"
        extra = {"station": rng.choice(demo.stations)[0]} if channel == "station" else {}
        row = year.case(channel, received, case_type="dispute", first_level="04", outcome=outcome, extra=extra)
        row.pop("reopened_at", None)  # a dispute's outcome stands: none reopened
        if "resolved_at" not in row:
            row["resolved_at"] = year.after(row["responded_at"], 8)
        row["outcome"] = outcome
        rows.append(row)
    # Everything else: stations, the hotline, online, walk-ins, the mobile desk, letters, leaders.
    for channel, count in ORDINARY.items():
        for _ in range(count):
            received = (
                year.working_moment(year.any_day())
                if channel != "hotline"
                else _local(year.any_day(), rng.randint(7, 21), rng.randint(0, 59))
            )
            extra = {"station": rng.choice(demo.stations)[0]} if channel == "station" else {}
            case_type = None if channel != "leader" else "suggestion"
            rows.append(year.case(channel, received, case_type=case_type, extra=extra))
    rows.sort(key=lambda r: r["received_at"])
    for n, row in enumerate(rows, start=1):
        row["case_no"] = f"GX-{YEAR}-{n:06d}"
    # Duplicates: about one hotline case in a hundred repeats an earlier open one and is merged into it.
    hotline = [r for r in rows if r["channel"] == "hotline" and r["case_type"] != "dispute"]
    for row in hotline[40::97]:
        earlier = [r for r in rows if r["received_at"] < row["received_at"] and r["channel"] != "meeting"][-1]
        for key in list(row):
            if (key.endswith("_at") and key != "received_at") or key in (
                "department",
                "outcome",
                "callback_reached",
                "solved",
                "satisfaction",
                "resolve_due_at",
                "extended_due_at",
            ):
                row.pop(key)
        description = "再次反映：" + earlier["description"]
        row.update(
            title=earlier["title"],
            description=description,
            category=earlier["category"],
            duplicate_of=earlier["case_no"],
        )
        row["closed_at"] = row["received_at"] + timedelta(minutes=40)
    year.call_again(rows)
    add_replies(rows)
    return rows
