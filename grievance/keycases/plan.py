"""A key case's plan of nodes (节点管控): reading the rows a department sends, setting the first plan, applying an
approved change, completing a node, and what the case page, the lists and the guards read of the nodes.

The workflow engine calls these from its field types ("nodes", "node", "attachments", "leader": engine._coerce) and
from the effects and guards a workflow file names (workflow/effects.py, workflow/guards.py). Each node runs the
workflow's `per: node` clock as a CaseClock row of its own (workflow/clocks.start_node_clock): the sweeper urges it
and records it overdue like any clock, and no rate or list due time counts it (workflow/definition.is_node_clock).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from grievance.cases.models import Attachment, Case, CaseClock
from grievance.errors import InvalidInput
from grievance.glossary import NodeStatus, Role
from grievance.keycases.models import CaseNode, NodePlanChange
from grievance.reference.models import Department
from grievance.users.models import User
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.context import ActionContext
from grievance.workflow.definition import ClockDef, WorkflowDef, node_clock_name

MAX_NODES = 30  # rows of one plan
MAX_WORKING_DAYS = 250  # about a working year
MAX_NAME = 200
NODE_UNIT = "working_days"  # a node set in N working days: late by working days, moved by calendar changes
DATE_UNIT = "days"  # a node due on a date stays on that date whatever the calendar does


def _problem(errors: list[dict[str, Any]], row: int | None, zh: str, en: str, field: str = "nodes") -> None:
    where_zh = f"第{row}个节点：" if row is not None else ""
    where_en = f"node row {row}: " if row is not None else ""
    errors.append({"field": field, "message": f"{where_zh}{zh}", "message_en": f"{where_en}{en}"})


def _department(session: Session, value: Any) -> Department | None:
    from grievance.db import find_by_ref

    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return find_by_ref(session, Department, value, "code")


def parse_plan(
    session: Session, value: Any, *, case: Case | None, today: date, label: str = "节点", label_en: str = "Nodes"
) -> list[dict[str, Any]]:
    """The rows of a plan of nodes as the engine stores them in the event, or InvalidInput (422, field of the
    action, every row's problems at once, rows numbered from 1).

    `value`: a list of 1..MAX_NODES objects {"name": text (required, at most 200 characters), "department_id": a
    department id or code (default: the case's department; 责任单位), "working_days": 1..250 (N working days from
    when the plan takes effect) or "due_date": "YYYY-MM-DD" (a local day, today or later: due at its end), exactly
    one of the two, "evidence_required": bool (default false: completion then needs no attachment), "seq": the
    number of an existing open node this row keeps (plan changes only; rows without it are new nodes)}.
    Returns [{"seq": int | None, "name", "department_id": int | None, "department": name, "working_days": int |
    None, "due_date": ISO day | None, "evidence_required": bool}]."""
    errors: list[dict[str, Any]] = []
    if not isinstance(value, list) or not value:
        raise InvalidInput.field(
            "nodes",
            f"{label}应为至少一个节点的列表（名称、责任单位、时限、是否须上传佐证）",
            f"{label_en} must be a list of at least one node (name, department, due, evidence required)",
        )
    if len(value) > MAX_NODES:
        raise InvalidInput.field(
            "nodes", f"一个计划最多 {MAX_NODES} 个节点", f"a plan has at most {MAX_NODES} nodes; got {len(value)}"
        )
    rows: list[dict[str, Any]] = []
    seen_seq: set[int] = set()
    for number, raw in enumerate(value, start=1):
        if not isinstance(raw, dict):
            _problem(errors, number, "应为包含名称和时限的对象", "must be an object with a name and a due")
            continue
        unknown = sorted(set(raw) - {"seq", "name", "department_id", "working_days", "due_date", "evidence_required"})
        if unknown:
            _problem(
                errors,
                number,
                f"不接受字段 {', '.join(unknown)}",
                f"unknown field(s) {', '.join(unknown)}; accepted: seq, name, department_id, working_days, due_date, "
                "evidence_required",
            )
        name = raw.get("name")
        name = name.strip() if isinstance(name, str) else ""
        if not name:
            _problem(errors, number, "名称为必填项", "the name is required")
        elif len(name) > MAX_NAME or "\x00" in name:
            _problem(errors, number, f"名称不能超过{MAX_NAME}字", f"the name must be at most {MAX_NAME} characters")
        department_id = case.department_id if case is not None else None
        department_name = None
        if raw.get("department_id") not in (None, ""):
            found = _department(session, raw["department_id"])
            if found is None:
                _problem(
                    errors,
                    number,
                    f"责任单位 {raw['department_id']} 不存在",
                    f"no department {raw['department_id']!r}: give a department id or code",
                )
            else:
                department_id, department_name = found.id, found.name
        elif department_id is not None:
            found = session.get(Department, department_id)
            department_name = found.name if found else None
        days, day = raw.get("working_days"), raw.get("due_date")
        days = None if days in (None, "") else days
        day = None if day in (None, "") else day
        due_date: date | None = None
        if (days is None) == (day is None):
            _problem(
                errors,
                number,
                "请填写时限：工作日数或完成日期（二选一）",
                "give the due as working_days or due_date (one of the two)",
            )
        elif days is not None and (isinstance(days, bool) or not isinstance(days, int)):
            _problem(errors, number, "工作日数应为整数", "working_days must be a whole number")
        elif days is not None and not 1 <= days <= MAX_WORKING_DAYS:
            _problem(
                errors,
                number,
                f"工作日数应在 1 到 {MAX_WORKING_DAYS} 之间",
                f"working_days must be between 1 and {MAX_WORKING_DAYS}",
            )
        elif day is not None:
            try:
                due_date = date.fromisoformat(str(day))
            except ValueError:
                _problem(errors, number, "完成日期应为 2025-10-31 这样的日期", "due_date must be a day like 2025-10-31")
            else:
                if due_date < today:
                    _problem(
                        errors,
                        number,
                        f"完成日期 {due_date} 已过，应为今天（{today}）或以后",
                        f"due_date {due_date} has passed; give today ({today}) or later",
                    )
                elif due_date > today + timedelta(days=3 * 366):
                    _problem(errors, number, "完成日期不能超过三年后", "due_date must be within three years")
        evidence = raw.get("evidence_required", False)
        if not isinstance(evidence, bool):
            _problem(errors, number, "是否须上传佐证应为 true 或 false", "evidence_required must be true or false")
        seq = raw.get("seq")
        if seq is not None:
            if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
                _problem(errors, number, "节点序号应为正整数", "seq must be a positive whole number")
                seq = None
            elif seq in seen_seq:
                _problem(errors, number, f"节点 {seq} 列了两次", f"node {seq} is listed twice")
            else:
                seen_seq.add(seq)
        rows.append(
            {
                "seq": seq,
                "name": name,
                "department_id": department_id,
                "department": department_name,
                "working_days": days if isinstance(days, int) and not isinstance(days, bool) else None,
                "due_date": due_date.isoformat() if due_date else None,
                "evidence_required": evidence is True,
            }
        )
    if case is not None and case.id is not None and seen_seq:
        open_seqs = {n.seq for n in nodes_of(session, case.id) if n.status == NodeStatus.open}
        for number, row in enumerate(rows, start=1):
            if row["seq"] is not None and row["seq"] not in open_seqs:
                _problem(
                    errors,
                    number,
                    f"节点 {row['seq']} 不是本件进行中的节点",
                    f"node {row['seq']} is no open node of this case; leave seq out for a new node",
                )
    if errors:
        raise InvalidInput(f"{label}有误", f"invalid {label_en.lower()}", errors)
    return rows


def nodes_of(session: Session, case_id: int) -> list[CaseNode]:
    """Every node of the case, removed ones included, in plan order (seq)."""
    return list(session.exec(select(CaseNode).where(CaseNode.case_id == case_id).order_by(col(CaseNode.seq))).all())


def open_nodes(session: Session, case_id: int) -> list[CaseNode]:
    return [n for n in nodes_of(session, case_id) if n.status == NodeStatus.open]


def pending_change(session: Session, case_id: int) -> NodePlanChange | None:
    """The plan change of the case waiting for the supervisor, if any."""
    return session.exec(
        select(NodePlanChange).where(NodePlanChange.case_id == case_id, NodePlanChange.status == "pending")
    ).first()


def node_clock_def(workflow: WorkflowDef) -> tuple[str, ClockDef]:
    """The workflow's `per: node` clock (the loader insists there is one wherever node effects are used)."""
    return next((name, c) for name, c in workflow.clocks.items() if c.per == "node")


def default_working_days(workflow: WorkflowDef, case: Case) -> int | None:
    """The length a new node's form offers: the per-node clock's limit for this case in working days, if any."""
    found = [c for c in workflow.clocks.values() if c.per == "node"]
    if not found:
        return None
    rule = found[0].limit_for(urgency=case.urgency, case_type=case.case_type, channel=case.channel)
    return int(rule.amount) if rule.unit == "working_days" else None


def _due_text(row: dict[str, Any]) -> str:
    return f"{int(row['working_days'])} {NODE_UNIT}" if row.get("working_days") else str(row.get("due_date"))


def due_of(row: dict[str, Any], calendar: WorkCalendar, now: datetime) -> tuple[datetime, str, str]:
    """(due time UTC, due_text, clock limit text) of a plan row taking effect at `now`: N working days from now, or
    the end of the given local day."""
    if row.get("working_days"):
        days = int(row["working_days"])
        return calendar.add(now, days, NODE_UNIT), f"{days} {NODE_UNIT}", f"{days} {NODE_UNIT}"
    day = date.fromisoformat(row["due_date"])
    due = calendar.local_midnight(day + timedelta(days=1)).astimezone(UTC)
    return due, row["due_date"], f"{row['due_date']} {DATE_UNIT}"


def _start(ctx: ActionContext, node: CaseNode, limit_text: str) -> None:
    from grievance.workflow.clocks import start_node_clock

    name, definition = node_clock_def(ctx.workflow)
    start_node_clock(ctx, node_clock_name(name, node.seq), definition, node.due_at, limit_text)


def _stop(ctx: ActionContext, node: CaseNode) -> None:
    name, _definition = node_clock_def(ctx.workflow)
    clock = ctx.clocks.get(node_clock_name(name, node.seq))
    if clock is not None and clock.stopped_at is None:
        from grievance.workflow.clocks import stop_node_clock

        stop_node_clock(ctx, clock)


def _row_with_due(row: dict[str, Any], node: CaseNode) -> dict[str, Any]:
    return {**row, "seq": node.seq, "due_at": node.due_at.isoformat()}


def set_first_plan(ctx: ActionContext, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plan's nodes numbered 1..n, each with its clock started now. Returns the rows with seq and due_at (ISO
    UTC) for the event."""
    written = []
    for seq, row in enumerate(rows, start=1):
        due, due_text, limit_text = due_of(row, ctx.calendar, ctx.now)
        node = CaseNode(
            case_id=ctx.case.id,  # type: ignore[arg-type]
            seq=seq,
            name=row["name"],
            department_id=row["department_id"],
            due_text=due_text,
            due_at=due,
            evidence_required=row["evidence_required"],
            created_at=ctx.now,
        )
        ctx.session.add(node)
        _start(ctx, node, limit_text)
        written.append(_row_with_due(row, node))
    return written


def apply_change(ctx: ActionContext, change: NodePlanChange) -> list[dict[str, Any]]:
    """An approved change becomes the plan: rows naming an open node (seq) update it (a new due restarts its clock
    from now, as a new round the sweeper urges afresh), rows without seq become new nodes numbered after the last,
    open nodes the change leaves out are removed (their clocks stop); completed nodes stay as they were."""
    existing = {n.seq: n for n in nodes_of(ctx.session, ctx.case.id)}  # type: ignore[arg-type]
    next_seq = max(existing, default=0) + 1
    kept: set[int] = set()
    written = []
    for row in change.plan:
        node = existing.get(row["seq"]) if row.get("seq") else None
        if node is not None and node.status != NodeStatus.open:
            node = None  # completed or removed since the proposal: the row becomes a new node
        if node is None:
            node = CaseNode(case_id=ctx.case.id, seq=next_seq, name="", due_text="", due_at=ctx.now, created_at=ctx.now)  # type: ignore[arg-type]
            next_seq += 1
            new_due = True
        else:
            # A row that gives the due as the node has it keeps the node's clock; another due is a new round.
            new_due = node.due_text != _due_text(row)
        kept.add(node.seq)
        node.name = row["name"]
        node.department_id = row["department_id"]
        node.evidence_required = row["evidence_required"]
        if new_due:
            node.due_at, node.due_text, limit_text = due_of(row, ctx.calendar, ctx.now)
            ctx.session.add(node)
            _start(ctx, node, limit_text)
        ctx.session.add(node)
        written.append(_row_with_due(row, node))
    for seq, node in existing.items():
        if node.status == NodeStatus.open and seq not in kept:
            node.status = NodeStatus.removed.value
            ctx.session.add(node)
            _stop(ctx, node)
    return written


def complete(ctx: ActionContext, node: CaseNode, note: str, attachments: list[Attachment]) -> None:
    """The node is done now by the actor, with the note and files; its clock stops (met by its due time or late).
    InvalidInput (422, field attachment_ids) when the node requires evidence and no file is given."""
    if node.evidence_required and not attachments:
        raise InvalidInput.field(
            "attachment_ids",
            f"节点「{node.name}」须上传佐证材料（附件）后才能完成",
            f'node "{node.name}" needs evidence: attach at least one file to complete it',
        )
    node.status = NodeStatus.done.value
    node.completed_at = ctx.now
    node.completed_by_id = ctx.actor.id
    node.completion_note = note
    node.attachment_ids = [a.id for a in attachments if a.id is not None]
    ctx.session.add(node)
    _stop(ctx, node)


def open_node_problem(session: Session | None, case: Case) -> tuple[str, str] | None:
    """Why the case may not resolve yet: its open nodes by number and name, (Chinese, English), or None."""
    if session is None or case.key_reason is None or case.id is None:
        return None
    waiting = open_nodes(session, case.id)
    if not waiting:
        return None
    names = "、".join(f"{n.seq}. {n.name}" for n in waiting)
    names_en = ", ".join(f"{n.seq}. {n.name}" for n in waiting)
    return (
        f"节点未完成：{names}；须全部完成后才能办结",
        f"open nodes: {names_en}; complete every node before resolving",
    )


def coerce_node(session: Session, value: Any, case: Case | None, label: str, label_en: str) -> CaseNode:
    """An open node of the case by its number (seq), or InvalidInput naming the open ones."""
    seq = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isdigit():
        seq = int(value.strip())
    waiting = open_nodes(session, case.id) if case is not None and case.id is not None else []
    found = next((n for n in waiting if n.seq == seq), None)
    if found is None:
        accepted = "、".join(f"{n.seq}（{n.name}）" for n in waiting) or "无"
        accepted_en = ", ".join(f"{n.seq} ({n.name})" for n in waiting) or "none"
        raise InvalidInput.field(
            "node",
            f"{label}：{value} 不是本件进行中的节点；可选：{accepted}",
            f"{label_en}: {value!r} is no open node of this case; open nodes: {accepted_en}",
        )
    return found


def coerce_attachments(session: Session, value: Any, case: Case | None, label: str, label_en: str) -> list[Attachment]:
    """Files of this case by id (a list of ids; a single id is taken as a list of one), or InvalidInput."""
    values = value if isinstance(value, list) else [value]
    ids = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31]
    if len(ids) != len(values):
        raise InvalidInput.field(
            "attachment_ids", f"{label}应为本件附件编号的列表", f"{label_en} must be a list of this case's file ids"
        )
    found = []
    if ids and case is not None and case.id is not None:
        found = list(
            session.exec(select(Attachment).where(col(Attachment.id).in_(ids), Attachment.case_id == case.id)).all()
        )
    missing = sorted(set(ids) - {a.id for a in found})
    if missing:
        raise InvalidInput.field(
            "attachment_ids",
            f"{label}：附件 {', '.join(map(str, missing))} 不是本件的附件",
            f"{label_en}: {', '.join(map(str, missing))} are no files of this case; upload them to the case first",
        )
    return sorted(found, key=lambda a: a.id or 0)


def coerce_leader(session: Session, value: Any, label: str, label_en: str) -> User:
    """An active user of role leader (包案领导) by id or username, or InvalidInput saying who is accepted."""
    from grievance.db import find_by_ref

    user = find_by_ref(session, User, value, "username") if isinstance(value, int | str) else None
    if user is None or isinstance(value, bool):
        raise InvalidInput.field(
            "lead_leader_id", f"{label}：没有用户 {value}", f"{label_en}: no user {value!r}; give a user id or username"
        )
    if user.role != Role.leader:
        raise InvalidInput.field(
            "lead_leader_id",
            f"{label}：{user.display_name} 不是领导，包案领导须为领导账号",
            f"{label_en}: {user.display_name} is not a leader; a lead leader is a user of role leader",
        )
    if not user.active:
        raise InvalidInput.field(
            "lead_leader_id",
            f"{label}：{user.display_name} 的账号已停用",
            f"{label_en}: {user.display_name}'s account is deactivated",
        )
    return user


def active_leaders(session: Session) -> list[User]:
    """The users a lead leader may be chosen from, by name."""
    return list(
        session.exec(
            select(User).where(User.role == Role.leader, User.active == True).order_by(col(User.display_name))  # noqa: E712
        ).all()
    )


def node_clocks(clocks: list[CaseClock]) -> dict[str, CaseClock]:
    return {c.name: c for c in clocks}
