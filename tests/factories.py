"""Plain functions that make the records tests need, through the same services the app uses."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from grievance.db import transaction
from grievance.reference import service as reference
from grievance.reference.schemas import DepartmentIn, EnterpriseIn, MeetingIn, StationIn
from grievance.users.service import create_token, create_user


class World:
    """A small zone: departments, a station, a meeting, an enterprise, one user per role with a token."""

    def __init__(self, app: Any, client: TestClient) -> None:
        self.app = app
        self.client = client
        self.tokens: dict[str, str] = {}
        with transaction(app.state.sessions) as session:
            for code, name in (
                ("ZX", "诉求服务中心"),
                ("CGJ", "城市管理局"),
                ("QFJ", "企业服务局"),
                ("JD1", "青桐街道"),
            ):
                reference.create_department(session, department_in=DepartmentIn(code=code, name=name))
            self.station_id = reference.create_station(
                session, station_in=StationIn(code="ZS01", name="青桐驿站", department="JD1")
            ).id
            self.meeting_id = reference.create_meeting(
                session, meeting_in=MeetingIn(title="第一期阳光恳谈会", held_on="2025-09-28", station="ZS01")
            ).id
            for username, role, dept in (
                ("intake", "intake", "ZX"),
                ("dispatcher", "dispatcher", "ZX"),
                ("handler", "handler", "CGJ"),
                ("head", "dept_head", "CGJ"),
                ("other_handler", "handler", "JD1"),
                ("supervisor", "supervisor", "ZX"),
                ("leader", "leader", None),
                ("admin", "admin", None),
                ("liaison", "handler", "QFJ"),
            ):
                # Token-only accounts: argon2 at production cost would dominate every test's set-up.
                user = create_user(session, username=username, role=role, password=None, department=dept)
                self.tokens[username] = create_token(session, user)
            self.enterprise_id = reference.create_enterprise(
                session,
                enterprise_in=EnterpriseIn(
                    name="云帆光电科技有限公司", credit_code="91420100MA4K00001U", is_large=True, liaison="liaison"
                ),
                now=app.state.runtime.now(),  # known to the zone from the test's (frozen) now on
            ).id

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def case_body(self, **overrides: Any) -> dict[str, Any]:
        """The intake JSON of a plain case raised at the world's meeting, with `overrides` applied."""
        body: dict[str, Any] = {
            "channel": "meeting",
            "case_type": "help",
            "title": "小区门口路灯不亮",
            "description": "青桐路18号小区门口的路灯坏了一周，晚上很黑",
            "meeting": self.meeting_id,
            "petitioner": {"name": "张三", "phone": "13812341234"},
        }
        return {**body, **overrides}

    def intake(self, as_user: str = "intake", expect: int = 201, **overrides: Any) -> dict[str, Any]:
        body = self.case_body(**overrides)
        response = self.client.post("/api/v1/cases", json=body, headers=self.headers(as_user))
        assert response.status_code == expect, response.text
        return response.json()  # type: ignore[no-any-return]

    def act(self, case_no: str, action: str, as_user: str, expect: int = 200, **fields: Any) -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/cases/{case_no}/actions/{action}", json=fields, headers=self.headers(as_user)
        )
        assert response.status_code == expect, response.text
        return response.json()  # type: ignore[no-any-return]

    def get(self, case_no: str, as_user: str, expect: int = 200) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/cases/{case_no}", headers=self.headers(as_user))
        assert response.status_code == expect, response.text
        return response.json()  # type: ignore[no-any-return]
