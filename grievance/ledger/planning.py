"""Check a whole ledger before anything is written, and decide what each row will become: the validated cases,
the references to create, the times the ledger skipped and that are inferred, and the warnings the person sees.

Nothing here writes. A value that cannot be used is an error (row, column, what is accepted) or a listed
warning; a vocabulary word or category the file repeats is listed once with its row count. The rows are checked
chunk by chunk as the file is streamed (`Planner`), so a ledger of any length is checked in bounded memory.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from grievance.cases.models import Case
from grievance.cases.phones import normalize_phone
from grievance.glossary import CaseType, Channel, Outcome, Satisfaction, Urgency
from grievance.ledger.categories import CategoryIndex
from grievance.ledger.columns import (
    BY_NAME,
    TIME_COLUMNS,
    CellError,
    read_bool,
    read_choice,
    read_time,
    text_of,
)
from grievance.ledger.linking import accused, category, link
from grievance.ledger.template import EXAMPLE_CASE_NO
from grievance.reference.models import Department, Enterprise, Meeting, Station

MAX_ERRORS = 200
CHUNK = 500
EARLIEST_YEAR = 2000  # an earlier received year is imported, with a warning to check it


def column_label(name: str) -> str:
    """A column as people know it: 派单时间（dispatched_at）."""
    column = BY_NAME.get(name)
    return f"{column.aliases[0]}（{name}）" if column else name


@dataclass
class LedgerCase:
    """One validated row. `inferred` maps a column the row left empty to the column its value was taken from."""

    row: int
    case_no: str
    values: dict[str, Any]
    times: dict[str, datetime | None]
    department: str | None = None
    accused_department: str | None = None  # 被举报单位, as the row names it (code or name)
    station: str | None = None
    meeting: tuple[str, str] | None = None  # (date, title)
    enterprise: tuple[str, str] | None = None  # (name, code)
    category_id: int | None = None
    category_path: tuple[str, ...] | None = None  # a category the import creates
    inferred: dict[str, str] = field(default_factory=dict)
    remarks: list[str] = field(default_factory=list)  # 备注 and values kept as a remark (shown on the timeline)
    raw: dict[str, str] = field(default_factory=dict)  # callback cells as the file wrote them


@dataclass
class Plan:
    """What an import would do: the validated new cases, the rows already in the database, the reference
    records it creates, the inferred times and the warnings."""

    created: int = 0  # rows that become new cases
    unchanged: int = 0  # rows whose case number is in the database already
    new_departments: list[str] = field(default_factory=list)
    new_stations: list[str] = field(default_factory=list)
    new_meetings: list[tuple[str, str]] = field(default_factory=list)
    new_enterprises: list[tuple[str, str]] = field(default_factory=list)
    new_categories: list[tuple[str, ...]] = field(default_factory=list)
    inferred: dict[str, int] = field(default_factory=dict)  # column -> rows whose value was inferred
    warnings: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def warn(self, row: int, column: str, key: str, message: str, message_en: str) -> None:
        """One warning per (column, key), with every row it concerns."""
        entry = self.warnings.setdefault(
            (column, key), {"column": column, "message": message, "message_en": message_en, "rows": []}
        )
        entry["rows"].append(row)

    def infer(self, item: LedgerCase, column: str, source: str) -> None:
        item.inferred[column] = source
        self.inferred[column] = self.inferred.get(column, 0) + 1

    def summary(self) -> dict[str, Any]:
        return {
            "rows": self.created + self.unchanged,
            "created": self.created,
            "unchanged": self.unchanged,
            "new_departments": self.new_departments,
            "new_stations": self.new_stations,
            "new_meetings": [f"{day} {title}" for day, title in self.new_meetings],
            "new_enterprises": [f"{name} ({code})" for name, code in self.new_enterprises],
            "new_categories": ["/".join(path) for path in self.new_categories],
            "inferred": dict(sorted(self.inferred.items())),
            "warnings": [_warning_text(w) for w in self.warnings.values()],
        }


def _rows_text(rows: list[int], zh: bool) -> str:
    shown = "、".join(str(r) for r in rows[:10]) if zh else ", ".join(str(r) for r in rows[:10])
    more = ("…" if zh else ", …") if len(rows) > 10 else ""
    if zh:
        return f"{len(rows)} 行：第 {shown}{more} 行"
    return f"{len(rows)} {'row' if len(rows) == 1 else 'rows'}: {shown}{more}"


def _warning_text(w: dict[str, Any]) -> dict[str, Any]:
    rows = w["rows"]
    return {
        "column": w["column"],
        "rows": rows,
        "count": len(rows),
        "message": f"「{column_label(w['column'])}」{w['message']}（{_rows_text(rows, True)}）",
        "message_en": f"column {w['column']}: {w['message_en']} ({_rows_text(rows, False)})",
    }


class _Errors:
    """Errors of single cells, and errors of a value the file repeats (listed once with its rows)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.values: dict[tuple[str, str], dict[str, Any]] = {}
        self.added = 0  # every problem found, repeated values included: a row is bad when this grew

    def __len__(self) -> int:
        return len(self.items) + len(self.values)

    def add(self, row: int, column: str, message: str, message_en: str) -> None:
        self.added += 1
        self.items.append(
            {
                "field": f"第{row}行 {column}",
                "row": row,
                "column": column,
                "message": f"第{row}行「{column_label(column)}」：{message}",
                "message_en": f"row {row}, column {column}: {message_en}",
            }
        )

    def add_value(self, row: int, column: str, value: str, message: str, message_en: str) -> None:
        self.added += 1
        entry = self.values.setdefault(
            (column, value), {"value": value, "message": message, "message_en": message_en, "rows": []}
        )
        entry["rows"].append(row)

    def has(self, row: int, column: str) -> bool:
        return any(e["row"] == row and e["column"] == column for e in self.items) or any(
            key[0] == column and row in v["rows"] for key, v in self.values.items()
        )

    def listing(self) -> list[dict[str, Any]]:
        grouped = []
        for (column, _value), v in self.values.items():
            rows = v["rows"]
            if len(rows) == 1:  # said like any other cell's error
                zh = f"第{rows[0]}行「{column_label(column)}」：{v['message']}"
                en = f"row {rows[0]}, column {column}: {v['message_en']}"
            else:
                zh = f"「{column_label(column)}」{v['message']}（{_rows_text(rows, True)}）"
                en = f"column {column}: {v['message_en']} ({_rows_text(rows, False)})"
            grouped.append(
                {
                    "field": f"第{rows[0]}行 {column}",
                    "row": rows[0],
                    "rows": rows,
                    "count": len(rows),
                    "column": column,
                    "value": v["value"],
                    "message": zh,
                    "message_en": en,
                }
            )
        return sorted(grouped + self.items, key=lambda e: e["row"])


def _lookup(session: Session, model: Any, *keys: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for row in session.execute(select(model.id, *(getattr(model, k) for k in keys))):
        for value in row[1:]:
            found.setdefault(str(value), row[0])
    return found


class Planner:
    """Checks a ledger chunk by chunk, in file order, with the same outcome as a check of the whole file at once:
    what a row becomes depends only on the rows before it, except the checks of `finish` (a case merged into one
    further down).

    Holds per row only the case number and row (repeats, merge targets) and, for rows already in the database,
    their numbers; the rest of a row is let go once its chunk is checked. Reads the database, writes nothing."""

    def __init__(self, session: Session, *, timezone: str, now: datetime, create_categories: bool = False) -> None:
        self.session, self.timezone, self.now, self.create = session, timezone, now, create_categories
        self.errors = _Errors()
        self.plan = Plan()
        self.departments = _lookup(session, Department, "code", "name")
        self.stations = _lookup(session, Station, "code", "name")
        self.categories = CategoryIndex.load(session)
        self.enterprises = _lookup(session, Enterprise, "credit_code", "name")
        self.meetings = {
            (str(day), title): id_
            for id_, day, title in session.execute(select(Meeting.id, Meeting.held_on, Meeting.title))
        }
        self.seen: dict[str, int] = {}  # case number -> its row, every row read so far
        self.existing: set[str] = set()  # the file's case numbers already in the database
        self.merges: list[tuple[int, str, str]] = []  # (row, case number, duplicate_of) of each checked case
        self.stopped = False  # MAX_ERRORS problems found: the rest is not checked

    @property
    def failed(self) -> bool:
        """Whether any problem was found: the ledger will not be imported."""
        return self.errors.added > 0

    def check(self, rows: list[dict[str, Any]]) -> list[LedgerCase]:
        """Check the next rows of the file (a chunk, CHUNK at most: their case numbers are looked up at once);
        returns the new cases they hold, each counted in the plan. Rows after MAX_ERRORS problems are read for
        their case numbers only (a merge may name them)."""
        for raw in rows:  # ＴＺ－２０２５－０１０２ is TZ-2025-0102: a key typed full-width must not make a second case
            for key in ("case_no", "duplicate_of"):
                if isinstance(raw.get(key), str):
                    raw[key] = unicodedata.normalize("NFKC", raw[key])
        numbers = [n for n in (text_of(r.get("case_no")) for r in rows) if n]
        if numbers:
            query = select(Case.case_no).where(Case.case_no.in_(numbers))
            self.existing.update(self.session.execute(query).scalars())
        cases = []
        for raw in rows:
            if self.stopped or len(self.errors) >= MAX_ERRORS:  # enough to fix first: stop checking
                self.stopped = True
                break
            item = self._row(raw)
            if item is not None:
                cases.append(item)
        return cases

    def _row(self, raw: dict[str, Any]) -> LedgerCase | None:
        errors, plan, number = self.errors, self.plan, raw["_row"]
        case_no = text_of(raw.get("case_no"))
        if not case_no:
            errors.add(number, "case_no", "为必填项（诉求编号是导入的键）", "is required (the key of the import)")
            return None
        if case_no == EXAMPLE_CASE_NO:  # the template's example row, left in: never a case
            plan.warn(
                number,
                "case_no",
                "example",
                f"模板示例行，已跳过（编号 {EXAMPLE_CASE_NO} 的行不会导入，请填写本单位的诉求）",
                f"the template's example row, skipped (the row numbered {EXAMPLE_CASE_NO} is never imported; fill "
                "in your office's cases)",
            )
            return None
        if case_no in self.seen:
            errors.add(number, "case_no", f"与第{self.seen[case_no]}行重复", f"repeats row {self.seen[case_no]}")
            return None
        self.seen[case_no] = number
        if case_no in self.existing:
            plan.unchanged += 1
            plan.warn(
                number,
                "case_no",
                "exists",
                "已在系统中：这些行不会更新已有诉求（其中的值均未导入；要改动请在系统中办理）",
                "already in the system: these rows do not update the existing cases (none of their values is "
                "imported; change a case through its actions)",
            )
            return None
        item = _validate_row(raw, case_no, self.timezone, errors, plan, self.now)
        if item is None:
            return None
        link(item, raw, errors, self.departments, self.stations, self.enterprises, self.meetings, plan)
        accused(item, raw, errors, self.departments, plan)
        category(item, raw, errors, self.categories, plan, self.create)
        _infer(item, plan, errors)
        plan.created += 1
        if item.values.get("duplicate_of"):
            self.merges.append((item.row, item.case_no, item.values["duplicate_of"]))
        return item

    def finish(self) -> list[dict[str, Any]]:
        """The checks that need the whole file (a case merged into one of a later row), once every row was
        given to `check`; returns every problem found (row, column, what is accepted), MAX_ERRORS at most:
        none when the ledger can be imported."""
        known = set(self.seen) | self.existing
        # A merge into a case already in the system (last month's ledger, a case logged live) is a merge too.
        elsewhere = sorted({target for _row, _no, target in self.merges if target not in known})
        for start in range(0, len(elsewhere), CHUNK):
            query = select(Case.case_no).where(Case.case_no.in_(elsewhere[start : start + CHUNK]))
            known.update(self.session.execute(query).scalars())
        for row, case_no, target in self.merges:
            if target not in known:
                self.errors.add(
                    row, "duplicate_of", f"诉求「{target}」不在文件或系统中", f"no case {target!r} here or in the file"
                )
            if target == case_no:
                self.errors.add(row, "duplicate_of", "不能合并到自身", "a case cannot be merged into itself")
        return self.errors.listing()[:MAX_ERRORS]


_READERS: dict[str, Callable[[Any], Any]] = {
    "channel": lambda v: read_choice(v, Channel),
    "case_type": lambda v: read_choice(v, CaseType),
    "urgency": lambda v: read_choice(v, Urgency),
    "outcome": lambda v: read_choice(v, Outcome),
    "satisfaction": lambda v: read_choice(v, Satisfaction),
    "callback_reached": read_bool,
    "solved": read_bool,
}


def _validate_row(
    raw: dict[str, Any], case_no: str, tz: str, errors: _Errors, plan: Plan, now: datetime
) -> LedgerCase | None:
    number = raw["_row"]
    before = errors.added
    values: dict[str, Any] = {}
    times: dict[str, datetime | None] = {}
    for name, reader in _READERS.items():
        try:
            values[name] = reader(raw.get(name))
        except CellError as exc:
            # A word the file repeats is listed once, with its rows.
            errors.add_value(number, name, text_of(raw.get(name)), exc.message, exc.message_en)
    for name in TIME_COLUMNS:
        try:
            times[name] = read_time(raw.get(name), tz)
        except CellError as exc:
            errors.add(number, name, exc.message, exc.message_en)
    for name in ("title", "description", "petitioner_name", "petitioner_phone", "reply", "duplicate_of", "note"):
        values[name] = text_of(raw.get(name))
    values["urgency"] = values.get("urgency") or "normal"
    limits = {"title": 200, "petitioner_name": 100, "petitioner_phone": 32}
    for name, limit in limits.items():
        if len(values[name]) > limit:
            errors.add(number, name, f"不能超过 {limit} 个字", f"at most {limit} characters")
    for name in ("channel", "case_type", "title", "received_at"):
        if not (times.get(name) if name in TIME_COLUMNS else values.get(name)) and not errors.has(number, name):
            errors.add(number, name, "为必填项", "is required")
    if errors.added > before:
        return None
    phone = values["petitioner_phone"]
    if phone:
        canonical = normalize_phone(phone)
        if canonical is None:
            plan.warn(
                number,
                "petitioner_phone",
                "unrecognised-phone",
                "不是可识别的电话号码，按原样保存（查重和按电话查找找不到它）",
                "not a recognisable phone number; kept as written (duplicate hints and phone search will miss it)",
            )
        else:
            values["petitioner_phone"] = canonical
    for name, moment in times.items():
        if moment is not None and moment > now and not name.endswith("_due_at"):  # due times may lie ahead
            errors.add(
                number, name, "晚于现在：台账记载的是已发生的事（请检查年份）", "is in the future (check the year)"
            )
    received = times["received_at"]
    if received is not None and received.year < EARLIEST_YEAR:
        plan.warn(
            number,
            "received_at",
            "early",
            f"早于 {EARLIEST_YEAR} 年：请确认年份无误（按原样导入）",
            f"before {EARLIEST_YEAR}: check the year (imported as written)",
        )
    item = LedgerCase(number, case_no, values, times)
    item.raw = {name: text_of(raw.get(name)) for name in ("callback_reached", "solved", "satisfaction")}
    if values["note"]:
        item.remarks.append(values["note"])
    _check_order(item, errors)
    if errors.added > before:
        return None
    return item


def _check_order(item: LedgerCase, errors: _Errors) -> None:
    number, t, v = item.row, item.times, item.values
    received = t["received_at"]
    assert received is not None
    for name in TIME_COLUMNS[1:]:
        moment = t[name]
        if moment is not None and moment < received:
            errors.add(number, name, "早于受理时间", "is before received_at")
    pairs = [("accepted_at", "dispatched_at"), ("callback_at", "resolved_at"), ("closed_at", "resolved_at")]
    for later, earlier in pairs:
        if t[later] and t[earlier] and t[later] < t[earlier] and not (t["reopened_at"] and later == "callback_at"):
            errors.add(number, later, f"早于 {column_label(earlier)}", f"is before {earlier}")
    needs = {
        "callback_at": "resolved_at",
        "reopened_at": "resolved_at",  # only a resolved case is reopened
        "extended_due_at": "resolve_due_at",
    }
    on_spot = v["outcome"] == "answered_on_spot"
    for name, required in needs.items():
        if t.get(name) and not t[required] and not (on_spot and required == "resolved_at"):
            errors.add(number, name, f"有此项时须填写 {column_label(required)}", f"needs {required}")
    if t["callback_at"] and v["callback_reached"] is None and v["satisfaction"] is None and v["solved"] is None:
        errors.add(
            number, "callback_reached", "有回访时间时须填写是否联系到（是/否）", "required with callback_at (yes/no)"
        )
    if t["closed_at"] and not (t["resolved_at"] or on_spot or v["duplicate_of"]):
        errors.add(number, "closed_at", "归档的诉求须已办结", "a closed case needs resolved_at")
    if t["extended_due_at"] and t["resolve_due_at"] and t["extended_due_at"] <= t["resolve_due_at"]:
        errors.add(number, "extended_due_at", "应晚于办结时限", "must be after resolve_due_at")


def _infer(item: LedgerCase, plan: Plan, errors: _Errors) -> None:
    """Fill in the times and answers a row implies but does not record, each counted and marked as inferred;
    keep as a remark what cannot be applied. The stages a row skips (签收, 响应) are filled in by the replay."""
    t, v, number = item.times, item.values, item.row
    on_spot = v["outcome"] == "answered_on_spot"
    if item.department and not t["dispatched_at"] and not on_spot:
        # Dispatched at the earliest moment the row allows: right after intake.
        t["dispatched_at"] = t["received_at"]
        plan.infer(item, "dispatched_at", "received_at")
    if t["resolved_at"] and not v["outcome"]:
        plan.warn(
            number,
            "outcome",
            "missing",
            "未填写：按已办结导入，办理结果留空（不计入矛盾化解等按结果统计的比率）",
            "empty: imported as resolved with no outcome (not counted by outcome-based rates such as mediation)",
        )
    if t["resolved_at"] and not item.department and not on_spot:
        errors.add(
            number,
            "department",
            "已办结的诉求须填写承办单位（当场答复的除外）",
            "required with resolved_at (unless the outcome is answered on the spot)",
        )
    answers = [(name, v[name]) for name in ("callback_reached", "solved", "satisfaction") if v[name] is not None]
    resolved = t["resolved_at"] or (t["received_at"] if on_spot else None)
    if v["callback_reached"] is False and (v["solved"] is not None or v["satisfaction"] is not None):
        said = "；".join(f"{column_label(n)}：{item.raw[n]}" for n in ("solved", "satisfaction") if item.raw.get(n))
        item.remarks.append(f"台账记载未联系到诉求人，但有回访结果（{said}），未计入满意率")
        for name in ("solved", "satisfaction"):
            if v[name] is not None:
                plan.warn(
                    number,
                    name,
                    "not-reached",
                    "有值但「是否联系到」为否：未计入满意率和解决率，已作为备注保存在诉求上",
                    "given although callback_reached is no: not counted in the satisfaction or solved rates, "
                    "kept as a remark",
                )
        v["solved"] = v["satisfaction"] = None
        answers = [(name, value) for name, value in answers if name == "callback_reached"]
    if answers and not t["callback_at"] and resolved is None:
        said = "；".join(
            f"{column_label(name)}：{item.raw.get(name) or text_of(raw_value)}" for name, raw_value in answers
        )
        item.remarks.append(f"台账记载回访结果（{said}），但诉求未办结，未计为回访")
        for name, _value in answers:
            plan.warn(
                number,
                name,
                "not-resolved",
                "有值但诉求未办结：不能计为回访，已作为备注保存在诉求上",
                "given for a case that is not resolved: not counted as a callback, kept as a remark",
            )
        v["callback_reached"] = v["solved"] = v["satisfaction"] = None
        return
    if answers and v["callback_reached"] is None:
        # Whoever said whether it was solved or how satisfied they were, was reached.
        v["callback_reached"] = True
        plan.infer(item, "callback_reached", "satisfaction" if v["satisfaction"] is not None else "solved")
    if answers and not t["callback_at"]:
        source = "closed_at" if t["closed_at"] else ("resolved_at" if t["resolved_at"] else "received_at")
        t["callback_at"] = t["closed_at"] or resolved
        plan.infer(item, "callback_at", source)
    if t["callback_at"] and v["callback_reached"] and v["solved"] is None:
        plan.warn(
            number,
            "solved",
            "missing",
            "回访联系到但未填写是否解决：解决率把它算作未解决",
            "a reached callback without 'solved': the solved rate counts it as not solved",
        )
    if v["case_type"] == "dispute" and v["outcome"] and v["outcome"] not in ("mediated", "not_mediated"):
        plan.warn(
            number,
            "outcome",
            "dispute",
            "矛盾纠纷的办理结果不是「已化解」或「未化解」：矛盾化解率把它算作未化解",
            "a dispute whose outcome is neither mediated nor not mediated: the mediation rate counts it as not mediated",
        )
