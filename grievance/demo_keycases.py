"""The demo's key cases (重点件, issue 12): the 34 inspection referrals of 2025 worked under lead leaders through
plans of nodes, one in three with a street office assisting (协办), and, in the live office, key cases still open:
an inspection referral with a late node and two assisting departments (one reported, one late), a group appeal
whose plan change waits for the supervisor and a street office assisting, and backlog cases (积案) under fictional
leaders.

A ledger records no leader and no node, so these steps are workflow actions taken through the engine at their
moments, as a person would (grievance.demo._take_live_actions): for each 2025 referral the ledger row stops at
the petitioner's contact (响应), and the lead leader, the plan, the nodes' completion, the resolution, the
callback and the closing follow as actions at the times the row gave them. The year's figures stay those of
DOMAIN.md (34 referrals, all resolved); a referral the generator had reopened keeps only its last resolution.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from grievance.demo_now import LiveAction
from grievance.demo_year import YEAR
from grievance.workflow.calendar import WorkCalendar

# Lead leaders (包案领导): the demo's leader and two colleagues without a password (not demo accounts).
LEADERS = [("demo_leader", None), ("leader_sun", "分管副主任 孙立"), ("leader_qian", "分管副主任 钱文")]
# The head (负责人) of each department that has no demo account: they set plans and resolve their key cases.
DEPARTMENT_HEADS = {
    "CGJ": ("demo_dept_head", None),
    "QFJ": ("qfj_head", "企业服务局负责人 黄磊"),
    "SSJ": ("ssj_head", "社会事务局负责人 徐芳"),
    "ZFB": ("zfb_head", "政法办负责人 马超"),
    "ZQB": ("zqb_head", "征迁办负责人 罗平"),
    "JD1": ("jd1_head", "青桐街道负责人 郭霞"),
    "JD2": ("jd2_head", "白沙街道负责人 何明"),
}
# The plan every 2025 referral followed (name, evidence required); due times are drawn per case.
REFERRAL_NODES = [("调查核实", False), ("制定整改方案", False), ("整改落实并报告", False)]  # no files in the demo
NODE_NOTES = ["已约谈相关单位并现场核实情况", "整改方案已制定并经分管领导审定", "整改已完成，整改报告已报送督查室"]
LATE_EVERY = 5  # one referral in five met its second node a working day late
ASSISTED_EVERY = 3  # one referral in three had a street office assisting (协办)
# Ledger columns replaced by actions: the resolution and what follows it.
REPLAYED = (
    "resolved_at",
    "outcome",
    "reply",
    "resolve_due_at",
    "extended_due_at",
    "callback_at",
    "callback_reached",
    "solved",
    "satisfaction",
    "closed_at",
    "reopened_at",
)


def _node_days(calendar: WorkCalendar, planned: datetime, done: datetime, late: bool) -> int:
    """Working days from `planned` that make a node due at or after `done` (met), or, when `late` and possible,
    the largest due before it (missed by at most a working day)."""
    days = 1
    while calendar.add(planned, days, "working_days") < done:
        days += 1
    if late and days > 1:
        return days - 1
    return days


def year_referrals(rows: list[dict[str, Any]], calendar: WorkCalendar, now: datetime) -> list[LiveAction]:
    """Turn the resolved 2025 inspection referrals among `rows` (numbered ledger rows) into key cases worked by
    actions: each row is cut after its response and the actions (UTC moments, none after `now`) take it from
    there. Changes the rows in place; returns the actions in time order."""
    actions: list[LiveAction] = []
    referrals = [
        r
        for r in rows
        if r["channel"] == "inspection" and str(r["case_no"]).startswith(f"GX-{YEAR}-") and r.get("resolved_at")
    ]
    for n, row in enumerate(r for r in referrals if r["resolved_at"] <= now):
        done = {key: row.pop(key) for key in REPLAYED if key in row}
        head = DEPARTMENT_HEADS[row["department"]][0]
        start = row["responded_at"]
        resolved = max(done["resolved_at"], start + timedelta(hours=1))
        planned = start + timedelta(minutes=20)

        def act(action: str, at: datetime, actor: str, **payload: Any) -> None:
            actions.append(LiveAction(row, action, at, actor, payload))  # noqa: B023 - used at once

        act("set_lead_leader", start + timedelta(minutes=10), "demo_supervisor", lead_leader_id=LEADERS[n % 3][0])
        span = resolved - planned
        finished = [planned + span * share for share in (0.3, 0.6, 0.9)]
        plan = [
            {
                "name": name,
                "working_days": _node_days(calendar, planned, at, late=(i == 1 and n % LATE_EVERY == 2)),
                "evidence_required": evidence,
            }
            for i, ((name, evidence), at) in enumerate(zip(REFERRAL_NODES, finished, strict=True))
        ]
        act("plan_nodes", planned, head, nodes=plan)
        if n % ASSISTED_EVERY == 0:  # 协办: a street office checks on site and reports its part
            street = "JD1" if n % 2 else "JD2"
            street_head = DEPARTMENT_HEADS[street][0]
            act(
                "add_assisting_department",
                planned + timedelta(minutes=5),
                "demo_dispatcher",
                assisting_department_ids=[street],
            )
            act("accept_part", planned + timedelta(hours=1), street_head)
            act("report_part", finished[1], street_head, note="已配合开展现场核查，情况属实，已督促整改")
        if "extended_due_at" in done:  # 延期: asked for and granted before the first due time
            asked = max(planned + timedelta(minutes=5), done["resolve_due_at"] - timedelta(hours=3))
            act("request_extension", asked, head, days=5, reason="整改涉及多个单位，需延长办理时限")
            act("approve_extension", asked + timedelta(minutes=30), "demo_supervisor", note="同意延期五个工作日")
        for seq, (at, note) in enumerate(zip(finished, NODE_NOTES, strict=True), start=1):
            act("complete_node", at, head, node=seq, note=note)
        act("resolve", resolved, head, outcome=done.get("outcome") or "solved", reply=done.get("reply") or "已整改到位")
        if "callback_at" in done:
            callback: dict[str, Any] = {"reached": bool(done.get("callback_reached"))}
            if callback["reached"]:
                callback.update(solved=bool(done.get("solved")), satisfaction=done.get("satisfaction") or "satisfied")
            act("callback", max(done["callback_at"], resolved + timedelta(minutes=30)), "demo_dispatcher", **callback)
            if "closed_at" in done and callback["reached"]:
                act("close", max(done["closed_at"], done["callback_at"] + timedelta(minutes=30)), "demo_supervisor")
    return sorted((a for a in actions if a.at <= now), key=lambda a: a.at)


def present_key_cases(live: Any) -> None:
    """The live office's key cases (`live` is grievance.demo_now._Live): an inspection referral under the demo
    leader with one node met, one late and one open; a group appeal (群体诉求) the supervisor marks, whose plan
    change waits for approval; two backlog cases (积案) under the other leaders, one with a late node."""
    at, before = live.at, live.before
    # 巡视交办: key from intake; the supervisor names its leader, 城管局 plans three nodes.
    row = live.handle(live.case(before(8), channel="inspection", case_type="complaint"))
    live.act(row, "set_lead_leader", before(8, 14), "demo_supervisor", lead_leader_id="demo_leader")
    nodes = [
        {"name": "约谈相关企业", "working_days": 1},
        {"name": "现场核查", "working_days": 3},
        {"name": "出具整改报告", "working_days": 12, "evidence_required": True},
    ]
    live.act(row, "plan_nodes", before(7, 10), "demo_dept_head", nodes=nodes)
    live.act(row, "complete_node", before(6, 15), "demo_handler", node=1, note="已约谈涉事企业负责人，企业承诺限期整改")
    # 协办: 青桐街道 reported its part on time; 征迁办 accepted but has not reported, now late.
    live.act(row, "add_assisting_department", before(8, 15), "demo_dispatcher", assisting_department_ids=["JD1", "ZQB"])
    live.act(row, "accept_part", before(7, 9), "jd1_head")
    live.act(row, "accept_part", before(7, 14), "zqb_head")
    live.act(row, "report_part", before(5, 16), "jd1_head", note="已会同社区现场核实，涉事企业已停止夜间施工")
    # 群体诉求: the supervisor marks it key; 社会事务局 plans, then asks to move the second node.
    row = live.handle(live.case(before(6), first_level="03", department="SSJ"))
    live.act(row, "supervise", before(4, 11), "demo_supervisor", note="群众反映强烈，列为重点件跟踪")
    live.act(
        row,
        "mark_key",
        before(4, 12),
        "demo_supervisor",
        reason="group_appeal",
        lead_leader_id="leader_sun",
        note="涉及小区住户四十余户",
    )
    nodes = [{"name": "召开居民协调会", "working_days": 2}, {"name": "形成解决方案", "working_days": 6}]
    live.act(row, "plan_nodes", before(3, 10), "ssj_head", nodes=nodes)
    live.act(row, "add_assisting_department", before(4, 13), "demo_supervisor", assisting_department_ids=["JD2"])
    change = [
        {"seq": 1, "name": "召开居民协调会", "working_days": 2},
        {"seq": 2, "name": "形成解决方案", "working_days": 9},
    ]
    live.act(row, "propose_node_change", at(0.3), "ssj_head", nodes=change, reason="需等待区住建部门出具鉴定意见")
    # 积案: two old cases the leaders took on, each with a plan; one node already late.
    for received, leader, late in ((before(20), "leader_qian", True), (before(17), "demo_leader", False)):
        row = live.handle(live.case(received, case_type="complaint"))
        live.assign(row, "demo_handler")
        marked = before(9, 9)
        live.act(
            row,
            "mark_key",
            marked,
            "demo_supervisor",
            reason="backlog",
            lead_leader_id=leader,
            note="反复投诉未解决，列入积案清单",
        )
        nodes = [
            {"name": "梳理历史诉求及处理情况", "working_days": 1},
            {"name": "联合会商提出化解方案", "working_days": 4 if late else 12},
            {"name": "化解落实并回访", "working_days": 15, "evidence_required": True},
        ]
        live.act(row, "plan_nodes", marked + timedelta(hours=2), "demo_dept_head", nodes=nodes)
        live.act(row, "complete_node", before(8, 15), "demo_handler", node=1, note="已调阅历次工单及处理记录")
