"""Helpers of the export -> import round trips: the rates report and every case as a user sees them, in the
first database and in a second, empty one that imported the exported ledger."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from grievance.cases.models import Case
from grievance.db import transaction
from grievance.ledger import exporter
from grievance.ledger.importer import read_ledger, run_import
from grievance.reference.models import Department
from grievance.users.service import create_token, create_user
from tests.api._support import API

PERIOD = {"from": "2025-11-01", "to": "2025-12-01"}
AS_OF = "2026-01-15T00:00:00+08:00"  # after every event of the tests' cases
GROUPS = ["department", "channel"]
# What a case page shows that a ledger carries (the timeline's actors and notes are the live system's own).
SEEN_FIELDS = (
    "case_no",
    "title",
    "description",
    "state",
    "state_label",
    "channel",
    "case_type",
    "urgency",
    "duplicate_of",
    "received_at",
    "dispatched_at",
    "accepted_at",
    "responded_at",
    "resolved_at",
    "reopened_at",
    "closed_at",
    "outcome",
    "reply",
    "callback_at",
    "callback_reached",
    "callback_solved",
    "satisfaction",
    "next_due_at",
)


def rates(client: Any, token: str, period: dict[str, str] = PERIOD, as_of: str = AS_OF) -> dict[str, Any]:
    response = client.get(
        f"{API}/reports/rates",
        params={**period, "as_of": as_of, "group_by": GROUPS},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def department_codes(app: Any) -> dict[int, str]:
    with transaction(app.state.sessions) as session:
        return dict(session.execute(select(Department.id, Department.code)).all())  # type: ignore[arg-type]


def comparable(report: dict[str, Any], app: Any) -> dict[str, Any]:
    """The report with department ids replaced by codes (ids are the database's own), without liaison
    coverage: the ledger carries cases, not which enterprises are large or who their liaison is."""
    codes = department_codes(app)
    report = {**report, "metrics": {k: v for k, v in report["metrics"].items() if k != "liaison_coverage"}}
    groups = dict(report["groups"])
    groups["department"] = sorted(
        ({"key": codes.get(row["key"]), "metrics": row["metrics"]} for row in groups["department"]),
        key=lambda row: row["key"] or "",
    )
    report["groups"] = groups
    return report


def accused_departments(app: Any) -> dict[str, str]:
    """The case numbers of the cases that accuse a department (举报), with that department's code."""
    with transaction(app.state.sessions) as session:
        found = session.execute(
            select(Case.case_no, Department.code).join(Department, Department.id == Case.accused_department_id)
        ).all()
    return dict(found)  # type: ignore[arg-type]


def token_for(app: Any, role: str) -> str:
    """A token of a new user with this role (no department) in the app's database."""
    with transaction(app.state.sessions) as session:
        return create_token(session, create_user(session, username=f"rt_{role}", role=role, password=None))


def leader_token(app: Any) -> str:
    return token_for(app, "leader")


def seen_cases(app: Any, client: Any, token: str, case_nos: list[str]) -> dict[str, dict[str, Any]]:
    """Each case as its page shows it to a supervisor (who sees full personal data): the SEEN_FIELDS, the
    department by code, the petitioner's name and phone, and each clock's due time and status."""
    codes = department_codes(app)
    seen = {}
    for case_no in case_nos:
        response = client.get(f"{API}/cases/{case_no}", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        case = response.json()
        seen[case_no] = {
            **{name: case.get(name) for name in SEEN_FIELDS},
            "department": codes.get(case["department_id"]) if case["department_id"] else None,
            "petitioner": (case["petitioner"]["name"], case["petitioner"]["phone"]),
            "clocks": sorted((c["name"], c["due_at"], c["status"]) for c in case["clocks"]),
        }
    return seen


def import_into(app: Any, filename: str, body: bytes) -> dict[str, Any]:
    with transaction(app.state.sessions) as session:
        return run_import(session, app.state.runtime, read_ledger(filename, body))


def export_all(app: Any) -> list[dict[str, Any]]:
    with transaction(app.state.sessions) as session:
        return exporter.export_rows(
            session, workflows=app.state.runtime.workflows, timezone=app.state.runtime.settings.timezone
        )
