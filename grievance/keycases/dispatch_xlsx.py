"""The weekly dispatch sheet (每周调度) as an XLSX workbook with Chinese headers, the same content as the page: one
row per key case (sheet 重点件), one row per node listed (sheet 节点), and what the sheet covers (sheet 说明).
Cells are written by grievance.spreadsheet (text never becomes a formula) through reports.exports.write_table."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from grievance.glossary import label_of
from grievance.keycases.dispatch import DispatchItem, DispatchSheet, SheetChange, SheetNode
from grievance.reports.exports import write_table
from grievance.spreadsheet import set_cell
from grievance.workflow.definition import WorkflowDef

NODE_STATUS_CN = {"met": "按时完成", "met_late": "超时完成", "late": "已超期", "open": "未到期"}  # as the page reads
CASE_COLUMNS = [
    "诉求编号",
    "标题",
    "重点件原因",
    "包案领导",
    "主办单位",
    "协办单位",
    "节点责任单位",
    "当前状态",
    "上周到期节点",
    "本周到期节点",
    "逾期节点",
    "上次调度以来进展",
    "上次调度以来变化",
    "上次调度决定",
    "本次调度决定",
]
NODE_COLUMNS = ["诉求编号", "节点", "责任单位", "时限", "所列", "完成情况", "完成时间", "逾期工作日"]


def _moment(value: datetime | None, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def due_cn(due_at: datetime, tz: ZoneInfo) -> str:
    """A due time as the page writes it: the end of a day is that day 24:00, not the next day 00:00."""
    local = due_at.astimezone(tz)
    if (local.hour, local.minute) == (0, 0):
        return f"{(local - timedelta(days=1)).date().isoformat()} 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def node_cn(node: SheetNode, tz: ZoneInfo) -> str:
    """A node in one cell: "2. 现场核查（青桐街道，2025-10-17 24:00前，已超期 2个工作日）"."""
    parts = [p for p in (node.department, f"{due_cn(node.due_at, tz)}前", status_cn(node)) if p]
    return f"{node.seq}. {node.name}（{'，'.join(parts)}）"


def status_cn(node: SheetNode) -> str:
    if node.status == "late":
        return f"已超期 {node.late_by}个工作日" if node.late_by else "已超期不足1个工作日"
    return NODE_STATUS_CN[node.status]


def plan_cn(rows: Any) -> str:
    """A plan's rows as the event keeps them: "2. 现场核查（2025-10-17前）；3. 出具整改报告（10个工作日）"."""
    texts = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        due = f"{row['due_date']}前" if row.get("due_date") else f"{row.get('working_days')}个工作日"
        texts.append(f"{row.get('seq', '')}. {row.get('name', '')}（{due}）")
    return "；".join(texts)


def change_cn(change: SheetChange, workflow: WorkflowDef | None) -> str:
    """One change in Chinese, as the page's Chinese reads: "10-14 10:00 标记为重点件（积案），包案领导：王建国"."""
    d = change.details

    def state(code: Any) -> str:
        found = workflow.states.get(str(code)) if workflow else None
        return found.label if found else str(code)

    if change.kind == "became_key":
        text = f"成为重点件（{label_of('KeyReason', str(d.get('reason')))}）"
        if d.get("lead_leader"):
            text += f"，包案领导：{d['lead_leader']}"
    elif change.kind == "leader_changed":
        text = f"包案领导改为{d.get('lead_leader', '')}"
        if d.get("previous_leader"):
            text += f"（原为{d['previous_leader']}）"
    elif change.kind == "plan_set":
        text = f"设定节点计划：{plan_cn(d.get('nodes'))}"
    elif change.kind == "plan_changed":
        text = f"节点调整获批：{plan_cn(d.get('nodes'))}"
    elif change.kind == "node_completed":
        text = f"完成节点 {d.get('node', '')}. {d.get('node_name', '')}"
    elif change.kind == "parts_dispatched":
        text = f"协办单位：{'、'.join(d.get('departments') or [])}"
    elif change.kind == "part_reported":
        text = f"协办单位反馈：{'、'.join(d.get('departments') or [])}"
    elif change.kind == "parts_waived":
        text = f"督办员免除未反馈的协办：{'、'.join(d.get('departments') or [])}"
        if d.get("reason"):
            text += f"（理由：{d['reason']}）"
    else:
        text = f"状态：{state(d.get('from_state'))} → {state(d.get('to_state'))}"
        if d.get("department"):
            text += f"，主办单位：{d['department']}"
    who = f"（{change.actor}）" if change.actor else ""
    return f"{text}{who}"


def leader_cn(item: DispatchItem) -> str:
    """The lead leader as the page writes it: 未定 when none, 「（已停用）」 after a deactivated one."""
    if not item.lead_leader:
        return "未定"
    return item.lead_leader if item.lead_leader_active else f"{item.lead_leader}（已停用）"


def _lines(values: list[str]) -> str:
    return "\n".join(values)


def _case_row(item: DispatchItem, sheet: DispatchSheet, workflow: WorkflowDef | None, tz: ZoneInfo) -> list[Any]:
    state = workflow.states.get(item.state) if workflow else None
    return [
        item.case_no,
        item.title,
        label_of("KeyReason", item.key_reason),
        leader_cn(item),
        item.lead_department or "",
        "、".join(item.assisting_departments),
        "、".join(item.node_departments),
        state.label if state else item.state,
        _lines([node_cn(n, tz) for n in item.due_last_week]),
        _lines([node_cn(n, tz) for n in item.due_this_week]),
        _lines([node_cn(n, tz) for n in item.late]),
        _lines([f"{_moment(n.at, tz)} {n.department or ''} {n.actor or ''}：{n.text}" for n in item.notes]),
        _lines([f"{_moment(c.at, tz)} {change_cn(c, workflow)}" for c in item.changes]),
        _lines([f"{d.text}（{d.actor or ''} {_moment(d.at, tz)}）" for d in item.previous_decisions]),
        _lines([f"{d.text}（{d.actor or ''} {_moment(d.at, tz)}）" for d in item.decisions]),
    ]


def _node_rows(item: DispatchItem, tz: ZoneInfo) -> list[list[Any]]:
    rows = []
    for listed, nodes in (("上周到期", item.due_last_week), ("本周到期", item.due_this_week), ("逾期", item.late)):
        for n in nodes:
            rows.append(
                [
                    item.case_no,
                    f"{n.seq}. {n.name}",
                    n.department or "",
                    due_cn(n.due_at, tz),
                    listed,
                    status_cn(n),
                    _moment(n.completed_at, tz),
                    n.late_by if n.late_by is not None else "",
                ]
            )
    return rows


def sheet_xlsx(sheet: DispatchSheet, workflows: dict[str, WorkflowDef]) -> bytes:
    """The workbook of a sheet: 重点件 (one row per case), 节点 (one row per node listed), 说明 (the week, the window,
    the moment the node figures are as of, when it was made). Times in the sheet's time zone."""
    tz = ZoneInfo(sheet.timezone)
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    cases = book.create_sheet("重点件")
    write_table(cases, CASE_COLUMNS, [_case_row(i, sheet, workflows.get(i.workflow), tz) for i in sheet.items])
    nodes = book.create_sheet("节点")
    write_table(nodes, NODE_COLUMNS, [row for i in sheet.items for row in _node_rows(i, tz)])
    about = book.create_sheet("说明")
    week = sheet.week
    lines = [
        ("调度周", f"{week.key}（{week.monday.isoformat()} 至 {week.sunday.isoformat()}）"),
        ("上次调度以来", f"{_moment(sheet.window_start, tz)} 至 {_moment(sheet.window_end, tz)}"),
        (
            "上次调度会",
            f"{sheet.last_meeting_week.key}（{_moment(sheet.last_meeting_at, tz)}）"
            if sheet.last_meeting_at
            else "无记录，自上周一起",
        ),
        ("节点情况截至", _moment(sheet.as_of, tz)),
        ("生成时间", _moment(sheet.made_at, tz)),
        ("重点件数", len(sheet.items)),
        ("逾期节点数", sheet.late_count),
        ("时区", sheet.timezone),
    ]
    for row, (name, value) in enumerate(lines, start=1):
        set_cell(about.cell(row=row, column=1), name)
        set_cell(about.cell(row=row, column=2), value)
    about.column_dimensions["A"].width = 16
    about.column_dimensions["B"].width = 48
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
