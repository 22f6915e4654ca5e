"""Who may do and see what, through the HTTP API: authentication, roles, departments, confidential
reports, masking of personal data, the actions offered to each user, and the public tracking page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tests.api._support import API, actions, fire, sh
from tests.factories import World

MON = sh(2025, 11, 3)
PHONE = "13812341234"
ID_NO = "420102199001011236"


def listed(world: World, as_user: str, **params: Any) -> list[str]:
    response = world.client.get(f"{API}/cases", params=params, headers=world.headers(as_user))
    assert response.status_code == 200, response.text
    return [c["case_no"] for c in response.json()["items"]]


def user_id(world: World, username: str) -> int:
    return world.client.get(f"{API}/me", headers=world.headers(username)).json()["id"]  # type: ignore[no-any-return]


def report(world: World, **overrides: Any) -> dict[str, Any]:
    """A report (举报) accusing the JD1 street office."""
    body: dict[str, Any] = {
        "channel": "hotline",
        "meeting": None,
        "case_type": "report",
        "title": "举报青桐街道工作人员违规收费",
        "description": "办理居住证时被要求额外缴纳费用",
        "accused_department": "JD1",
        "petitioner": {"name": "王五", "phone": "13700001111"},
    }
    body.update(overrides)
    return world.intake(**body)


# --- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer gv_not-a-real-token", "Basic aW50YWtlOnNlY3JldA==", "Bearer ", "gv_token-without-scheme"],
)
def test_401_without_a_valid_bearer_token(world, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, path in (("GET", "/cases"), ("GET", "/cases/GX-2025-000001"), ("POST", "/cases"), ("GET", "/me")):
        response = world.client.request(method, f"{API}{path}", headers=headers, json={} if method == "POST" else None)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        body = response.json()
        assert body["error"] == "not_authenticated"
        assert "Bearer" in body["message_en"] or "令牌" in body["message"]


def test_a_valid_token_identifies_the_user(world):
    me = world.client.get(f"{API}/me", headers=world.headers("head")).json()
    assert me["username"] == "head"
    assert me["role"] == "dept_head"


# --- roles --------------------------------------------------------------------------------------


def test_403_for_a_role_the_action_does_not_allow_names_the_allowed_roles(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")

    response = fire(world, no, "dispatch", "handler", department_id="JD1")
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "forbidden"
    assert "allowed roles: Dispatcher, Supervisor" in body["message_en"]
    assert "派单" in body["message"]

    leader = fire(world, no, "urge", "leader")
    assert leader.status_code == 403
    assert "allowed roles: Supervisor, Dispatcher" in leader.json()["message_en"]
    assert world.get(no, "dispatcher")["urge_count"] == 0


def test_leader_and_admin_cannot_intake(world, clock):
    clock.set(MON)
    for user in ("leader", "admin"):
        response = world.client.post(
            f"{API}/cases",
            json={"channel": "hotline", "case_type": "help", "title": "路灯不亮"},
            headers=world.headers(user),
        )
        assert response.status_code == 403, user
        assert response.json()["error"] == "forbidden"
        assert "Dispatcher, Front desk, Supervisor may" in response.json()["message_en"]
        assert response.json()["message"].startswith({"leader": "领导", "admin": "管理员"}[user])  # a label, no code
        assert response.json()["allowed"] == ["dispatcher", "intake", "supervisor"]
    assert listed(world, "dispatcher") == []


def test_supervisor_and_dispatcher_can_intake(world, clock):
    clock.set(MON)
    for user in ("dispatcher", "supervisor"):
        assert world.intake(as_user=user)["state"] == "received"


# --- departments --------------------------------------------------------------------------------


def test_a_handler_of_another_department_cannot_see_the_case(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    case_id = world.get(no, "dispatcher")["id"]
    # Before dispatch, no department sees it.
    for user in ("handler", "other_handler"):
        world.get(no, user, expect=404)
        assert listed(world, user) == []

    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.get(no, "handler")
    world.get(no, "head")
    assert listed(world, "handler") == [no]
    assert listed(world, "head") == [no]

    # Another department's case answers exactly like a missing one: a different answer would let
    # a department tell reports about itself (hidden, 404) from other departments' cases.
    refused = world.client.get(f"{API}/cases/{no}", headers=world.headers("other_handler"))
    missing = world.client.get(f"{API}/cases/GX-2025-999999", headers=world.headers("other_handler"))
    assert refused.status_code == missing.status_code == 404
    assert "不属于您的单位" in refused.json()["message"]
    assert refused.json()["message"] == missing.json()["message"].replace("GX-2025-999999", no)
    assert world.client.get(f"{API}/cases/{case_id}", headers=world.headers("other_handler")).status_code == 404
    assert listed(world, "other_handler") == []
    departments = world.client.get(f"{API}/departments", headers=world.headers("other_handler")).json()
    cgj = next(d["id"] for d in departments if d["code"] == "CGJ")
    assert listed(world, "other_handler", department_id=cgj) == []
    assert listed(world, "other_handler", q="路灯") == []
    assert fire(world, no, "accept", "other_handler").status_code == 404
    assert world.client.get(f"{API}/cases/{no}/duplicates", headers=world.headers("other_handler")).status_code == 404
    assert world.get(no, "handler")["state"] == "dispatched"


# --- confidential reports -----------------------------------------------------------------------


def test_a_report_is_404_for_the_accused_department_exactly_like_a_missing_case(world, clock):
    clock.set(MON)
    case = report(world)
    no = case["case_no"]
    assert case["confidential"] is True
    world.act(no, "publish", "dispatcher")  # even in the open pool

    hidden = world.client.get(f"{API}/cases/{no}", headers=world.headers("other_handler"))
    missing = world.client.get(f"{API}/cases/GX-2025-999999", headers=world.headers("other_handler"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == {
        key: value.replace("GX-2025-999999", no) if isinstance(value, str) else value
        for key, value in missing.json().items()
    }
    assert world.client.get(f"{API}/cases/{case['id']}", headers=world.headers("other_handler")).status_code == 404
    for action, fields in (("claim", {}), ("note", {"note": "x"})):
        response = fire(world, no, action, "other_handler", **fields)
        assert response.status_code == 404, action
        assert response.json()["error"] == "not_found"
    assert world.client.get(f"{API}/cases/{no}/duplicates", headers=world.headers("other_handler")).status_code == 404

    assert listed(world, "other_handler", state="pool") == []
    assert listed(world, "other_handler") == []
    assert listed(world, "handler", state="pool") == [no]  # other departments may claim it


def test_a_report_cannot_be_sent_to_the_department_it_accuses(world, clock):
    clock.set(MON)
    case = report(world, channel="station", station="ZS01")  # the station's own department is JD1
    no = case["case_no"]
    seen = world.get(no, "dispatcher")
    assert seen["routing_suggestions"] == []  # JD1 is never suggested

    departments = world.client.get(f"{API}/departments", headers=world.headers("dispatcher")).json()
    jd1 = next(d["id"] for d in departments if d["code"] == "JD1")
    for target in ("JD1", jd1):
        refused = fire(world, no, "dispatch", "dispatcher", department_id=target)
        assert refused.status_code == 409
        body = refused.json()
        assert "举报件不能派给被举报单位" in body["message"]
        assert body["state"] == "received"
        assert "dispatch" in body["allowed_actions"]
    assert world.get(no, "dispatcher")["department_id"] is None

    world.act(no, "dispatch", "supervisor", department_id="CGJ")
    assert world.get(no, "handler")["state"] == "dispatched"


def test_views_of_a_report_are_written_to_the_audit_log(world, clock, engine):
    clock.set(MON)
    plain = world.intake()["case_no"]
    no = report(world)["case_no"]
    world.get(plain, "dispatcher")

    def audit() -> list[tuple[int, str, int]]:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT user_id, action, case_id FROM audit_log ORDER BY id")).all()
        return [tuple(r) for r in rows]

    assert audit() == []  # an ordinary case is not audited
    case_id = world.get(no, "dispatcher")["id"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.get(no, "handler")
    world.get(no, "leader")
    world.get(no, "other_handler", expect=404)  # not shown, so not a view

    views = audit()
    assert all(action == "view_confidential" and cid == case_id for _, action, cid in views)
    viewers = [uid for uid, _, _ in views]
    assert viewers.count(user_id(world, "dispatcher")) == 2  # the GET and the dispatch
    assert user_id(world, "handler") in viewers
    assert user_id(world, "leader") in viewers
    assert user_id(world, "other_handler") not in viewers


def test_duplicate_hints_never_reveal_a_report_to_the_accused_department(world, clock):
    clock.set(MON)
    secret = report(world)["case_no"]
    other = world.intake(
        channel="hotline",
        meeting=None,
        title="居住证办理咨询",
        petitioner={"name": "王五", "phone": "13700001111"},
    )
    assert secret in [d["case_no"] for d in other["possible_duplicates"]]  # the front desk may see it
    world.act(other["case_no"], "dispatch", "dispatcher", department_id="JD1")
    hints = world.client.get(f"{API}/cases/{other['case_no']}/duplicates", headers=world.headers("other_handler"))
    assert hints.status_code == 200
    assert secret not in [d["case_no"] for d in hints.json()]


# --- personal data ------------------------------------------------------------------------------


def test_phone_and_id_number_are_masked_for_leader_and_dept_head(world, clock):
    clock.set(MON)
    no = world.intake(petitioner={"name": "张三", "phone": PHONE, "id_no": ID_NO})["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")

    for user in ("leader", "head"):
        response = world.client.get(f"{API}/cases/{no}", headers=world.headers(user))
        petitioner = response.json()["petitioner"]
        assert petitioner["phone"] == "138****1234", user
        assert petitioner["id_no"] == "420***********1236", user
        assert petitioner["masked"] is True
        assert PHONE not in response.text
        assert ID_NO not in response.text

    for user in ("intake", "dispatcher", "handler", "supervisor"):
        petitioner = world.get(no, user)["petitioner"]
        assert petitioner["phone"] == PHONE, user
        assert petitioner["id_no"] == ID_NO, user
        assert petitioner["masked"] is False


def test_the_phone_filter_is_refused_for_roles_without_personal_data(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.intake(petitioner={"name": "李四", "phone": "13900001111"})
    assert listed(world, "dispatcher", phone=PHONE) == [no]
    refused = world.client.get(f"{API}/cases", params={"phone": PHONE}, headers=world.headers("leader"))
    assert refused.status_code == 403  # not a way to probe who called
    assert "intake" in refused.json()["allowed"]


def test_query_code_is_shown_to_the_front_desk_only(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    for user in ("intake", "dispatcher", "supervisor"):
        assert world.get(no, user)["query_code"], user
    for user in ("handler", "head", "leader", "admin"):
        assert "query_code" not in world.get(no, user), user


# --- available actions --------------------------------------------------------------------------


def test_available_actions_are_exactly_what_each_user_may_do_now(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    expected = {
        "intake": {"answer_on_spot", "merge"},
        "dispatcher": {"answer_on_spot", "dispatch", "publish", "merge"},
        "supervisor": {"dispatch", "publish", "supervise", "merge", "mark_key"},  # mark_key: issue 12, key cases
        "leader": {"mark_key"},
        "admin": set(),
    }
    for user, allowed in expected.items():
        assert actions(world.get(no, user)) == allowed, user

    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    expected = {
        "handler": {"accept", "return", "assign"},  # assign: 我来办 for the handler, to anyone for the head
        "head": {"accept", "return", "assign"},
        # add_assisting_department: issue 12, assisting departments (协办)
        "dispatcher": {"urge", "add_assisting_department"},
        "supervisor": {"urge", "supervise", "mark_key", "add_assisting_department"},
        "intake": set(),
        "leader": {"mark_key"},
    }
    for user, allowed in expected.items():
        assert actions(world.get(no, user)) == allowed, user

    world.act(no, "accept", "handler")
    assert actions(world.get(no, "handler")) == {"respond", "return", "note", "request_extension", "assign"}
    world.act(no, "respond", "handler", note="已联系")
    assert actions(world.get(no, "head")) == {"note", "request_extension", "suspend", "resolve", "assign"}
    world.act(no, "request_extension", "handler", days=2, reason="需协调")
    world.act(no, "assign", "handler", handler_id="handler")
    assert actions(world.get(no, "handler")) == {"note", "suspend", "resolve"}
    assert actions(world.get(no, "head")) == {"note", "suspend", "resolve", "assign", "unassign"}
    assert actions(world.get(no, "supervisor")) == {
        "approve_extension",
        "reject_extension",
        "urge",
        "supervise",
        "mark_key",
        "add_assisting_department",
    }

    # Each action offered also describes its input.
    described = {a["action"]: a for a in world.get(no, "supervisor")["available_actions"]}
    assert described["reject_extension"]["fields"]["note"]["required"] is True
    assert described["approve_extension"]["to"] == "handling"
    assert described["approve_extension"]["label"] == "批准延期"


def test_every_offered_action_can_be_fired_by_whom_it_is_offered_to_and_no_one_else(world, clock):
    """Each action the handler is offered on an accepted case fires (on a case of its own, so none of them is
    refused for a state an earlier one left); the same action by someone outside the department or role is
    refused (403, or 404 for who may not see the case) and changes nothing."""
    clock.set(MON)
    inputs = {"respond": {"note": "已联系"}, "return": {"reason": "非本单位"}, "note": {"note": "记录"}}
    inputs["request_extension"] = {"days": 1, "reason": "需协调"}
    inputs["assign"] = {"handler_id": "handler"}
    moves = {"respond": "handling", "return": "returned"}

    def accepted_case() -> str:
        no = world.intake()["case_no"]
        world.act(no, "dispatch", "dispatcher", department_id="CGJ")
        world.act(no, "accept", "handler")
        return no

    offered = actions(world.get(accepted_case(), "handler"))
    assert offered == set(inputs), offered  # return among them: the case is within its return window
    for action in sorted(offered):
        no = accepted_case()
        before = world.get(no, "supervisor")
        for outsider in ("other_handler", "intake", "leader", "liaison"):
            refused = fire(world, no, action, outsider, version=before["version"], **inputs[action])
            assert refused.status_code in (403, 404), (action, outsider, refused.text)
        assert world.get(no, "supervisor")["version"] == before["version"], action
        for user in ("handler", "head"):
            assert action in actions(world.get(no, user)), (action, user)
        response = fire(world, no, action, "handler", version=before["version"], **inputs[action])
        assert response.status_code == 200, (action, response.text)
        after = world.get(no, "supervisor")
        assert after["state"] == moves.get(action, "accepted"), action
        assert after["version"] == before["version"] + 1
        assert after["timeline"][-1]["action"] == action
    # The department head may fire them too, return included.
    no = accepted_case()
    response = fire(world, no, "return", "head", version=world.get(no, "head")["version"], reason="非本单位")
    assert response.status_code == 200, response.text
    assert world.get(no, "supervisor")["state"] == "returned"


# --- enterprise liaison -------------------------------------------------------------------------


def test_the_enterprise_liaison_logs_cases_for_their_own_enterprise_only(world, clock):
    clock.set(MON)
    other = world.client.post(
        f"{API}/enterprises",
        json={"name": "青桐精密制造有限公司", "credit_code": "91420100MA4K00002Y", "is_large": True},
        headers=world.headers("admin"),
    )
    assert other.status_code == 201, other.text

    own = world.intake(
        as_user="liaison", channel="enterprise", meeting=None, enterprise=world.enterprise_id, title="用工招聘困难"
    )
    assert own["state"] == "received"
    assert own["enterprise_id"] == world.enterprise_id
    assert own["petitioner"]["kind"] == "enterprise"
    assert own["available_actions"] == []

    refused = world.client.post(
        f"{API}/cases",
        json={"channel": "enterprise", "case_type": "help", "title": "申报项目", "enterprise": "91420100MA4K00002Y"},
        headers=world.headers("liaison"),
    )
    assert refused.status_code == 403
    assert "liaison" in refused.json()["message_en"]
    not_enterprise = world.client.post(
        f"{API}/cases",
        json={"channel": "hotline", "case_type": "help", "title": "申报项目", "enterprise": world.enterprise_id},
        headers=world.headers("liaison"),
    )
    assert not_enterprise.status_code == 403
    # Another handler is no liaison of this enterprise.
    stranger = world.client.post(
        f"{API}/cases",
        json={"channel": "enterprise", "case_type": "help", "title": "x", "enterprise": world.enterprise_id},
        headers=world.headers("handler"),
    )
    assert stranger.status_code == 403
    assert listed(world, "dispatcher") == [own["case_no"]]


# --- reference endpoints ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/departments", {"code": "SSJ", "name": "社会事务局"}),
        ("POST", "/stations", {"code": "ZS02", "name": "青桐二号驿站"}),
        ("POST", "/enterprises", {"name": "某公司", "credit_code": "91420100MA4K000032"}),
        ("PUT", "/enterprises/91420100MA4K00001U/liaison", {"liaison": None}),
        ("POST", "/categories/reload", None),
        ("GET", "/users", None),
        ("POST", "/users", {"username": "newbie", "role": "intake", "department": "ZX"}),
        ("POST", "/users/intake/tokens", None),
        ("PUT", "/calendar/overrides", {"day": "2025-11-07", "kind": "holiday"}),
        ("DELETE", "/calendar/overrides/2025-11-07", None),
    ],
)
def test_admin_only_endpoints_refuse_everyone_else(world, method, path, body):
    if method == "DELETE":  # something to delete
        override = {"day": "2025-11-07", "kind": "holiday"}
        assert world.client.put(f"{API}/calendar/overrides", json=override, headers=world.headers("admin")).is_success
    for user in ("intake", "dispatcher", "supervisor", "handler", "head", "leader"):
        response = world.client.request(method, f"{API}{path}", json=body, headers=world.headers(user))
        assert response.status_code == 403, (user, response.text)
        assert response.json()["message_en"].endswith("allowed: Administrator")
        assert response.json()["allowed"] == ["admin"]
    response = world.client.request(method, f"{API}{path}", json=body, headers=world.headers("admin"))
    assert response.status_code in (200, 201, 204), response.text


def test_meetings_are_created_by_the_front_desk(world):
    body = {"title": "第二期阳光恳谈会", "held_on": "2025-11-05", "station": "ZS01"}
    refused = world.client.post(f"{API}/meetings", json=body, headers=world.headers("handler"))
    assert refused.status_code == 403
    assert "allowed: Administrator, Front desk, Dispatcher, Supervisor" in refused.json()["message_en"]
    assert refused.json()["allowed"] == ["admin", "intake", "dispatcher", "supervisor"]
    created = world.client.post(f"{API}/meetings", json=body, headers=world.headers("intake"))
    assert created.status_code == 201
    # Reading reference data needs only a login.
    for path in ("/departments", "/stations", "/meetings", "/enterprises", "/categories"):
        assert world.client.get(f"{API}{path}", headers=world.headers("leader")).status_code == 200
        assert world.client.get(f"{API}{path}").status_code == 401


# --- the public tracking page -------------------------------------------------------------------


def test_public_tracking_shows_status_and_replies_but_no_personal_data(world, clock):
    clock.set(MON)
    case = world.intake(petitioner={"name": "张三", "phone": PHONE, "id_no": ID_NO})
    no, code = case["case_no"], case["query_code"]

    first = world.client.get(f"{API}/public/cases/{code}")  # no login
    assert first.status_code == 200
    assert first.json()["state"] == "received"
    assert first.json()["state_label"] == "待派单"
    assert first.json()["replies"] == []

    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已电话联系张三 13812341234")
    world.act(no, "resolve", "handler", outcome="solved", reply="路灯已于今日修复")
    shown = world.client.get(f"{API}/public/cases/{code}")
    body = shown.json()
    assert body["case_no"] == no
    assert body["state"] == "resolved"
    assert body["state_label"] == "已办结"
    assert body["resolved_at"] is not None
    assert [r["reply"] for r in body["replies"]] == ["路灯已于今日修复"]
    for secret in ("张三", PHONE, ID_NO, "138****1234", "已电话联系"):
        assert secret not in shown.text, secret
    keys = {
        "case_no",
        "title",
        "state",
        "state_label",
        "received_at",
        "resolved_at",
        "replies",
        "merged_into",
        "can_rate",
        "rating",
    }
    assert set(body) == keys and body["merged_into"] is None  # no duplicate: nothing to point to

    assert world.client.get(f"{API}/public/cases/not-a-code").status_code == 404
    assert world.client.get(f"{API}/public/cases/{no}").status_code == 404  # the case number is not the code


def test_the_liaison_follows_the_case_they_logged_but_cannot_act_on_it(world, clock):
    clock.set(MON)
    own = world.intake(as_user="liaison", channel="enterprise", meeting=None, enterprise=world.enterprise_id)
    seen = world.get(own["case_no"], "liaison")
    assert seen["state"] == "received"
    assert seen["available_actions"] == []
    world.act(own["case_no"], "dispatch", "dispatcher", department_id="CGJ")
    assert world.get(own["case_no"], "liaison")["department"] == "城市管理局"
    world.act(own["case_no"], "accept", "liaison", expect=403)
    # Another handler did not log it and may not open it.
    assert world.get(own["case_no"], "other_handler", expect=404)["error"] == "not_found"
    assert [
        c["case_no"]
        for c in world.client.get(f"{API}/cases?mine=true", headers=world.headers("liaison")).json()["items"]
    ] == [own["case_no"]]
    assert seen["query_code"]  # the liaison gives it to the enterprise


def test_a_report_listed_to_the_centre_is_audited_like_a_view(world, clock, engine):
    clock.set(MON)
    world.intake()
    no = report(world)["case_no"]
    response = world.client.get(f"{API}/cases", headers=world.headers("leader"))
    assert no in [item["case_no"] for item in response.json()["items"]]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT user_id, action FROM audit_log")).all()
    assert [tuple(r) for r in rows] == [(user_id(world, "leader"), "list_confidential")]


def test_a_department_attaches_files_only_to_its_own_cases_not_the_pool(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "publish", "dispatcher")
    png = {"files": ("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")}
    refused = world.client.post(f"{API}/cases/{no}/attachments", files=png, headers=world.headers("handler"))
    assert refused.status_code == 403
    assert "claim" in refused.json()["message_en"]
    world.act(no, "claim", "handler")
    accepted = world.client.post(f"{API}/cases/{no}/attachments", files=png, headers=world.headers("handler"))
    assert accepted.status_code == 201, accepted.text
