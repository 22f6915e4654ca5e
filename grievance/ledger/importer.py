"""Bring an office's Excel/CSV ledger (台账) in: read it (reading), check every row and decide what it becomes
(planning), replay each case through the workflow (replay), then write everything in one short transaction
(writing).

Two passes, so that a ledger of any length imports in bounded memory (issue 13: 100,000 rows): the first
streams the file chunk by chunk, checking and replaying each chunk, and keeps the replayed cases in a temporary
file (spill), batch by batch; the second writes them batch by batch. The first pass reads the database but
writes nothing, so callers run it before the write transaction (`import_ledger` does): on SQLite the write lock
is held only while rows are inserted. A case number already in the database is left as it is, so importing the
same file twice changes nothing. Any error anywhere (in any chunk, found while reading or while writing) means
nothing is written; the temporary file is deleted in every case.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from grievance.db import read_only, transaction, utcnow
from grievance.errors import InvalidInput
from grievance.ledger.columns import BY_NAME
from grievance.ledger.planning import CHUNK, MAX_ERRORS, LedgerCase, Plan, Planner
from grievance.ledger.reading import LedgerFile, read_ledger
from grievance.ledger.replay import action_for, replay, steps_of
from grievance.ledger.spill import Spill
from grievance.ledger.writing import write_import
from grievance.users.models import User
from grievance.workflow.engine import Runtime

__all__ = ["CHUNK", "import_ledger", "prepare_import", "read_ledger", "run_import", "write_import"]

LEDGER_ACTOR = "台账导入"  # the display name of the stand-in actor when no user is given (CLI, demo)
FILLED_COLUMNS = {"accept": "accepted_at", "respond": "responded_at", "resolve": "resolved_at"}


@dataclass
class Prepared:
    """A checked and replayed ledger, ready to write: its replayed cases in `spill` (None after a dry run),
    new references under negative stand-in ids until `write_import` creates them, and what the summary needs
    (the plan, the stages the replay filled in). Holds per row only the case numbers."""

    ledger: LedgerFile
    plan: Plan
    seen: dict[str, int]  # every case number of the file -> its row
    existing: set[str]  # the file's case numbers already in the database
    stand_ins: dict[int, tuple[str, Any]]  # stand-in id -> (kind, key) of the record to create
    # The stand-in of each (name, code) of an enterprise a row names -> the register's id, or the stand-in of
    # the enterprise the import creates.
    enterprises: dict[int, int]
    merge_targets: set[str]  # the case numbers new cases are merged into
    filled: dict[str, int]  # column -> cases whose stage of that column the replay filled in
    responded_filled: int  # cases whose response the replay filled in
    spill: Spill | None

    def numbers(self) -> Iterator[str]:
        """The case numbers of the new cases, in file order."""
        return (number for number in self.seen if number not in self.existing)

    def summary(self, *, dry_run: bool) -> dict[str, Any]:
        summary = self.plan.summary()
        inferred = dict(summary["inferred"])
        for column, count in self.filled.items():  # in the order the replay first filled them
            inferred[column] = inferred.get(column, 0) + count
        summary["inferred"] = dict(sorted(inferred.items()))
        filled = self.responded_filled
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


class _Refs:
    """The ids the replay gives the references rows name: the database's, and negative stand-ins for those the
    import creates, given as the plan gains them (the same ids whichever chunk names them first). An enterprise
    is given a stand-in per (name, code) named: which record it is depends on the whole plan (`enterprises`)."""

    def __init__(self, planner: Planner) -> None:
        self.numbers = itertools.count(-1, -1)
        self.stand_ins: dict[int, tuple[str, Any]] = {}
        self.ids: dict[str, dict[Any, int]] = {
            "department": dict(planner.departments),
            "station": dict(planner.stations),
            "meeting": dict(planner.meetings),
            "enterprise": {},
            "category": {},
        }
        self.given = dict.fromkeys(("department", "station", "meeting", "category"), 0)

    def _stand_in(self, kind: str, key: Any) -> int:
        number = next(self.numbers)
        self.stand_ins[number] = (kind, key)
        return number

    def update(self, plan: Plan, items: list[LedgerCase]) -> None:
        """Give a stand-in to each reference the plan gained since the last call, and to each (name, code) of an
        enterprise the items name."""
        for kind, new in (
            ("department", plan.new_departments),
            ("station", plan.new_stations),
            ("meeting", plan.new_meetings),
            ("category", plan.new_categories),
        ):
            for key in new[self.given[kind] :]:
                self.ids[kind][key] = self._stand_in(kind, key)
            self.given[kind] = len(new)
        for item in items:
            if item.enterprise and item.enterprise not in self.ids["enterprise"]:
                self.ids["enterprise"][item.enterprise] = next(self.numbers)

    def enterprises(self, planner: Planner) -> dict[int, int]:
        """Each enterprise stand-in -> the register's id, or the stand-in of the enterprise the import creates:
        found by code, else by name, among the register's and the new ones (a new one's code or name taking
        precedence, the last new one of a name winning), as the whole plan says."""
        by_key: dict[Any, int] = dict(planner.enterprises)
        for name, code in planner.plan.new_enterprises:
            by_key[code] = by_key[name] = self._stand_in("enterprise", (name, code))
        return {
            pair: by_key[code] if code in by_key else by_key[name]
            for (name, code), pair in self.ids["enterprise"].items()
        }


def _step_errors(runtime: Runtime, items: list[LedgerCase]) -> list[dict[str, Any]]:
    """A row's steps its workflow has no action for (信访 is never reopened), as errors."""
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
    spill: Spill | None = None,
) -> Prepared:
    """Check the whole ledger and replay every new case, streaming the file CHUNK rows at a time: each replayed
    case goes to `spill` (None for a dry run: they are only counted). Reads the database, writes nothing; holds
    one chunk of rows and one batch of cases at a time, and the case numbers.

    Raises InvalidInput listing every problem (row, column, what is accepted; a repeated unknown value once,
    with its rows), at most MAX_ERRORS of them, whichever chunk holds them; what the reader raises as the file
    is streamed (reading.read_ledger: too many rows, unstorable cells), which comes first."""
    # The real present, not the runtime's (which tests and replays set): a typo'd year is caught either way.
    planner = Planner(session, timezone=runtime.settings.timezone, now=utcnow(), create_categories=create_categories)
    refs = _Refs(planner)
    calendar = runtime.calendar(session)
    who = _stand_in(actor)
    step_errors: list[dict[str, Any]] = []
    failure: Exception | None = None  # a case the replay could not take: raised if the ledger has no errors
    filled: dict[str, int] = {}
    responded = 0
    targets: set[str] = set()
    with closing(ledger.stream()) as rows:  # type: ignore[type-var]
        while chunk := list(itertools.islice(rows, CHUNK)):
            items = planner.check(chunk)
            del chunk
            step_errors += _step_errors(runtime, items)[: MAX_ERRORS - len(step_errors)]
            if planner.failed or step_errors or failure is not None:
                continue  # the ledger will be refused: read on for its other problems, replay no more
            refs.update(planner.plan, items)
            for item in items:
                try:
                    r = replay(item, runtime, calendar, refs.ids, who)
                except Exception as exc:  # as before streaming: the row errors, if any, are said instead
                    failure = exc
                    break
                for step in r.filled:
                    filled[FILLED_COLUMNS[step]] = filled.get(FILLED_COLUMNS[step], 0) + 1
                responded += "respond" in r.filled
                if r.duplicate_of:
                    targets.add(r.duplicate_of)
                if spill is not None:
                    spill.add(r)
    errors = (planner.finish() + step_errors)[:MAX_ERRORS]
    if errors:
        more = "+" if len(errors) >= MAX_ERRORS else ""
        raise InvalidInput(
            f"台账有 {len(errors)}{more} 处错误，未导入任何数据", "the ledger has errors; nothing was imported", errors
        )
    if failure is not None:
        raise failure
    enterprises = refs.enterprises(planner)
    return Prepared(
        ledger=ledger,
        plan=planner.plan,
        seen=planner.seen,
        existing=planner.existing,
        stand_ins=refs.stand_ins,
        enterprises=enterprises,
        merge_targets=targets,
        filled=filled,
        responded_filled=responded,
        spill=spill,
    )


def spill_directory(runtime: Runtime) -> Path:
    """Where an import keeps its replayed cases between its passes: under the data directory (on disk, beside
    the attachments; the system's temporary directory may be memory)."""
    return runtime.settings.data_dir / "tmp"


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
    became of every column. Raises as prepare_import and write_import."""
    if isinstance(ledger, list):
        ledger = LedgerFile.of_rows(ledger)
    with ExitStack() as stack:
        spill = None if dry_run else stack.enter_context(Spill(spill_directory(runtime)))
        prepared = prepare_import(
            session, runtime, ledger, actor=actor, create_categories=create_categories, spill=spill
        )
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
    short transaction of its own, so other requests wait at most for the insert. The replayed cases wait
    between the two in a temporary file (spill_directory), deleted whatever happens."""
    with ExitStack() as stack:
        spill = None if dry_run else stack.enter_context(Spill(spill_directory(runtime)))
        with read_only(sessions) as session:
            prepared = prepare_import(
                session, runtime, ledger, actor=actor, create_categories=create_categories, spill=spill
            )
        if not dry_run:
            with transaction(sessions) as session:
                write_import(session, runtime, prepared, progress=progress)
        return prepared.summary(dry_run=dry_run)


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
