"""The case page: every field (masked where the role requires), clocks, the timeline, attachments, and one
form per action the engine allows this user now; firing them, refusals, stale pages and other departments."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from grievance.cases.models import AuditEntry
from grievance.db import transaction
from tests.api._support import actions, sh
from tests.factories import World
from tests.web.support import soup, text_of

MON = sh(2025, 11, 3)  # a quiet working week


def dispatched_case(world: World, **overrides: Any) -> str:
    no = world.intake(**overrides)["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    return no


def handling_case(world: World) -> str:
    no = dispatched_case(world)
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已电话联系诉求人")
    return no


def action_forms(page: Any) -> set[str]:
    return {form["data-action"] for form in page.select("form.action-form")}


def payload_of(event: Any) -> dict[str, str]:
    """An event's input as shown: label -> value."""
    return {text_of(d.find("dt")): text_of(d.find("dd")) for d in event.select(".payload > div")}


def field_error(page: Any, action: str, field: str) -> str:
    form = page.select_one(f'form[data-action="{action}"]')
    control = form.select_one(f'[name="{field}"]')
    return text_of(form.select_one(f"#{control['aria-describedby']}"))


def test_the_page_shows_the_case_its_clocks_and_its_timeline_in_chinese(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = dispatched_case(world, location="青桐路18号")
    page = browser("handler").page(f"/cases/{no}")
    assert no in text_of(page.find("h1")) and "小区门口路灯不亮" in text_of(page.find("h1"))
    facts = {text_of(d.find("dt")): text_of(d.find("dd")) for d in page.select("dl.facts > div")}
    assert facts["诉求类型"] == "求助"
    assert facts["来源渠道"] == "阳光恳谈会"
    assert facts["承办单位"] == "城市管理局"
    assert facts["恳谈会"] == "第一期阳光恳谈会"
    assert facts["发生地点"] == "青桐路18号"
    assert facts["受理时间"] == "2025年11月3日 10:00"
    assert "青桐路18号小区门口的路灯坏了一周" in text_of(page.find(class_="text"))
    assert "待签收" in text_of(page.find(class_="tags"))
    clocks = {row["data-clock"]: row for row in page.select("tr[data-clock]")}
    assert set(clocks) == {"accept", "respond", "resolve"}
    accept = clocks["accept"]
    assert "签收时限" in text_of(accept) and "1个工作日" in text_of(accept)
    assert "正常" in text_of(accept.find(class_="status"))
    assert text_of(accept.find(class_="remaining")) == "剩余 1.6个工作日"  # Monday 10:00 to Tuesday 24:00
    events = [text_of(li.find("strong")) for li in page.select(".timeline li")]
    assert events == ["派单", "受理登记"]  # newest first
    dispatch = page.select(".timeline li")[0]
    assert payload_of(dispatch) == {"承办单位": "城市管理局"} and "dispatcher" in text_of(dispatch)


def test_the_phone_is_masked_for_roles_without_personal_data(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = dispatched_case(world)
    for user, phone in (
        ("handler", "13812341234"),
        ("dispatcher", "13812341234"),
        ("head", "138****1234"),
        ("leader", "138****1234"),
    ):
        page = browser(user).page(f"/cases/{no}")
        assert text_of(page.find("dd", class_="phone")) == phone, user
        assert ("隐去" in text_of(page)) == ("*" in phone), user


def test_the_forms_are_exactly_the_actions_the_engine_allows_each_user_now(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    received = world.intake()["case_no"]
    dispatched = dispatched_case(world)
    handling = handling_case(world)
    for no in (received, dispatched, handling):
        for user in ("intake", "dispatcher", "handler", "head", "supervisor", "leader"):
            response = browser(user).get(f"/cases/{no}")
            if no == received and user in ("handler", "head"):  # not yet their department's
                assert response.status_code == 404
                continue
            assert action_forms(soup(response.text)) == actions(world.get(no, user)), (no, user)
    assert action_forms(browser("handler").page(f"/cases/{dispatched}")) == {"accept", "return", "assign"}
    # A department head may do what the handler does; a leader only reads, and marks a case key (issue 12).
    assert action_forms(browser("head").page(f"/cases/{handling}")) >= {"resolve", "note", "request_extension"}
    leader = browser("leader").page(f"/cases/{handling}")
    assert action_forms(leader) == {"mark_key"}
    world.act(handling, "mark_key", "leader", reason="backlog", lead_leader_id="leader")
    leader = browser("leader").page(f"/cases/{handling}")
    assert action_forms(leader) == {"set_lead_leader"}


def test_a_handler_cannot_open_another_departments_case_by_url(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = dispatched_case(world)
    other = browser("other_handler")
    response = other.get(f"/cases/{no}")
    missing = other.get("/cases/GX-2025-999999")
    assert response.status_code == missing.status_code == 404
    page, nothing = soup(response.text), soup(missing.text)
    assert text_of(page.find("h1")) == text_of(nothing.find("h1"))
    assert "不存在或不属于您的单位" in text_of(page) and "小区门口路灯不亮" not in response.text
    # Nor by posting to it, nor by fetching its files.
    assert other.post(f"/cases/{no}/actions/accept").status_code == 404
    assert other.get(f"/cases/{no}/attachments/1").status_code == 404
    assert world.get(no, "handler")["state"] == "dispatched"


def test_an_action_is_fired_and_the_page_comes_back_with_a_message(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = dispatched_case(world)
    b = browser("handler")
    page = b.page(f"/cases/{no}")
    version = page.select_one('form[data-action="accept"] input[name="expected_version"]')["value"]
    response = b.post(f"/cases/{no}/actions/accept", {"expected_version": version})
    assert response.status_code == 303 and response.headers["location"] == f"/cases/{no}"
    page = b.page(response.headers["location"])
    assert text_of(page.find(class_="flash")) == f"{no}：已完成「签收」"
    assert "已签收" in text_of(page.find(class_="tags"))
    assert action_forms(page) == actions(world.get(no, "handler"))
    # The next step is the respond form, open and focused.
    primary = page.select_one("details.primary-action")
    assert primary["data-for"] == "respond" and primary.has_attr("open")
    assert primary.select_one("textarea[name=note]").has_attr("autofocus")
    response = b.post(f"/cases/{no}/actions/respond", {"note": "已电话联系，约定明天现场查看"})
    assert response.status_code == 303
    case = world.get(no, "handler")
    assert case["state"] == "handling" and case["timeline"][-1]["payload"] == {"note": "已电话联系，约定明天现场查看"}


def test_a_stale_page_gets_a_clear_409_and_keeps_what_was_typed(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = dispatched_case(world)
    world.act(no, "accept", "handler")
    b = browser("handler")
    page = b.page(f"/cases/{no}")
    version = page.select_one('form[data-action="respond"] input[name="expected_version"]')["value"]
    world.act(no, "note", "head", note="负责人已批示")  # someone else changes the case meanwhile
    response = b.post(f"/cases/{no}/actions/respond", {"expected_version": version, "note": "已联系诉求人"})
    assert response.status_code == 409
    page = soup(response.text)
    problem = text_of(page.find(class_="problem"))
    assert "已被他人更新" in problem and "重新载入" in problem
    assert "(" not in problem and "version" not in problem  # the reader's language only, no version numbers
    assert page.find(class_="problem").find("a")["href"] == f"/cases/{no}"
    assert text_of(page.select_one('form[data-action="respond"] textarea[name="note"]')) == "已联系诉求人"
    assert "负责人已批示" in text_of(page.find(class_="timeline"))  # what changed is on the page
    assert world.get(no, "handler")["state"] == "accepted"


def test_an_action_not_allowed_any_more_says_so(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = dispatched_case(world)
    b = browser("handler")
    b.page(f"/cases/{no}")
    world.act(no, "accept", "head")  # the head accepted it a moment ago
    response = b.post(f"/cases/{no}/actions/accept")
    assert response.status_code == 409
    assert "不能执行「签收」" in text_of(soup(response.text).find(class_="problem"))


def test_a_form_error_keeps_the_values_and_says_what_to_fix_next_to_the_field(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = handling_case(world)
    b = browser("handler")
    for days, message in (("两天", "应为整数"), ("99", "应在 1 到 15 之间")):
        response = b.post(f"/cases/{no}/actions/request_extension", {"days": days, "reason": "需协调供电公司"})
        assert response.status_code == 422
        page = soup(response.text)
        assert message in field_error(page, "request_extension", "days")
        form = page.select_one('form[data-action="request_extension"]')
        assert form.select_one("input[name=days]")["value"] == days
        assert text_of(form.select_one("textarea[name=reason]")) == "需协调供电公司"
        assert page.select_one('details[data-for="request_extension"]').has_attr("open")
        assert form.select_one("input[name=days]").has_attr("autofocus")
    # A required field left empty is named; nothing was written by any refused attempt.
    page = soup(b.post(f"/cases/{no}/actions/resolve", {"outcome": "solved", "reply": ""}).text)
    assert "答复内容 为必填项" in field_error(page, "resolve", "reply")
    assert page.select_one('form[data-action="resolve"] select[name=outcome] option[selected]')["value"] == "solved"
    case = world.get(no, "handler")
    assert case["state"] == "handling" and case["pending_extension_days"] is None
    assert [e["action"] for e in case["timeline"]][-1] == "respond"


def test_every_post_needs_the_csrf_token(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = dispatched_case(world)
    b = browser("handler")
    response = b.client.post(f"/cases/{no}/actions/accept", data={})
    assert response.status_code == 403 and "表单已过期" in response.text
    response = b.client.post(f"/cases/{no}/actions/accept", data={"csrf_token": "forged"})
    assert response.status_code == 403
    response = b.client.post(f"/cases/{no}/attachments", files={"files": ("a.txt", b"x", "text/plain")})
    assert response.status_code == 403
    dispatcher = browser("dispatcher")
    response = dispatcher.client.post("/pool/dispatch", data={"case_no": no, "department_id": "4"})
    assert response.status_code == 403
    assert world.get(no, "handler")["state"] == "dispatched"


def test_fields_of_every_kind_become_form_controls(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = handling_case(world)
    world.act(no, "resolve", "handler", outcome="solved", reply="路灯已修复")
    page = browser("dispatcher").page(f"/cases/{no}")
    callback = page.select_one('form[data-action="callback"]')
    assert [r["value"] for r in callback.select("input[name=reached][type=radio]")] == ["true", "false"]
    assert "是" in text_of(callback.find("fieldset")) and "否" in text_of(callback.find("fieldset"))
    options = [text_of(o) for o in callback.select("select[name=satisfaction] option")]
    assert options == ["请选择…", "满意", "基本满意", "不满意"]
    response = browser("dispatcher").post(
        f"/cases/{no}/actions/callback", {"reached": "true", "solved": "true", "satisfaction": "satisfied"}
    )
    assert response.status_code == 303
    case = world.get(no, "dispatcher")
    assert case["callback_reached"] is True and case["satisfaction"] == "satisfied"
    # Read back in the timeline as a person says it.
    page = browser("dispatcher").page(f"/cases/{no}")
    events = page.select(".timeline li")
    assert payload_of(events[0]) == {"是否联系到诉求人": "是", "是否解决": "是", "满意度": "满意"}
    assert payload_of(events[1]) == {"办理结果": "已解决", "答复内容": "路灯已修复"}
    # int fields are numbers with their bounds.
    page = browser("handler").page(f"/cases/{handling_case(world)}")
    days = page.select_one('form[data-action="request_extension"] input[name=days]')
    assert (days["type"], days["min"], days["max"]) == ("number", "1", "15")


def test_dispatch_offers_the_routing_suggestions_first(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = world.intake(channel="station", station="ZS01", meeting=None)["case_no"]
    page = browser("dispatcher").page(f"/cases/{no}")
    select = page.select_one('form[data-action="dispatch"] select[name=department_id]')
    groups = select.find_all("optgroup")
    assert groups[0]["label"] == "建议" and "青桐街道" in text_of(groups[0])
    assert select.select_one("option[selected]")["value"] == select.select("optgroup option")[0]["value"]
    response = browser("dispatcher").post(
        f"/cases/{no}/actions/dispatch", {"department_id": select.select_one("option[selected]")["value"]}
    )
    assert response.status_code == 303
    assert world.get(no, "dispatcher")["department"] == "青桐街道"


def test_a_report_is_never_offered_to_the_department_it_accuses(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = world.intake(case_type="report", accused_department="CGJ")["case_no"]
    page = browser("supervisor").page(f"/cases/{no}")
    options = [text_of(o) for o in page.select('form[data-action="dispatch"] select option')]
    assert "城市管理局" not in options and "青桐街道" in options
    assert "被举报单位" in text_of(page.find("dl", class_="facts"))
    with transaction(world.app.state.sessions) as session:
        audits = session.exec(select(AuditEntry).where(AuditEntry.action == "view_confidential")).all()
    assert len(audits) == 1  # the view of a confidential case is audited


def test_after_a_return_the_handler_goes_back_to_their_queue(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = dispatched_case(world)
    response = browser("handler").post(f"/cases/{no}/actions/return", {"reason": "不属于本单位职责"})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert world.get(no, "dispatcher")["state"] == "returned"


def test_inline_forms_go_back_where_they_came_from_but_only_on_this_site(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = dispatched_case(world)
    b = browser("handler")
    assert b.post(f"/cases/{no}/actions/accept", {"next": "/queue"}).headers["location"] == "/queue"
    response = b.post(f"/cases/{no}/actions/note", {"note": "记录", "next": "//evil.example/x"})
    assert response.headers["location"] == f"/cases/{no}"


def test_files_are_attached_listed_and_downloaded_with_the_same_checks(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = dispatched_case(world)
    b = browser("handler")
    world.act(no, "accept", "handler")
    response = b.client.post(
        f"/cases/{no}/attachments",
        data={"csrf_token": b.csrf},
        files=[("files", ("现场照片说明.txt", "路灯杆编号 18-3".encode(), "text/plain"))],
    )
    assert response.status_code == 303
    page = b.page(f"/cases/{no}")
    assert text_of(page.find(class_="flash")) == "已上传 1 个附件"
    link = page.select_one(".files a")
    assert text_of(link) == "现场照片说明.txt"
    assert "上传附件" in text_of(page.find(class_="timeline"))
    download = b.get(link["href"])
    assert download.status_code == 200 and download.content == "路灯杆编号 18-3".encode()
    assert browser("other_handler").get(link["href"]).status_code == 404
    assert browser("leader").get(link["href"]).status_code == 200  # leaders read every case
    # A refused file says why next to the upload field, and nothing is kept.
    response = b.client.post(
        f"/cases/{no}/attachments",
        data={"csrf_token": b.csrf},
        files=[("files", ("run.exe", b"MZ", "application/x-msdownload"))],
    )
    assert response.status_code == 422
    assert "不允许" in text_of(soup(response.text).find(id="e-files"))
    assert len(world.get(no, "handler")["attachments"]) == 1
    # Leaders and admins read files but never add them: no upload form.
    assert browser("leader").page(f"/cases/{no}").find("input", {"type": "file"}) is None


def test_clocks_show_overdue_with_the_time_late(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = dispatched_case(world)
    clock.set(MON + timedelta(days=3))  # Thursday 10:00: accept was due Tuesday 24:00
    page = browser("supervisor").page(f"/cases/{no}")
    accept = page.select_one('tr[data-clock="accept"]')
    # As the lists count it (cases/deadlines.late_by): Wednesday and Thursday begun.
    assert "已超期" in text_of(accept) and text_of(accept.find(class_="remaining")) == "已超期 2个工作日"
