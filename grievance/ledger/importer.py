"""Bring an office's Excel/CSV ledger (台账) in: read it (reading), check every row and decide what it becomes
(planning), replay each case through the workflow (replay), then write everything in one short transaction.

The checking and replaying read the database but write nothing, so callers run them before the write
transaction (`import_ledger` does): on SQLite the write lock is held only while rows are inserted. A case number
already in the database is left as it is, so importing the same file twice changes nothing. Any error anywhere
means nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from grievance.cases.models import Case, CaseClock, CaseEvent, CaseNumberCounter, CaseState
from grievance.db import read_only, transaction, utcnow
from grievance.errors import Duplicate, InvalidInput
from grievance.ledger.categories import create_categories
from grievance.ledger.columns import BY_NAME
from grievance.ledger.planning import CHUNK, MAX_ERRORS, LedgerCase, Plan, _lookup, plan_import
from grievance.ledger.reading import LedgerFile, read_ledger
from grievance.ledger.replay import Replayed, action_for, replay, steps_of
from grievance.reference.models import Department, Enterprise, Meeting, Station
from grievance.users.models import User
from grievance.workflow.effects import MERGED_IN
from grievance.workflow.engine import Runtime

__all__ = ["import_ledger", "prepare_import", "read_ledger", "run_import", "write_import"]

LEDGER_ACTOR = "台账导入"  # the display name of the stand-in actor when no user is given (CLI, demo)
FILLED_COLUMNS = {"accept": "accepted_at", "respond": "responded_at", "resolve": "resolved_at"}


@dataclass
class Prepared:
    """A checked and replayed ledger, ready to write: new references carry negative stand-in ids until
    `write_import` creates them."""

    ledger: LedgerFile
    plan: Plan
    replayed: list[Replayed]
    stand_ins: dict[int, tuple[str, Any]]  # stand-in id -> (kind, key) of the record to create

    def summary(self, *, dry_run: bool) -> dict[str, Any]:
        summary = self.plan.summary()
        inferred = dict(summary["inferred"])
        for r in self.replayed:
            for step in r.filled:
                column = FILLED_COLUMNS[step]
                inferred[column] = inferred.get(column, 0) + 1
        summary["inferred"] = dict(sorted(inferred.items()))
        filled = sum(1 for r in self.replayed if "respond" in r.filled)
        if filled:
            summary["warnings"].append(
                {
                    "column": "responded_at",
                    "rows": [],
                    "count": filled,
                    "message": f"「响应时间（responded_at）」{filled} 件未记载响应时间，按其后一步（多为办结）的时间推定："
                    "超过响应时限的计为未按时响应",
                    "message_en": f"column responded_at: {filled} cases have no response time; it is inferred at the "
                    "next step's time (mostly the resolution), and counts as late when past the response limit",
                }
            )
        summary["dry_run"] = dry_run
        summary["header_row"] = self.ledger.header_row
        summary["encoding"] = self.ledger.encoding
        summary["skipped_rows"] = [
            {"row": s.row, "kind": s.kind, "text": s.text, **_SKIP_TEXT[s.kind]} for s in self.ledger.skipped
        ]
        summary["ignored_columns"] = self.ledger.ignored_columns
        summary["columns"] = self._columns(inferred)
        return summary

    def _columns(self, inferred: dict[str, int]) -> list[dict[str, Any]]:
        """What becomes of every column of the file: which ledger column it is, how many cells it fills,
        how many rows had it inferred."""
        out = []
        for c in self.ledger.columns:
            if not c.header and not c.values:
                continue
            values = c.values
            if not c.header:
                use, use_en = "忽略：此列没有列名，不导入", "ignored: this column has no header, not imported"
            elif c.name is None:
                use, use_en = "忽略：不是台账列，不导入", "ignored: not a ledger column, not imported"
            elif c.name == "note":
                use, use_en = "作为台账备注记在诉求的时间线上", "kept as the ledger remark on the case's timeline"
            else:
                column = BY_NAME[c.name]
                use, use_en = f"导入为「{column.aliases[0]}」（{c.name}）", f"imported as {c.name}: {column.help}"
            out.append(
                {
                    "position": c.position,
                    "header": c.header,
                    "column": c.name,
                    "use": use,
                    "use_en": use_en,
                    "values": values,
                    "inferred": inferred.get(c.name or "", 0),
                }
            )
        named = {c.name for c in self.ledger.columns}
        for name, count in inferred.items():
            if name not in named:  # a time the file has no column for, inferred for some rows
                out.append(
                    {
                        "position": None,
                        "header": "",
                        "column": name,
                        "use": f"「{BY_NAME[name].aliases[0]}」（{name}）：文件无此列；{count} 行按其他时间推定",
                        "use_en": f"{name}: not in the file; inferred for {count} "
                        f"{'row' if count == 1 else 'rows'} from other times",
                        "values": 0,
                        "inferred": count,
                    }
                )
        return out


_SKIP_TEXT = {
    "title": {"reason": "列名行上方的标题或说明行", "reason_en": "a title or note above the header row"},
    "blank": {"reason": "空行", "reason_en": "a blank row"},
    "totals": {"reason": "合计行", "reason_en": "a totals row"},
    "footer": {"reason": "合计行下方的说明行", "reason_en": "a note below the totals row"},
}


def _stand_in(actor: User | None) -> User:
    return actor or User(username="ledger", role="admin", display_name=LEDGER_ACTOR)


def _refs(session: Session, plan: Plan) -> tuple[dict[str, dict[Any, int]], dict[int, tuple[str, Any]]]:
    """The ids of the references the rows name: existing ones, and negative stand-ins for those the import
    creates; and for each stand-in, the (kind, key) of the record it stands for."""
    numbers = iter(range(-1, -1_000_000_000, -1))
    stand_ins: dict[int, tuple[str, Any]] = {}

    def stand_in(kind: str, key: Any) -> int:
        number = next(numbers)
        stand_ins[number] = (kind, key)
        return number

    departments: dict[Any, int] = dict(_lookup(session, Department, "code", "name"))
    departments.update({name: stand_in("department", name) for name in plan.new_departments})
    stations: dict[Any, int] = dict(_lookup(session, Station, "code", "name"))
    stations.update({name: stand_in("station", name) for name in plan.new_stations})
    meetings: dict[Any, int] = {
        (str(d), title): i for i, d, title in session.execute(select(Meeting.id, Meeting.held_on, Meeting.title))
    }
    meetings.update({key: stand_in("meeting", key) for key in plan.new_meetings})
    by_key: dict[str, int] = _lookup(session, Enterprise, "credit_code", "name")
    for name, code in plan.new_enterprises:
        by_key[code] = by_key[name] = stand_in("enterprise", (name, code))
    enterprises: dict[Any, int] = {}
    for item in plan.cases:
        if item.enterprise:
            name, code = item.enterprise
            enterprises[item.enterprise] = by_key[code] if code in by_key else by_key[name]
    categories: dict[Any, int] = {path: stand_in("category", path) for path in plan.new_categories}
    refs = {
        "department": departments,
        "station": stations,
        "meeting": meetings,
        "enterprise": enterprises,
        "category": categories,
    }
    return refs, stand_ins


def _step_errors(runtime: Runtime, items: list[LedgerCase]) -> list[dict[str, Any]]:
    errors = []
    for item in items:
        workflow = runtime.workflows.select(channel=item.values["channel"], case_type=item.values["case_type"])
        for step in steps_of(item, None):
            if action_for(workflow, step.step) is None:
                errors.append(
                    {
                        "field": f"第{item.row}行 {step.column}",
                        "row": item.row,
                        "column": step.column,
                        "message": f"第{item.row}行「{step.column}」：流程「{workflow.label}」没有这一步（{step.step}）",
                        "message_en": f"row {item.row}, column {step.column}: the {workflow.name} workflow has no "
                        f"step {step.step!r}",
                    }
                )
    return errors


def prepare_import(
    session: Session,
    runtime: Runtime,
    ledger: LedgerFile,
    *,
    actor: User | None = None,
    create_categories: bool = False,
) -> Prepared:
    """Check the whole ledger and replay every new case in memory. Reads the database, writes nothing.

    Raises InvalidInput listing every problem (row, column, what is accepted; a repeated unknown value once,
    with its rows), at most MAX_ERRORS of them."""
    plan, errors = plan_import(
        # The real present, not the runtime's (which tests and replays set): a typo'd year is caught either way.
        session,
        ledger,
        timezone=runtime.settings.timezone,
        now=utcnow(),
        create_categories=create_categories,
    )
    errors = (errors + _step_errors(runtime, plan.cases))[:MAX_ERRORS]
    if errors:
        more = "+" if len(errors) >= MAX_ERRORS else ""
        raise InvalidInput(
            f"台账有 {len(errors)}{more} 处错误，未导入任何数据", "the ledger has errors; nothing was imported", errors
        )
    refs, stand_ins = _refs(session, plan)
    calendar = runtime.calendar(session)
    who = _stand_in(actor)
    replayed = [replay(item, runtime, calendar, refs, who) for item in plan.cases]
    return Prepared(ledger, plan, replayed, stand_ins)


def write_import(
    session: Session,
    runtime: Runtime,
    prepared: Prepared,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Write a prepared ledger in the caller's transaction: the new references, then every case with its
    events, clocks and states in bulk. Raises Duplicate (409) if some of its case numbers were written meanwhile."""
    replayed = prepared.replayed
    if not replayed:
        return
    numbers = [r.case["case_no"] for r in replayed]
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start : start + CHUNK]
        taken = session.execute(select(Case.case_no).where(Case.case_no.in_(chunk))).scalars().first()
        if taken is not None:
            raise Duplicate(
                f"诉求 {taken} 已在检查之后被写入，请重新导入",
                f"case {taken} was written after the check; import the file again",
            )
    created = _create_references(session, prepared.plan)
    real = {number: created[kind][key] for number, (kind, key) in prepared.stand_ins.items()}
    total = len(replayed)
    for start in range(0, total, CHUNK):
        chunk = replayed[start : start + CHUNK]
        for r in chunk:
            _resolve_stand_ins(r, real)
        _insert(session, chunk)
        if progress:
            progress(min(start + CHUNK, total), total)
    merges = []
    by_number = {r.case["case_no"]: r for r in replayed}
    for r in replayed:
        if r.duplicate_of:
            merge = next(e for e in reversed(r.events) if e["payload"].get("into") == r.duplicate_of)
            target = by_number.get(r.duplicate_of)
            # The target's state at the merge time, when it is in this file (else: its state now).
            then = [e["to_state"] for e in target.events if e["at"] <= merge["at"]] if target else []
            merges.append(
                (r.case["case_no"], r.duplicate_of, merge["at"], merge["actor_id"], then[-1] if then else None)
            )
    _link_duplicates(session, merges)
    _advance_numbers(session, runtime, numbers)


def run_import(
    session: Session,
    runtime: Runtime,
    ledger: LedgerFile | list[dict[str, Any]],
    *,
    actor: User | None = None,
    dry_run: bool = False,
    create_categories: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Check, replay and (unless a dry run) write a ledger in one session (the demo, tests). Returns the summary:
    rows, created, unchanged, references created, inferred times by column, warnings, skipped rows, and what
    became of every column."""
    if isinstance(ledger, list):
        ledger = LedgerFile.of_rows(ledger)
    prepared = prepare_import(session, runtime, ledger, actor=actor, create_categories=create_categories)
    if not dry_run:
        write_import(session, runtime, prepared, progress=progress)
    return prepared.summary(dry_run=dry_run)


def import_ledger(
    sessions: sessionmaker[Session],
    runtime: Runtime,
    ledger: LedgerFile,
    *,
    actor: User | None = None,
    dry_run: bool = False,
    create_categories: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """`run_import` for a server or the CLI: checks and replays in a read-only transaction, then writes in a
    short transaction of its own, so other requests wait at most for the insert."""
    with read_only(sessions) as session:
        prepared = prepare_import(session, runtime, ledger, actor=actor, create_categories=create_categories)
    if not dry_run:
        with transaction(sessions) as session:
            write_import(session, runtime, prepared, progress=progress)
    return prepared.summary(dry_run=dry_run)


# --- writing -----------------------------------------------------------------------------------------------


def _create_references(session: Session, plan: Plan) -> dict[str, dict[Any, int]]:
    """Create the references the plan names; returns their real ids by kind and key."""
    created: dict[str, dict[Any, int]] = {"department": {}, "station": {}, "meeting": {}, "enterprise": {}}
    for name in plan.new_departments:
        code = name if re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name) else _free_code(session, Department, "D")
        dept = Department(code=code, name=name)
        session.add(dept)
        session.flush()
        created["department"][name] = dept.id  # type: ignore[assignment]
    for name in plan.new_stations:
        code = name if re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name) else _free_code(session, Station, "S")
        station = Station(code=code, name=name)
        session.add(station)
        session.flush()
        created["station"][name] = station.id  # type: ignore[assignment]
    for day, title in plan.new_meetings:
        meeting = Meeting(title=title, held_on=datetime.strptime(day, "%Y-%m-%d").date())
        session.add(meeting)
        session.flush()
        created["meeting"][(day, title)] = meeting.id  # type: ignore[assignment]
    for name, code in plan.new_enterprises:
        enterprise = Enterprise(name=name, credit_code=code)
        session.add(enterprise)
        session.flush()
        created["enterprise"][(name, code)] = enterprise.id  # type: ignore[assignment]
    created["category"] = create_categories(session, plan.new_categories)
    return created


def _resolve_stand_ins(r: Replayed, real: dict[int, int]) -> None:
    """Replace the negative stand-in ids of references created by this import with their real ids."""
    if not real:
        return
    for column in (
        "department_id",
        "accused_department_id",
        "station_id",
        "meeting_id",
        "enterprise_id",
        "category_id",
    ):
        value = r.case.get(column)
        if value is not None and value < 0:
            r.case[column] = real[value]
    for state in r.states:
        if state["department_id"] is not None and state["department_id"] < 0:
            state["department_id"] = real[state["department_id"]]
    for event in r.events:
        value = event["payload"].get("department_id")
        if isinstance(value, int) and value < 0:
            event["payload"] = {**event["payload"], "department_id": real[value]}


def _free_code(session: Session, model: Any, prefix: str) -> str:
    taken = set(session.execute(select(model.code)).scalars())
    n = len(taken) + 1
    while f"{prefix}{n:03d}" in taken:
        n += 1
    return f"{prefix}{n:03d}"


def _insert(session: Session, replayed: list[Replayed]) -> None:
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
        clocks.extend({**clock, "case_id": case_id} for clock in r.clocks)
        states.extend({**state, "case_id": case_id} for state in r.states)
    session.execute(insert(CaseEvent.__table__), events)  # type: ignore[attr-defined]
    if clocks:
        session.execute(insert(CaseClock.__table__), clocks)  # type: ignore[attr-defined]
    session.execute(insert(CaseState.__table__), states)  # type: ignore[attr-defined]


def _link_duplicates(session: Session, merges: list[tuple[str, str, datetime, int | None, str | None]]) -> None:
    """Point each imported duplicate at its target, and give the target what a live merge gives it: a MERGED_IN
    event on its timeline (at the merge time, in its state then) and a new version."""
    if not merges:
        return
    numbers = {n for source, target, *_rest in merges for n in (source, target)}
    found = session.execute(select(Case.case_no, Case.id, Case.state).where(Case.case_no.in_(numbers))).all()
    ids = {number: id_ for number, id_, _state in found}
    states = {number: state for number, _id, state in found}
    cases = Case.__table__  # type: ignore[attr-defined]
    session.execute(
        update(cases).where(cases.c.id == bindparam("case_id")).values(duplicate_of_id=bindparam("target_id")),
        [{"case_id": ids[source], "target_id": ids[target]} for source, target, *_rest in merges],
    )
    now = utcnow()
    session.execute(
        insert(CaseEvent.__table__),  # type: ignore[attr-defined]
        [
            {
                "case_id": ids[target],
                "action": MERGED_IN,
                "from_state": then or states[target],
                "to_state": then or states[target],
                "actor_id": actor,
                "at": at,
                "payload": {"case_no": source},
                "recorded_at": now,
            }
            for source, target, at, actor, then in merges
        ],
    )
    bumps: dict[int, int] = {}
    for _source, target, *_rest in merges:
        bumps[ids[target]] = bumps.get(ids[target], 0) + 1
    session.execute(
        update(cases).where(cases.c.id == bindparam("target_id")).values(version=cases.c.version + bindparam("n")),
        [{"target_id": target_id, "n": n} for target_id, n in bumps.items()],
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


def describe(summary: dict[str, Any]) -> list[str]:
    """The summary as lines a person reads in a terminal (Chinese, then English): what happened to every row
    and column, the inferred times and the warnings."""
    verb = "将导入 (would import)" if summary["dry_run"] else "已导入 (imported)"
    lines = [f"{verb} {summary['created']} 件；已存在未改动 (already there, unchanged) {summary['unchanged']} 件"]
    lines.append(f"列名在第 {summary['header_row']} 行 (header on row {summary['header_row']})")
    for s in summary["skipped_rows"]:
        lines.append(f"跳过第 {s['row']} 行：{s['reason']}「{s['text']}」 (skipped row {s['row']}: {s['reason_en']})")
    lines.append("各列 (columns):")
    for c in summary["columns"]:
        where = f"第 {c['position']} 列「{c['header']}」" if c["position"] else f"（{c['column']}）"
        inferred = f"，推定 {c['inferred']} 行 (inferred in {c['inferred']})" if c["inferred"] else ""
        lines.append(f"  {where} → {c['use']}（{c['values']} 个值）{inferred} [{c['use_en']}]")
    for key, label in (
        ("new_departments", "新建承办单位 (new departments)"),
        ("new_stations", "新建驿站 (new stations)"),
        ("new_meetings", "新建恳谈会 (new meetings)"),
        ("new_enterprises", "新建企业 (new enterprises)"),
        ("new_categories", "新建分类 (new categories)"),
    ):
        if summary[key]:
            lines.append(f"{label}: {'、'.join(summary[key])}")
    for w in summary["warnings"]:
        lines.append(f"注意 (warning): {w['message']} [{w['message_en']}]")
    if summary["dry_run"]:
        lines.append("演练模式，未写入任何数据 (dry run: nothing was written)")
    return lines
