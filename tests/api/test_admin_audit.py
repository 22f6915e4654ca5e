"""GET /api/v1/admin/audit: the audit log for administrators only, with the page's filters, keyset pages and the
bilingual refusal of a bad filter that every list gives; documented in the OpenAPI. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from grievance.cases.models import AuditEntry
from grievance.db import transaction
from grievance.users.models import User
from tests.api._support import API, sh
from tests.factories import World

URL = f"{API}/admin/audit"


def audit(world: World, as_user: str = "admin", expect: int = 200, **params: Any) -> Any:
    response = world.client.get(URL, params=params, headers=world.headers(as_user))
    assert response.status_code == expect, response.text
    return response.json()


def report(world: World) -> str:
    return world.intake(
        channel="hotline", meeting=None, case_type="report", title="举报青桐街道违规收费", accused_department="JD1"
    )["case_no"]


def test_the_administrator_reads_who_saw_a_confidential_case_and_where(world: World, clock: Any) -> None:
    clock.set(sh(2025, 11, 3))
    no = report(world)
    world.get(no, "leader")  # through the API
    body = audit(world, case_no=no)
    assert body["next_cursor"] is None
    view = next(e for e in body["items"] if e["action"] == "view_confidential")
    assert view["user"]["username"] == "leader"
    assert (view["seen_in"], view["seen_in_label"], view["seen_in_label_en"]) == ("api", "接口读取", "API read")
    assert (view["action_label"], view["action_label_en"]) == ("查看保密件", "Viewed a confidential case")
    assert view["case_no"] == no and view["at"].endswith("+08:00")
    only_leader = audit(world, user="leader", action="view_confidential")["items"]
    assert [e["user"]["username"] for e in only_leader] == ["leader"]


def test_only_the_administrator_may_read_it(world: World) -> None:
    for user in ("intake", "dispatcher", "handler", "head", "supervisor", "leader", "liaison"):
        refused = audit(world, as_user=user, expect=403)
        assert refused["error"] == "forbidden" and refused["allowed"] == ["admin"], user
        assert "管理员" in refused["message"] and "Administrator" in refused["message_en"], refused
    assert world.client.get(URL).status_code == 401
    # A role refused before its filters are read: a bad filter does not tell it anything either.
    assert world.client.get(URL, params={"user": "x"}, headers=world.headers("leader")).status_code == 403


def test_bad_filters_get_the_bilingual_refusal_naming_each_field(world: World) -> None:
    body = audit(
        world,
        expect=422,
        user="nobody",
        action="peek",
        case_no="GX-2025-999999",
        date_from="2025-10-02",
        date_to="2025-10-01",
    )
    assert (
        body["error"] == "invalid_input"
        and body["message"] == "筛选条件有误"
        and body["message_en"] == "invalid filters"
    )
    fields = {e["field"]: e for e in body["errors"]}
    assert set(fields) == {"user", "action", "case_no", "date_to"}
    assert fields["user"]["message"] == "没有账号“nobody”；请填写账号名或用户编号"
    assert fields["user"]["message_en"] == "no account 'nobody': give its name or id"
    for params, field in (
        ({"date_from": "2025-13-01"}, "date_from"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_to": "0001-01-01"}, "date_to"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"cursor": "garbage"}, "cursor"),
        ({"what": "x"}, "what"),
    ):
        refused = audit(world, expect=422, **params)
        assert [e["field"] for e in refused["errors"]] == [field], (params, refused)
        problem = refused["errors"][0]
        assert problem["message"] and problem["message_en"] and problem["message"] != problem["message_en"], problem


def test_pages_follow_the_cursor_to_the_last_entry(world: World) -> None:
    t = datetime(2025, 10, 8, 2, 0, tzinfo=UTC)
    with transaction(world.app.state.sessions) as session:
        leader = session.exec(select(User).where(User.username == "leader")).one()
        session.add_all(
            AuditEntry(at=t + timedelta(seconds=i // 2), user_id=leader.id, action="export", detail=f"#{i}")
            for i in range(9)
        )
    seen: list[str] = []
    params: dict[str, Any] = {"user": "leader", "limit": 4}
    while True:
        body = audit(world, **params)
        seen += [e["detail"] for e in body["items"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == [f"#{i}" for i in (8, 7, 6, 5, 4, 3, 2, 1, 0)]


def test_the_openapi_documents_the_route_its_filters_and_its_answer(app: Any) -> None:
    spec = app.openapi()
    operation = spec["paths"]["/api/v1/admin/audit"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) == {"user", "action", "case_no", "date_from", "date_to", "cursor", "limit"}
    action_schema = params["action"]["schema"]
    enum = action_schema.get("enum") or next(s["enum"] for s in action_schema["anyOf"] if "enum" in s)
    assert {"view_confidential", "list_confidential", "hint_confidential", "export"} <= set(enum)
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok.endswith("/AuditPage")
    entry = spec["components"]["schemas"]["AuditEntryRead"]["properties"]
    assert {"at", "user", "action", "action_label_en", "case_no", "seen_in", "seen_in_label_en"} <= set(entry)
    assert {"401", "403", "422"} <= set(operation["responses"])
