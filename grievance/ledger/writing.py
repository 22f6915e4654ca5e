"""Write a checked and replayed ledger (grievance.ledger.importer.prepare_import) in the caller's transaction:
the references it creates, then its cases batch by batch as the first pass left them (grievance.ledger.spill),
each batch with its events, clocks and states in bulk (Core inserts); then the merges between its cases and the
year counters. Only one batch of cases is in memory at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from grievance.cases.models import Case, CaseClock, CaseEvent, CaseNumberCounter, CaseState
from grievance.db import utcnow
from grievance.errors import Duplicate
from grievance.ledger.categories import create_categories
from grievance.ledger.planning import CHUNK, Plan
from grievance.ledger.replay import Replayed
from grievance.reference.models import Department, Enterprise, Meeting, Station
from grievance.workflow.effects import MERGED_IN
from grievance.workflow.engine import Runtime

if TYPE_CHECKING:
    from grievance.ledger.importer import Prepared

# A merge to link once both cases have their ids: (case number, target's, merge time, actor id, the target's
# state then when the target is in the same file, else None).
Merge = tuple[str, str, datetime, int | None, str | None]


def write_import(
    session: Session,
    runtime: Runtime,
    prepared: Prepared,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Write a prepared ledger in the caller's transaction: the new references, then every case with its
    events, clocks and states in bulk, one spilled batch at a time (`progress(done, total)` after each); then
    the merges and the year counters. Raises Duplicate (409) if some of its case numbers were written since the
    check; any error leaves the caller's transaction to roll back, so nothing is written."""
    total = prepared.plan.created
    if not total:
        return
    numbers = list(prepared.numbers())
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
    # An enterprise named by a row: one found in the register, or one the import just created.
    real.update({pair: found if found > 0 else real[found] for pair, found in prepared.enterprises.items()})
    targets = prepared.merge_targets
    timelines: dict[str, list[tuple[datetime, str]]] = {}  # the events of the merge targets in this file
    duplicates: list[tuple[str, str, datetime, int | None]] = []
    done = 0
    assert prepared.spill is not None, "a ledger is written from the cases its check spilled"
    for batch in prepared.spill.read():
        for r in batch:
            _resolve_stand_ins(r, real)
        _insert(session, batch)
        for r in batch:
            number = r.case["case_no"]
            if number in targets:
                timelines[number] = [(e["at"], e["to_state"]) for e in r.events]
            if r.duplicate_of:
                merge = next(e for e in reversed(r.events) if e["payload"].get("into") == r.duplicate_of)
                duplicates.append((number, r.duplicate_of, merge["at"], merge["actor_id"]))
        done += len(batch)
        if progress:
            progress(done, total)
    merges: list[Merge] = []
    for number, target, at, actor in duplicates:
        # The target's state at the merge time, when it is in this file (else: its state now).
        then = [state for moment, state in timelines.get(target, []) if moment <= at]
        merges.append((number, target, at, actor, then[-1] if then else None))
    _link_duplicates(session, merges)
    _advance_numbers(session, runtime, numbers)


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


def _link_duplicates(session: Session, merges: list[Merge]) -> None:
    """Point each imported duplicate at its target, and give the target what a live merge gives it: a MERGED_IN
    event on its timeline (at the merge time, in its state then) and a new version."""
    if not merges:
        return
    numbers = sorted({n for source, target, *_rest in merges for n in (source, target)})
    found = []
    for start in range(0, len(numbers), CHUNK):
        query = select(Case.case_no, Case.id, Case.state).where(Case.case_no.in_(numbers[start : start + CHUNK]))
        found += session.execute(query).all()
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


def _advance_numbers(session: Session, runtime: Runtime, numbers: Iterable[str]) -> None:
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
