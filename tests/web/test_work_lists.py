"""The work lists: search for every role, the dispatcher's pool with bulk dispatch, a department's queue and
the supervisor's board."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api._support import end_of_working_days, sh
from tests.factories import World
from tests.web.support import soup, text_of
from web.pages.work import cases as work_cases

MON = sh(2025, 11, 3)  # a quiet working week


def rows(page: Any, table: str = "table") -> list[str]:
    return [tr["data-case"] for tr in page.select(f"{table} tbody tr[data-case]")]


def row(page: Any, case_no: str) -> Any:
    return page.select_one(f'tr[data-case="{case_no}"]')


def caller(i: int) -> dict[str, str]:
    """A petitioner of their own: cases from one phone are flagged as possible duplicates of each other."""
    return {"name": f"来电人{i}", "phone": f"1390000000{i}"}


def dispatched(world: World, department: str = "CGJ", **overrides: Any) -> str:
    no = world.intake(**overrides)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id=department)
    return no


# --- /cases ------------------------------------------------------------------------------------


def test_every_role_searches_what_it_may_see(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    ours = dispatched(world, title="井盖缺失")
    theirs = dispatched(world, "JD1", title="井盖松动")
    fresh = world.intake(title="噪音扰民")["case_no"]
    assert rows(browser("dispatcher").page("/cases")) == [fresh, theirs, ours]  # newest first
    assert rows(browser("handler").page("/cases")) == [ours]
    assert rows(browser("leader").page("/cases?q=井盖")) == [theirs, ours]
    page = browser("dispatcher").page("/cases?q=井盖&department_id=2&state=dispatched")
    assert rows(page) == [ours]
    assert page.find("input", {"name": "q"})["value"] == "井盖"  # the filters stay filled in
    assert page.select_one("select[name=state] option[selected]")["value"] == "dispatched"
    line = row(page, ours)
    assert line.find("a")["href"] == f"/cases/{ours}"
    assert "正常" in text_of(line) and "城市管理局" in text_of(line) and "阳光恳谈会" in text_of(line)
    assert "暂无符合条件的诉求" in text_of(browser("handler").page("/cases?q=噪音"))


def test_overdue_and_due_soon_filters_and_the_traffic_light(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    late = dispatched(world, title="早上派的")
    clock.set(MON + timedelta(days=1, hours=6))  # Tuesday 16:00
    soon = dispatched(world, title="下午派的")
    clock.set(end_of_working_days(MON.date(), 1) + timedelta(hours=20))  # Wednesday 20:00
    b = browser("handler")
    assert rows(b.page("/cases?overdue=1")) == [late]
    page = b.page("/cases?due_soon=1")
    assert rows(page) == [soon]
    assert "即将到期" in text_of(row(page, soon)) and page.select_one("input[name=due_soon]").has_attr("checked")
    assert "已超期" in text_of(row(b.page("/cases"), late))


def test_the_list_pages_with_a_more_link_that_keeps_the_filters(world, browser, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(work_cases, "PAGE_SIZE", 2)
    numbers = [world.intake(title=f"路灯不亮{i}")["case_no"] for i in range(3)]
    b = browser("dispatcher")
    page = b.page("/cases?q=路灯")
    assert rows(page) == numbers[::-1][:2]
    more = page.find("a", rel="next")["href"]
    assert "q=%E8%B7%AF%E7%81%AF" in more and "cursor=" in more
    page = b.page(more)
    assert rows(page) == numbers[:1] and page.find("a", rel="next") is None
    assert "回到第一页" in text_of(page.find(class_="pager"))


def test_the_case_list_states_its_true_total_on_every_page(world, browser, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(work_cases, "PAGE_SIZE", 2)
    clock.set(MON)
    for i in range(3):
        dispatched(world, title=f"桂花巷井盖松动{i}")
    world.intake(title="噪音扰民")
    b = browser("dispatcher")
    page = b.page("/cases?q=桂花巷")
    assert len(rows(page)) == 2 and text_of(page.select_one("h1 .count")) == "共 3 件"  # all pages, not this one
    assert text_of(b.page(page.find("a", rel="next")["href"]).select_one("h1 .count")) == "共 3 件"
    assert text_of(b.page("/cases").select_one("h1 .count")) == "共 4 件"
    assert text_of(browser("handler").page("/cases").select_one("h1 .count")) == "共 3 件"  # what the reader sees
    assert text_of(b.page("/cases?q=没有这件").select_one("h1 .count")) == "共 0 件"
    refused = soup(b.get("/cases?received_from=2025-13-01").text)  # no list, so no total
    assert refused.select_one("h1 .count") is None


def test_a_wrong_filter_is_named_next_to_its_field(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    world.intake()
    response = browser("dispatcher").get("/cases?received_from=2025-13-01&q=路灯")
    assert response.status_code == 422
    page = soup(response.text)
    assert "请输入日期" in text_of(page.find(id="e-received_from"))
    assert page.find("input", {"name": "q"})["value"] == "路灯"
    response = browser("dispatcher").get("/cases?cursor=garbage")
    assert "分页游标无效" in text_of(soup(response.text).find(class_="form-error"))
    # Only roles that see personal data search by phone.
    assert soup(browser("dispatcher").get("/cases").text).find("input", {"name": "phone"}) is not None
    page = soup(browser("head").get("/cases?phone=13812341234").text)
    assert page.find("input", {"name": "phone"}) is None and "不能按电话号码查询" in text_of(page)


def test_received_dates_include_the_whole_last_day(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(sh(2025, 11, 3, 23, 30))
    no = world.intake()["case_no"]
    b = browser("dispatcher")
    assert rows(b.page("/cases?received_from=2025-11-03&received_to=2025-11-03")) == [no]
    assert rows(b.page("/cases?received_from=2025-11-04")) == []


# --- /pool -------------------------------------------------------------------------------------


def test_the_pool_lists_cases_to_route_with_suggestions_and_return_reasons(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    station = world.intake(channel="station", station="ZS01", meeting=None, title="驿站门口积水")["case_no"]
    returned = dispatched(world, title="退回来的")
    world.act(returned, "return", "handler", reason="不属于城管职责，应由街道处理")
    taken = dispatched(world, title="已派出的")
    page = browser("dispatcher").page("/pool")
    assert set(rows(page)) == {station, returned} and taken not in rows(page)
    line = row(page, station)
    chosen = line.select_one("form[data-action=dispatch] select option[selected]")
    assert text_of(chosen).startswith("青桐街道")
    assert "城市驿站「青桐驿站」的属地单位" in text_of(line)
    line = row(page, returned)
    assert "不属于城管职责，应由街道处理" in text_of(line) and "已退单" in text_of(line)
    assert browser("handler").get("/pool").status_code == 403
    assert browser("supervisor").get("/pool").status_code == 200


def test_one_case_is_dispatched_from_its_row(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = world.intake(channel="station", station="ZS01", meeting=None)["case_no"]
    b = browser("dispatcher")
    form = row(b.page("/pool"), no).select_one("form[data-action=dispatch]")
    data = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    data["department_id"] = form.select_one("option[selected]")["value"]
    response = b.post(form["action"], data)
    assert response.status_code == 303 and response.headers["location"] == "/pool"
    page = b.page("/pool")
    assert "已完成「派单」" in text_of(page.find(class_="flash"))
    assert rows(page) == [] and "暂无待派单的诉求" in text_of(page)
    assert world.get(no, "dispatcher")["department"] == "青桐街道"


def bulk_form(page: Any) -> dict[str, Any]:
    """What the bulk form would send with every box ticked."""
    data: dict[str, Any] = {"case_no": []}
    for box in page.select('input[form="bulk"]'):
        if box["type"] == "checkbox":
            data["case_no"].append(box["value"])
        else:
            data[box["name"]] = box["value"]
    return data


def test_bulk_dispatch_sends_every_ticked_case_to_one_department(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    numbers = [world.intake(title=f"路灯{i}", petitioner=caller(i))["case_no"] for i in range(3)]
    b = browser("dispatcher")
    data = bulk_form(b.page("/pool"))
    data["case_no"] = numbers[:2]
    response = b.post("/pool/dispatch", {**data, "department_id": "2", "note": "请尽快处理"})
    assert response.status_code == 303
    page = b.page("/pool")
    assert text_of(page.find(class_="flash")) == "已将 2 件诉求派给城市管理局"
    assert rows(page) == [numbers[2]]
    for no in numbers[:2]:
        case = world.get(no, "handler")
        assert case["state"] == "dispatched" and case["timeline"][-1]["payload"]["note"] == "请尽快处理"


def test_bulk_dispatch_is_all_or_nothing_and_says_which_case_failed_and_why(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    good = world.intake(title="路灯不亮", petitioner=caller(1))["case_no"]
    accusing = {"case_type": "report", "accused_department": "CGJ", "petitioner": caller(2)}
    report = world.intake(title="举报城管执法", **accusing)["case_no"]
    stale = world.intake(title="树木倒伏", petitioner=caller(3))["case_no"]
    b = browser("dispatcher")
    data = bulk_form(b.page("/pool"))
    world.act(stale, "supervise", "supervisor", note="重点关注")  # changed after the page was read
    response = b.post("/pool/dispatch", {**data, "department_id": "2"})
    assert response.status_code == 409
    page = soup(response.text)
    assert "全部未派出" in text_of(page.find(class_="form-error"))
    failures = text_of(page.find(class_="failures"))
    assert report in failures and "举报件不能派给被举报单位" in failures
    assert stale in failures and "已被他人更新" in failures
    assert good not in failures
    assert "failed" in row(page, report)["class"]
    assert all(box.has_attr("checked") for box in page.select('input[form="bulk"][type=checkbox]'))
    assert page.select_one("#f-bulk-department option[selected]")["value"] == "2"
    for no in (good, report, stale):
        assert world.get(no, "dispatcher")["state"] == "received", no


def test_bulk_dispatch_asks_for_cases_and_a_department(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    world.intake()
    response = browser("dispatcher").post("/pool/dispatch", {"department_id": ""})
    assert response.status_code == 422
    page = soup(response.text)
    assert "请先勾选要派单的诉求" in text_of(page.find(class_="form-error"))
    assert "请选择承办单位" in text_of(page.find(id="f-bulk-department-error"))


# --- /queue ------------------------------------------------------------------------------------


def test_the_queue_is_the_departments_active_cases_earliest_due_first(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    normal = dispatched(world, title="一般件")
    urgent = dispatched(world, title="紧急件", urgency="urgent")  # accept within 2 hours
    other = dispatched(world, "JD1", title="街道的件")
    done = dispatched(world, title="已办结的件")
    for action, fields in (
        ("accept", {}),
        ("respond", {"note": "已联系"}),
        ("resolve", {"outcome": "solved", "reply": "已处理"}),
    ):
        world.act(done, action, "handler", **fields)
    clock.set(MON + timedelta(hours=1, minutes=45))
    page = browser("handler").page("/queue")
    assert rows(page, "table.queue") == [urgent, normal]
    assert other not in rows(page, "table.queue") and done not in rows(page, "table.queue")
    assert "即将到期" in text_of(row(page, urgent)) and "正常" in text_of(row(page, normal))
    assert "城市管理局" in text_of(page.find("h1"))
    # accept asks for nothing: a button right in the row; the rest are on the case page.
    line = row(page, normal)
    assert [f["data-action"] for f in line.select("form")] == ["accept", "assign"]  # assign: 我来办
    assert line.find("a", string="办理")["href"] == f"/cases/{normal}"
    assert browser("dispatcher").get("/queue").status_code == 403


def test_accepting_from_the_queue_comes_back_to_the_queue(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = dispatched(world)
    b = browser("handler")
    form = row(b.page("/queue"), no).select_one("form[data-action=accept]")
    data = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    response = b.post(form["action"], data)
    assert response.headers["location"] == "/queue"
    page = b.page("/queue")
    assert "已完成「签收」" in text_of(page.find(class_="flash"))
    assert [f["data-action"] for f in row(page, no).select("form")] == ["assign"] and "已签收" in text_of(row(page, no))


def test_the_queue_offers_the_open_pool_to_claim(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = world.intake(title="揭榜的件")["case_no"]
    world.act(no, "publish", "dispatcher")
    b = browser("other_handler")
    page = b.page("/queue")
    assert rows(page, "table.queue") == [] and "暂无待办的诉求" in text_of(page)
    assert rows(page, "table.open-pool") == [no]
    response = b.post(f"/cases/{no}/actions/claim", {"next": "/queue"})
    assert response.status_code == 303
    assert rows(b.page("/queue"), "table.queue") == [no]
    assert world.get(no, "dispatcher")["department"] == "青桐街道"


# --- /board ------------------------------------------------------------------------------------


def test_the_board_shows_overdue_due_soon_extensions_returns_and_key_cases(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    late = dispatched(world, title="超期未签收")
    extension = dispatched(world, title="申请延期的件")
    for action, fields in (("accept", {}), ("respond", {"note": "已联系"})):
        world.act(extension, action, "handler", **fields)
    world.act(extension, "request_extension", "handler", days=5, reason="需协调供电公司")
    returned = dispatched(world, title="被退回的件")
    world.act(returned, "return", "handler", reason="应由街道处理")
    key = world.intake(channel="inspection", meeting=None, title="巡视交办：老旧小区改造")["case_no"]
    clock.set(MON + timedelta(days=2))  # Wednesday 10:00
    page = browser("supervisor").page("/board")
    sections = {s.find("h2")["id"]: s for s in page.select("section")}
    assert late in rows(sections["h-overdue"])
    assert "已超期" in text_of(row(sections["h-overdue"], late))
    extension_row = row(sections["h-extensions"], extension)
    assert "延期工作日数：5" in text_of(extension_row) and "需协调供电公司" in text_of(extension_row)
    assert [b["data-action"] for b in extension_row.select("button")] == ["approve_extension", "reject_extension"]
    assert rows(sections["h-returned"]) == [returned]
    assert "应由街道处理" in text_of(row(sections["h-returned"], returned))
    assert row(sections["h-returned"], returned).select_one("form[data-action=dispatch]") is not None
    # 督办件 (supervised cases) have their own section; the key cases (重点件) theirs (tests/keycases/test_pages_fixes.py).
    assert rows(sections["h-supervised"]) == [key] and "巡视交办" in text_of(row(sections["h-supervised"], key))
    assert {b["data-action"] for b in row(sections["h-overdue"], late).select("button")} == {"urge", "supervise"}
    assert browser("handler").get("/board").status_code == 403


def test_the_supervisor_approves_an_extension_from_the_board(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = dispatched(world)
    for action, fields in (("accept", {}), ("respond", {"note": "已联系"})):
        world.act(no, action, "handler", **fields)
    world.act(no, "request_extension", "handler", days=3, reason="等待材料")
    before = next(c for c in world.get(no, "supervisor")["clocks"] if c["name"] == "resolve")["due_at"]
    b = browser("supervisor")
    form = row(b.page("/board"), no).select_one("form.note-actions")
    data = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    approve = form.select_one("button[data-action=approve_extension]")["formaction"]
    response = b.post(approve, {**data, "note": "同意"})
    assert response.status_code == 303 and response.headers["location"] == "/board"
    page = b.page("/board")
    assert "已完成「批准延期」" in text_of(page.find(class_="flash"))
    assert "暂无待审批的延期申请" in text_of(page)
    case = world.get(no, "supervisor")
    assert case["pending_extension_days"] is None
    assert next(c for c in case["clocks"] if c["name"] == "resolve")["due_at"] > before


def test_supervising_from_the_board_needs_a_note(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = dispatched(world)
    clock.set(MON + timedelta(days=3))
    b = browser("supervisor")
    form = row(b.page("/board"), no).select_one("form.note-actions")
    data = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    response = b.post(form.select_one("button[data-action=supervise]")["formaction"], {**data, "note": ""})
    # Refused: back on the board (not the case page), the reason at the top, nothing written.
    assert response.status_code == 303 and response.headers["location"] == f"/board#row-{no}"
    flash = text_of(b.page("/board").find(class_="flash"))
    assert no in flash and "未执行「督办」" in flash and "督办意见 为必填项" in flash
    assert world.get(no, "supervisor")["supervised"] is False
    response = b.post(form.select_one("button[data-action=urge]")["formaction"], {**data, "note": "请今天签收"})
    assert response.headers["location"] == "/board"
    assert world.get(no, "supervisor")["urge_count"] == 1


def test_the_dispatcher_sees_the_board_without_the_supervisors_decisions(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = dispatched(world)
    clock.set(MON + timedelta(days=3))
    page = browser("dispatcher").page("/board")
    assert "审批和督办由督办员负责" in text_of(page)
    assert [b["data-action"] for b in row(page, no).select("button")] == ["urge"]


def test_every_list_has_an_empty_state(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    page = browser("supervisor").page("/board")
    for text in (
        "暂无超期的诉求",
        "暂无即将到期的诉求",
        "暂无待审批的延期申请",
        "暂无退回的诉求",
        "没有在办的督办件",
    ):
        assert text in text_of(page)
    assert "暂无待派单的诉求" in text_of(browser("dispatcher").page("/pool"))
    assert "暂无诉求" in text_of(browser("handler").page("/cases"))
