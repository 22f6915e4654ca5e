"""The front desk pages as a clerk sees them: the intake form and its errors, the live hints, the receipt, meeting
mode and its follow-up report, the station pages, and who may open each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from grievance.cases.models import Attachment, AuditEntry, Case
from grievance.db import transaction
from grievance.reference.service import load_categories
from tests.api._support import sh
from tests.factories import World
from tests.web.support import soup, text_of

CATEGORIES = """
- code: "01"
  name: 城市管理
  department: CGJ
  children:
    - code: "0101"
      name: 市政设施
      children:
        - {code: "010101", name: 路灯照明}
        - {code: "010102", name: 道路破损}
- code: "02"
  name: 企业服务
  department: QFJ
  children:
    - {code: "0201", name: 政策兑现}
"""


@pytest.fixture
def categories(app, world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "categories.yaml"
    path.write_text(CATEGORIES, encoding="utf-8")
    with transaction(app.state.sessions) as session:
        load_categories(session, path)


def case_count(app: Any) -> int:
    with transaction(app.state.sessions) as session:
        return int(session.exec(select(func.count()).select_from(Case)).one())


def a_case(**overrides: str) -> dict[str, str]:
    """What a clerk types for a walk-in case."""
    form = {
        "channel": "walk_in",
        "case_type": "help",
        "urgency": "normal",
        "title": "青桐路路灯不亮",
        "description": "青桐路18号门口路灯坏了一周",
        "location": "青桐路18号",
        "petitioner_phone": "13812341234",
        "petitioner_name": "张三",
        "petitioner_id_no": "",
        "petitioner_kind": "",
        "category": "",
        "occurred_at": "",
        "idempotency_key": "",
    }
    form.update(overrides)
    return form


def error_of(page: Any, name: str) -> str:
    return text_of(page.find(id=f"e-{name}"))


def value_of(page: Any, name: str) -> str:
    node = page.find(attrs={"name": name})
    if node.name == "select":
        chosen = node.find("option", selected=True)
        return chosen["value"] if chosen else ""
    if node.name == "textarea":
        return node.get_text()
    return node.get("value", "")


# --- the intake form ---------------------------------------------------------------------------------


def test_the_intake_form_is_keyboard_first_and_follows_the_channel(world: World, browser, categories) -> None:  # type: ignore[no-untyped-def]
    page = browser("intake").page("/intake")
    assert text_of(page.find("h1")) == "登记新诉求"
    form = page.find("form", class_="intake")
    assert form["enctype"] == "multipart/form-data"
    # The order a clerk asks in: the channel and its record, what and where, who, then the category.
    names = [n.get("name") for n in form.find_all(["input", "select", "textarea"]) if n.get("type") != "hidden"]
    assert names == [
        "channel",
        "meeting",
        "station",
        None,  # the enterprise search box, then the enterprise
        "enterprise",
        "title",
        "description",
        "case_type",
        "urgency",
        "location",
        None,  # a report's accused department: its search box, then the department
        "accused_department",
        "petitioner_phone",
        "petitioner_name",
        "petitioner_id_no",
        "petitioner_kind",
        None,  # the category search box (shown by the script), then the category itself
        "category",
        "occurred_at",
        "files",
    ]
    assert form.find("select", {"name": "channel"}).has_attr("autofocus")
    assert form.find("select", {"name": "meeting"}).find_parent(attrs={"data-show-when": "channel=meeting"})
    assert form.find("select", {"name": "station"}).find_parent(attrs={"data-show-when": "channel=station"})
    assert form.find("select", {"name": "enterprise"}).find_parent(attrs={"data-show-when": "channel=enterprise"})
    assert form.find("select", {"name": "enterprise"})["data-filter-by"] == "enterprise-search"
    accused = form.find("select", {"name": "accused_department"})
    assert accused.find_parent(attrs={"data-show-when": "case_type=report"})
    assert accused["data-filter-by"] == "accused_department-search" and form.find(id="accused_department-search")
    assert "被举报单位" in text_of(accused.find_parent(class_="field").find("label"))
    assert "第一期阳光恳谈会" in text_of(form.find("select", {"name": "meeting"}))
    assert "青桐驿站" in text_of(form.find("select", {"name": "station"}))
    category = form.find("select", {"name": "category"})
    assert category["data-filter-by"] == "category-search" and form.find(id="category-search")
    assert [g["label"] for g in category.find_all("optgroup")] == ["城市管理", "企业服务"]
    assert "路灯照明（市政设施）" in text_of(category)
    assert form.find("input", {"name": "files"}).has_attr("multiple")
    assert form.find("input", {"name": "occurred_at"})["type"] == "text"  # a picker would take Tab for its parts
    hints = {h["data-hint-url"]: h["data-hint-from"] for h in form.find_all(attrs={"data-hint-url": True})}
    assert hints == {
        "/intake/duplicates": "title,petitioner_phone",
        "/intake/lookup": "petitioner_phone",
        "/intake/routing": "category,station,channel,case_type,accused_department",
    }
    assert "Ctrl" in text_of(form.find(class_="actions")) and text_of(form.find("button")) == "登记诉求"


def test_a_logged_case_leads_to_its_printable_receipt(app, world: World, browser, categories) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    response = b.post("/intake", a_case(category="010101", occurred_at="2025/9/29 8:30"))
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/cases/GX-2025-") and location.endswith("/receipt")
    case_no = location.split("/")[2]
    page = b.page(location)
    assert text_of(page.find(class_="flash")) == f"已登记 {case_no}"
    with transaction(app.state.sessions) as session:
        case = session.exec(select(Case).where(Case.case_no == case_no)).one()
        assert case.title == "青桐路路灯不亮" and case.category_id is not None
        assert case.occurred_at.isoformat() == "2025-09-29T00:30:00+00:00"  # 08:30 in Shanghai
    receipt = page.find("article", class_="fd-receipt")
    assert text_of(receipt.find("h1")) == "诉求受理回执"
    assert text_of(receipt.find(id="case-no")) == case_no
    assert text_of(receipt.find(id="query-code")).replace("-", "") == case.query_code  # printed in groups
    text = text_of(receipt)
    assert "来访" in text and "2025年9月29日 10:00" in text and "求助 · 一般" in text
    # What happens next and by when: the clocks of the case, in working days of the statutory calendar.
    steps = [text_of(row) for row in receipt.find("tbody").find_all("tr")]
    assert steps == ["响应时限 1个工作日 2025年9月30日 24:00", "办结时限 15个工作日 2025年10月27日 24:00"]
    assert "查询码" in text and "受理人" in text
    assert page.find(class_="fd-receipt-tools")["class"] == ["fd-receipt-tools", "no-print"]


def test_a_missing_title_keeps_everything_typed_and_says_so_next_to_the_title(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    response = b.post("/intake", a_case(title="  ", channel="hotline", urgency="urgent", case_type="complaint"))
    assert response.status_code == 422
    page = soup(response.text)
    assert error_of(page, "title") == "不能为空"
    assert page.find("input", {"name": "title"})["aria-invalid"] == "true"
    for name, typed in (
        ("channel", "hotline"),
        ("urgency", "urgent"),
        ("case_type", "complaint"),
        ("description", "青桐路18号门口路灯坏了一周"),
        ("location", "青桐路18号"),
        ("petitioner_phone", "13812341234"),
        ("petitioner_name", "张三"),
    ):
        assert value_of(page, name) == typed, name
    assert case_count(app) == 0


def test_a_bad_phone_is_shown_next_to_the_phone_field(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    response = browser("intake").post("/intake", a_case(petitioner_phone="138-abc"))
    assert response.status_code == 422
    page = soup(response.text)
    assert error_of(page, "petitioner_phone").startswith("电话号码无法识别，可填写手机号如 13812345678")
    assert value_of(page, "petitioner_phone") == "138-abc" and value_of(page, "title") == "青桐路路灯不亮"
    assert case_count(app) == 0


def test_the_record_a_channel_needs_is_asked_for_next_to_its_field(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    page = soup(b.post("/intake", a_case(channel="meeting")).text)
    assert error_of(page, "meeting") == "请选择诉求提出时所在的恳谈会"
    response = b.post("/intake", a_case(channel="station", station="NOPE"))
    assert response.status_code == 422
    page = soup(response.text)
    assert error_of(page, "station") == "驿站 NOPE 不存在"
    assert value_of(page, "channel") == "station" and value_of(page, "title") == "青桐路路灯不亮"
    page = soup(b.post("/intake", a_case(occurred_at="yesterday")).text)
    assert error_of(page, "occurred_at") == "请填写日期和时间，如 2025-09-28 09:30"
    assert case_count(app) == 0


def test_attachments_are_stored_with_the_case_and_a_refused_one_logs_nothing(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    response = b.post("/intake", a_case(), files=[("files", ("照片说明.txt", b"lamp post 18", "text/plain"))])
    assert response.status_code == 303
    with transaction(app.state.sessions) as session:
        assert [a.filename for a in session.exec(select(Attachment)).all()] == ["照片说明.txt"]
    response = b.post("/intake", a_case(), files=[("files", ("run.exe", b"MZ", "application/x-msdownload"))])
    assert response.status_code == 422
    page = soup(response.text)
    assert "run.exe" in error_of(page, "files") and "不允许" in error_of(page, "files")
    assert case_count(app) == 1


def test_a_file_over_the_limit_is_refused_in_the_apis_words(app, world: World, browser, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app.state.runtime.settings, "attachment_max_bytes", 1024 * 1024)
    big = ("现场照片.jpg", b"x" * (1024 * 1024 + 1), "image/jpeg")
    b = browser("intake")
    response = b.post("/intake", a_case(), files=[("files", big)])
    assert response.status_code == 422 and case_count(app) == 0
    no = world.intake()["case_no"]
    api = world.client.post(f"/api/v1/cases/{no}/attachments", files={"files": big}, headers=world.headers("intake"))
    assert api.status_code == 422
    assert error_of(soup(response.text), "files") == api.json()["errors"][0]["message"] == "附件 现场照片.jpg 超过 1 MB"
    b.client.cookies.set("lang", "en")
    english = error_of(soup(b.post("/intake", a_case(), files=[("files", big)]).text), "files")
    assert english.startswith("'现场照片.jpg' larger than 1 MB")


def test_a_report_asks_for_the_accused_department_and_keeps_it_from_that_department(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    response = b.post("/intake", a_case(case_type="report", title="举报城管队员吃拿卡要"))
    assert response.status_code == 422
    page = soup(response.text)
    assert error_of(page, "accused_department") == "举报件须填写被举报单位，该单位看不到此件"
    assert value_of(page, "case_type") == "report" and value_of(page, "title") == "举报城管队员吃拿卡要"
    assert case_count(app) == 0
    response = b.post("/intake", a_case(case_type="report", title="举报城管队员吃拿卡要", accused_department="CGJ"))
    assert response.status_code == 303
    with transaction(app.state.sessions) as session:
        case = session.exec(select(Case)).one()
        assert case.accused_department_id is not None and case.confidential
    assert "举报城管队员吃拿卡要" not in text_of(browser("handler").page("/cases"))  # CGJ never sees it
    b.client.cookies.set("lang", "en")
    page = soup(b.post("/intake", a_case(case_type="report")).text)
    assert error_of(page, "accused_department") == "a report needs the accused department, which will never see it"


def test_a_resident_id_number_must_carry_its_check_digit(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    for typed, message in (
        ("123", "身份证号码应为18位：17位数字加1位校验位（数字或 X）"),
        ("420102199001011234", "身份证号码校验位不正确"),
    ):
        response = b.post("/intake", a_case(petitioner_id_no=typed))
        assert response.status_code == 422
        page = soup(response.text)
        assert error_of(page, "petitioner_id_no") == message
        assert value_of(page, "petitioner_id_no") == typed
    assert case_count(app) == 0
    assert b.post("/intake", a_case(petitioner_id_no=" 11010519491231002x ")).status_code == 303
    with transaction(app.state.sessions) as session:
        assert session.exec(select(Case.petitioner_id_no)).one() == "11010519491231002X"


def test_a_double_submit_logs_the_case_once(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    key = b.page("/intake").find("input", {"name": "idempotency_key"})["value"]
    first = b.post("/intake", a_case(idempotency_key=key))
    second = b.post("/intake", a_case(idempotency_key=key))
    assert first.headers["location"] == second.headers["location"]
    assert case_count(app) == 1


def test_the_english_switch_shows_the_form_and_its_errors_in_english(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    b.client.cookies.set("lang", "en")
    page = soup(b.post("/intake", a_case(title="", petitioner_phone="12")).text)
    assert text_of(page.find("h1")) == "Log a new case"
    assert error_of(page, "title") == "String should have at least 1 character"
    assert error_of(page, "petitioner_phone").startswith("not a phone number we recognise; accepted: a mobile number")
    receipt = b.page(b.post("/intake", a_case()).headers["location"]).find("article", class_="fd-receipt")
    assert text_of(receipt.find("h1")) == "Appeal receipt"
    steps = [text_of(row) for row in receipt.find("tbody").find_all("tr")]
    assert steps == [
        "Response time 1 working day September 30, 2025 24:00",
        "Resolution time 15 working days October 27, 2025 24:00",
    ]


# --- live hints --------------------------------------------------------------------------------------


def test_the_phone_lookup_lists_the_petitioners_earlier_cases(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    earlier = world.intake(title="楼道灯坏了")["case_no"]
    world.intake(title="别人的事", petitioner={"name": "李四", "phone": "13900000000"})
    b = browser("intake")
    hint = b.page("/intake/lookup?petitioner_phone=138 1234 1234")
    assert [text_of(a) for a in hint.find_all("a")] == [earlier]
    assert "楼道灯坏了" in text_of(hint) and "待派单" in text_of(hint)
    assert "无此电话的历史诉求" in text_of(b.page("/intake/lookup?petitioner_phone=13700000000"))
    assert text_of(b.page("/intake/lookup?petitioner_phone=12")) == ""
    # Only the roles that may read phone numbers may search by one.
    app.state.runtime.settings.personal_data_roles = ["dispatcher"]
    assert b.get("/intake/lookup?petitioner_phone=13812341234").status_code == 403


def test_duplicate_hints_appear_while_typing_and_create_nothing(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    first = world.intake(title="小区门口路灯不亮")["case_no"]
    b = browser("intake")
    hint = b.page("/intake/duplicates?title=路灯不亮")
    assert [text_of(a) for a in hint.find_all("a")] == [first] and "标题相近" in text_of(hint)
    hint = b.page("/intake/duplicates?title=别的事&petitioner_phone=13812341234")
    assert "同一电话" in text_of(hint)
    assert text_of(b.page("/intake/duplicates?title=完全无关的内容")) == ""
    assert case_count(app) == 1


def test_the_routing_hint_names_the_likely_department(world: World, browser, categories) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    assert "建议承办单位： 城市管理局" in text_of(b.page("/intake/routing?category=010101"))
    station = text_of(b.page("/intake/routing?station=ZS01&channel=station"))
    assert "青桐街道" in station and "青桐驿站" in station
    assert text_of(b.page("/intake/routing?station=ZS01&channel=hotline")) == ""
    assert text_of(b.page("/intake/routing?category=NOPE")) == ""
    # The reason in the reader's language: the English hint has no Chinese wording of its own.
    b.client.cookies.set("lang", "en")
    english = text_of(b.page("/intake/routing?category=010101"))
    assert "department of category 城市管理" in english and "业务分类" not in english


# --- who may log -------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["handler", "head", "leader", "admin"])
def test_roles_that_do_not_log_cases_get_the_403_page(world: World, browser, username: str) -> None:  # type: ignore[no-untyped-def]
    b = browser(username)
    response = b.get("/intake")
    assert response.status_code == 403
    assert "受理员" in text_of(soup(response.text).find(class_="error-page"))
    assert b.post("/intake", a_case()).status_code == 403
    assert b.get("/intake/duplicates?title=路灯").status_code == 403


def test_a_liaison_logs_their_enterprises_cases_only(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("liaison")
    page = b.page("/intake")
    assert [o["value"] for o in page.find("select", {"name": "channel"}).find_all("option")] == ["enterprise"]
    assert (
        text_of(page.find("select", {"name": "enterprise"})) == "请选择企业 云帆光电科技有限公司（91420100MA4K00001U）"
    )
    response = b.post(
        "/intake", a_case(channel="hotline", enterprise="91420100MA4K00001U", petitioner_kind="enterprise")
    )
    assert response.status_code == 303  # the channel is the enterprise's whatever was posted
    with transaction(app.state.sessions) as session:
        case = session.exec(select(Case)).one()
        assert (case.channel, case.enterprise_id, case.workflow) == ("enterprise", world.enterprise_id, "enterprise")
    assert "诉求受理回执" in text_of(b.page(response.headers["location"]))


def test_a_form_without_its_csrf_token_is_refused(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    for url, form in (
        ("/intake", a_case()),
        (f"/meetings/{world.meeting_id}/cases", a_case()),
        ("/stations/ZS01/cases", a_case()),
        ("/meetings", {"title": "第二期", "held_on": "2025-10-10"}),
    ):
        response = b.client.post(url, data={**form, "csrf_token": "forged"})
        assert response.status_code == 403, url
        assert "表单已过期" in text_of(soup(response.text))
    assert case_count(app) == 0
    assert "第二期" not in text_of(b.page("/meetings"))


# --- the receipt -------------------------------------------------------------------------------------


def test_the_receipt_is_only_for_those_who_may_see_the_case(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]
    assert browser("other_handler").get(f"/cases/{no}/receipt").status_code == 404
    page = browser("leader").page(f"/cases/{no}/receipt")
    assert page.find(id="query-code") is None and "只有受理人员可以看到查询码" in text_of(page)
    assert browser("intake").get("/cases/GX-2025-999999/receipt").status_code == 404


def test_the_receipt_shows_the_clerk_possible_duplicates_off_the_printout(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    first = world.intake()["case_no"]
    second = world.intake()["case_no"]
    tools = browser("intake").page(f"/cases/{second}/receipt").find(class_="fd-receipt-tools")
    assert first in text_of(tools.find(class_="suggestions"))


# --- meetings ----------------------------------------------------------------------------------------


def test_the_meetings_list_counts_cases_and_opens_a_new_meeting(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    world.intake()
    world.intake(title="第二件")
    b = browser("intake")
    page = b.page("/meetings")
    row = page.find("a", string="第一期阳光恳谈会").find_parent("tr")
    assert [text_of(td) for td in row.find_all("td")][4:7] == ["0", "2", "0"]
    assert page.find("input", {"name": "held_on"})["value"] == "2025-09-29"  # today in Shanghai
    response = b.post(
        "/meetings",
        {
            "title": "第二期阳光恳谈会",
            "held_on": "2025-10-10",
            "venue": "青桐社区会议室",
            "hosts": "管委会",
            "attendee_count": "42",
            "station": "ZS01",
        },
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/meetings/")
    page = b.page(response.headers["location"])
    assert text_of(page.find("h1")) == "第二期阳光恳谈会"
    assert "青桐社区会议室" in text_of(page.find(class_="fd-facts")) and "42" in text_of(page.find(class_="fd-facts"))
    titles = [text_of(a) for a in b.page("/meetings").select("tbody td:nth-of-type(2) a")]
    assert titles == ["第二期阳光恳谈会", "第一期阳光恳谈会"]  # newest first


def test_opening_a_meeting_without_title_or_with_a_bad_count_keeps_what_was_typed(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    response = b.post("/meetings", {"title": "", "held_on": "2025-10-10", "venue": "会议室", "attendee_count": "-3"})
    assert response.status_code == 422
    page = soup(response.text)
    assert error_of(page, "title") == "请填写恳谈会名称"
    assert error_of(page, "attendee_count") == "应不小于 0"
    assert value_of(page, "venue") == "会议室" and value_of(page, "held_on") == "2025-10-10"


def test_a_meeting_record_is_corrected_on_its_edit_page_and_audited(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("dispatcher")
    meeting = b.page(f"/meetings/{world.meeting_id}")
    assert meeting.find("a", string="修改恳谈会信息")["href"] == f"/meetings/{world.meeting_id}/edit"
    page = b.page(f"/meetings/{world.meeting_id}/edit")
    assert [value_of(page, n) for n in ("title", "held_on", "venue", "attendee_count", "station")] == [
        "第一期阳光恳谈会",
        "2025-09-28",
        "",
        "0",
        "ZS01",
    ]
    assert page.find("input", {"name": "held_on"})["type"] == "text"  # a date picker would swallow Tab
    url = f"/meetings/{world.meeting_id}/edit"
    form = {"title": "第一期阳光恳谈会（青桐）", "held_on": "2025/9/27", "venue": "青桐社区", "hosts": "管委会主任"}
    response = b.post(url, {**form, "attendee_count": "35", "station": ""})
    assert response.status_code == 303 and response.headers["location"] == f"/meetings/{world.meeting_id}"
    page = b.page(response.headers["location"])
    assert text_of(page.find(class_="flash")) == "恳谈会信息已保存"
    assert text_of(page.find("h1")) == "第一期阳光恳谈会（青桐）"
    facts = text_of(page.find(class_="fd-facts"))
    assert "9月27日" in facts and "青桐社区" in facts and "管委会主任" in facts and "35" in facts
    assert "青桐驿站" not in facts
    with transaction(app.state.sessions) as session:
        details = session.exec(select(AuditEntry.detail).where(AuditEntry.action == "meeting_update")).all()
    assert len(details) == 1 and "held_on: 2025-09-28 -> 2025-09-27" in details[0]
    response = b.post(url, {**form, "held_on": "2025-02-30", "attendee_count": "35"})
    assert response.status_code == 422
    page = soup(response.text)
    assert error_of(page, "held_on") == "请填写恳谈会日期，如 2025-09-28"
    assert value_of(page, "venue") == "青桐社区" and value_of(page, "held_on") == "2025-02-30"
    response = b.post(url, {**form, "attendee_count": "35", "station": "ZS99"})
    assert response.status_code == 404 and error_of(soup(response.text), "station") == "驿站 ZS99 不存在"
    response = b.post(url, {**form, "attendee_count": "35"})
    assert text_of(b.page(response.headers["location"]).find(class_="flash")) == "没有改动"


@pytest.mark.parametrize("username", ["handler", "leader"])
def test_meeting_and_station_pages_are_for_the_front_desk(world: World, browser, username: str) -> None:  # type: ignore[no-untyped-def]
    b = browser(username)
    for url in ("/meetings", f"/meetings/{world.meeting_id}", f"/meetings/{world.meeting_id}/report", "/stations"):
        assert b.get(url).status_code == 403, url
    assert b.get(f"/meetings/{world.meeting_id}/edit").status_code == 403
    assert b.post(f"/meetings/{world.meeting_id}/edit", {"title": "改名", "held_on": "2025-09-28"}).status_code == 403


def test_meeting_mode_logs_one_case_after_another(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    url = f"/meetings/{world.meeting_id}"
    page = b.page(url)
    form = page.find("form", class_="intake")
    assert form["action"] == f"{url}/cases"
    assert form.find("input", {"name": "channel"})["value"] == "meeting"
    assert form.find("input", {"name": "meeting"})["value"] == str(world.meeting_id)
    assert form.find("input", {"name": "title"}).has_attr("autofocus")
    assert "本场暂无诉求" in text_of(page)
    logged = []
    for title in ("路灯不亮", "垃圾清运不及时", "噪音扰民"):
        # Whatever channel a tampered form names, a meeting's case is the meeting's.
        response = b.post(f"{url}/cases", a_case(title=title, channel="hotline", petitioner_phone=""))
        assert response.status_code == 303 and response.headers["location"] == url
        page = b.page(url)
        case_no = text_of(page.find(class_="flash")).removeprefix("已登记 ")
        logged.append(case_no)
        # The next case starts from an empty form with the cursor in the title.
        assert value_of(page, "title") == "" and value_of(page, "description") == ""
        assert page.find("input", {"name": "title"}).has_attr("autofocus")
    table = page.find("table", class_="fd-register")
    assert [text_of(r.find("td")) for r in table.find("tbody").find_all("tr")] == logged[::-1]
    first_row = [text_of(td) for td in table.find("tbody").find_all("tr")[-1].find_all("td")]
    assert first_row[1:4] == ["路灯不亮", "待派单", "—"] and first_row[4].startswith("正常")  # as the work lists say
    assert "共 3 件，已办结 0 件，办理中 3 件" in text_of(page.find(id="meeting-cases"))
    with transaction(app.state.sessions) as session:
        cases = session.exec(select(Case)).all()
        assert {(c.channel, c.meeting_id) for c in cases} == {("meeting", world.meeting_id)}


def test_the_meeting_register_words_its_traffic_light_as_the_work_lists_do(world: World, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(sh(2025, 11, 3))  # Monday
    no = world.intake(title="路灯不亮")["case_no"]
    clock.set(sh(2025, 11, 7, 15))  # Friday: the clock of a case left in the pool ran out days ago
    register = browser("intake").page(f"/meetings/{world.meeting_id}").find("table", class_="fd-register")
    status = text_of(register.find("tbody").find("tr").find(class_="status"))
    assert status.startswith("已超期") and "个工作日" in status  # how late, not only a red light
    pool = browser("dispatcher").page("/pool").select_one(f'tr[data-case="{no}"] .status')
    assert status == text_of(pool)  # one notation


def test_a_meeting_case_with_an_error_comes_back_with_what_was_typed(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    response = b.post(f"/meetings/{world.meeting_id}/cases", a_case(title="", description="说了很多"))
    assert response.status_code == 422
    page = soup(response.text)
    assert error_of(page, "title") == "不能为空" and value_of(page, "description") == "说了很多"
    assert text_of(page.find("h1")) == "第一期阳光恳谈会"
    assert case_count(app) == 0


def test_admin_reads_the_meeting_but_logs_nothing_there(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("admin")
    page = b.page(f"/meetings/{world.meeting_id}")
    assert page.find("form", class_="intake") is None
    assert b.post(f"/meetings/{world.meeting_id}/cases", a_case()).status_code == 403


def test_the_follow_up_report_tells_attendees_where_each_case_stands(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    resolved = world.intake(title="路灯不亮")["case_no"]
    world.act(resolved, "dispatch", "dispatcher", department_id="CGJ")
    world.act(resolved, "accept", "handler")
    world.act(resolved, "respond", "handler", note="已电话联系")
    world.act(resolved, "resolve", "handler", outcome="solved", reply="路灯已于9月29日修复")
    open_case = world.intake(title="垃圾清运不及时")["case_no"]
    world.intake(title="举报某单位吃拿卡要", case_type="report", accused_department="JD1")
    page = browser("intake").page(f"/meetings/{world.meeting_id}/report")
    assert text_of(page.find("h1")) == "恳谈会诉求办理情况反馈"
    rows = [[text_of(td) for td in tr.find_all("td")] for tr in page.find("tbody").find_all("tr")]
    assert rows[0] == ["1", resolved, "路灯不亮", "城市管理局", "已办结", "路灯已于9月29日修复"]
    assert rows[1][:5] == ["2", open_case, "垃圾清运不及时", "待分派", "待派单"]
    assert "正在办理" in rows[1][5]
    assert rows[2][2] == "举报件（内容保密）"
    text = text_of(page)
    assert "共 3 件诉求：已办结答复 1 件，正在办理 2 件" in text
    assert "138" not in text and "张三" not in text  # no personal data on a report handed round
    assert page.find(class_="actions")["class"] == ["actions", "no-print", "fd-report"]


# --- stations ----------------------------------------------------------------------------------------


def test_stations_list_and_station_mode(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    world.intake(channel="station", station="ZS01", meeting=None)
    b = browser("dispatcher")
    page = b.page("/stations")
    row = page.find("a", string="青桐驿站").find_parent("tr")
    assert [text_of(td) for td in row.find_all("td")] == ["ZS01", "青桐驿站", "—", "—", "青桐街道", "1", "0", "0"]
    page = b.page("/stations/ZS01")
    assert text_of(page.find("h1")) == "青桐驿站"
    assert page.find("form", class_="intake").find("input", {"name": "station"})["value"] == "ZS01"
    assert "第一期阳光恳谈会" in text_of(page.find(id="station-meetings").parent)
    response = b.post("/stations/ZS01/cases", a_case(title="驿站门口积水"))
    assert response.status_code == 303 and response.headers["location"] == "/stations/ZS01"
    page = b.page("/stations/ZS01")
    assert "驿站门口积水" in text_of(page.find("table", class_="fd-register"))
    assert "共 2 件" in text_of(page.find(id="station-cases"))
    assert b.get("/stations/NOPE").status_code == 404
