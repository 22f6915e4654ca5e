"""The weekly dispatch sheet after the second newcomer trial (T2 findings M2-M5 for the sheet, minors 3 and 12): the
current week's sheet shows the week's progress up to the meeting, the next one starts at that meeting; a node due
on a Sunday is that week's (shown 24:00); the change lines name the departments and reasons; a deactivated lead
leader is marked; a decision's week is stored canonical, not before the case became key, and a decision can be
withdrawn; a node met late has its working days late in the workbook. SQLite and PostgreSQL.

Calendar (2025): W48 = Nov 24 (Mon) - Nov 30 (Sun), W49 = Dec 1 - Dec 7."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from sqlmodel import select

from grievance.db import transaction
from grievance.users.models import User
from grievance.users.service import deactivate_user
from tests.api._support import sh
from tests.reports.metrics_support import handling
from tests.web.support import text_of

PLAN = [
    {"name": "约谈施工单位", "due_date": "2025-11-26"},
    {"name": "现场核查", "department_id": "JD1", "due_date": "2025-11-30"},  # a Sunday, the month's last day
    {"name": "出具整改报告", "due_date": "2025-11-25"},
]


def _item(page: Any, no: str) -> Any:
    return page.select_one(f'article.dispatch-item[data-case="{no}"]')


def _nodes(item: Any, kind: str) -> list[tuple[str, str, str]]:
    """(node, status code, due text) of one of an item's node tables."""
    rows = item.select(f'table.sheet-nodes[data-kind="{kind}"] tbody tr')
    return [(text_of(r.select_one("td")), r["data-status"], text_of(r.select("td")[2])) for r in rows]


def _changes(item: Any) -> list[tuple[str, str]]:
    return [(li["data-kind"], text_of(li)) for li in item.select("ul.changes li")]


def _week_w48(world: Any, clock: Any) -> tuple[str, str]:
    """W48: a case marked key Monday, sent to 城市管理局 with 青桐街道 assisting, three nodes; node 1 met, node 3 met
    late, 青桐街道's part reported; a second key case dispatched plainly (no assisting department)."""
    clock.set(sh(2025, 11, 24, 9))
    no = world.intake()["case_no"]
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "dispatch", "dispatcher", department_id="CGJ", assisting_department_ids=["JD1"])
    world.act(no, "accept", "handler")
    world.act(no, "plan_nodes", "handler", nodes=PLAN)
    plain = world.intake()["case_no"]
    world.act(plain, "mark_key", "supervisor", reason="group_appeal", lead_leader_id="leader")
    world.act(plain, "dispatch", "dispatcher", department_id="CGJ")
    clock.set(sh(2025, 11, 25, 10))
    world.act(no, "accept_part", "other_handler")
    world.act(no, "complete_node", "handler", node=1, note="已约谈施工单位")
    clock.set(sh(2025, 11, 26, 15))
    world.act(no, "report_part", "other_handler", note="已会同社区核实")
    clock.set(sh(2025, 11, 27, 10))
    world.act(no, "complete_node", "handler", node=3, note="整改报告已出具")  # due 11-25 24:00: 2 days late
    return no, plain


def test_the_current_week_shows_its_progress_and_the_next_sheet_starts_at_the_meeting(world, browser, clock):
    no, plain = _week_w48(world, clock)
    clock.set(sh(2025, 11, 28, 10))  # Friday of W48: the meeting
    b = browser("supervisor")
    page = b.page("/keycases/dispatch")
    assert page.select_one("article.dispatch-sheet")["data-week"] == "2025-W48"
    head = text_of(page.select_one("header.sheet-head"))
    assert "上次调度以来：11月17日 00:00 至 11月28日 10:00" in head  # no meeting before: from last Monday to now
    item = _item(page, no)
    changes = _changes(item)
    kinds = [k for k, _ in changes]
    assert kinds[:3] == ["became_key", "state_changed", "parts_dispatched"], kinds
    assert "状态：待派单 → 已派单，主办单位：城市管理局" in changes[1][1] or "主办单位：城市管理局" in changes[1][1]
    assert "协办单位：青桐街道" in changes[2][1]
    assert "协办单位反馈：青桐街道" in dict((k, t) for k, t in changes)["part_reported"]
    assert kinds.count("node_completed") == 2 and "plan_set" in kinds
    notes = text_of(item.select_one("ul.notes"))
    assert "已会同社区核实" in notes and "青桐街道" in notes and "已约谈施工单位" in notes
    # Nodes due this week, the Sunday one written as its day's 24:00; none late yet.
    assert _nodes(item, "this-week") == [
        ("1. 约谈施工单位", "met", "11月26日 24:00"),
        ("2. 现场核查", "open", "11月30日 24:00"),
        ("3. 出具整改报告", "met_late", "11月25日 24:00"),
    ]
    # A plain dispatch: the state change naming the lead department, no empty 协办单位 line.
    plain_changes = _changes(_item(page, plain))
    assert "parts_dispatched" not in [k for k, _ in plain_changes]
    assert "协办单位" not in text_of(_item(page, plain).select_one("ul.changes"))
    assert any("主办单位：城市管理局" in t for k, t in plain_changes if k == "state_changed")

    # The decision, with the week typed in lower case: stored canonical, shown on this sheet.
    after = world.act(
        no, "record_dispatch_decision", "supervisor", decision="请青桐街道周末前完成核查", week="2025-w48"
    )
    assert after["timeline"][-1]["payload"]["week"] == "2025-W48"
    clock.set(sh(2025, 11, 28, 15))
    world.act(no, "note", "handler", note="会后已协调青桐街道")
    page = b.page("/keycases/dispatch")
    assert [text_of(li.select_one(".text")) for li in _item(page, no).select("ul.decisions-this li")] == [
        "请青桐街道周末前完成核查"
    ]

    # W49: the window opens at the meeting; only what happened after it; node 2 (due Sunday 24:00) late.
    clock.set(sh(2025, 12, 3, 10))
    page = b.page("/keycases/dispatch")
    assert "上次调度以来：11月28日 10:00 至 12月3日 10:00" in text_of(page.select_one("header.sheet-head"))
    item = _item(page, no)
    assert "会后已协调青桐街道" in text_of(item.select_one("ul.notes"))
    assert "已会同社区核实" not in text_of(item) and [k for k, _ in _changes(item)] == []
    assert _nodes(item, "last-week") == [
        ("1. 约谈施工单位", "met", "11月26日 24:00"),
        ("2. 现场核查", "late", "11月30日 24:00"),
        ("3. 出具整改报告", "met_late", "11月25日 24:00"),
    ]
    assert "上次调度决定（2025-W48）" in text_of(item) and "请青桐街道周末前完成核查" in text_of(item)

    # The past week's sheet reads the same whenever it is read: its window ends at its week's end, and a decision
    # recorded afterwards for an earlier week does not move it.
    past = b.page("/keycases/dispatch?week=2025-W48")
    window = text_of(past.select_one("header .window"))
    assert window == "上次调度以来：11月17日 00:00 至 12月1日 00:00"
    assert _nodes(_item(past, no), "this-week")[1] == ("2. 现场核查", "open", "11月30日 24:00")  # not late at 24:00
    world.act(plain, "record_dispatch_decision", "supervisor", decision="补记", week="2025-W48")
    again = b.page("/keycases/dispatch?week=2025-W48")
    assert text_of(again.select_one("header .window")) == window
    assert _changes(_item(again, no)) == _changes(_item(past, no))

    # The workbook: the Sunday node's day 24:00, node 3's working days late, the departments in the change lines.
    book = load_workbook(io.BytesIO(b.get("/keycases/dispatch.xlsx?week=2025-W48").content))
    nodes = {(r[0], r[1], r[4]): r for r in list(book["节点"].iter_rows(values_only=True))[1:]}
    assert nodes[(no, "2. 现场核查", "本周到期")][3] == "2025-11-30 24:00"
    late = nodes[(no, "3. 出具整改报告", "本周到期")]
    assert late[5] == "超时完成" and late[7] == 2
    rows = list(book["重点件"].iter_rows(values_only=True))
    row = dict(zip(rows[0], next(r for r in rows[1:] if r[0] == no), strict=True))
    assert "协办单位反馈：青桐街道" in row["上次调度以来变化"] and "主办单位：城市管理局" in row["上次调度以来变化"]
    plain_row = dict(zip(rows[0], next(r for r in rows[1:] if r[0] == plain), strict=True))
    assert "协办单位" not in plain_row["上次调度以来变化"]


def test_decision_weeks_are_canonical_withdrawable_and_deactivated_leaders_marked(world, browser, clock):
    clock.set(sh(2025, 11, 25, 10))  # Tuesday of W48
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    # Weeks before the case became key are refused, naming the first accepted one; nothing is written.
    for week in ("2020-W53", "2025-W47"):
        response = world.client.post(
            f"/api/v1/cases/{no}/actions/record_dispatch_decision",
            json={"decision": "x", "week": week},
            headers=world.headers("supervisor"),
        )
        assert response.status_code == 409, response.text
        assert "2025-W48" in response.json()["message_en"] and "成为重点件" in response.json()["message"]
    first = world.act(no, "record_dispatch_decision", "supervisor", decision="按期推进", week="2025-W48")
    decision_id = first["timeline"][-1]["id"]
    twice = world.act(no, "record_dispatch_decision", "supervisor", decision="重复录入", week="2025-W48")
    duplicate_id = twice["timeline"][-1]["id"]
    b = browser("supervisor")
    texts = [text_of(li.select_one(".text")) for li in b.page("/keycases/dispatch").select("ul.decisions-this li")]
    assert texts == ["按期推进", "重复录入"]

    # Withdrawn by the API: the sheet leaves it out; twice, or an event that is no decision: 409, nothing written.
    world.act(no, "withdraw_dispatch_decision", "supervisor", decision_event=duplicate_id, reason="重复录入")
    for event_id in (duplicate_id, first["timeline"][0]["id"]):
        world.act(no, "withdraw_dispatch_decision", "supervisor", expect=409, decision_event=event_id, reason="x")
    page = b.page("/keycases/dispatch")
    assert [text_of(li.select_one(".text")) for li in page.select("ul.decisions-this li")] == ["按期推进"]
    # ... and by the form beside the decision on the sheet.
    form = page.select_one(f'form.withdraw-form[data-event="{decision_id}"]')
    assert form is not None and "no-print" in form.find_parent("details")["class"]
    refused = b.post(
        "/keycases/dispatch/withdrawals", {"case_no": no, "week": "2025-W48", "decision_event": str(decision_id)}
    )
    assert refused.status_code == 422 and "撤回理由" in refused.text
    done = b.post(
        "/keycases/dispatch/withdrawals",
        {"case_no": no, "week": "2025-W48", "decision_event": str(decision_id), "reason": "决定有误"},
    )
    assert done.status_code == 303 and done.headers["location"] == f"/keycases/dispatch?week=2025-W48#row-{no}"
    assert b.page("/keycases/dispatch").select("ul.decisions-this li") == []
    leader_page = browser("leader").page("/keycases/dispatch")
    assert leader_page.select("form.withdraw-form") == []  # leaders read

    # The lead leader's account deactivated: the filter still lists him, marked, and so does the block and workbook.
    with transaction(world.app.state.sessions) as session:
        leader = session.exec(select(User).where(User.username == "leader")).one()
        name, leader_id = leader.display_name, int(leader.id)  # type: ignore[arg-type]
        deactivate_user(session, leader)
    page = b.page("/keycases/dispatch")
    options = {o["value"]: text_of(o) for o in page.select("select[name=leader] option")}
    assert options[str(leader_id)] == f"{name}（已停用）"
    assert text_of(_item(page, no).select_one(".lead-leader")) == f"{name}（已停用）"
    book = load_workbook(io.BytesIO(b.get("/keycases/dispatch.xlsx").content))
    rows = list(book["重点件"].iter_rows(values_only=True))
    assert dict(zip(rows[0], rows[1], strict=True))["包案领导"] == f"{name}（已停用）"
