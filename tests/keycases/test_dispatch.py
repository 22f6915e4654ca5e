"""The weekly dispatch sheet (每周调度, issue 12): a key case worked through two weeks (nodes met, one late, a plan
change approved), the sheet of each week on the page, in print and in its workbook; a decision recorded at one
meeting shown on the next week's sheet; bad weeks refused clearly; who may open it. Real forms posted with their
CSRF token, pages read as a person would, on SQLite and PostgreSQL.

Calendar (2025): Oct 1-8 National Day; W42 = Oct 13-19, W43 = Oct 20-26, W44 = Oct 27 - Nov 2."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from grievance.errors import InvalidInput
from grievance.keycases.dispatch import Week, check_sheet_week, parse_week, week_problem
from tests.api._support import sh
from tests.reports.metrics_support import handling
from tests.web.support import soup, text_of

TZ = "Asia/Shanghai"
PLAN = [
    {"name": "约谈相关企业", "due_date": "2025-10-15"},
    {"name": "现场核查", "department_id": "JD1", "due_date": "2025-10-17"},
    {"name": "出具整改报告", "due_date": "2025-10-22"},
]
CHANGE = [
    {"seq": 2, "name": "现场核查", "department_id": "JD1", "due_date": "2025-10-17"},
    {"seq": 3, "name": "出具整改报告", "due_date": "2025-10-23"},
]


def test_weeks_are_iso_weeks_in_local_time() -> None:
    week = parse_week(" 2025-w42 ")
    assert week.key == "2025-W42" and str(week.monday) == "2025-10-13" and str(week.sunday) == "2025-10-19"
    # Monday 00:00 in Shanghai is Sunday 16:00 UTC.
    assert week.start(TZ) == datetime(2025, 10, 12, 16, tzinfo=UTC) and week.end(TZ) == parse_week("2025-W43").start(TZ)
    assert Week.of_moment(datetime(2025, 10, 19, 16, 30, tzinfo=UTC), TZ).key == "2025-W43"  # Monday 00:30 local
    assert parse_week("2026-W01").previous.key == "2025-W52" and parse_week("2020-W53").next.key == "2021-W01"
    for bad, zh, en in (
        ("2025-42", "格式有误", "not an ISO week"),
        ("", "格式有误", "like 2025-W42"),
        ("2025-W53", "2025 年共 52 周", "2025 has 52 ISO weeks"),
        ("2025-W00", "共 52 周", "no week 2025-W00"),
    ):
        with pytest.raises(InvalidInput) as caught:
            parse_week(bad)
        assert caught.value.detail["errors"][0]["field"] == "week"
        assert zh in caught.value.message and en in caught.value.message_en, (bad, caught.value)
    now = sh(2025, 10, 21)
    assert check_sheet_week("", now, TZ).key == "2025-W43"
    assert check_sheet_week("2025-W44", now, TZ).key == "2025-W44"  # the next meeting may be prepared
    with pytest.raises(InvalidInput, match="2000-W01 至 2025-W44"):
        check_sheet_week("2025-W45", now, TZ)
    with pytest.raises(InvalidInput, match="超出范围"):
        check_sheet_week("1999-W52", now, TZ)
    # A decision belongs to a meeting that has begun: up to the current week.
    assert week_problem("2025-W43", now, TZ) is None and week_problem("2025-W40", now, TZ) is None
    assert "2025-W43" in (week_problem("2025-W44", now, TZ) or ("", ""))[1]
    assert week_problem(None, now, TZ) is not None


def _key_case_worked_through_week_42(world: Any, clock: Any) -> str:
    """A case in handling at 城市管理局 since W41, marked key (backlog) on Monday of W42 with three nodes; node 1 met
    on Tuesday, a progress note on Wednesday, the plan changed on Thursday (node 3 a day later), node 2 left late."""
    clock.set(sh(2025, 10, 9))
    no = handling(world)
    clock.set(sh(2025, 10, 13))
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "add_assisting_department", "supervisor", assisting_department_ids=["JD1"])  # node 2's department
    world.act(no, "plan_nodes", "handler", nodes=PLAN)
    clock.set(sh(2025, 10, 14, 15))
    world.act(no, "complete_node", "handler", node=1, note="已约谈企业负责人")
    clock.set(sh(2025, 10, 15, 9))
    world.act(no, "note", "handler", note="已调取现场监控")
    clock.set(sh(2025, 10, 16, 10))
    world.act(no, "propose_node_change", "handler", nodes=CHANGE, reason="企业补充材料需一天")
    clock.set(sh(2025, 10, 16, 11))
    world.act(no, "approve_node_change", "supervisor", note="同意")
    return no


def _nodes(item: Any, kind: str) -> list[tuple[str, str, str]]:
    """(node, status code, status words) of one of an item's node tables."""
    rows = item.select(f'table.sheet-nodes[data-kind="{kind}"] tbody tr')
    return [(text_of(r.select_one("td")), r["data-status"], text_of(r.select("td")[3])) for r in rows]


def test_the_sheet_shows_a_week_on_the_page_in_print_and_in_its_workbook(world, browser, clock):
    no = _key_case_worked_through_week_42(world, clock)
    plain = handling(world)  # not key: never on the sheet
    clock.set(sh(2025, 10, 21))  # Tuesday of W43
    b = browser("supervisor")
    home = b.get("/keycases")
    assert home.status_code == 303 and home.headers["location"] == "/keycases/dispatch"
    page = b.page("/keycases/dispatch")
    assert page.select_one("article.dispatch-sheet")["data-week"] == "2025-W43"
    assert page.select_one('nav.keycase-tabs a[aria-current="page"]')["href"] == "/keycases/dispatch"
    head = text_of(page.select_one("header.sheet-head"))
    assert "每周调度 2025-W43" in head and "2025年10月20日至2025年10月26日" in head
    # No meeting recorded yet: the window opens on the previous Monday and runs to now (M3).
    assert "上次调度以来：10月13日 00:00 至 10月21日 10:00" in head and "制表时间 2025年10月21日 10:00" in head
    items = page.select("article.dispatch-item")
    assert [i["data-case"] for i in items] == [no] and plain not in page.text
    item = items[0]
    assert item["id"] == f"row-{no}"
    assert text_of(item.select_one(".lead-leader")) and text_of(item.select_one(".lead-department")) == "城市管理局"
    assert text_of(item.select_one(".node-departments")) == "青桐街道"
    assert text_of(item.select_one(".state")) == "办理中"
    # Due last week: node 1 met, node 2 late (Oct 17 24:00; Oct 20 whole, Oct 21 begun: 2 working days).
    assert _nodes(item, "last-week") == [
        ("1. 约谈相关企业", "met", "按时完成"),
        ("2. 现场核查", "late", "已超期 2个工作日"),
    ]
    assert _nodes(item, "this-week") == [("3. 出具整改报告", "open", "未到期")]
    assert _nodes(item, "late") == [("2. 现场核查", "late", "已超期 2个工作日")]
    changes = [(li["data-kind"], text_of(li)) for li in item.select("ul.changes li")]
    kinds = ["became_key", "parts_dispatched", "plan_set", "node_completed", "plan_changed"]
    assert [kind for kind, _text in changes] == kinds
    assert "成为重点件（积案）" in changes[0][1] and "包案领导" in changes[0][1]
    assert "协办单位：青桐街道" in changes[1][1]
    assert "1. 约谈相关企业（2025-10-15前）" in changes[2][1]
    assert "完成节点 1. 约谈相关企业" in changes[3][1]
    assert "节点调整获批：2. 现场核查（2025-10-17前）；3. 出具整改报告（2025-10-23前）" in changes[4][1]
    notes = [text_of(li) for li in item.select("ul.notes li")]
    assert len(notes) == 3 and "已约谈企业负责人" in notes[0] and "完成节点" in notes[0]
    assert "已调取现场监控" in notes[1] and "城市管理局" in notes[1] and "企业补充材料需一天" in notes[2]
    assert not any("已电话联系诉求人" in n for n in notes)  # the response of W41 was on the sheet before
    # Print: the tools and the forms are not printed; the header is.
    css = b.get("/static/dispatch.css").text
    assert "size: A4 landscape" in css and ".decision-form" in css and "break-inside: avoid" in css
    assert "no-print" in page.select_one("nav.week-tools")["class"]
    assert "no-print" in item.select_one("form.decision-form")["class"]

    # The workbook says the same.
    response = b.get("/keycases/dispatch.xlsx?week=2025-W43")
    assert response.status_code == 200 and "dispatch-2025-W43.xlsx" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book["重点件"].iter_rows(values_only=True))
    assert rows[0][:4] == ("诉求编号", "标题", "重点件原因", "包案领导") and len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["诉求编号"] == no and row["重点件原因"] == "积案" and row["主办单位"] == "城市管理局"
    assert row["当前状态"] == "办理中" and row["节点责任单位"] == "青桐街道"
    assert row["上周到期节点"].splitlines() == [
        "1. 约谈相关企业（城市管理局，2025-10-15 24:00前，按时完成）",
        "2. 现场核查（青桐街道，2025-10-17 24:00前，已超期 2个工作日）",
    ]
    assert row["本周到期节点"] == "3. 出具整改报告（城市管理局，2025-10-23 24:00前，未到期）"
    assert row["逾期节点"] == "2. 现场核查（青桐街道，2025-10-17 24:00前，已超期 2个工作日）"
    assert len(row["上次调度以来变化"].splitlines()) == 5 and "节点调整获批" in row["上次调度以来变化"]
    assert "已调取现场监控" in row["上次调度以来进展"] and not row["上次调度决定"]
    nodes = list(book["节点"].iter_rows(values_only=True))
    assert [(r[1], r[4], r[5]) for r in nodes[1:]] == [
        ("1. 约谈相关企业", "上周到期", "按时完成"),
        ("2. 现场核查", "上周到期", "已超期 2个工作日"),
        ("3. 出具整改报告", "本周到期", "未到期"),
        ("2. 现场核查", "逾期", "已超期 2个工作日"),
    ]
    about = dict(book["说明"].iter_rows(values_only=True))
    assert about["调度周"].startswith("2025-W43") and about["重点件数"] == 1 and about["逾期节点数"] == 1

    # The meeting's decision, by the form on the case; back to the sheet at that case.
    form = item.select_one("form.decision-form")
    assert form.select_one("input[name=week]")["value"] == "2025-W43"
    refused = b.post("/keycases/dispatch/decisions", {"case_no": no, "week": "2025-W43", "decision": "  "})
    assert refused.status_code == 422
    again = refused.text
    assert "调度会决定 为必填项" in again and f'id="row-{no}"' in again
    done = b.post(
        "/keycases/dispatch/decisions", {"case_no": no, "week": "2025-W43", "decision": "请青桐街道本周内完成现场核查"}
    )
    assert done.status_code == 303 and done.headers["location"] == f"/keycases/dispatch?week=2025-W43#row-{no}"
    page = b.page("/keycases/dispatch?week=2025-W43")
    assert [text_of(li.select_one(".text")) for li in page.select("ul.decisions-this li")] == [
        "请青桐街道本周内完成现场核查"
    ]
    # The case's timeline words it in both languages.
    event = text_of(b.page(f"/cases/{no}").select_one("ol.timeline li"))
    assert "记录调度决定" in event and "调度会决定" in event and "调度周" in event and "2025-W43" in event
    b.client.cookies.set("lang", "en")
    event = text_of(b.page(f"/cases/{no}").select_one("ol.timeline li"))
    assert "Record a dispatch decision" in event and "Dispatch week" in event
    b.client.cookies.delete("lang")

    # W43 goes on: node 2 done late on Wednesday, node 3 on time on Thursday.
    clock.set(sh(2025, 10, 22, 16))
    world.act(no, "complete_node", "handler", node=2, note="现场核查完毕")
    clock.set(sh(2025, 10, 23, 9))
    world.act(no, "complete_node", "handler", node=3, note="整改报告已出具")
    clock.set(sh(2025, 10, 27, 10))  # Monday of W44
    page = b.page("/keycases/dispatch")
    item = page.select_one(f'article[data-case="{no}"]')
    assert page.select_one("article.dispatch-sheet")["data-week"] == "2025-W44"
    assert [text_of(li.select_one(".text")) for li in item.select("ul.decisions-previous li")] == [
        "请青桐街道本周内完成现场核查"
    ]
    assert "上次调度决定（2025-W43）" in text_of(item)
    assert _nodes(item, "last-week") == [("3. 出具整改报告", "met", "按时完成")]
    assert _nodes(item, "late") == [] and _nodes(item, "this-week") == []
    assert [li["data-kind"] for li in item.select("ul.changes li")] == ["node_completed", "node_completed"]
    # The sheet of W43 read afterwards: node 2 was done in that week, late.
    past = b.page("/keycases/dispatch?week=2025-W43").select_one(f'article[data-case="{no}"]')
    assert ("2. 现场核查", "met_late", "超时完成") in _nodes(past, "last-week") and _nodes(past, "late") == []

    # Resolved: the state change is on the next sheet; closed before a window, it leaves the sheets.
    world.act(no, "waive_parts", "supervisor", reason="现场核查已由主办单位完成")
    world.act(no, "resolve", "handler", outcome="solved", reply="已整改到位")
    clock.set(sh(2025, 11, 3, 10))  # Monday of W45
    item = b.page("/keycases/dispatch").select_one(f'article[data-case="{no}"]')
    changes = text_of(item.select_one("ul.changes"))
    assert "状态：办理中 → 已办结" in changes and "decision-form" in str(item)
    # The waiver names the department and the reason (M4).
    assert "督办员免除未反馈的协办：青桐街道（理由：现场核查已由主办单位完成）" in changes
    world.act(no, "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    world.act(no, "close", "dispatcher")
    clock.set(sh(2025, 11, 10, 10))  # Monday of W46: closed in the window, on the sheet once more
    item = b.page("/keycases/dispatch").select_one(f'article[data-case="{no}"]')
    assert "状态：已办结 → 已归档" in text_of(item.select_one("ul.changes")) and "decision-form" not in str(item)
    # No meeting since W43's: the next week's sheet still reaches back to it, so the case is on it (M3).
    assert [i["data-case"] for i in b.page("/keycases/dispatch?week=2025-W47").select("article.dispatch-item")] == [no]
    # W46's meeting decides on another key case: the next sheet's window opens then; closed before, the case is off.
    other = handling(world)
    world.act(other, "mark_key", "supervisor", reason="group_appeal", lead_leader_id="leader")
    world.act(other, "record_dispatch_decision", "supervisor", decision="按期推进", week="2025-W46")
    clock.set(sh(2025, 11, 10, 11))
    sheet = b.page("/keycases/dispatch?week=2025-W47")
    assert [i["data-case"] for i in sheet.select("article.dispatch-item")] == [other]
    assert "上次调度以来：11月10日 10:00 至 11月10日 11:00" in text_of(sheet.select_one("header.sheet-head"))
    assert "上次调度决定（2025-W46）" in text_of(sheet.select_one("article.dispatch-item"))


def test_a_bad_week_is_refused_clearly_on_the_page_the_workbook_the_form_and_the_api(world, browser, clock):
    clock.set(sh(2025, 10, 13))
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    b = browser("supervisor")
    for week, words in (("2025-42", "格式有误"), ("2025-W53", "2025 年共 52 周"), ("2031-W01", "超出范围")):
        response = b.get(f"/keycases/dispatch?week={week}")
        assert response.status_code == 422, week
        assert words in text_of(soup(response.text).select_one("#e-week")), week
    b.client.cookies.set("lang", "en")
    response = b.get("/keycases/dispatch?week=W42")
    assert response.status_code == 422 and "like 2025-W42" in response.text
    b.client.cookies.delete("lang")
    assert b.get("/keycases/dispatch?leader=abc").status_code == 422
    assert b.get("/keycases/dispatch.xlsx?week=nope").status_code == 422
    # The form's hidden week, tampered: a week not begun is refused next to the case; nothing is written.
    response = b.post("/keycases/dispatch/decisions", {"case_no": no, "week": "2025-W44", "decision": "提前决定"})
    assert response.status_code == 422 and "超出范围" in response.text
    # The API checks the same rule (the action's guard): a clear 409 naming the week, nothing written.
    version = world.get(no, "supervisor")["version"]
    for week in ("2025/42", "2025-W44"):
        response = world.client.post(
            f"/api/v1/cases/{no}/actions/record_dispatch_decision",
            json={"decision": "x", "week": week},
            headers=world.headers("supervisor"),
        )
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["error"] == "refused_by_rule" and week in body["message_en"] and "调度周" in body["message"]
    assert world.get(no, "supervisor")["version"] == version
    after = world.act(no, "record_dispatch_decision", "supervisor", decision="按期推进", week="2025-W42")
    assert after["timeline"][-1]["payload"] == {"decision": "按期推进", "week": "2025-W42"}
    # Only key cases take a decision.
    plain = handling(world)
    world.act(plain, "record_dispatch_decision", "supervisor", expect=409, decision="x", week="2025-W42")


def test_who_may_open_the_sheet_and_record_decisions(world, browser, clock):
    clock.set(sh(2025, 10, 13))
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="group_appeal", lead_leader_id="leader")
    leader = browser("leader")
    assert "/keycases" in [a["href"] for a in leader.page("/dashboard").select("header nav a")]
    page = leader.page("/keycases/dispatch")
    assert [i["data-case"] for i in page.select("article.dispatch-item")] == [no]
    assert page.select("form.decision-form") == []  # leaders read
    refused = leader.post("/keycases/dispatch/decisions", {"case_no": no, "week": "2025-W42", "decision": "x"})
    assert refused.status_code == 403
    assert leader.get("/keycases/dispatch.xlsx").status_code == 200
    # The leader filter: only one lead leader's cases.
    leader_id = page.select_one("select[name=leader] option[selected]") is None and [
        o["value"] for o in page.select("select[name=leader] option") if o["value"]
    ]
    assert leader_id and len(leader_id) == 1
    filtered = leader.page(f"/keycases/dispatch?leader={leader_id[0]}")
    assert [i["data-case"] for i in filtered.select("article.dispatch-item")] == [no]
    assert leader.page("/keycases/dispatch?leader=999999").select("article.dispatch-item") == []
    for who in ("handler", "head", "dispatcher", "intake", "admin"):
        b = browser(who)
        assert b.get("/keycases/dispatch").status_code == 403, who
        assert b.get("/keycases").status_code == 403, who
        assert b.get("/keycases/dispatch.xlsx").status_code == 403, who
