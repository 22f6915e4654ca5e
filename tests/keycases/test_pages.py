"""Key cases in the browser's pages (issue 12): the case page's 重点件 panel and forms (mark key, the plan's rows,
completing a node with a file), the timeline in both languages, the board's late nodes and waiting lists, the lead
leader's own page and the case list's filters. Real forms posted with their CSRF token, read as a person would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api._support import end_of_working_days, sh
from tests.reports.metrics_support import handling
from tests.web.support import text_of


def _user_id(world: Any, username: str) -> int:
    from sqlmodel import select

    from grievance.db import transaction
    from grievance.users.models import User

    with transaction(world.app.state.sessions) as session:
        return int(session.exec(select(User.id).where(User.username == username)).one())


def _post(b: Any, no: str, action: str, data: dict[str, Any], **kwargs: Any) -> Any:
    version = b.page(f"/cases/{no}").select_one(f'form[data-action="{action}"] input[name=expected_version]')["value"]
    return b.post(f"/cases/{no}/actions/{action}", {"expected_version": version, **data}, **kwargs)


def test_a_supervisor_marks_a_case_key_on_its_page_and_the_panel_shows_it(world, browser, clock):
    no = handling(world)
    b = browser("supervisor")
    page = b.page(f"/cases/{no}")
    form = page.select_one('form[data-action="mark_key"]')
    assert [o.text for o in form.select("select[name=reason] option")][1:] == [
        "巡视交办",
        "积案",
        "群体诉求",
        "领导交办",
        "其他",
    ]
    leaders = {o.text: o["value"] for o in form.select("select[name=lead_leader_id] option") if o["value"]}
    assert len(leaders) == 1
    # "other" without its note: the form comes back with the message next to the note, nothing written.
    refused = _post(b, no, "mark_key", {"reason": "other", "lead_leader_id": next(iter(leaders.values()))})
    assert refused.status_code == 422
    assert "说明（原因为“其他”时必填） 为必填项" in refused.text
    response = _post(b, no, "mark_key", {"reason": "backlog", "lead_leader_id": next(iter(leaders.values()))})
    assert response.status_code == 303, response.text
    page = b.page(f"/cases/{no}")
    panel = page.select_one("section.card-key")
    assert "积案" in text_of(panel.find("h2")) and next(iter(leaders)) in text_of(panel.select_one(".lead-leader"))
    assert "尚未设定节点计划" in text_of(panel)
    event = page.select_one("ol.timeline li")
    assert "标记重点件" in text_of(event) and "包案领导" in text_of(event) and "积案" in text_of(event)


def test_the_department_sets_the_plan_with_the_row_form_and_completes_a_node_with_a_file(world, browser, clock):
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    b = browser("handler")
    page = b.page(f"/cases/{no}")
    form = page.select_one('form[data-action="plan_nodes"]')
    rows = form.select("fieldset.node-row")
    assert len(rows) == 3 and all(r.select_one("input[type=text]") for r in rows)  # blank rows without JavaScript
    # Row 2 is left blank (ignored); row 3 gives a date.
    response = _post(
        b,
        no,
        "plan_nodes",
        {
            "nodes-0-name": "约谈相关企业",
            "nodes-0-working_days": "2",
            "nodes-2-name": "出具整改报告",
            "nodes-2-due_date": "2025-10-17",
            "nodes-2-evidence_required": "true",
        },
    )
    assert response.status_code == 303, response.text
    page = b.page(f"/cases/{no}")
    cells = [[text_of(td) for td in tr.select("td")] for tr in page.select("table.nodes tbody tr")]
    assert cells[0][0] == "1. 约谈相关企业" and cells[0][1] == "城市管理局" and "正常" in cells[0][3]
    assert cells[1][0].startswith("2. 出具整改报告") and "须上传佐证" in cells[1][0] and "2025-10-17前" in cells[1][2]
    assert "设定后2个工作日" in cells[0][2]
    event = text_of(page.select_one("ol.timeline li"))
    assert "设定节点计划" in event and "1. 约谈相关企业 (城市管理局，2个工作日)" in event

    # Node 2 needs evidence: without a file the form says so next to the file field.
    refused = _post(b, no, "complete_node", {"node": "2", "note": "报告已出具"})
    assert refused.status_code == 422 and "须上传佐证材料" in refused.text
    done = _post(
        b,
        no,
        "complete_node",
        {"node": "2", "note": "报告已出具"},
        files=[("attachment_ids", ("整改报告.pdf", b"%PDF-1.4\n%test\n", "application/pdf"))],
    )
    assert done.status_code == 303, done.text
    page = b.page(f"/cases/{no}")
    row = page.select_one('table.nodes tr[data-node="2"]')
    assert "node-done" in row["class"] and row.select_one(".status-met") is not None
    assert "报告已出具" in text_of(row)
    assert row.select_one("a[href*='/attachments/']").text == "整改报告.pdf"
    # Resolving is not offered while node 1 is open; the case's own resolve form is gone.
    assert page.select_one('form[data-action="resolve"]') is None


def test_the_timeline_reads_in_english_too(world, browser, clock):
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="group_appeal", lead_leader_id="leader")
    world.act(no, "plan_nodes", "handler", nodes=[{"name": "Site visit", "working_days": 3}])
    b = browser("supervisor")
    b.client.cookies.set("lang", "en")
    page = b.page(f"/cases/{no}")
    panel = text_of(page.select_one("section.card-key"))
    assert "Key case" in panel and "Group appeal" in panel and "Lead leader" in panel and "Plan of nodes" in panel
    events = [text_of(li) for li in page.select("ol.timeline li")]
    assert "Set the plan of nodes" in events[0] and "1. Site visit" in events[0] and "3 working day(s)" in events[0]
    assert "Mark as key case" in events[1] and "Lead leader" in events[1] and "Group appeal" in events[1]


def test_the_board_lists_late_nodes_key_cases_without_a_leader_and_changes_to_decide(world, browser, clock):
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "plan_nodes", "handler", nodes=[{"name": "约谈相关企业", "working_days": 1}])
    inspection = world.intake(as_user="dispatcher", channel="inspection", meeting=None)["case_no"]
    clock.set(end_of_working_days(sh(2025, 9, 29).date(), 1) + timedelta(days=9, hours=10))  # Oct 10 + working time
    world.act(
        no,
        "propose_node_change",
        "handler",
        nodes=[{"seq": 1, "name": "约谈相关企业", "working_days": 3}],
        reason="企业负责人出差",
    )
    page = browser("supervisor").page("/board")
    late = page.select_one("table.late-nodes tbody tr")
    assert late["data-case"] == no and "1. 约谈相关企业" in text_of(late)
    # Due Sep 30 24:00; then the National Day holiday; Oct 9 is a whole working day late and Oct 10 has begun: 2.
    assert "已超期 2个工作日" in text_of(late)
    assert [tr["data-case"] for tr in page.select("table.without-leader tbody tr")] == [inspection]
    change = page.select_one("table.node-changes tbody tr")
    assert change["data-case"] == no
    assert {b["data-action"] for b in change.select("button[data-action]")} == {
        "approve_node_change",
        "reject_node_change",
    }


def test_the_lead_leader_sees_their_cases_with_node_counts(world, browser, clock):
    mine = handling(world)
    world.act(mine, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(
        mine,
        "plan_nodes",
        "handler",
        nodes=[{"name": "约谈", "working_days": 1}, {"name": "核查", "working_days": 10}],
    )
    world.act(mine, "complete_node", "handler", node=2, note="已核查")
    handling(world)  # not key: not on the page
    b = browser("leader")
    nav = [a["href"] for a in b.page("/dashboard").select("header nav a")]
    assert "/leader/cases" in nav
    clock.set(sh(2025, 10, 10, 10))
    page = b.page("/leader/cases")
    rows = page.select("table.my-key-cases tbody tr")
    assert [r["data-case"] for r in rows] == [mine]
    counts = rows[0].select_one("td.node-counts")
    assert (counts["data-met"], counts["data-late"], counts["data-open"]) == ("1", "1", "1")
    assert "城市管理局" in text_of(rows[0])
    # Other roles may not open it.
    assert browser("handler").get("/leader/cases").status_code == 403


def test_the_case_list_filters_key_cases_by_leader(world, browser, clock):
    key = handling(world)
    world.act(key, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    plain = handling(world)
    b = browser("supervisor")
    listed = [tr["data-case"] for tr in b.page("/cases?key=1").select("tr[data-case]")]
    assert key in listed and plain not in listed
    leader = _user_id(world, "leader")
    page = b.page(f"/cases?key=1&lead_leader_id={leader}")
    assert [tr["data-case"] for tr in page.select("tr[data-case]")] == [key]
    assert page.select_one(f'select[name=lead_leader_id] option[value="{leader}"]').has_attr("selected")
