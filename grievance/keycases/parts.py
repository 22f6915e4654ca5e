"""Lead and assisting departments (主办 / 协办): a case sent to several departments at once keeps its lead department
in `cases.department_id`, and each assisting department works a part of its own (CasePart): it accepts (签收),
notes its progress and reports (反馈) with a note and files, on its own working-day clock.

The workflow engine calls these from the "departments" field type (engine._coerce), the `scope: part` check
(engine._scope_problem) and the effects and guards a workflow file names (workflow/effects.py, guards.py). Each
part runs the workflow's `per: part` clock as a CaseClock row `part:<seq>` (workflow/clocks.start_part_clock): the
sweeper urges it and records it overdue like any clock, and no rate or list due time counts it (its name has the
sub-clock separator, workflow/definition.is_node_clock).

Rules, written down once (docs/key-cases.md, "Lead and assisting departments"):
- A department has at most one open part (dispatched or accepted) on a case; the lead department is never an
  assisting one, and the department a report (举报) accuses is neither.
- The lead resolves only once no part is open: every part reported, or the rest waived by the supervisor with a
  reason (`waive_parts`).
- A case returned (退单) to the centre withdraws its open parts (their clocks stop); a later dispatch names its
  assisting departments afresh, as new parts (new numbers). Reported and waived parts stay as they were.
- A department sees (lists, case page) the cases where it has a part that is not withdrawn.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from grievance.cases.models import Attachment, Case, CaseClock
from grievance.cases.prefetch import PARTS, prefetched
from grievance.errors import InvalidInput
from grievance.glossary import DEPARTMENT_ROLES
from grievance.keycases.models import CasePart
from grievance.reference.models import Department
from grievance.reference.service import names_by_id
from grievance.users.models import User
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.context import ActionContext
from grievance.workflow.definition import ClockDef, WorkflowDef, part_clock_name

MAX_ASSISTING = 20  # assisting departments named in one action


class PartStatus(StrEnum):
    dispatched = "dispatched"  # sent, not yet accepted (待签收)
    accepted = "accepted"  # accepted, being worked (办理中)
    reported = "reported"  # done: reported with a note and files (已反馈)
    waived = "waived"  # the supervisor let the lead resolve without it (已免除)
    withdrawn = "withdrawn"  # the case went back to the centre (已撤回)


OPEN_STATUSES: tuple[str, ...] = (PartStatus.dispatched.value, PartStatus.accepted.value)
# Parts that let their department see the case: every one but a withdrawn part.
VISIBLE_STATUSES: tuple[str, ...] = (*OPEN_STATUSES, PartStatus.reported.value, PartStatus.waived.value)


# ------------------------------------------------------------------------------------------------------------ reads
def parts_of(session: Session, case_id: int) -> list[CasePart]:
    """Every part of the case, withdrawn ones included, in the order they were sent (seq)."""
    kept = prefetched(session, PARTS, case_id)
    if kept is not None:
        return kept
    return list(session.exec(select(CasePart).where(CasePart.case_id == case_id).order_by(col(CasePart.seq))).all())


def parts_by_case(session: Session, case_ids: Collection[int]) -> dict[int, list[CasePart]]:
    """{case id: its parts in seq order} for these cases (cases without parts are left out). One query."""
    if not case_ids:
        return {}
    rows = session.exec(
        select(CasePart)
        .where(col(CasePart.case_id).in_(sorted(set(case_ids))))
        .order_by(col(CasePart.case_id), col(CasePart.seq))
    ).all()
    found: dict[int, list[CasePart]] = {}
    for part in rows:
        found.setdefault(part.case_id, []).append(part)
    return found


def open_parts(session: Session, case_id: int) -> list[CasePart]:
    """The parts not yet reported, waived or withdrawn (dispatched or accepted), in seq order."""
    return [p for p in parts_of(session, case_id) if p.status in OPEN_STATUSES]


def department_part(session: Session, case_id: int | None, department_id: int | None) -> CasePart | None:
    """The open part of this department on the case, or None."""
    if case_id is None or department_id is None:
        return None
    kept = prefetched(session, PARTS, case_id)
    if kept is not None:
        return next((p for p in kept if p.department_id == department_id and p.status in OPEN_STATUSES), None)
    return session.exec(
        select(CasePart).where(
            CasePart.case_id == case_id,
            CasePart.department_id == department_id,
            col(CasePart.status).in_(OPEN_STATUSES),
        )
    ).first()


def assisted_case_ids(department_id: int, statuses: Collection[str] = VISIBLE_STATUSES) -> Any:
    """SQL: the ids of the cases where the department has a part in one of `statuses` (ix_case_parts_department),
    for `Case.id.in_(...)`."""
    return select(CasePart.case_id).where(
        CasePart.department_id == department_id, col(CasePart.status).in_(list(statuses))
    )


def assisting_condition(department_id: int) -> ColumnElement[bool]:
    """SQL condition on cases: the department assists it (a part that is not withdrawn)."""
    return col(Case.id).in_(assisted_case_ids(department_id))


def assists(session: Session, case: Case, user: User) -> bool:
    """Whether the user's department has a part on the case that is not withdrawn (so they may open it). The
    accused department of a report never does (the guards refuse it as assisting), and is hidden anyway."""
    if user.role not in DEPARTMENT_ROLES or user.department_id is None or case.id is None:
        return False
    if case.accused_department_id is not None and case.accused_department_id == user.department_id:
        return False
    kept = prefetched(session, PARTS, case.id)
    if kept is not None:
        return any(p.department_id == user.department_id and p.status in VISIBLE_STATUSES for p in kept)
    return (
        session.exec(
            select(CasePart.id).where(
                CasePart.case_id == case.id,
                CasePart.department_id == user.department_id,
                col(CasePart.status).in_(VISIBLE_STATUSES),
            )
        ).first()
        is not None
    )


def part_clock_def(workflow: WorkflowDef) -> tuple[str, ClockDef] | None:
    """The workflow's `per: part` clock (name, definition), or None when it declares none."""
    return next(((name, c) for name, c in workflow.clocks.items() if c.per == "part"), None)


def part_status_light(part: CasePart, clock: CaseClock | None, calendar: WorkCalendar, now: datetime) -> str:
    """A part's light: reported parts met or met_late (on time or not); waived, withdrawn; an open part's clock
    status (running, due_soon, overdue, paused)."""
    from grievance.workflow.clocks import clock_status

    if part.status == PartStatus.reported:
        return "met" if part.on_time else "met_late"
    if part.status in (PartStatus.waived, PartStatus.withdrawn):
        return str(part.status)
    if clock is None:
        return "running"
    return str(clock_status(clock, calendar, now)["status"])


def part_detail(
    session: Session, workflow: WorkflowDef, case: Case, clocks: list[CaseClock], calendar: WorkCalendar, now: datetime
) -> list[dict[str, Any]]:
    """The `parts` of a case's detail (read_models.PartRead dicts, seq order, withdrawn ones included): department,
    status, light, due_at (UTC; the part's clock), late_by (whole working days past due while open and overdue),
    accepted/reported times and people, the report's note and files, the waiver's or withdrawal's note."""
    if case.id is None:
        return []
    parts = parts_of(session, case.id)
    if not parts:
        return []
    from grievance.cases.deadlines import late_by

    clock_def = part_clock_def(workflow)
    by_name = {c.name: c for c in clocks}
    departments = names_by_id(session, Department, [p.department_id for p in parts])
    people = names_by_id(session, User, [p.reported_by_id for p in parts] + [p.accepted_by_id for p in parts])
    read = []
    for part in parts:
        clock = by_name.get(part_clock_name(clock_def[0], part.seq)) if clock_def else None
        light = part_status_light(part, clock, calendar, now)
        unit = clock.limit_text.split(" ", 1)[1] if clock is not None else "working_days"
        read.append(
            {
                "seq": part.seq,
                "department_id": part.department_id,
                "department": departments.get(part.department_id),
                "status": part.status,
                "light": light,
                "due_at": clock.due_at if clock is not None else None,
                "late_by": late_by(calendar, clock.due_at, now, unit)
                if clock is not None and light == "overdue"
                else None,
                "dispatched_at": part.dispatched_at,
                "accepted_at": part.accepted_at,
                "accepted_by": people.get(part.accepted_by_id) if part.accepted_by_id else None,
                "reported_at": part.reported_at,
                "reported_by": people.get(part.reported_by_id) if part.reported_by_id else None,
                "report_note": part.report_note,
                "attachment_ids": list(part.attachment_ids or []),
                "on_time": part.on_time,
                "closed_at": part.closed_at,
                "close_note": part.close_note,
            }
        )
    return read


@dataclass(frozen=True)
class OpenPart:
    """A department's open part on a case as its queue shows it: the part, its due time (UTC, the part's clock;
    None without one) and its light (part_status_light)."""

    part: CasePart
    due_at: datetime | None
    light: str


def open_parts_of_department(
    session: Session, runtime: Any, department_id: int, case_ids: Collection[int], now: datetime
) -> dict[int, OpenPart]:
    """{case id: the department's open part} for the cases given, in three queries (parts, their cases'
    workflows, the parts' clocks), for a queue page: what the assisting department itself must do and by when."""
    if not case_ids:
        return {}
    parts = session.exec(
        select(CasePart).where(
            col(CasePart.case_id).in_(list(case_ids)),
            CasePart.department_id == department_id,
            col(CasePart.status).in_(OPEN_STATUSES),
        )
    ).all()
    if not parts:
        return {}
    workflows = dict(
        session.exec(select(Case.id, Case.workflow).where(col(Case.id).in_([p.case_id for p in parts]))).all()
    )
    clock_names: dict[int, str] = {}
    for part in parts:
        clock_def = part_clock_def(runtime.workflows.get(workflows[part.case_id]))
        if clock_def:
            clock_names[part.case_id] = part_clock_name(clock_def[0], part.seq)
    clocks = {
        c.case_id: c
        for c in session.exec(
            select(CaseClock).where(
                col(CaseClock.case_id).in_(list(clock_names)), col(CaseClock.name).in_(set(clock_names.values()))
            )
        ).all()
        if clock_names.get(c.case_id) == c.name
    }
    calendar = runtime.calendar(session)
    return {
        part.case_id: OpenPart(
            part,
            clocks[part.case_id].due_at if part.case_id in clocks else None,
            part_status_light(part, clocks.get(part.case_id), calendar, now),
        )
        for part in parts
    }


# ------------------------------------------------------------------------------------------------------ the input
def coerce_departments(session: Session, value: Any, label: str, label_en: str) -> list[Department]:
    """Departments by id or code (a list; a single one is taken as a list of one; each at most once), or
    InvalidInput (422) naming the ones not found."""
    from grievance.db import find_by_ref

    values = value if isinstance(value, list) else [value]
    if len(values) > MAX_ASSISTING:
        raise InvalidInput.field(
            "assisting_department_ids",
            f"{label}最多 {MAX_ASSISTING} 个",
            f"{label_en}: at most {MAX_ASSISTING} departments",
        )
    found: list[Department] = []
    missing: list[str] = []
    for item in values:
        dept = None
        if not isinstance(item, bool) and isinstance(item, int | str) and str(item).strip():
            dept = find_by_ref(session, Department, item.strip() if isinstance(item, str) else item, "code")
        if dept is None:
            missing.append(str(item))
        elif dept.id not in {d.id for d in found}:
            found.append(dept)
    if missing:
        raise InvalidInput.field(
            "assisting_department_ids",
            f"{label}：单位 {'、'.join(missing)} 不存在",
            f"{label_en}: no department {', '.join(missing)}; give department ids or codes",
        )
    return found


def assisting_problem(ctx: ActionContext) -> tuple[str, str] | None:
    """Why the assisting departments of the input may not be sent (a guard, checked when the action fires): the
    department a report accuses, the lead department itself (the input's `department_id`, else the case's), or a
    department that already has an open part on the case. (Chinese, English), naming them; None when fine."""
    departments: list[Department] = ctx.refs.get("assisting_department_ids") or []
    if not departments:
        return None
    case = ctx.case
    accused = [d for d in departments if case.accused_department_id is not None and d.id == case.accused_department_id]
    if accused:
        return (
            "被举报单位不能作为协办单位 (该件涉及举报)",
            "the department a report accuses cannot assist on it",
        )
    lead = (ctx.payload or {}).get("department_id", case.department_id)
    same = [d for d in departments if d.id == lead]
    if same:
        return (
            f"{same[0].name} 是主办单位，不能同时作为协办单位",
            f"{same[0].name} is the lead department; it cannot also assist",
        )
    if case.id is not None:
        busy = {p.department_id for p in open_parts(ctx.session, case.id)}
        twice = [d for d in departments if d.id in busy]
        if twice:
            names = "、".join(d.name for d in twice)
            return (
                f"{names} 已在协办该件",
                f"already assisting on this case: {', '.join(d.name for d in twice)}",
            )
    return None


# -------------------------------------------------------------------------------------------------------- writing
def _start(ctx: ActionContext, part: CasePart) -> None:
    from grievance.workflow.clocks import start_part_clock

    found = part_clock_def(ctx.workflow)
    if found is not None:
        start_part_clock(ctx, part_clock_name(found[0], part.seq), found[1])


def _stop(ctx: ActionContext, part: CasePart) -> CaseClock | None:
    found = part_clock_def(ctx.workflow)
    clock = ctx.clocks.get(part_clock_name(found[0], part.seq)) if found else None
    if clock is not None and clock.stopped_at is None:
        from grievance.workflow.clocks import stop_node_clock

        stop_node_clock(ctx, clock)
    return clock


def dispatch(ctx: ActionContext, departments: list[Department]) -> list[dict[str, Any]]:
    """A part for each department, numbered after the case's last, sent now by the actor, each with its clock
    started. Returns [{"seq", "department": name}] for the event."""
    case_id = ctx.case.id
    assert case_id is not None
    existing = parts_of(ctx.session, case_id)
    next_seq = max((p.seq for p in existing), default=0) + 1
    written = []
    for dept in departments:
        part = CasePart(
            case_id=case_id,
            seq=next_seq,
            department_id=dept.id,  # type: ignore[arg-type]
            status=PartStatus.dispatched.value,
            dispatched_at=ctx.now,
            dispatched_by_id=ctx.actor.id,
        )
        next_seq += 1
        ctx.session.add(part)
        _start(ctx, part)
        written.append({"seq": part.seq, "department": dept.name})
    return written


def actor_part(ctx: ActionContext) -> CasePart | None:
    """The open part of the acting user's department on the case (the part a `scope: part` action works)."""
    return department_part(ctx.session, ctx.case.id, ctx.actor.department_id)


def describe(ctx: ActionContext, part: CasePart) -> dict[str, Any]:
    """The event's fields naming a part: {"part": seq, "part_department": name}."""
    dept = ctx.session.get(Department, part.department_id)
    return {"part": part.seq, "part_department": dept.name if dept else ""}


def accept(ctx: ActionContext, part: CasePart) -> dict[str, Any]:
    """The department accepts its part (签收) now. Returns the event's part fields."""
    part.status = PartStatus.accepted.value
    part.accepted_at, part.accepted_by_id = ctx.now, ctx.actor.id
    ctx.session.add(part)
    return describe(ctx, part)


def report(ctx: ActionContext, part: CasePart, note: str, attachments: list[Attachment]) -> dict[str, Any]:
    """The department reports its part (反馈) now with the note and files; its clock stops and `on_time` records
    whether it was reported by its due time. Returns the event's part fields (with `on_time`). InvalidInput (422,
    attachment_ids) when a file is already a node's evidence or another part's report file."""
    from grievance.keycases.plan import cited_elsewhere

    cited = cited_elsewhere(ctx.session, part.case_id, [a.id for a in attachments if a.id is not None], part_id=part.id)
    if cited:
        raise InvalidInput.field(
            "attachment_ids",
            f"附件已作为其他事项的佐证材料，不能再作为本协办任务的反馈材料：{'；'.join(z for z, _ in cited)}",
            "already cited as evidence elsewhere, so not files of this part's report: "
            f"{'; '.join(e for _, e in cited)}",
        )
    clock = _stop(ctx, part)
    part.status = PartStatus.reported.value
    part.reported_at, part.reported_by_id = ctx.now, ctx.actor.id
    part.report_note = note
    part.attachment_ids = [a.id for a in attachments if a.id is not None]
    part.on_time = clock is None or ctx.now <= clock.due_at
    ctx.session.add(part)
    return {**describe(ctx, part), "on_time": part.on_time}


def close_open(ctx: ActionContext, status: PartStatus, note: str) -> list[dict[str, Any]]:
    """Every open part of the case becomes `status` (waived by the supervisor, withdrawn on a return) with the
    note; their clocks stop. Returns [{"seq", "department"}] of those closed, for the event."""
    case_id = ctx.case.id
    if case_id is None:
        return []
    closed = []
    for part in open_parts(ctx.session, case_id):
        _stop(ctx, part)
        part.status = status.value
        part.closed_at = ctx.now
        part.close_note = note
        ctx.session.add(part)
        described = describe(ctx, part)
        closed.append({"seq": part.seq, "department": described["part_department"]})
    return closed


def open_part_problem(session: Session | None, case: Case) -> tuple[str, str] | None:
    """Why the lead may not resolve yet: the assisting departments whose parts are open, (Chinese, English), or
    None."""
    if session is None or case.id is None:
        return None
    waiting = open_parts(session, case.id)
    if not waiting:
        return None
    names = names_by_id(session, Department, [p.department_id for p in waiting])
    listed = "、".join(names.get(p.department_id, str(p.department_id)) for p in waiting)
    listed_en = ", ".join(names.get(p.department_id, str(p.department_id)) for p in waiting)
    return (
        f"协办单位尚未反馈：{listed}；须全部反馈（或经督办员免除）后才能办结",
        f"assisting departments still open: {listed_en}; every part must be reported (or waived by the supervisor) "
        "before resolving",
    )
