"""GET /api/v1/ledger/export: the ledger of the cases received in [from, to), as CSV or XLSX, written to the
audit log, for the central roles only."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select

from grievance.cases.models import AuditEntry
from grievance.db import transaction
from grievance.users.models import User
from tests.api._support import API
from tests.ledger._support import csv_bytes, upload

HEADER = ["case_no", "received_at", "channel", "case_type", "title", "petitioner_name", "petitioner_phone"]
ROWS = [
    ["S-1", "2025-09-30 23:59", "hotline", "help", "九月最后一件", "张三", "13812341234"],
    ["O-1", "2025-10-01 00:00", "hotline", "help", "十月第一件", "李四", "13987654321"],
    ["O-2", "2025-10-31 23:59", "来信", "投诉", "十月最后一件", "", ""],
    ["N-1", "2025-11-01 00:00", "online", "consult", "十一月", "王五", "02787654321"],
]


def export(world: Any, as_user: str = "leader", expect: int = 200, **params: Any) -> Any:
    response = world.client.get(f"{API}/ledger/export", params=params, headers=world.headers(as_user))
    assert response.status_code == expect, response.text
    return response


def audit(world: Any) -> list[tuple[str, str, str]]:
    with transaction(world.app.state.sessions) as session:
        rows = session.execute(
            select(AuditEntry.action, User.username, AuditEntry.detail)
            .join(User, User.id == AuditEntry.user_id, isouter=True)
            .order_by(AuditEntry.id)
        ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.fixture
def loaded(world):  # type: ignore[no-untyped-def]
    upload(world, "a.csv", csv_bytes(HEADER, ROWS))
    return world


def test_export_csv_of_a_period(loaded):
    response = export(loaded, **{"format": "csv", "from": "2025-10-01", "to": "2025-11-01"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="ledger-2025-10-01-2025-11-01.csv"'
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["case_no"], r["received_at"], r["channel"]) for r in rows] == [
        ("O-1", "2025-10-01T00:00:00+08:00", "hotline"),
        ("O-2", "2025-10-31T23:59:00+08:00", "letter"),
    ]
    assert audit(loaded) == [("export", "leader", "ledger export csv 2025-10-01..2025-11-01 2 rows")]


def test_export_xlsx_of_everything(loaded):
    from openpyxl import load_workbook

    response = export(loaded, as_user="dispatcher", format="xlsx")
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["content-disposition"] == 'attachment; filename="ledger-all-all.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert table[0][:6] == ["诉求编号", "受理时间", "来源渠道", "诉求类型", "紧急程度", "标题"]
    assert [(r[0], r[2], r[3]) for r in table[1:]] == [
        ("S-1", "12345热线", "求助"),
        ("O-1", "12345热线", "求助"),
        ("O-2", "来信", "投诉"),
        ("N-1", "网上", "咨询"),
    ]
    assert audit(loaded) == [("export", "dispatcher", "ledger export xlsx -..- 4 rows")]


def test_an_exported_workbook_imports_back_unchanged(loaded):
    body = export(loaded, format="xlsx").content
    assert upload(loaded, "back.xlsx", body)["unchanged"] == 4


def test_export_roles_and_the_audit_log(loaded):
    for user in ("admin", "supervisor", "dispatcher", "leader"):
        assert export(loaded, as_user=user).status_code == 200, user
    assert [who for _, who, _ in audit(loaded)] == ["admin", "supervisor", "dispatcher", "leader"]
    for user in ("intake", "handler", "head", "liaison"):
        body = export(loaded, as_user=user, expect=403).json()
        assert "allowed: Administrator, Supervisor, Dispatcher, Leader" in body["message_en"], user
        assert body["allowed"] == ["admin", "supervisor", "dispatcher", "leader"], user
    assert len(audit(loaded)) == 4  # refusals export nothing


def test_phones_are_masked_for_roles_that_do_not_need_them(loaded):
    """As on the case pages (DOMAIN.md privacy rules): leaders and admins get 138****1234."""

    def phones(user: str) -> list[tuple[str, str, str]]:
        body = export(loaded, as_user=user).content.decode("utf-8-sig")
        return [(r["case_no"], r["petitioner_name"], r["petitioner_phone"]) for r in csv.DictReader(io.StringIO(body))]

    full = [
        ("S-1", "张三", "13812341234"),
        ("O-1", "李四", "13987654321"),
        ("O-2", "", ""),
        ("N-1", "王五", "027-87654321"),  # normalised on import
    ]
    masked = [
        ("S-1", "张三", "138****1234"),
        ("O-1", "李四", "139****4321"),
        ("O-2", "", ""),
        ("N-1", "王五", "027****4321"),
    ]
    assert phones("dispatcher") == phones("supervisor") == full
    assert phones("leader") == phones("admin") == masked


def test_export_needs_a_token(loaded):
    assert loaded.client.get(f"{API}/ledger/export").status_code == 401


@pytest.mark.parametrize(
    ("params", "field", "english"),
    [
        ({"from": "2025-13-01"}, "from", "from must be a date like 2027-10-01, got '2025-13-01'"),
        ({"to": "yesterday"}, "to", "to must be a date like 2027-10-01, got 'yesterday'"),
        ({"from": "2025-11-01", "to": "2025-10-01"}, "to", "to must be after from"),
        ({"format": "pdf"}, "format", None),
    ],
)
def test_bad_parameters(loaded, params, field, english):
    body = export(loaded, expect=422, **params).json()
    [error] = body["errors"]
    assert error["field"] == field
    if english:
        assert error["message_en"] == english
    assert audit(loaded) == []
