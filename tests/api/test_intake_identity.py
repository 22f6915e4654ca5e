"""What protects the petitioner at intake through the API: a report names the department it accuses, ID numbers
and credit codes carry their check digits (GB 11643, GB 32100), and a meeting's record can be corrected."""

from __future__ import annotations

from sqlmodel import select

from grievance.cases.models import AuditEntry
from grievance.db import transaction
from tests.api._support import API, fields_of
from tests.factories import World


def test_a_report_without_the_accused_department_is_refused_naming_the_field(world: World) -> None:
    refused = world.intake(case_type="report", title="举报某单位违规收费", expect=422)
    assert refused["error"] == "invalid_input"
    error = fields_of(refused)["accused_department"]
    assert "举报件须填写被举报单位" in error["message"]
    assert "a report needs the accused department" in error["message_en"]
    accepted = world.intake(case_type="report", title="举报某单位违规收费", accused_department="JD1")
    world.get(accepted["case_no"], "other_handler", expect=404)  # JD1, the accused, never sees it


def test_a_resident_id_number_is_checked_and_stored_in_one_form(world: World) -> None:
    for typed, zh, en in (
        ("123", "身份证号码应为18位", "a resident ID number is 18 characters"),
        ("420102199001011234", "身份证号码校验位不正确", "the resident ID number's check digit is wrong"),
        ("420102199002301235", "出生日期不存在", "birth date in the resident ID number is not a real date"),
    ):
        body = world.intake(petitioner={"name": "张三", "phone": "13812341234", "id_no": typed}, expect=422)
        error = fields_of(body)["petitioner.id_no"]
        assert zh in error["message"] and en in error["message_en"], typed
    case = world.intake(petitioner={"name": "张三", "phone": "13812341234", "id_no": "110105 19491231 002x"})
    assert world.get(case["case_no"], "dispatcher")["petitioner"]["id_no"] == "11010519491231002X"


def test_a_credit_code_needs_its_check_character(world: World) -> None:
    def add(code: str) -> dict:  # type: ignore[type-arg]
        response = world.client.post(
            f"{API}/enterprises",
            json={"name": "青桐精密制造有限公司", "credit_code": code},
            headers=world.headers("admin"),
        )
        return {"status": response.status_code, **response.json()}

    refused = add("91420100MA4K000022")
    assert refused["status"] == 422
    error = fields_of(refused)["credit_code"]
    assert "统一社会信用代码校验位不正确" in error["message"]
    assert "the unified social credit code's check digit is wrong" in error["message_en"]
    assert "18位" in fields_of(add("123"))["credit_code"]["message"]
    added = add("91420100ma4k 00002y")
    assert added["status"] == 201 and added["credit_code"] == "91420100MA4K00002Y"


def test_a_meeting_is_corrected_with_the_create_rules_and_audited(app, world: World) -> None:  # type: ignore[no-untyped-def]
    url = f"{API}/meetings/{world.meeting_id}"
    body = {"title": "第一期阳光恳谈会", "held_on": "2025-09-27", "venue": "青桐社区", "attendee_count": 40}
    response = world.client.put(url, json=body, headers=world.headers("intake"))
    assert response.status_code == 200, response.text
    assert response.json() | {"id": 0} == {
        "id": 0,
        "title": "第一期阳光恳谈会",
        "held_on": "2025-09-27",
        "venue": "青桐社区",
        "hosts": "",
        "attendee_count": 40,
        "station_id": None,
    }
    with transaction(app.state.sessions) as session:
        (entry,) = session.exec(select(AuditEntry).where(AuditEntry.action == "meeting_update")).all()
        assert entry.user_id is not None and "venue:  -> 青桐社区" in entry.detail
    bad = world.client.put(url, json={**body, "attendee_count": -1}, headers=world.headers("intake"))
    assert bad.status_code == 422 and "attendee_count" in fields_of(bad.json())
    assert world.client.put(url, json=body, headers=world.headers("handler")).status_code == 403
    missing = world.client.put(f"{API}/meetings/999", json=body, headers=world.headers("intake"))
    assert missing.status_code == 404


def test_the_cli_refuses_a_wrong_check_character_with_the_apis_words(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("enterprise", "add", "青桐精密制造有限公司", "91420100MA4K000022")
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.count("错误 (error)") == 1 and result.err.count("统一社会信用代码校验位不正确") == 1
    assert "the unified social credit code's check digit is wrong" in result.err
    assert cli("enterprise", "add", "青桐精密制造有限公司", "91420100ma4k00002y").code == 0


def test_full_width_id_numbers_and_credit_codes_are_read_as_typed_with_a_chinese_input_method(world: World) -> None:
    case = world.intake(
        petitioner={"name": "张三", "phone": "13812341234", "id_no": "１１０１０５１９４９１２３１００２Ｘ"}
    )
    assert world.get(case["case_no"], "dispatcher")["petitioner"]["id_no"] == "11010519491231002X"
    added = world.client.post(
        f"{API}/enterprises",
        json={"name": "青桐精密制造有限公司", "credit_code": "９１４２０１００ＭＡ４Ｋ　００００２Ｙ"},
        headers=world.headers("admin"),
    )
    assert added.status_code == 201 and added.json()["credit_code"] == "91420100MA4K00002Y"
