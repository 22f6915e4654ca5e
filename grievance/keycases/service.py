"""What pages and the API read of key cases: a case's key facts and nodes (for its detail), the node counts of a
list of cases (the lead leader's page), and the late nodes of every open key case (the supervision board).

Every function reads inside the caller's transaction and writes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from grievance.cases.deadlines import late_by
from grievance.cases.models import Case, CaseClock
from grievance.glossary import NodeStatus
from grievance.keycases.models import CaseNode, NodePlanChange
from grievance.keycases.plan import LEFT_PLAN, NODE_UNIT, current_plan, due_text_of, nodes_of, pending_change
from grievance.reference.models import Department
from grievance.reference.service import names_by_id
from grievance.users.models import User
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.clocks import clock_status
from grievance.workflow.definition import WorkflowDef, is_node_clock, node_clock_name


def node_status(
    node: CaseNode, clock: CaseClock | None, calendar: WorkCalendar, now: datetime
) -> tuple[str, int | None]:
    """(status, late_by) of a node as its light shows it: removed, withdrawn; met or met_late (done by its due time or after);
    overdue, due_soon, running or paused from its clock while open. late_by: whole working days past due (a begun
    working day counts, as every list counts it: cases/deadlines.late_by) for an overdue node, else None."""
    if node.status in LEFT_PLAN:
        return str(node.status), None
    if node.status == NodeStatus.done:
        done_late = node.completed_at is not None and node.completed_at > node.due_at
        return ("met_late" if done_late else "met"), None
    if clock is not None:
        status = str(clock_status(clock, calendar, now)["status"])
    else:
        status = "overdue" if now >= node.due_at else "running"
    late = late_by(calendar, node.due_at, now, NODE_UNIT) if status == "overdue" else None
    return status, late


def key_detail(
    session: Session, workflow: WorkflowDef, case: Case, clocks: list[CaseClock], calendar: WorkCalendar, now: datetime
) -> dict[str, Any]:
    """The key-case part of a case's detail (read_models.CaseDetail): `key` (bool), `lead_leader` ({id, name,
    active} or None), `nodes` (NodeRead dicts in plan order, removed ones included) and `pending_node_change` (NodeChangeRead
    or None). Times UTC."""
    leader = session.get(User, case.lead_leader_id) if case.lead_leader_id else None
    if case.id is None or case.key_reason is None:
        return {"key": False, "lead_leader": None, "nodes": [], "pending_node_change": None}
    nodes = nodes_of(session, case.id)
    in_plan = {n.seq for n in current_plan(session, case)}
    by_name = {c.name: c for c in clocks if is_node_clock(c.name)}
    per_node = next((name for name, c in workflow.clocks.items() if c.per == "node"), None)
    departments = names_by_id(session, Department, [n.department_id for n in nodes])
    people = names_by_id(session, User, [n.completed_by_id for n in nodes])
    read = []
    for node in nodes:
        clock = by_name.get(node_clock_name(per_node, node.seq)) if per_node else None
        status, late = node_status(node, clock, calendar, now)
        read.append(
            {
                "seq": node.seq,
                "name": node.name,
                "department_id": node.department_id,
                "department": departments.get(node.department_id) if node.department_id else None,
                "due_text": node.due_text,
                "due_at": node.due_at,
                "evidence_required": node.evidence_required,
                "status": node.status,
                "in_plan": node.seq in in_plan,  # of the plan in force; else history of an earlier department
                "light": status,
                "late_by": late,
                "completed_at": node.completed_at,
                "completed_by": people.get(node.completed_by_id) if node.completed_by_id else None,
                "completion_note": node.completion_note,
                "attachment_ids": list(node.attachment_ids or []),
            }
        )
    change = pending_change(session, case.id)
    pending = None
    if change is not None:
        proposer = session.get(User, change.proposed_by_id) if change.proposed_by_id else None
        rows, removes = change_rows(change, nodes, departments)
        pending = {
            "id": change.id,
            "reason": change.reason,
            "proposed_at": change.proposed_at,
            "proposed_by": proposer.display_name if proposer else None,
            "nodes": rows,
            "removes": removes,
            "completed_since": [r["seq"] for r in rows if r["change"] == "completed_since"],
        }
    return {
        "key": True,
        "lead_leader": {"id": leader.id, "name": leader.display_name, "active": leader.active} if leader else None,
        "nodes": read,
        "pending_node_change": pending,
    }


def change_rows(
    change: NodePlanChange, nodes: list[CaseNode], departments: dict[int, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What a pending change would do, row by row, for the supervisor deciding it: each proposed row with `change` =
    "new" (a new node), "unchanged", "changed" (with `changes`: the fields that differ — "name", "department",
    "due", "evidence" — and `was`: the node as it is), "completed" (a completed node the change keeps) or
    "completed_since" (open when proposed, completed since: it stays completed and the row is ignored on approval);
    and the open nodes the change leaves out, removed on approval ([{"seq", "name", "department", "due_text",
    "due_at"}])."""
    by_seq = {n.seq: n for n in nodes}
    listed = {r.get("seq") for r in change.plan if r.get("seq")}
    rows = []
    for row in change.plan:
        node = by_seq.get(row["seq"]) if row.get("seq") else None
        read: dict[str, Any] = {**row}
        if node is None:
            read["change"] = "new"
        elif node.status == NodeStatus.done:
            read["change"] = "completed" if row.get("completed") else "completed_since"
            read["completed_at"] = node.completed_at
        else:
            differs = []
            if node.name != row["name"]:
                differs.append("name")
            if node.department_id != row.get("department_id"):
                differs.append("department")
            if node.due_text != due_text_of(row):
                differs.append("due")
            if node.evidence_required != row.get("evidence_required"):
                differs.append("evidence")
            read["change"] = "changed" if differs else "unchanged"
            read["changes"] = differs
            read["was"] = {
                "name": node.name,
                "department": departments.get(node.department_id) if node.department_id else None,
                "due_text": node.due_text,
                "due_at": node.due_at,
                "evidence_required": node.evidence_required,
            }
        rows.append(read)
    removes = [
        {
            "seq": n.seq,
            "name": n.name,
            "department": departments.get(n.department_id) if n.department_id else None,
            "due_text": n.due_text,
            "due_at": n.due_at,
        }
        for n in nodes
        if n.status == NodeStatus.open and n.seq not in listed
    ]
    return rows, removes


@dataclass(frozen=True)
class LateNode:
    """An open node past its due time, for the board: its case, number, name, due time (UTC), how many working
    days late (a begun one counts) and the responsible department's name."""

    case_no: str
    case_title: str
    case_version: int
    workflow: str
    seq: int
    name: str
    due_at: datetime
    late_by: int
    department: str | None
    case_department: str | None


def late_nodes(
    session: Session, calendar: WorkCalendar, now: datetime, *, open_states: Collection[str], limit: int = 20
) -> tuple[list[LateNode], int]:
    """The open nodes past due of cases in `open_states`, the longest late first (at most `limit`), and how many
    there are in all. Two queries (ix_case_nodes_open)."""
    where = (
        CaseNode.status == NodeStatus.open,
        col(CaseNode.due_at) <= now,
        col(Case.state).in_(list(open_states)),
    )
    total = int(
        session.exec(
            select(func.count()).select_from(CaseNode).join(Case, col(Case.id) == CaseNode.case_id).where(*where)
        ).one()
    )
    rows = session.exec(
        select(CaseNode, Case)
        .join(Case, col(Case.id) == CaseNode.case_id)
        .where(*where)
        .order_by(col(CaseNode.due_at), col(CaseNode.id))
        .limit(limit)
    ).all()
    departments = names_by_id(
        session, Department, [n.department_id for n, _c in rows] + [c.department_id for _n, c in rows]
    )
    found = [
        LateNode(
            case_no=case.case_no,
            case_title=case.title,
            case_version=case.version,
            workflow=case.workflow,
            seq=node.seq,
            name=node.name,
            due_at=node.due_at,
            late_by=late_by(calendar, node.due_at, now, NODE_UNIT),
            department=departments.get(node.department_id) if node.department_id else None,
            case_department=departments.get(case.department_id) if case.department_id else None,
        )
        for node, case in rows
    ]
    return found, total


def pending_changes_count(session: Session) -> int:
    return int(
        session.exec(select(func.count()).select_from(NodePlanChange).where(NodePlanChange.status == "pending")).one()
    )
