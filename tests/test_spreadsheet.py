"""The cell rule of grievance/spreadsheet.py on the inputs the API cannot send (it strips leading whitespace):
text starting with tab, CR or LF, phones with +, negative numbers, control characters; written by the ledger
exporter and read back cell by cell as the importer reads it (columns.text_of)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from grievance.ledger import exporter
from grievance.ledger.columns import NAMES, text_of
from grievance.spreadsheet import csv_cell, csv_row, read_text

# text -> its CSV cell (OWASP: a quote before = + - @ TAB CR LF; one more before quotes and such a character).
CSV_CELLS = {
    "=1+1": "'=1+1",
    "+86 13812341234": "'+86 13812341234",
    "-": "'-",
    "-5": "'-5",
    "@SUM(A1)": "'@SUM(A1)",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
    "\n=1+1": "'\n=1+1",
    "'=1+1": "''=1+1",
    "''+1": "'''+1",
    "'不是公式": "'不是公式",
    "'": "'",
    "13812341234": "13812341234",
    "a=b": "a=b",
    "#N/A": "#N/A",
    "": "",
}


@pytest.mark.parametrize(("text", "cell"), CSV_CELLS.items())
def test_a_text_cell_in_csv_and_back(text, cell):
    assert csv_cell(text) == cell
    assert read_text(cell) == text


def test_numbers_stay_numbers():
    # A count or rate is a number a spreadsheet adds up; only text is quoted.
    assert csv_row([-1, 0.5, None, True, "-1"]) == [-1, 0.5, None, True, "'-1"]


def ledger_row(**cells: str) -> dict[str, str]:
    return {name: "" for name in NAMES} | {"case_no": "GX-2025-000001"} | cells


ROW = ledger_row(
    title="\t=1+1",
    description='\r=HYPERLINK("http://example.invalid/")',
    reply="\n@SUM(1,2)",
    petitioner_name="'=已带撇号",
    petitioner_phone="+86 13812341234",
    meeting_title="-2",
    enterprise_name="#N/A",
)


def test_the_ledger_csv_quotes_tab_cr_lf_phones_and_reads_them_back():
    body = exporter.to_csv([ROW])
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    row = dict(zip(table[0], table[1], strict=True))
    assert row["title"] == "'\t=1+1"
    assert row["description"] == '\'\r=HYPERLINK("http://example.invalid/")'
    assert row["reply"] == "'\n@SUM(1,2)"
    assert row["petitioner_name"] == "''=已带撇号"
    assert row["petitioner_phone"] == "'+86 13812341234"
    assert row["meeting_title"] == "'-2"
    assert row["enterprise_name"] == "#N/A"
    # As the importer reads each cell: exactly what was exported.
    assert {name: text_of(row[name]) for name in NAMES} == ROW


def test_the_ledger_workbook_keeps_such_text_as_text():
    book = load_workbook(io.BytesIO(exporter.to_xlsx([ROW])))
    cells = dict(zip(NAMES, book.worksheets[0][2], strict=True))
    for name in ("title", "reply", "petitioner_phone", "meeting_title"):
        assert (cells[name].data_type, cells[name].value, cells[name].quotePrefix) == ("s", ROW[name], True), name
    # XML stores every line break as LF: a leading CR comes back as one.
    description = cells["description"]
    assert (description.data_type, description.quotePrefix) == ("s", True)
    assert description.value == '\n=HYPERLINK("http://example.invalid/")'
    assert (cells["enterprise_name"].data_type, cells["enterprise_name"].value) == ("s", "#N/A")  # not an error
    assert cells["petitioner_name"].value == "''=已带撇号"
    # Read back by the importer: the phone and the quoted name as they were (surrounding whitespace is
    # trimmed on import, as for any ledger cell).
    assert text_of(cells["petitioner_phone"].value) == "+86 13812341234"
    assert text_of(cells["petitioner_name"].value) == "'=已带撇号"
    assert text_of(cells["title"].value) == "=1+1"


def test_a_control_character_xml_cannot_hold_does_not_break_the_workbook():
    # A line break pasted from Word (U+000B) in a title: openpyxl refuses it, which was a 500 on export.
    row = ledger_row(title="第一行\x0b第二行", description="响铃\x07")
    book = load_workbook(io.BytesIO(exporter.to_xlsx([row])))
    cells = dict(zip(NAMES, book.worksheets[0][2], strict=True))
    assert (cells["title"].value, cells["description"].value) == ("第一行 第二行", "响铃 ")
    # CSV can hold it: kept as it is.
    body = exporter.to_csv([row]).decode("utf-8-sig")
    assert "第一行\x0b第二行" in body
