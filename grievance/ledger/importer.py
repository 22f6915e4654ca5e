"""Bring an office's Excel/CSV ledger (台账) in: validate the whole file, then write each case with the same
events, clocks and case states the live API would have written, at the historical times.

Each case is replayed through the workflow's own effects and clocks in memory (no guards: the ledger
records what happened), the file's due times replace computed ones, and everything is inserted in bulk in
the caller's one transaction. A case number already in the database is left as it is, so importing the
same file twice changes nothing. Any error anywhere means nothing is written.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from grievance.cases import search
from grievance.cases.models import Case, CaseClock, CaseEvent, CaseNumberCounter, CaseState
from grievance.cases.states import state_after
from grievance.db import utcnow
from grievance.errors import InvalidInput
from grievance.glossary import CONFIDENTIAL_TYPES, CaseType, Channel, Outcome, Satisfaction, Urgency
from grievance.ledger.columns import (
    NAMES,
    TIME_COLUMNS,
    CellError,
    header_names,
    read_bool,
    read_choice,
    read_day,
    read_time,
    text_of,
)
from grievance.reference.models import Category, Department, Enterprise, Meeting, Station
from grievance.reference.schemas import CREDIT_CODE
from grievance.users.models import User
from grievance.workflow.clocks import apply_clocks, refresh_next_due
from grievance.workflow.context import ActionContext
from grievance.workflow.definition import WorkflowDef
from grievance.workflow.effects import EFFECTS
from grievance.workflow.engine import INTAKE, Runtime

NOTE = "台账导入"  # the text of notes and replies the ledger does not carry
MAX_ERRORS = 200
CHUNK = 500


# --- reading the file -------------------------------------------------------------------------------------


def read_rows(filename: str, data: bytes) -> list[dict[str, Any]]:
    """The rows of a .csv (UTF-8, with or without BOM) or .xlsx (first sheet) as {column: cell}, each with
    its spreadsheet row number in "_row". Unknown headers are an error naming the accepted ones."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput.field(
                "file", "CSV 文件须为 UTF-8 编码（Excel：另存为「CSV UTF-8」）", "the CSV file must be UTF-8"
            ) from None
        table: list[list[Any]] = list(csv.reader(io.StringIO(text)))
    elif suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise InvalidInput.field(
                "file", f"无法读取 XLSX 文件：{exc}", f"cannot read the XLSX file: {exc}"
            ) from None
        table = [list(row) for row in sheet.iter_rows(values_only=True)]
    else:
        raise InvalidInput.field(
            "file", f"不支持的文件类型「{suffix or filename}」，可选：.csv、.xlsx", "accepted files: .csv, .xlsx"
        )
    while table and not any(text_of(c) for c in table[0]):
        table.pop(0)
    if not table:
        raise InvalidInput.field(
            "file", "文件是空的：第一行应为列名", "the file is empty: the first row names the columns"
        )
    names, unknown = header_names(table[0])
    if unknown:
        raise InvalidInput.field(
            "header",
            f"未知的列：{'、'.join(unknown)}；可用列名：{', '.join(NAMES)}（或其中文名，见 README）",
            f"unknown columns: {', '.join(unknown)}; accepted: {', '.join(NAMES)} (or their Chinese names, see README)",
        )
    for required in ("case_no", "received_at", "channel", "case_type", "title"):
        if required not in names:
            raise InvalidInput.field("header", f"缺少必需的列 {required}", f"the column {required} is required")
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(text_of(c) for c in cells):
            continue
        row: dict[str, Any] = {"_row": number}
        for name, cell in zip(names, cells, strict=False):
            if name is not None:
                row[name] = cell
        rows.append(row)
    return rows


# --- validating ---------------------------------------------------------------------------------------------


@dataclass
class LedgerCase:
    """One validated row."""

    row: int
    case_no: str
    values: dict[str, Any]
    times: dict[str, datetime | None]
    department: str | None = None
    station: str | None = None
    meeting: tuple[str, str] | None = None  # (date, title)
    enterprise: tuple[str, str] | None = None  # (name, code)
    category_id: int | None = None


@dataclass
class Plan:
    """What an import would do: the validated new cases, the rows already in the database, and the
    reference records it creates."""

    cases: list[LedgerCase] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    new_departments: list[str] = field(default_factory=list)
    new_stations: list[str] = field(default_factory=list)
    new_meetings: list[tuple[str, str]] = field(default_factory=list)
    new_enterprises: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "rows": len(self.cases) + len(self.unchanged),
            "created": len(self.cases),
            "unchanged": len(self.unchanged),
            "new_departments": self.new_departments,
            "new_stations": self.new_stations,
            "new_meetings": [f"{day} {title}" for day, title in self.new_meetings],
            "new_enterprises": [f"{name} ({code})" for name, code in self.new_enterprises],
        }


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, row: int, column: str, message: str, message_en: str) -> None:
        self.items.append(
            {
                "field": f"第{row}行 {column}",
                "row": row,
                "column": column,
                "message": f"第{row}行「{column}」：{message}",
                "message_en": f"row {row}, column {column}: {message_en}",
            }
        )


def _lookup(session: Session, model: Any, *keys: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for row in session.execute(select(model.id, *(getattr(model, k) for k in keys))):
        for value in row[1:]:
            found.setdefault(str(value), row[0])
    return found


def plan_import(session: Session, runtime: Runtime, rows: list[dict[str, Any]]) -> Plan:
    """Validate every row against the vocabularies, the reference data and each other; raise with every
    problem (row, column, what is accepted), or return the plan. Writes nothing."""
    tz = runtime.settings.timezone
    errors = _Errors()
    plan = Plan()
    departments = _lookup(session, Department, "code", "name")
    stations = _lookup(session, Station, "code", "name")
    categories = _lookup(session, Category, "code", "name")
    enterprises = _lookup(session, Enterprise, "credit_code", "name")
    meetings = {
        (str(day), title): id_
        for id_, day, title in session.execute(select(Meeting.id, Meeting.held_on, Meeting.title))
    }
    numbers = [text_of(r.get("case_no")) for r in rows]
    existing: set[str] = set()
    for start in range(0, len(numbers), CHUNK):
        chunk = [n for n in numbers[start : start + CHUNK] if n]
        existing.update(session.execute(select(Case.case_no).where(Case.case_no.in_(chunk))).scalars())
    seen: dict[str, int] = {}
    stopped = False
    for raw in rows:
        if len(errors.items) >= MAX_ERRORS:  # enough to fix first: stop reading
            stopped = True
            break
        number = raw["_row"]
        case_no = text_of(raw.get("case_no"))
        if not case_no:
            errors.add(number, "case_no", "为必填项（诉求编号是导入的键）", "is required (the key of the import)")
            continue
        if case_no in seen:
            errors.add(number, "case_no", f"与第{seen[case_no]}行重复", f"repeats row {seen[case_no]}")
            continue
        seen[case_no] = number
        if case_no in existing:
            plan.unchanged.append(case_no)
            continue
        item = _validate_row(raw, case_no, tz, errors)
        if item is None:
            continue
        _link(item, raw, errors, departments, stations, categories, enterprises, meetings, plan)
        workflow = runtime.workflows.select(channel=item.values["channel"], case_type=item.values["case_type"])
        for step in _steps(item):
            if _action_for(workflow, step[1]) is None:
                errors.add(
                    number,
                    step[3],
                    f"流程「{workflow.label}」没有这一步（{step[1]}）",
                    f"the {workflow.name} workflow has no step {step[1]!r}",
                )
        plan.cases.append(item)
    known = set(seen) | existing
    for item in plan.cases:
        target = item.values.get("duplicate_of")
        if target and target not in known:
            errors.add(
                item.row, "duplicate_of", f"诉求「{target}」不在文件或系统中", f"no case {target!r} here or in the file"
            )
        if target == item.case_no:
            errors.add(item.row, "duplicate_of", "不能合并到自身", "a case cannot be merged into itself")
    if errors.items:
        shown = errors.items[:MAX_ERRORS]
        more = "+" if stopped or len(errors.items) > MAX_ERRORS else ""
        raise InvalidInput(
            f"台账有 {len(shown)}{more} 处错误，未导入任何数据 (the ledger has errors; nothing was imported)",
            shown,
        )
    return plan


def _validate_row(raw: dict[str, Any], case_no: str, tz: str, errors: _Errors) -> LedgerCase | None:
    number = raw["_row"]
    before = len(errors.items)
    values: dict[str, Any] = {}
    times: dict[str, datetime | None] = {}
    readers: dict[str, Callable[[Any], Any]] = {
        "channel": lambda v: read_choice(v, Channel),
        "case_type": lambda v: read_choice(v, CaseType),
        "urgency": lambda v: read_choice(v, Urgency),
        "outcome": lambda v: read_choice(v, Outcome),
        "satisfaction": lambda v: read_choice(v, Satisfaction),
        "callback_reached": read_bool,
        "solved": read_bool,
    }
    for name, reader in readers.items():
        try:
            values[name] = reader(raw.get(name))
        except CellError as exc:
            errors.add(number, name, exc.message, exc.message_en)
    for name in TIME_COLUMNS:
        try:
            times[name] = read_time(raw.get(name), tz)
        except CellError as exc:
            errors.add(number, name, exc.message, exc.message_en)
    for name in ("title", "description", "petitioner_name", "petitioner_phone", "reply", "duplicate_of"):
        values[name] = text_of(raw.get(name))
    values["urgency"] = values.get("urgency") or "normal"
    limits = {"title": 200, "petitioner_name": 100, "petitioner_phone": 32}
    for name, limit in limits.items():
        if len(values[name]) > limit:
            errors.add(number, name, f"不能超过 {limit} 个字", f"at most {limit} characters")
    for name in ("channel", "case_type", "title", "received_at"):
        if not (times.get(name) if name in TIME_COLUMNS else values.get(name)) and not any(
            e["row"] == number and e["column"] == name for e in errors.items
        ):
            errors.add(number, name, "为必填项", "is required")
    if len(errors.items) > before:
        return None
    _check_order(number, times, values, errors)
    if len(errors.items) > before:
        return None
    return LedgerCase(number, case_no, values, times)


def _check_order(number: int, t: dict[str, datetime | None], v: dict[str, Any], errors: _Errors) -> None:
    received = t["received_at"]
    assert received is not None
    for name in TIME_COLUMNS[1:]:
        moment = t[name]
        if moment is not None and moment < received:
            errors.add(number, name, "早于受理时间", "is before received_at")
    pairs = [("accepted_at", "dispatched_at"), ("callback_at", "resolved_at"), ("closed_at", "resolved_at")]
    for later, earlier in pairs:
        if t[later] and t[earlier] and t[later] < t[earlier] and not (t["reopened_at"] and later == "callback_at"):
            errors.add(number, later, f"早于 {earlier}", f"is before {earlier}")
    needs = {
        "callback_at": "resolved_at",
        "reopened_at": "resolved_at",  # only a resolved case is reopened
        "outcome": "resolved_at",
        "accepted_at": "dispatched_at",
        "extended_due_at": "resolve_due_at",
    }
    for name, required in needs.items():
        given = t.get(name) if name in t else v.get(name)
        if given and not t[required] and not (name == "outcome" and v["outcome"] == "answered_on_spot"):
            errors.add(number, name, f"有此项时须填写 {required}", f"needs {required}")
    if t["resolved_at"] and not v["outcome"]:
        errors.add(
            number,
            "outcome",
            "已办结的诉求须填写办理结果",
            f"required with resolved_at; accepted: {Outcome.accepted()}",
        )
    if t["callback_at"] and v["callback_reached"] is None:
        errors.add(
            number, "callback_reached", "有回访时间时须填写是否联系到（是/否）", "required with callback_at (yes/no)"
        )
    if t["closed_at"] and not (t["resolved_at"] or v["duplicate_of"]):
        errors.add(number, "closed_at", "归档的诉求须已办结", "a closed case needs resolved_at")
    if t["extended_due_at"] and t["resolve_due_at"] and t["extended_due_at"] <= t["resolve_due_at"]:
        errors.add(number, "extended_due_at", "应晚于 resolve_due_at", "must be after resolve_due_at")


def _link(
    item: LedgerCase,
    raw: dict[str, Any],
    errors: _Errors,
    departments: dict[str, int],
    stations: dict[str, int],
    categories: dict[str, int],
    enterprises: dict[str, int],
    meetings: dict[tuple[str, str], int],
    plan: Plan,
) -> None:
    """Find (or plan to create) the department, station, meeting and enterprise a row names."""
    number, channel = item.row, item.values["channel"]
    department = text_of(raw.get("department"))
    if department:
        item.department = department
        if department not in departments and department not in plan.new_departments:
            plan.new_departments.append(department)
    elif item.times["dispatched_at"]:
        errors.add(number, "department", "有派单时间时须填写承办单位", "required with dispatched_at")
    station = text_of(raw.get("station"))
    if station:
        item.station = station
        if station not in stations and station not in plan.new_stations:
            plan.new_stations.append(station)
    elif channel == "station":
        errors.add(number, "station", "城市驿站渠道须填写驿站", "required for the station channel")
    meeting_day, meeting_title = text_of(raw.get("meeting_date")), text_of(raw.get("meeting_title"))
    if meeting_day or meeting_title:
        try:
            # As the database writes it (2025-09-28), so that 2025/9/28 finds the meeting held that day.
            meeting_day = read_day(raw.get("meeting_date")).isoformat()
        except ValueError:
            errors.add(number, "meeting_date", f"日期「{meeting_day}」无效，格式为 YYYY-MM-DD", "accepted: YYYY-MM-DD")
            return
        if not meeting_title:
            errors.add(number, "meeting_title", "有恳谈会日期时须填写恳谈会名称", "required with meeting_date")
            return
        item.meeting = (meeting_day, meeting_title)
        if item.meeting not in meetings and item.meeting not in plan.new_meetings:
            plan.new_meetings.append(item.meeting)
    elif channel == "meeting":
        errors.add(number, "meeting_date", "阳光恳谈会渠道须填写恳谈会日期和名称", "required for the meeting channel")
    name, code = text_of(raw.get("enterprise_name")), text_of(raw.get("enterprise_code")).upper()
    if code and not CREDIT_CODE.match(code):
        errors.add(number, "enterprise_code", "统一社会信用代码应为18位数字或大写字母", "an 18-character credit code")
    elif code or name:
        if not (code in enterprises or name in enterprises or (name, code) in plan.new_enterprises):
            if not code:
                errors.add(number, "enterprise_code", "新企业须填写统一社会信用代码", "required for a new enterprise")
            elif not name:
                errors.add(number, "enterprise_name", "新企业须填写企业名称", "required for a new enterprise")
            else:
                plan.new_enterprises.append((name, code))
        item.enterprise = (name, code)
    elif channel == "enterprise":
        errors.add(number, "enterprise_name", "企业包保渠道须填写企业", "required for the enterprise channel")
    category = text_of(raw.get("category"))
    if category:
        if category not in categories:
            errors.add(
                number,
                "category",
                f"业务分类「{category}」不存在（填写分类代码或名称）",
                "unknown category code or name",
            )
        else:
            item.category_id = categories[category]


# --- replaying ---------------------------------------------------------------------------------------------

# Each ledger step is done by the workflow action that has this effect (dispatch is 受理并告知 for 信访).
STEP_EFFECTS = {
    "dispatch": "assign_department",
    "accept": "record_accept",
    "respond": "record_response",
    "request_extension": "request_extension",
    "approve_extension": "approve_extension",
    "resolve": "record_resolution",
    "answer_on_spot": "record_answer_on_spot",
    "callback": "record_callback",
    "reopen": "record_reopen",
    "merge": "merge_into",
    "close": "record_close",
}


def _action_for(workflow: WorkflowDef, step: str, state: str | None = None) -> str | None:
    effect = STEP_EFFECTS[step]
    names = [name for name, action in workflow.actions.items() if effect in action.effects]
    if state is not None:
        # The one the workflow allows from the case's state: a petition's first routing from `received` is
        # accept_petition (its `dispatch` is the re-routing after a return, which starts no clock).
        names = [name for name in names if state in workflow.actions[name].from_] or names
    if step in names:
        return step
    return names[0] if names else None


def _steps(item: LedgerCase) -> list[tuple[datetime, str, dict[str, Any], str]]:
    """The actions the row records, in time order: (at, step, payload, the column that gives it)."""
    t, v = item.times, item.values
    steps: list[tuple[datetime, str, dict[str, Any], str]] = []
    reply = v["reply"] or NOTE
    if v["outcome"] == "answered_on_spot":
        steps.append((t["resolved_at"] or t["received_at"], "answer_on_spot", {"reply": reply}, "outcome"))  # type: ignore[arg-type]
    else:
        if t["dispatched_at"]:
            steps.append((t["dispatched_at"], "dispatch", {"department_id": None, "note": NOTE}, "dispatched_at"))
        if t["accepted_at"]:
            steps.append((t["accepted_at"], "accept", {}, "accepted_at"))
        if t["responded_at"]:
            steps.append((t["responded_at"], "respond", {"note": NOTE}, "responded_at"))
        if t["resolved_at"]:
            steps.append((t["resolved_at"], "resolve", {"outcome": v["outcome"], "reply": reply}, "resolved_at"))
    if t["callback_at"]:
        payload: dict[str, Any] = {"reached": v["callback_reached"], "note": NOTE}
        if v["callback_reached"]:
            payload.update(
                {k: x for k, x in (("solved", v["solved"]), ("satisfaction", v["satisfaction"])) if x is not None}
            )
        steps.append((t["callback_at"], "callback", payload, "callback_at"))
    if t["reopened_at"]:
        steps.append((t["reopened_at"], "reopen", {"reason": NOTE}, "reopened_at"))
    if t["closed_at"] and not v["duplicate_of"]:
        steps.append((t["closed_at"], "close", {"note": NOTE}, "closed_at"))
    if v["duplicate_of"]:
        steps.append((t["closed_at"] or t["received_at"], "merge", {"into": v["duplicate_of"]}, "duplicate_of"))  # type: ignore[arg-type]
    order = list(STEP_EFFECTS)
    return sorted(steps, key=lambda s: (s[0], order.index(s[1])))


@dataclass
class _Replayed:
    case: dict[str, Any]
    events: list[dict[str, Any]]
    clocks: list[CaseClock]
    states: list[CaseState]
    duplicate_of: str | None


def _replay(item: LedgerCase, runtime: Runtime, calendar: Any, refs: dict[str, Any], actor: User) -> _Replayed:
    v, t = item.values, item.times
    received = t["received_at"]
    assert received is not None
    workflow = runtime.workflows.select(channel=v["channel"], case_type=v["case_type"])
    case = Case(
        case_no=item.case_no,
        query_code=secrets.token_urlsafe(12),
        workflow=workflow.name,
        state=workflow.initial_state,
        state_changed_at=received,
        channel=v["channel"],
        case_type=v["case_type"],
        urgency=v["urgency"],
        title=v["title"],
        description=v["description"],
        petitioner_name=v["petitioner_name"],
        petitioner_phone=v["petitioner_phone"],
        petitioner_kind="enterprise" if item.enterprise else "resident",
        enterprise_id=refs["enterprise"].get(item.enterprise) if item.enterprise else None,
        meeting_id=refs["meeting"].get(item.meeting) if item.meeting else None,
        station_id=refs["station"].get(item.station) if item.station else None,
        category_id=item.category_id,
        confidential=v["case_type"] in CONFIDENTIAL_TYPES,
        supervised=v["channel"] == "inspection",
        received_at=received,
        occurred_at=received,
        created_by_id=actor.id,
        search_terms=search.search_terms(v["title"], v["description"]),
    )
    ctx = ActionContext(
        session=None,  # type: ignore[arg-type]  # effects and clocks work on the objects only
        case=case,
        workflow=workflow,
        action=INTAKE,
        actor=actor,
        now=received,
        calendar=calendar,
        clocks={},
    )
    apply_clocks(ctx, final=False)
    due_times = _DueTimes(item)
    due_times.keep(ctx)
    events = [_event(INTAKE, None, case, actor, received, {"channel": case.channel, "case_type": case.case_type})]
    states = [state_after(case, ctx.clocks.values(), received)]
    department_id = refs["department"].get(item.department) if item.department else None
    for at, step, payload, _column in _with_extension(item, _steps(item), ctx, calendar):
        name = _action_for(workflow, step, case.state)
        assert name is not None  # checked by plan_import
        definition = workflow.actions[name]
        if step == "dispatch":
            # 信访: the first routing is 受理并告知, which carries the notice.
            payload = {"department_id": department_id, **({"note": NOTE} if name == "dispatch" else {"notice": NOTE})}
        ctx.action, ctx.now, ctx.payload, ctx.extension_days = name, at, payload, 0
        from_state = case.state
        for effect in definition.effects:
            if effect != "merge_into":  # its target may be in this same file: linked after the insert
                EFFECTS[effect](ctx)
        if definition.to and definition.to != from_state:
            case.state = definition.to
            case.state_changed_at = at
        apply_clocks(ctx, final=workflow.is_final(case.state))
        due_times.keep(ctx, extension=step == "approve_extension")
        events.append(_event(name, from_state, case, actor, at, payload))
        previous = states[-1]
        previous.valid_to = at
        states.append(state_after(case, ctx.clocks.values(), at, previous=previous, action=name, payload=payload))
    row = {c.name: getattr(case, c.name) for c in Case.__table__.columns if c.name != "id"}  # type: ignore[attr-defined]
    row["version"] = len(events)  # every action bumps the version, as live
    return _Replayed(row, events, list(ctx.clocks.values()), states, v["duplicate_of"] or None)


def _with_extension(
    item: LedgerCase, steps: list[tuple[datetime, str, dict[str, Any], str]], ctx: ActionContext, calendar: Any
) -> list[tuple[datetime, str, dict[str, Any], str]]:
    """An approved extension is asked and approved just before the original due time (or the resolution,
    if earlier): the latest moment the rules allow, so no report counts it before it could have existed."""
    extended = item.times["extended_due_at"]
    clock = ctx.clocks.get("resolve")
    if extended is None or clock is None:
        return steps
    unit = clock.limit_text.split(" ", 1)[1]
    if unit == "working_days":
        days = max(1, round(calendar.working_seconds_between(clock.due_at, extended) / 86400))
    else:
        days = max(1, (extended - clock.due_at).days)
    resolved = item.times["resolved_at"]
    approve = min(clock.due_at, resolved) if resolved else clock.due_at
    approve -= timedelta(seconds=1)
    earlier = [s[0] for s in steps if s[0] <= approve and s[1] != "resolve"]
    start = max([item.times["received_at"], *earlier])  # type: ignore[type-var]
    request_at = max(start, approve - timedelta(seconds=1))
    approve = max(approve, request_at)
    extra = [
        (request_at, "request_extension", {"days": days, "reason": NOTE}, "extended_due_at"),
        (approve, "approve_extension", {"note": NOTE}, "extended_due_at"),
    ]
    order = list(STEP_EFFECTS)
    return sorted(steps + extra, key=lambda s: (s[0], order.index(s[1])))


class _DueTimes:
    """The due times a ledger gives are historical facts: they replace the computed ones when their clock
    starts (respond: its first start; resolve: the start of the round that the last resolution ended)
    and when an extension is approved."""

    def __init__(self, item: LedgerCase) -> None:
        t = item.times
        self.respond, self.resolve, self.extended = t["respond_due_at"], t["resolve_due_at"], t["extended_due_at"]
        reopened, resolved = t["reopened_at"], t["resolved_at"]
        # Reopened, then resolved again: the due time given is that of the second round.
        self.resolve_round_at = reopened if reopened and resolved and reopened < resolved else None
        self.respond_done = False

    def keep(self, ctx: ActionContext, extension: bool = False) -> None:
        for name, clock in ctx.clocks.items():
            if clock.stopped_at is not None:
                continue
            due = None
            if extension and name == "resolve":
                due = self.extended
            elif clock.started_at == ctx.now and name == "respond" and not self.respond_done:
                due, self.respond_done = self.respond, True
            elif clock.started_at == ctx.now and name == "resolve":
                first_round = self.resolve_round_at is None and ctx.action == INTAKE
                if first_round or ctx.now == self.resolve_round_at:
                    due = self.resolve
            if due is None:
                continue
            if not extension:
                clock.base_due_at = due
            clock.due_at = due
            clock.warn_at = min(clock.warn_at, due)
        refresh_next_due(ctx.case, ctx.clocks.values())


def _event(
    action: str, from_state: str | None, case: Case, actor: User, at: datetime, payload: dict[str, Any]
) -> dict[str, Any]:
    return {
        "action": action,
        "from_state": from_state,
        "to_state": case.state,
        "actor_id": actor.id,
        "at": at,
        "payload": payload,
    }


# --- writing -----------------------------------------------------------------------------------------------


def _create_references(session: Session, plan: Plan) -> dict[str, dict[Any, int]]:
    departments = _lookup(session, Department, "code", "name")
    for name in plan.new_departments:
        code = name if re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name) else _free_code(session, Department, "D")
        dept = Department(code=code, name=name)
        session.add(dept)
        session.flush()
        departments[name] = dept.id  # type: ignore[assignment]
    stations = _lookup(session, Station, "code", "name")
    for name in plan.new_stations:
        code = name if re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name) else _free_code(session, Station, "S")
        station = Station(code=code, name=name)
        session.add(station)
        session.flush()
        stations[name] = station.id  # type: ignore[assignment]
    meetings = {
        (str(d), title): i for i, d, title in session.execute(select(Meeting.id, Meeting.held_on, Meeting.title))
    }
    for day, title in plan.new_meetings:
        meeting = Meeting(title=title, held_on=datetime.strptime(day, "%Y-%m-%d").date())
        session.add(meeting)
        session.flush()
        meetings[(day, title)] = meeting.id  # type: ignore[assignment]
    by_key = _lookup(session, Enterprise, "credit_code", "name")
    for name, code in plan.new_enterprises:
        enterprise = Enterprise(name=name, credit_code=code)
        session.add(enterprise)
        session.flush()
        by_key[code] = by_key[name] = enterprise.id  # type: ignore[assignment]
    enterprises: dict[Any, int] = {}
    for item in plan.cases:
        if item.enterprise:
            name, code = item.enterprise
            enterprises[item.enterprise] = by_key[code] if code in by_key else by_key[name]
    return {"department": departments, "station": stations, "meeting": meetings, "enterprise": enterprises}


def _free_code(session: Session, model: Any, prefix: str) -> str:
    taken = set(session.execute(select(model.code)).scalars())
    n = len(taken) + 1
    while f"{prefix}{n:03d}" in taken:
        n += 1
    return f"{prefix}{n:03d}"


def run_import(
    session: Session,
    runtime: Runtime,
    rows: list[dict[str, Any]],
    *,
    actor: User | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Validate the whole ledger, then (unless a dry run) write every new case in the caller's transaction.
    Returns the summary: rows, created, unchanged, and the reference records created."""
    plan = plan_import(session, runtime, rows)
    summary = plan.summary()
    summary["dry_run"] = dry_run
    if dry_run or not plan.cases:
        return summary
    actor = actor or User(username="ledger", role="admin", display_name=NOTE)
    refs = _create_references(session, plan)
    calendar = runtime.calendar(session)
    total = len(plan.cases)
    for start in range(0, total, CHUNK):
        chunk = [_replay(item, runtime, calendar, refs, actor) for item in plan.cases[start : start + CHUNK]]
        _insert(session, chunk)
        if progress:
            progress(min(start + CHUNK, total), total)
    _link_duplicates(session, [item for item in plan.cases if item.values["duplicate_of"]])
    _advance_numbers(session, runtime, [item.case_no for item in plan.cases])
    return summary


def _insert(session: Session, replayed: list[_Replayed]) -> None:
    now = utcnow()
    cases = Case.__table__  # type: ignore[attr-defined]
    ids = (
        session.execute(insert(cases).returning(cases.c.id, sort_by_parameter_order=True), [r.case for r in replayed])
        .scalars()
        .all()
    )
    events, clocks, states = [], [], []
    for case_id, r in zip(ids, replayed, strict=True):
        events.extend({**e, "case_id": case_id, "recorded_at": now} for e in r.events)
        for clock in r.clocks:
            clock.case_id = case_id
            clocks.append({c.name: getattr(clock, c.name) for c in CaseClock.__table__.columns if c.name != "id"})  # type: ignore[attr-defined]
        for state in r.states:
            state.case_id = case_id
            states.append({c.name: getattr(state, c.name) for c in CaseState.__table__.columns if c.name != "id"})  # type: ignore[attr-defined]
    session.execute(insert(CaseEvent.__table__), events)  # type: ignore[attr-defined]
    if clocks:
        session.execute(insert(CaseClock.__table__), clocks)  # type: ignore[attr-defined]
    session.execute(insert(CaseState.__table__), states)  # type: ignore[attr-defined]


def _link_duplicates(session: Session, items: Iterable[LedgerCase]) -> None:
    pairs = [(item.case_no, item.values["duplicate_of"]) for item in items]
    if not pairs:
        return
    numbers = {n for pair in pairs for n in pair}
    ids = dict(session.execute(select(Case.case_no, Case.id).where(Case.case_no.in_(numbers))).all())
    cases = Case.__table__  # type: ignore[attr-defined]
    session.execute(
        update(cases).where(cases.c.id == bindparam("case_id")).values(duplicate_of_id=bindparam("target_id")),
        [{"case_id": ids[a], "target_id": ids[b]} for a, b in pairs],
    )


def _advance_numbers(session: Session, runtime: Runtime, numbers: list[str]) -> None:
    """Imported numbers in our own pattern (GX-2025-000123) move the year's counter past them, so the next
    live case does not collide."""
    pattern = re.compile(rf"^{re.escape(runtime.settings.case_no_prefix)}-(\d{{4}})-(\d{{6}})$")
    highest: dict[int, int] = {}
    for number in numbers:
        match = pattern.match(number)
        if match:
            year, n = int(match.group(1)), int(match.group(2))
            highest[year] = max(highest.get(year, 0), n)
    for year, n in highest.items():
        counter = session.get(CaseNumberCounter, year)
        if counter is None:
            session.add(CaseNumberCounter(year=year, last=n))
        elif counter.last < n:
            counter.last = n
            session.add(counter)
    session.flush()
