"""A ledger with problems: every problem is reported at once, each naming its row and column and what is
accepted, and nothing at all is written (not even the departments the valid rows would create)."""

from __future__ import annotations

import pytest

from tests.api._support import API
from tests.ledger._support import counts, csv_bytes, errors_by_cell, upload, xlsx_bytes

HEADER = [
    "诉求编号",
    "受理时间",
    "来源渠道",
    "诉求类型",
    "标题",
    "承办单位",
    "派单时间",
    "办结时间",
    "办理结果",
    "回访时间",
    "是否联系到",
    "重复件（合并到）",
]


def good(n: int, department: str = "新建的承办单位") -> list[str]:
    """A valid row that would create a department."""
    return [
        f"L-{n:04d}",
        "2025-10-09 09:00",
        "12345热线",
        "求助",
        f"第{n}件",
        department,
        "2025-10-09 10:00",
        "2025-10-10 10:00",
        "已解决",
        "2025-10-11 10:00",
        "是",
        "",
    ]


def with_cells(n: int, **cells: str) -> list[str]:
    row = good(n)
    for name, value in cells.items():
        row[COLUMN_INDEX[name]] = value
    return row


COLUMN_INDEX = {
    "case_no": 0,
    "received_at": 1,
    "channel": 2,
    "case_type": 3,
    "title": 4,
    "department": 5,
    "dispatched_at": 6,
    "resolved_at": 7,
    "outcome": 8,
    "callback_at": 9,
    "callback_reached": 10,
    "duplicate_of": 11,
}


def test_every_error_is_reported_at_once_with_row_column_and_what_is_accepted(world, engine):
    rows = [
        good(1),  # row 2
        with_cells(2, received_at="2025-13-45 10:00"),  # row 3
        with_cells(3, channel="微信群"),  # row 4
        with_cells(4, callback_reached="也许"),  # row 5
        with_cells(5, title=""),  # row 6
        with_cells(6, resolved_at="", outcome=""),  # row 7: a callback without a resolution
        good(1),  # row 8: L-0001 again
        with_cells(8, duplicate_of="GX-2099-999999"),  # row 9
        good(9),  # row 10
    ]
    before = counts(engine)
    body = upload(world, "台账.csv", csv_bytes(HEADER, rows), expect=422)
    assert body["error"] == "invalid_input"
    assert body["message"] == "台账有 7 处错误，未导入任何数据"
    assert body["message_en"] == "the ledger has errors; nothing was imported"
    found = errors_by_cell(body)
    assert set(found) == {
        (3, "received_at"),
        (4, "channel"),
        (5, "callback_reached"),
        (6, "title"),
        (7, "callback_at"),
        (8, "case_no"),
        (9, "duplicate_of"),
    }
    for (row, column), error in found.items():
        assert error["field"] == f"第{row}行 {column}"
        assert error["message"].startswith(f"第{row}行「")
        assert f"（{column}）」：" in error["message"]
        assert error["message_en"].startswith(f"row {row}, column {column}: ")
    assert "2025-03-05 14:30" in found[3, "received_at"]["message_en"]
    assert "2025-13-45 10:00" in found[3, "received_at"]["message"]
    channel = found[4, "channel"]
    assert "微信群" in channel["message"]
    assert "hotline = 12345热线 / 12345 / 电话" in channel["message_en"]
    assert "meeting = 阳光恳谈会" in channel["message_en"]
    assert "是/否" in found[5, "callback_reached"]["message_en"]
    assert "is required" in found[6, "title"]["message_en"]
    assert "needs resolved_at" in found[7, "callback_at"]["message_en"]
    assert "repeats row 2" in found[8, "case_no"]["message_en"]
    assert "GX-2099-999999" in found[9, "duplicate_of"]["message_en"]
    # Nothing written: no case, no event, no clock, not the department the valid rows name.
    assert counts(engine) == before


def test_an_error_in_the_last_row_after_many_valid_ones_writes_nothing(world, engine):
    rows = [good(n) for n in range(1, 600)]  # more than one insert chunk
    rows.append(with_cells(600, callback_at="昨天"))
    before = counts(engine)
    body = upload(world, "big.csv", csv_bytes(HEADER, rows), expect=422)
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(601, "callback_at")]
    assert counts(engine) == before
    # The same file without its last row imports whole.
    summary = upload(world, "big.csv", csv_bytes(HEADER, rows[:-1]))
    assert (summary["created"], summary["new_departments"]) == (599, ["新建的承办单位"])
    assert counts(engine)["cases"] == before["cases"] + 599


def test_a_reopening_needs_a_resolution(world, engine):
    header = ["case_no", "received_at", "channel", "case_type", "title", "reopened_at"]
    rows = [["R-1", "2025-10-09 09:00", "hotline", "help", "没办结就重办", "2025-10-10 09:00"]]
    body = upload(world, "r.csv", csv_bytes(header, rows), expect=422)
    assert [(e["row"], e["column"], e["message_en"]) for e in body["errors"]] == [
        (2, "reopened_at", "row 2, column reopened_at: needs resolved_at")
    ]


def test_a_merge_target_later_in_the_file_is_fine_an_unknown_one_is_not(world, engine):
    rows = [
        with_cells(
            1, duplicate_of="L-0002", dispatched_at="", resolved_at="", outcome="", callback_at="", callback_reached=""
        ),
        good(2),
    ]
    rows[0][COLUMN_INDEX["department"]] = ""
    assert upload(world, "ok.csv", csv_bytes(HEADER, rows))["created"] == 2
    assert world.get("L-0001", "admin")["duplicate_of"] == "L-0002"
    own = [with_cells(3, duplicate_of="L-0003")]
    body = upload(world, "self.csv", csv_bytes(HEADER, own), expect=422)
    assert "cannot be merged into itself" in errors_by_cell(body)[2, "duplicate_of"]["message_en"]


def test_too_many_errors_are_capped_and_said_so(world, engine):
    rows = [with_cells(n, received_at="坏") for n in range(1, 300)]
    body = upload(world, "bad.csv", csv_bytes(HEADER, rows), expect=422)
    assert len(body["errors"]) == 200
    assert body["message"].startswith("台账有 200+ 处错误")  # it stopped reading there
    assert [e["row"] for e in body["errors"]] == list(range(2, 202))


def test_an_unknown_column_is_listed_as_ignored_and_a_remark_is_kept(world, engine):
    summary = upload(world, "x.csv", csv_bytes([*HEADER, "序号", "备注"], [[*good(1), "1", "x"]]))
    assert summary["created"] == 1
    assert summary["ignored_columns"] == ["序号"]
    uses = {c["header"]: (c["column"], c["values"]) for c in summary["columns"] if c["position"]}
    assert uses["序号"] == (None, 1) and uses["备注"] == ("note", 1)


def test_a_missing_required_column(world):
    header = [h for h in HEADER if h != "标题"]
    row = [c for i, c in enumerate(good(1)) if i != COLUMN_INDEX["title"]]
    body = upload(world, "x.csv", csv_bytes(header, [row]), expect=422)
    assert body["errors"] == [
        {
            "field": "header",
            "message": "缺少必需的列：标题（title）",
            "message_en": "required columns are missing: title",
        }
    ]


@pytest.mark.parametrize("name", ["台账.xls", "ledger.txt", "ledger"])
def test_a_wrong_file_type(world, engine, name):
    before = counts(engine)
    body = upload(world, name, csv_bytes(HEADER, [good(1)]), expect=422)
    [error] = body["errors"]
    assert error["field"] == "file"
    assert error["message_en"].endswith("accepted: .csv, .xlsx")
    assert ".csv、.xlsx" in error["message"]
    assert counts(engine) == before


def test_a_csv_saved_by_chinese_excel_is_read(world, engine):
    """GBK/GB18030, as Chinese Excel saves a CSV: read like UTF-8."""
    summary = upload(world, "gbk.csv", csv_bytes(HEADER, [good(1)], encoding="gbk"))
    assert (summary["created"], summary["encoding"]) == (1, "GB18030")
    assert world.get("L-0001", "admin")["title"] == good(1)[COLUMN_INDEX["title"]]


def test_a_damaged_workbook_and_an_empty_file(world):
    body = upload(world, "x.xlsx", b"PK\x03\x04 not really a workbook", expect=422)
    assert body["errors"][0]["field"] == "file"
    assert body["errors"][0]["message_en"].startswith("cannot read the XLSX file")
    body = upload(world, "empty.csv", b"", expect=422)
    assert body["errors"][0]["message_en"] == "the file is empty: one row must name the columns"


def test_errors_in_a_workbook_name_the_spreadsheet_rows(world, engine):
    rows = [good(1), [], with_cells(3, case_type="闲聊")]  # an empty line keeps the numbering
    body = upload(world, "台账.xlsx", xlsx_bytes(HEADER, rows), expect=422)
    [error] = body["errors"]
    assert (error["row"], error["column"]) == (4, "case_type")
    assert "consult = 咨询" in error["message_en"]


def test_the_upload_must_be_a_file_in_the_file_field(world):
    response = world.client.post(
        f"{API}/ledger/import", files={"other": ("a.csv", b"x")}, headers=world.headers("admin")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"
    response = world.client.post(f"{API}/ledger/import", json={"file": "a.csv"}, headers=world.headers("admin"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"
