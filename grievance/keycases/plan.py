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
from grievance.cases.prefetch import NODES, PENDING_CHANGES, prefetched
from grievance.errors import InvalidInput, RefusedByRule
from grievance.glossary import DEPARTMENT_ROLES, NodeStatus, Role
from grievance.identifiers import halfwidth
from grievance.keycases.models import CaseNode, NodePlanChange
from grievance.reference.models import Department
from grievance.reference.schemas import written_day
from grievance.users.models import User
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.context import ActionContext
from grievance.workflow.definition import RESOLVE_CLOCK, ClockDef, WorkflowDef, node_clock_name

MAX_NODES = 30  # rows of one plan
MAX_WORKING_DAYS = 250  # about a working year
MAX_NAME = 200
NODE_UNIT = "working_days"  # a node set in N working days: late by working days, moved by calendar changes
DATE_UNIT = "days"  # a node due on a date stays on that date whatever the calendar does (and never pauses)
# Nodes that have left the plan: dropped by an approved change, or withdrawn when the case left the department that
# planned them. No figure, sheet or map counts them; the case page shows them as history.
LEFT_PLAN: tuple[str, ...] = (NodeStatus.removed.value, NodeStatus.withdrawn.value)


def _problem(errors: list[dict[str, Any]], row: int | None, zh: str, en: str, field: str = "nodes") -> None:
    where_zh = f"第{row}个节点：" if row is not None else ""
    where_en = f"node row {row}: " if row is not None else ""
    errors.append({"field": field, "message": f"{where_zh}{zh}", "message_en": f"{where_en}{en}"})


def _department(session: Session, value: Any) -> Department | None:
    from grievance.db import find_by_ref

    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return find_by_ref(session, Department, value, "code")


def _name_key(name: str) -> str:
    """How two node names are compared for duplicates: trimmed, inner blanks as one, case and width folded."""
    return " ".join(halfwidth(name).split()).casefold()


def _day(text: Any) -> date:
    """A due day as the list filters read it (grievance.reference.schemas.written_day: 2026-12-20, 2026/12/20,
    2026年12月20日, 20261220, full-width digits too), else ISO; ValueError when it is none of them."""
    return written_day(str(text)) or date.fromisoformat(halfwidth(str(text)).strip())


def parse_plan(
    session: Session, value: Any, *, case: Case | None, today: date, label: str = "节点", label_en: str = "Nodes"
) -> list[dict[str, Any]]:
    """The rows of a plan of nodes as the engine stores them in the event, or InvalidInput (422, field of the
    action, every row's problems at once, rows numbered from 1).

    `value`: a list of 1..MAX_NODES objects {"name": text (required, at most 200 characters; two rows may not have
    the same name, compared trimmed and case-insensitively), "department_id": a department id or code (default:
    the case's department; 责任单位: the lead or an assisting department whose part is not withdrawn,
    `node_departments`; never the department a report (举报) accuses), "working_days": 1..250 (N
    working days from when the plan takes effect) or "due_date": a local day, today or later, written as the list
    filters take it (2025-10-31, 2025/10/31, 2025年10月31日: due at its end), exactly one of the two,
    "evidence_required": bool (default false: completion then needs no attachment), "seq": the number of a node of
    the plan in force (plan changes: an open node this row keeps and may update; a completed node is kept as it is
    and the rest of its row is ignored — a change that lists only completed nodes drops every open one; rows
    without seq are new nodes)}.
    Returns [{"seq": int | None, "name", "department_id": int | None, "department": name, "working_days": int |
    None, "due_date": ISO day | None, "evidence_required": bool}], and "completed": true on a completed node's
    row."""
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
    plan = {n.seq: n for n in current_plan(session, case)} if case is not None and case.id is not None else {}
    allowed = node_departments(session, case) if case is not None else {}
    rows: list[dict[str, Any]] = []
    seen_seq: set[int] = set()
    seen_names: dict[str, int] = {}
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
                f"fields not accepted: {', '.join(unknown)}; accepted: seq, name, department_id, working_days, due_date, "
                "evidence_required",
            )
        seq = raw.get("seq")
        if seq is not None:
            if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
                _problem(errors, number, "节点序号应为正整数", "seq must be a positive whole number")
                seq = None
            elif seq in seen_seq:
                _problem(errors, number, f"节点 {seq} 列了两次", f"node {seq} is listed twice")
            else:
                seen_seq.add(seq)
        kept = plan.get(seq) if seq is not None else None
        if kept is not None and kept.status == NodeStatus.done:
            # A completed node stays as it was: its row only says the change keeps it.
            _same_name(errors, seen_names, number, kept.name)
            rows.append(_completed_row(session, kept))
            continue
        if seq is not None and (kept is None or kept.status != NodeStatus.open):
            _problem(
                errors,
                number,
                f"节点 {seq} 不是本件现行计划中的节点",
                f"node {seq} is no node of this case's plan in force; leave seq out for a new node",
            )
        name = raw.get("name")
        name = name.strip() if isinstance(name, str) else ""
        if not name:
            _problem(errors, number, "名称为必填项", "the name is required")
        elif len(name) > MAX_NAME or "\x00" in name:
            _problem(errors, number, f"名称不能超过{MAX_NAME}字", f"the name must be at most {MAX_NAME} characters")
        else:
            _same_name(errors, seen_names, number, name)
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
        if case is not None and department_id is not None and department_id == case.accused_department_id:
            _problem(
                errors,
                number,
                "举报件的节点不能交给被举报单位，请另选责任单位",
                "a report's node cannot be given to the department it accuses; choose another department",
            )
        elif department_id is not None and allowed and department_id not in allowed:
            _problem(
                errors,
                number,
                f"{department_name or department_id} 不是本件的主办或协办单位；责任单位可选：{'、'.join(allowed.values())}",
                f"{department_name or department_id} is neither the lead nor an assisting department of this case; "
                f"a node's department is one of: {', '.join(allowed.values())}",
            )
        days, day = raw.get("working_days"), raw.get("due_date")
        days = None if days in (None, "") else days
        day = None if day in (None, "") else day
        due_date: date | None = None
        if days is None and day is None:
            _problem(
                errors,
                number,
                "请填写时限：工作日数或完成日期（二选一）",
                "give the due as working_days or due_date (one of the two)",
            )
        elif days is not None and day is not None:
            _problem(
                errors,
                number,
                "工作日数和完成日期只能填一项，不能同时填写",
                "give only one of working_days and due_date, not both",
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
                due_date = _day(day)
            except ValueError:
                _problem(
                    errors,
                    number,
                    "完成日期应为日期，如 2025-10-31 或 2025/10/31",
                    "due_date must be a day like 2025-10-31 or 2025/10/31",
                )
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
    if errors:
        raise InvalidInput(f"{label}有误", f"invalid {label_en.lower()}", errors)
    return rows


def node_departments(session: Session, case: Case) -> dict[int, str]:
    """{department id: name} of the departments a node of the case may be given to (责任单位): the lead (the
    case's department) first, then each assisting department with a part that is not withdrawn (it sees the case:
    keycases/parts.VISIBLE_STATUSES), in the order their parts were sent. Empty for a case with no department."""
    from grievance.keycases.parts import VISIBLE_STATUSES, parts_of

    if case.department_id is None:
        return {}
    ids = [case.department_id]
    if case.id is not None:
        ids += [p.department_id for p in parts_of(session, case.id) if p.status in VISIBLE_STATUSES]
    names = dict(session.exec(select(Department.id, Department.name).where(col(Department.id).in_(ids))).all())
    return {i: names.get(i, str(i)) for i in dict.fromkeys(ids)}


def _same_name(errors: list[dict[str, Any]], seen: dict[str, int], number: int, name: str) -> None:
    """Refuse a row whose name another row of the plan already has (trimmed, case-insensitive), naming both."""
    key = _name_key(name)
    if key in seen:
        _problem(
            errors,
            number,
            f"名称「{name}」与第{seen[key]}个节点重复，请区分节点名称",
            f'the name "{name}" is the same as node row {seen[key]}\'s; give each node its own name',
        )
    else:
        seen[key] = number


def _completed_row(session: Session, node: CaseNode) -> dict[str, Any]:
    department = session.get(Department, node.department_id) if node.department_id else None
    days = node.due_text.split(" ")[0] if node.due_text.endswith(f" {NODE_UNIT}") else None
    return {
        "seq": node.seq,
        "name": node.name,
        "department_id": node.department_id,
        "department": department.name if department else None,
        "working_days": int(days) if days and days.isdigit() else None,
        "due_date": None if days else node.due_text,
        "evidence_required": node.evidence_required,
        "completed": True,
    }


def nodes_of(session: Session, case_id: int) -> list[CaseNode]:
    """Every node of the case, removed ones included, in plan order (seq)."""
    kept = prefetched(session, NODES, case_id)
    if kept is not None:
        return kept
    return list(session.exec(select(CaseNode).where(CaseNode.case_id == case_id).order_by(col(CaseNode.seq))).all())


def open_nodes(session: Session, case_id: int) -> list[CaseNode]:
    return [n for n in nodes_of(session, case_id) if n.status == NodeStatus.open]


def current_plan(session: Session, case: Case | None) -> list[CaseNode]:
    """The nodes of the plan in force, in seq order: those set since the case came to its current department
    (created at or after `cases.dispatched_at`, which dispatch and claim set; every node when it is unset), withdrawn
    ones left out. Nodes of an earlier department — completed, removed or withdrawn when the case left it — are
    history: the case page shows them, the plan guards (no_node_plan_yet, has_node_plan) do not count them."""
    if case is None or case.id is None:
        return []
    since = case.dispatched_at
    return [
        n
        for n in nodes_of(session, case.id)
        if n.status != NodeStatus.withdrawn and (since is None or n.created_at >= since)
    ]


def pending_change(session: Session, case_id: int) -> NodePlanChange | None:
    """The plan change of the case waiting for the supervisor, if any."""
    kept = prefetched(session, PENDING_CHANGES, case_id)
    if kept is not None:
        return kept[0] if kept else None
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


def due_text_of(row: dict[str, Any]) -> str:
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
        node.due_at = clock.due_at  # a paused clock resumed to stop: the node's due is its clock's (docs M1)


def _row_with_due(row: dict[str, Any], node: CaseNode) -> dict[str, Any]:
    return {**row, "seq": node.seq, "due_at": node.due_at.isoformat()}


def set_first_plan(ctx: ActionContext, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plan's nodes numbered after the case's last node (1..n for a case's first plan; a department that got
    the case after another set its own keeps the earlier numbers as history), each with its clock started now.
    Returns the rows with seq and due_at (ISO UTC) for the event."""
    written = []
    first = max((n.seq for n in nodes_of(ctx.session, ctx.case.id)), default=0) + 1  # type: ignore[arg-type]
    for seq, row in enumerate(rows, start=first):
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


def apply_change(ctx: ActionContext, change: NodePlanChange) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An approved change becomes the plan: rows naming an open node (seq) update it (a new due restarts its clock
    from now, as a new round the sweeper urges afresh), rows without seq become new nodes numbered after the last,
    open nodes the change leaves out are removed (their clocks stop). Completed nodes stay as they were, whether
    the proposal listed them as completed or they were completed while it waited: such a row is ignored.
    Returns (the rows now in force with seq and due_at, for the event; [{"seq", "name", "completed_at"}] of the
    nodes completed since the proposal whose rows were ignored)."""
    existing = {n.seq: n for n in nodes_of(ctx.session, ctx.case.id)}  # type: ignore[arg-type]
    next_seq = max(existing, default=0) + 1
    kept: set[int] = set()
    written = []
    ignored = []
    for row in change.plan:
        node = existing.get(row["seq"]) if row.get("seq") else None
        if node is not None and node.status == NodeStatus.done:
            kept.add(node.seq)
            if not row.get("completed"):  # open when proposed, completed since: the row would undo nothing
                ignored.append({"seq": node.seq, "name": node.name, "completed_at": _iso(node.completed_at)})
            written.append({**_completed_row(ctx.session, node), "due_at": node.due_at.isoformat()})
            continue
        if node is not None and node.status != NodeStatus.open:
            node = None  # removed or withdrawn since the proposal: the row becomes a new node
        if node is None:
            node = CaseNode(case_id=ctx.case.id, seq=next_seq, name="", due_text="", due_at=ctx.now, created_at=ctx.now)  # type: ignore[arg-type]
            next_seq += 1
            new_due = True
        else:
            # A row that gives the due as the node has it keeps the node's clock; another due is a new round.
            new_due = node.due_text != due_text_of(row)
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
    return written, ignored


def proposed_dues(ctx: ActionContext, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of a proposed change with seq and due_at (ISO UTC) as they would be if it were approved now, for
    plan_warnings: a kept open node whose due is unchanged keeps its due time; others count from now. Writes
    nothing."""
    existing = {n.seq: n for n in nodes_of(ctx.session, ctx.case.id)}  # type: ignore[arg-type]
    found = []
    for row in rows:
        node = existing.get(row["seq"]) if row.get("seq") else None
        if row.get("completed"):
            continue
        if node is not None and node.due_text == due_text_of(row):
            due = node.due_at
        else:
            due = due_of(row, ctx.calendar, ctx.now)[0]
        found.append({**row, "due_at": due.isoformat()})
    return found


def kept_completed_warning(ignored: list[dict[str, Any]]) -> dict[str, str]:
    """The approval's notice that nodes completed while the change waited stay completed (their rows ignored)."""
    listed = "、".join(f"{n['seq']}. {n['name']}" for n in ignored)
    listed_en = ", ".join(f"{n['seq']}. {n['name']}" for n in ignored)
    return {
        "field": "nodes",
        "message": f"节点 {listed} 在申请后已完成，保持已完成，调整中对应的行未采用",
        "message_en": "completed after the change was proposed, so kept completed and their rows of the change "
        f"ignored: nodes {listed_en}",
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def withdraw_open(ctx: ActionContext, note: str = "") -> list[dict[str, Any]]:
    """The case leaves the department that planned its nodes (a return, a re-dispatch, a claim, a merge): every open
    node becomes withdrawn (its clock stops now) and a pending change to the plan is withdrawn too; completed and
    removed nodes stay as history. The next department sets a plan of its own (plan_nodes: current_plan is empty
    again). Returns [{"seq", "name"}] of the nodes withdrawn, for the event (`withdrawn_nodes`). Reads with
    autoflush off: the engine flushes the case's own changes once."""
    case_id = ctx.case.id
    if case_id is None or ctx.session is None:
        return []
    withdrawn = []
    with ctx.session.no_autoflush:
        for node in open_nodes(ctx.session, case_id):
            _stop(ctx, node)
            node.status = NodeStatus.withdrawn.value
            ctx.session.add(node)
            withdrawn.append({"seq": node.seq, "name": node.name})
        change = pending_change(ctx.session, case_id)
        if change is not None:
            change.status, change.decided_at = "withdrawn", ctx.now
            change.decision_note = note
            ctx.session.add(change)
    return withdrawn


def plan_warnings(
    session: Session, ctx_clocks: dict[str, CaseClock], calendar: WorkCalendar, rows: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """What a plan accepts but the person should know (the page's flash, the API's `warnings`, the event's
    `warnings`): a node given in working days due in a year whose statutory holidays the calendar does not know
    (its working days are then counted on weekends only, until the administrator loads the year; a node due by a
    date does not move, so it gets no such warning), and a node due after the case's own
    resolve due time (办结时限; a running or paused resolve clock). `rows` carry seq and due_at (ISO UTC), as
    set_first_plan and apply_change return them; completed nodes are left out. [{"field": "nodes", "message",
    "message_en"}], empty when nothing is worth saying."""
    warnings: list[dict[str, str]] = []
    live = [r for r in rows if not r.get("completed") and r.get("due_at")]

    def named(found: list[dict[str, Any]], sep: str) -> str:
        return sep.join(f"{r['seq']}. {r['name']}" if r.get("seq") else str(r["name"]) for r in found)

    unknown: dict[int, list[dict[str, Any]]] = {}
    for row in live:
        if row.get("working_days") is None:
            continue  # due by a date: it stays on that date whatever the year's holidays turn out to be
        due = datetime.fromisoformat(row["due_at"])
        year = (due - timedelta(seconds=1)).astimezone(calendar.tz).year  # due at 24:00 is that day's
        if not calendar.knows_year(year) and not any(d.year == year for d in calendar.overrides):
            unknown.setdefault(year, []).append(row)
    for year, found in sorted(unknown.items()):
        warnings.append(
            {
                "field": "nodes",
                "message": f"节点 {named(found, '、')} 的到期日在 {year} 年，系统尚无该年法定节假日数据，工作日暂按周末"
                "计算；请管理员导入该年节假日后再核对到期日",
                "message_en": f"due in {year}, a year whose statutory holidays the calendar does not know yet: "
                f"nodes {named(found, ', ')}. Working days are counted on weekends only until an administrator "
                "loads the year; check the due times then",
            }
        )
    resolve = ctx_clocks.get(RESOLVE_CLOCK)
    if resolve is not None and resolve.stopped_at is None:
        late = [r for r in live if datetime.fromisoformat(r["due_at"]) > resolve.due_at]
        if late:
            local = (resolve.due_at - timedelta(seconds=1)).astimezone(calendar.tz).date()
            warnings.append(
                {
                    "field": "nodes",
                    "message": f"节点 {named(late, '、')} 的到期时间晚于本件办结时限（{local}），须在办结时限前完成全部节点",
                    "message_en": f"due after the case's own resolve due time ({local}): nodes "
                    f"{named(late, ', ')}. Every node must be done before the case can resolve",
                }
            )
    return warnings


def complete(ctx: ActionContext, node: CaseNode, note: str, attachments: list[Attachment]) -> None:
    """The node is done now by the actor, with the note and files; its clock stops (met by its due time or late).
    InvalidInput (422, field attachment_ids) when the node requires evidence and no file is given."""
    if node.evidence_required and not attachments:
        raise InvalidInput.field(
            "attachment_ids",
            f"节点「{node.name}」须上传佐证材料（附件）后才能完成",
            f'node "{node.name}" needs evidence: attach at least one file to complete it',
        )
    cited = cited_elsewhere(ctx.session, node.case_id, [a.id for a in attachments if a.id is not None], node_id=node.id)
    if cited:
        raise InvalidInput.field(
            "attachment_ids",
            f"附件已作为其他事项的佐证材料，不能再作为节点「{node.name}」的佐证：{'；'.join(z for z, _ in cited)}",
            f'already cited as evidence elsewhere, so not evidence of node "{node.name}": '
            f"{'; '.join(e for _, e in cited)}",
        )
    node.status = NodeStatus.done.value
    node.completed_at = ctx.now
    node.completed_by_id = ctx.actor.id
    node.completion_note = note
    node.attachment_ids = [a.id for a in attachments if a.id is not None]
    ctx.session.add(node)
    _stop(ctx, node)


def cited_elsewhere(
    session: Session, case_id: int, ids: list[int], *, node_id: int | None = None, part_id: int | None = None
) -> list[tuple[str, str]]:
    """Where the case's files `ids` are already cited as evidence: a node's completion (other than node `node_id`)
    or an assisting department's part report (other than part `part_id`). [(Chinese, English)] per file and place
    ("附件 12（整改报告.pdf）已是节点 1「现场核查」的佐证"), empty when none is. Three queries."""
    from grievance.keycases.models import CasePart

    if not ids:
        return []
    wanted = set(ids)
    names = dict(session.exec(select(Attachment.id, Attachment.filename).where(col(Attachment.id).in_(ids))).all())
    found: list[tuple[str, str]] = []
    for other in nodes_of(session, case_id):
        for a in sorted(wanted & set(other.attachment_ids or [])):
            if other.id != node_id:
                found.append(
                    (
                        f"附件 {a}（{names.get(a, '')}）已是节点 {other.seq}「{other.name}」的佐证",
                        f'file {a} ({names.get(a, "")}) is the evidence of node {other.seq} "{other.name}"',
                    )
                )
    parts = session.exec(select(CasePart).where(CasePart.case_id == case_id).order_by(col(CasePart.seq))).all()
    for part in parts:
        for a in sorted(wanted & set(part.attachment_ids or [])) if part.id != part_id else []:
            found.append(
                (
                    f"附件 {a}（{names.get(a, '')}）已是协办任务 {part.seq} 的反馈材料",
                    f"file {a} ({names.get(a, '')}) is the report file of assisting part {part.seq}",
                )
            )
    return found


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
    """A node of the case by its number (seq), whatever its status: the guard `has_open_nodes` refuses one that is
    not open with a 409 saying why (completed when, removed, withdrawn). A number naming no node is InvalidInput
    (422) listing the open ones; when none is open it is RefusedByRule (409): there is nothing to complete."""
    seq = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isdigit():
        seq = int(value.strip())
    every = nodes_of(session, case.id) if case is not None and case.id is not None else []
    found = next((n for n in every if n.seq == seq), None)
    if found is not None:
        return found
    waiting = [n for n in every if n.status == NodeStatus.open]
    if not waiting:
        raise RefusedByRule("没有进行中的节点", "no open node: there is nothing to complete")
    accepted = "、".join(f"{n.seq}（{n.name}）" for n in waiting)
    accepted_en = ", ".join(f"{n.seq} ({n.name})" for n in waiting)
    raise InvalidInput.field(
        "node",
        f"{label}：{value} 不是本件进行中的节点；可选：{accepted}",
        f"{label_en}: {value!r} is no open node of this case; open nodes: {accepted_en}",
    )


def node_not_open(node: CaseNode, calendar: WorkCalendar) -> tuple[str, str] | None:
    """Why a node named for completion cannot be completed, (Chinese, English), or None when it is open: completed
    (and when, local time), removed by a change, or withdrawn when the case left the department."""
    if node.status == NodeStatus.open:
        return None
    if node.status == NodeStatus.done:
        when = node.completed_at.astimezone(calendar.tz).strftime("%Y-%m-%d %H:%M") if node.completed_at else ""
        return (f"节点 {node.seq} 已完成（于 {when}）", f"node {node.seq} is already completed (at {when})")
    if node.status == NodeStatus.withdrawn:
        return (
            f"节点 {node.seq} 已撤回（该件已离开设定它的单位）",
            f"node {node.seq} was withdrawn (the case left the department that planned it)",
        )
    return (f"节点 {node.seq} 已因计划调整取消", f"node {node.seq} was dropped by a change to the plan")


def node_owner_problem(
    session: Session | None, case: Case, actor: User, node: CaseNode | None
) -> tuple[str, str] | None:
    """Why the actor may not complete this node, (Chinese, English), or None. The lead department's people (and
    roles outside departments) complete any node; another department's people (an assisting department: the
    engine's `scope: case` let only those in) complete only nodes whose responsible department is theirs. With no
    node (the engine listing actions), whether the actor has an open node of their own at all."""
    if actor.role not in DEPARTMENT_ROLES or actor.department_id == case.department_id:
        return None
    if node is not None:
        if node.department_id == actor.department_id:
            return None
        owner = session.get(Department, node.department_id) if session is not None and node.department_id else None
        lead = session.get(Department, case.department_id) if session is not None and case.department_id else None
        owners = "、".join(dict.fromkeys(d.name for d in (owner, lead) if d is not None))
        owners_en = ", ".join(dict.fromkeys(d.name for d in (owner, lead) if d is not None))
        return (
            f"节点 {node.seq}「{node.name}」不是您单位负责的节点，由{owners}完成",
            f'node {node.seq} "{node.name}" is not your department\'s; it is for {owners_en} to complete',
        )
    if session is None or case.id is None:
        return None
    if any(n.department_id == actor.department_id for n in open_nodes(session, case.id)):
        return None
    return ("没有由您单位负责的进行中节点", "no open node is your department's")


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
