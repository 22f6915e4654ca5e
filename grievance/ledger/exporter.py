"""Write cases out as a ledger (台账) in the import format, so an office can keep its Excel habits and a
ledger exported here imports into another database with the same report."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from grievance.cases.models import Case, CaseClock, CaseEvent
from grievance.glossary import LABELS
from grievance.ledger.columns import COLUMNS, NAMES
from grievance.ledger.importer import CHUNK
from grievance.reference.models import Category, Department, Enterprise, Meeting, Station
from grievance.spreadsheet import append_row, csv_row
from grievance.workflow.definition import INTAKE, RESOLVE_CLOCK, RESPOND_CLOCK
from grievance.workflow.loader import Workflows

# The effects whose actions give a case its (last) resolution: keyed on effects, which the loader checks, not on
# action names a workflow file may change.
RESOLUTION_EFFECTS = ("record_resolution", "record_answer_on_spot")


def export_rows(
    session: Session,
    *,
    workflows: Workflows,
    timezone: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[dict[str, Any]]:
    """One ledger row per case received in [start, end) (all cases without bounds), oldest first."""
    respond = aliased(CaseClock, name="respond_clock")
    resolve = aliased(CaseClock, name="resolve_clock")
    target = aliased(Case, name="target")
    accused = aliased(Department, name="accused")
    query = (
        select(
            Case,
            Department.code.label("department"),
            accused.code.label("accused_department"),
            Station.code.label("station"),
            Meeting.held_on.label("meeting_date"),
            Meeting.title.label("meeting_title"),
            Enterprise.name.label("enterprise_name"),
            Enterprise.credit_code.label("enterprise_code"),
            Category.code.label("category"),
            respond.due_at.label("respond_due_at"),
            resolve.base_due_at.label("resolve_base_due_at"),
            resolve.due_at.label("resolve_due_at"),
            resolve.extended_days.label("extended_days"),
            target.case_no.label("duplicate_of"),
        )
        .outerjoin(Department, Department.id == Case.department_id)
        .outerjoin(accused, accused.id == Case.accused_department_id)
        .outerjoin(Station, Station.id == Case.station_id)
        .outerjoin(Meeting, Meeting.id == Case.meeting_id)
        .outerjoin(Enterprise, Enterprise.id == Case.enterprise_id)
        .outerjoin(Category, Category.id == Case.category_id)
        .outerjoin(respond, and_(respond.case_id == Case.id, respond.name == RESPOND_CLOCK))
        .outerjoin(resolve, and_(resolve.case_id == Case.id, resolve.name == RESOLVE_CLOCK))
        .outerjoin(target, target.id == Case.duplicate_of_id)
        .order_by(Case.received_at, Case.id)
    )
    if start is not None:
        query = query.where(Case.received_at >= start)
    if end is not None:
        query = query.where(Case.received_at < end)
    found = session.execute(query).all()
    last_resolve = _last_resolves(session, workflows, [row.Case.id for row in found])
    remarks = _ledger_remarks(session, [row.Case.id for row in found])
    tz = ZoneInfo(timezone)

    def moment(value: datetime | None) -> str:
        return value.astimezone(tz).isoformat(timespec="seconds") if value else ""

    rows = []
    for row in found:
        case: Case = row.Case
        resolved = last_resolve.get(case.id)  # type: ignore[arg-type]
        extended = bool(row.extended_days)
        rows.append(
            {
                "case_no": case.case_no,
                "received_at": moment(case.received_at),
                "channel": case.channel,
                "case_type": case.case_type,
                "urgency": case.urgency,
                "title": case.title,
                "description": case.description,
                "petitioner_name": case.petitioner_name,
                "petitioner_phone": case.petitioner_phone,
                "enterprise_name": row.enterprise_name or "",
                "enterprise_code": row.enterprise_code or "",
                "station": row.station or "",
                "meeting_date": row.meeting_date.isoformat() if row.meeting_date else "",
                "meeting_title": row.meeting_title or "",
                "category": row.category or "",
                "department": row.department or "",
                "accused_department": row.accused_department or "",
                # A returned case (退单) is back at the centre with no department: not dispatched, as far as
                # the ledger can say (its columns have no return), so that it imports.
                "dispatched_at": moment(case.dispatched_at) if row.department else "",
                "accepted_at": moment(case.accepted_at),
                "responded_at": moment(case.responded_at),
                "respond_due_at": moment(row.respond_due_at),
                "resolved_at": moment(resolved[0]) if resolved else "",
                "resolve_due_at": moment(row.resolve_base_due_at if extended else row.resolve_due_at),
                "extended_due_at": moment(row.resolve_due_at) if extended else "",
                "outcome": resolved[1] if resolved else "",
                "reply": resolved[2] if resolved else "",
                "callback_at": moment(case.callback_at),
                "callback_reached": _yes_no(case.callback_reached),
                "solved": _yes_no(case.callback_solved),
                "satisfaction": case.satisfaction or "",
                "reopened_at": moment(case.reopened_at),
                "closed_at": moment(case.closed_at),
                "duplicate_of": row.duplicate_of or "",
                "note": remarks.get(case.id, ""),  # type: ignore[arg-type]
            }
        )
    return rows


def _last_resolves(session: Session, workflows: Workflows, case_ids: list[int]) -> dict[int, tuple[datetime, str, str]]:
    """The last resolution of each case (time, outcome, reply): a reopened case keeps it in its events."""
    resolving = {
        name: "record_answer_on_spot" in action.effects
        for workflow in workflows.definitions.values()
        for name, action in workflow.actions.items()
        if set(RESOLUTION_EFFECTS) & set(action.effects)
    }
    found: dict[int, tuple[datetime, str, str]] = {}
    for start in range(0, len(case_ids), CHUNK):
        chunk = case_ids[start : start + CHUNK]
        last = (
            select(func.max(CaseEvent.id))
            .where(CaseEvent.case_id.in_(chunk), CaseEvent.action.in_(list(resolving)))  # type: ignore[attr-defined]
            .group_by(CaseEvent.case_id)
        )
        for event in session.execute(select(CaseEvent).where(CaseEvent.id.in_(last))).scalars():  # type: ignore[union-attr]
            on_spot = resolving.get(event.action, False)
            outcome = "answered_on_spot" if on_spot else event.payload.get("outcome", "")
            found[event.case_id] = (event.at, outcome, event.payload.get("reply", ""))
    return found


def _ledger_remarks(session: Session, case_ids: list[int]) -> dict[int, str]:
    """The 备注 an imported case brought with it (kept in its intake event), so that it exports again."""
    found: dict[int, str] = {}
    for start in range(0, len(case_ids), CHUNK):
        chunk = case_ids[start : start + CHUNK]
        events = select(CaseEvent.case_id, CaseEvent.payload).where(
            CaseEvent.case_id.in_(chunk),  # type: ignore[attr-defined]
            CaseEvent.action == INTAKE,
        )
        for case_id, payload in session.execute(events):
            if payload and payload.get("ledger_note"):
                found[case_id] = payload["ledger_note"]
    return found


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel and WPS open the Chinese correctly; a text that could start a
    formula (=, +, -, @, tab, CR, LF) is written with a leading ' (grievance.spreadsheet), which the import undoes."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(NAMES)
    writer.writerows(csv_row(row[name] for name in NAMES) for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """A workbook whose first row has the Chinese column names (the importer reads both); every text is a
    string cell, never a live formula (grievance.spreadsheet)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    append_row(sheet, [c.aliases[0] for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        append_row(sheet, [_label(name, row[name]) for name in NAMES])
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_VOCABULARIES = {
    "channel": "Channel",
    "case_type": "CaseType",
    "urgency": "Urgency",
    "outcome": "Outcome",
    "satisfaction": "Satisfaction",
}


def _label(name: str, value: Any) -> Any:
    """In the workbook people read, vocabularies show their Chinese labels (the importer accepts both)."""
    if name in _VOCABULARIES and value:
        return LABELS[_VOCABULARIES[name]].get(value, value)
    return value
