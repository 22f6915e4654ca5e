"""Key cases after the newcomer's trial (issue 12, findings M3 M4 M5 M7, minor 4 5 7 8 10 13): what a rule refuses
shown on the case page with its reason, a deactivated lead leader found and marked everywhere, a key case merged as a
duplicate, the board's supervised and key-case sections, the lead leader's list, the list rows and the API's fields.
Real forms posted with their CSRF token, read as a person would, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.api._support import sh
from tests.reports.metrics_support import dispatched, handling
from tests.web.support import text_of

API = "/api/v1"


def _user_id(world: Any, username: str) -> int:
    from sqlmodel import select

    from grievance.db import transaction
    from grievance.users.models import User

    with transaction(world.app.state.sessions) as session:
        return int(session.exec(select(User.id).where(User.username == username)).one())


def _second_leader(world: Any) -> int:
    from grievance.db import transaction
    from grievance.users.service import create_token, create_user

    with transaction(world.app.state.sessions) as session:
        user = create_user(session, username="leader2", role="leader", password=None, display_name="王副区长")
        world.tokens["leader2"] = create_token(session, user)
        return int(user.id)  # type: ignore[arg-type]


def _post(b: Any, no: str, action: str, data: dict[str, Any], **kwargs: Any) -> Any:
    version = b.page(f"/cases/{no}").select_one("input[name=expected_version]")["value"]
    return b.post(f"/cases/{no}/actions/{action}", {"expected_version": version, **data}, **kwargs)


def _listed(world: Any, as_user: str = "supervisor", **params: Any) -> list[str]:
    response = world.client.get(f"{API}/cases", params=params, headers=world.headers(as_user))
    assert response.status_code == 200, response.text
    return [item["case_no"] for item in response.json()["items"]]


def test_resolve_shows_as_unavailable_with_the_open_nodes_and_parts_and_a_forced_post_is_not_called_stale(
    world, browser, clock
):
    no = dispatched(world)
    world.act(no, "add_assisting_department", "dispatcher", assisting_department_ids=["JD1"])
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系")
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "plan_nodes", "handler", nodes=[{"name": "现场核查", "working_days": 3}])
    b = browser("handler")
    page = b.page(f"/cases/{no}")
    assert page.select_one('form[data-action="resolve"]') is None
    item = page.select_one('ul.unavailable-actions li[data-for="resolve"]')
    assert item is not None and "办结" in text_of(item)
    reasons = [text_of(r) for r in item.select(".reason")]
    assert any("节点未完成：1. 现场核查；须全部完成后才能办结" in r for r in reasons)
    assert any("青桐街道" in r for r in reasons)  # the assisting part still open (no_open_parts)
    # Actions that do not apply (not a rule waiting for something) are not listed: the plan is set already.
    listed = {li["data-for"] for li in page.select("ul.unavailable-actions li")}
    assert "plan_nodes" not in listed and "complete_node" not in listed
    # Forced: the rule's message, and no "the case may have changed" (nothing changed).
    refused = _post(b, no, "resolve", {"outcome": "solved", "reply": "已处理"})
    assert refused.status_code == 409
    assert "节点未完成" in refused.text and "打开页面后该件可能已有变化" not in refused.text
    # A stale form still says so.
    stale = b.post(f"/cases/{no}/actions/note", {"expected_version": "1", "note": "进展"})
    assert stale.status_code == 409 and "打开页面后该件可能已有变化" in stale.text
    # English.
    b.client.cookies.set("lang", "en")
    page = b.page(f"/cases/{no}")
    item = page.select_one('ul.unavailable-actions li[data-for="resolve"]')
    assert "Not possible yet" in text_of(page.select_one("#h-unavailable")) and "Open nodes: 1." in text_of(item)


def test_a_deactivated_lead_leader_is_marked_and_their_cases_are_found_and_warned_of(world, browser, clock):
    leader2 = _second_leader(world)
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader2")
    admin = browser("admin")
    account = admin.page(f"/admin/users/{leader2}")
    warning = account.select_one(".key-cases-led")
    assert "包案 1 件在办重点件" in text_of(warning)
    assert no in [tr["data-case"] for tr in admin.page(warning.a["href"]).select("tr[data-case]")]
    version = {"csrf_token": account.select_one("input[name=csrf_token]")["value"]}
    done = admin.post(f"/admin/users/{leader2}/deactivate", version, follow_redirects=True)
    assert done.status_code == 200 and "请为这些件另行指定包案领导" in done.text  # still allowed, with the warning
    b = browser("supervisor")
    page = b.page(f"/cases/{no}")
    assert "王副区长（已停用）" in text_of(page.select_one(".lead-leader"))
    board = b.page("/board")
    assert "重点件未定包案领导（含领导已停用）" in text_of(board.select_one("#h-without-leader"))
    row = board.select_one(f'table.without-leader tr[data-case="{no}"]')
    assert "王副区长（已停用）" in text_of(row)
    assert row.select_one("a[href*='open=set_lead_leader']")["href"].endswith("#action-set_lead_leader")
    assert no in _listed(world, key="true", no_lead_leader="true")
    assert no in [tr["data-case"] for tr in b.page("/cases?key=1&no_lead_leader=1").select("tr[data-case]")]
    options = {o["value"]: o.text for o in b.page("/cases").select("select[name=lead_leader_id] option")}
    assert options[str(leader2)] == "王副区长（已停用）"
    assert [tr["data-case"] for tr in b.page(f"/cases?lead_leader_id={leader2}").select("tr[data-case]")] == [no]
    # The board's link opens the form: 指定包案领导 open, another leader chosen.
    form_page = b.page(f"/cases/{no}?open=set_lead_leader")
    assert form_page.select_one("details#action-set_lead_leader").has_attr("open")
    world.act(no, "set_lead_leader", "supervisor", lead_leader_id="leader")
    assert no not in _listed(world, key="true", no_lead_leader="true")


def test_the_same_lead_leader_again_changes_nothing_and_a_blank_one_is_required(world, clock):
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    before = world.get(no, "supervisor")["version"]
    same = world.act(no, "set_lead_leader", "supervisor", expect=409, lead_leader_id="leader")
    assert same["error"] == "nothing_to_change" and "已是此人" in same["message"]
    assert world.get(no, "supervisor")["version"] == before
    blank = world.act(no, "set_lead_leader", "supervisor", expect=422, lead_leader_id="")
    assert [e["message"] for e in blank["errors"]] == ["包案领导 为必填项"]
    assert blank["errors"][0]["message_en"] == "Lead leader is required"


def test_a_key_case_merged_into_a_plain_case_makes_it_key_and_leaves_the_leaders_list(world, browser, clock):
    target = world.intake()["case_no"]
    no = dispatched(world)
    world.act(no, "accept", "handler")
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "plan_nodes", "handler", nodes=[{"name": "约谈", "working_days": 3}])
    world.act(no, "return", "handler", reason="不属本单位职责")
    page = browser("supervisor").page(f"/cases/{no}")
    warning = page.select_one('details[data-for="merge"] .merge-key-warning')
    assert warning is not None and "本件是重点件" in text_of(warning)
    merged = world.act(no, "merge", "supervisor", into=target)
    assert merged["state"] == "merged"
    assert all(n["status"] != "open" for n in merged["nodes"])
    event = merged["timeline"][-1]["payload"]
    assert event["key_carried"]["reason"] == "backlog"
    survivor = world.get(target, "supervisor")
    assert survivor["key"] and survivor["key_reason"] == "backlog" and survivor["lead_leader"]["name"] == "leader"
    assert survivor["timeline"][-1]["payload"]["key_carried"]["lead_leader"] == "leader"
    leader_page = browser("leader")
    assert [tr["data-case"] for tr in leader_page.page("/leader/cases").select("tr[data-case]")] == [target]
    every = [tr["data-case"] for tr in leader_page.page("/leader/cases?finished=1").select("tr[data-case]")]
    assert every == [target]  # the merged one never


def test_a_key_case_merged_into_a_key_case_leaves_the_target_its_own(world, clock):
    _second_leader(world)
    target = world.intake()["case_no"]
    world.act(target, "mark_key", "supervisor", reason="group_appeal", lead_leader_id="leader2")
    no = world.intake()["case_no"]
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    merged = world.act(no, "merge", "supervisor", into=target)
    assert "key_carried" not in merged["timeline"][-1]["payload"]
    survivor = world.get(target, "supervisor")
    assert survivor["key_reason"] == "group_appeal" and survivor["lead_leader"]["name"] == "王副区长"


def test_without_a_leader_means_open_cases_unless_the_state_says_otherwise(world, clock):
    target = world.intake()["case_no"]
    open_referral = world.intake(as_user="dispatcher", channel="inspection", meeting=None)["case_no"]
    merged = world.intake(as_user="dispatcher", channel="inspection", meeting=None)["case_no"]
    world.act(merged, "merge", "supervisor", into=target)
    found = _listed(world, no_lead_leader="true")
    assert open_referral in found and merged not in found
    assert _listed(world, no_lead_leader="true", state="merged") == [merged]


def test_the_leaders_list_counts_nodes_that_add_up_and_marks_a_late_node(world, browser, clock):
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(
        no,
        "plan_nodes",
        "handler",
        nodes=[
            {"name": "约谈", "working_days": 1},
            {"name": "核查", "working_days": 10},
            {"name": "报告", "working_days": 20},
        ],
    )
    world.act(no, "complete_node", "handler", node=2, note="已核查")
    clock.set(sh(2025, 10, 10, 10))
    row = browser("leader").page("/leader/cases").select_one(f'tr[data-case="{no}"]')
    counts = row.select_one("td.node-counts")
    met, met_late, still_open, late = (int(counts[k]) for k in ("data-met", "data-met-late", "data-open", "data-late"))
    assert (met, met_late, still_open, late) == (1, 0, 2, 1)
    assert met + met_late + still_open == int(counts["data-total"]) == 3
    assert "node-late" in row["class"] and row.select_one(".status-overdue") is not None
    assert "共 3 个节点：按时完成 1，逾期完成 0，未完成 2（其中逾期 1）" in text_of(counts)


def test_the_board_names_supervised_cases_apart_from_key_cases(world, browser, clock):
    supervised = handling(world)
    world.act(supervised, "supervise", "supervisor", note="督办")
    key = handling(world)
    world.act(key, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    board = browser("supervisor").page("/board")
    assert text_of(board.select_one("#h-supervised")).startswith("督办件")
    assert [tr["data-case"] for tr in board.select("table.supervised-cases tr[data-case]")] == [supervised]
    heading = board.select_one("#h-key")
    assert "在办 1 件" in text_of(heading)
    link = heading.select_one("a.all")["href"]
    assert "key=1" in link
    assert [tr["data-case"] for tr in browser("supervisor").page(link).select("tr[data-case]")] == [key]
    assert "重点件（督办件" not in board.get_text()


def test_the_api_gives_a_choice_fields_codes_and_list_rows_carry_key_and_leader(world, clock):
    no = handling(world)
    actions = {a["action"]: a for a in world.get(no, "supervisor")["available_actions"]}
    options = actions["mark_key"]["fields"]["reason"]["options"]
    assert [o["code"] for o in options] == ["inspection", "backlog", "group_appeal", "leader_instruction", "other"]
    assert options[2] == {"code": "group_appeal", "label": "群体诉求", "label_en": "Group appeal"}
    world.act(no, "mark_key", "supervisor", reason="leader_instruction", lead_leader_id="leader")
    items = world.client.get(f"{API}/cases", params={"key": "true"}, headers=world.headers("supervisor")).json()
    row = next(i for i in items["items"] if i["case_no"] == no)
    assert row["key"] is True and row["key_reason"] == "leader_instruction"
    assert row["lead_leader"] == "leader" and row["lead_leader_active"] is True


def test_the_case_list_page_shows_the_lead_leader_of_key_cases(world, browser, clock):
    no = handling(world)
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    page = browser("supervisor").page("/cases?key=1")
    cell = page.select_one(f'tr[data-case="{no}"] td.lead-leader')
    assert "重点件" in text_of(cell) and "leader" in text_of(cell)


# -------------------------------------------------------------------------- second trial: M1, minors 2 and 8 (pages)
def test_the_plan_form_offers_the_lead_and_assisting_departments_and_each_completes_its_own(world, browser, clock):
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ", assisting_department_ids=["JD1"])
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系")
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    page = browser("handler").page(f"/cases/{no}")
    offered = [text_of(o) for o in page.select('select[name="nodes-0-department_id"] option')]
    assert offered[1:] == ["城市管理局", "青桐街道"]  # after "the case's department"; not 企业服务局
    nodes = [{"name": "现场核查", "working_days": 2}, {"name": "街道走访", "department_id": "JD1", "working_days": 3}]
    world.act(no, "plan_nodes", "handler", nodes=nodes)
    assisting = browser("other_handler")
    form = assisting.page(f"/cases/{no}").select_one('form[data-action="complete_node"]')
    assert form is not None
    assert [text_of(o) for o in form.select('select[name="node"] option') if o.get("value")] == ["2. 街道走访"]
    response = _post(assisting, no, "complete_node", {"node": "2", "note": "已走访"}, follow_redirects=False)
    assert response.status_code in (200, 303), response.text
    assert [n["status"] for n in world.get(no, "supervisor")["nodes"]] == ["open", "done"]
    lead = browser("handler").page(f"/cases/{no}").select_one('form[data-action="complete_node"]')
    assert [text_of(o) for o in lead.select('select[name="node"] option') if o.get("value")] == ["1. 现场核查"]
    headers = [text_of(th) for th in browser("handler").page(f"/cases/{no}").select("table.parts thead th")]
    assert len(headers) == len(set(headers)), headers


def test_a_merge_that_carries_key_status_reads_as_words_in_both_languages(world, browser, clock):
    target = world.intake()["case_no"]
    no = dispatched(world)
    world.act(no, "accept", "handler")
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(no, "return", "handler", reason="不属本单位职责")
    world.act(no, "merge", "supervisor", into=target)
    b = browser("supervisor")
    for url in (f"/cases/{no}", f"/cases/{target}"):
        timeline = text_of(b.page(url).select_one("ol.timeline"))
        assert "key_carried" not in timeline and "{" not in timeline
        assert "积案" in timeline and "包案领导：leader" in timeline
    b.client.cookies.set("lang", "en")
    english = text_of(b.page(f"/cases/{target}").select_one("ol.timeline"))
    assert "key_carried" not in english and "lead leader leader" in english and "Backlog" in english
