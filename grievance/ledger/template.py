"""The ledger template an office fills in: every column under its Chinese header, which are required and what
each accepts (all read from grievance.ledger.columns), and one example row, greyed, that the importer
recognises by its case number (EXAMPLE_CASE_NO) and skips with a warning: a template sent back unchanged
imports no case.

The workbook is written with the same spreadsheet code as the ledger and report exports (grievance.spreadsheet),
so a cell is never a live formula; its first sheet is the one the importer reads, the second explains each column.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from grievance.glossary import LABELS
from grievance.ledger.columns import COLUMNS, HELP_ZH, TIME_COLUMNS, VOCABULARY_COLUMNS, Column
from grievance.ledger.reading import REQUIRED
from grievance.spreadsheet import append_row

# The case number that marks the template's example row: grievance.ledger.planning skips the row that carries it
# (「模板示例行，已跳过」), so the example never becomes a case that is soon hundreds of working days overdue.
EXAMPLE_CASE_NO = "示例-0001"
# One case as an office writes it: a 12345 hotline request for help, received and not yet dispatched; every
# column a row needs is filled, to be copied into the rows below it.
EXAMPLE: dict[str, str] = {
    "case_no": EXAMPLE_CASE_NO,
    "received_at": "2025-03-05 09:30",
    "channel": "12345热线",
    "case_type": "求助",
    "urgency": "一般",
    "title": "小区路灯不亮",
    "description": "幸福小区3栋门前路灯连续一周不亮，夜间出行不便。",
    "petitioner_name": "张先生",
    "petitioner_phone": "13800138000",
    "note": "示例行：导入时自动跳过，不会成为诉求；请在下面各行填写本单位的诉求",
}
TIME_EXAMPLE = "2025-03-05 14:30"
REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")  # the required headers, as Excel templates mark them
EXAMPLE_FONT = Font(italic=True, color="808080")  # the example row, grey as a placeholder


@dataclass(frozen=True)
class ColumnGuide:
    """One ledger column as the import page and the template's instructions sheet explain it."""

    name: str  # the English code, also accepted as a header
    header: str  # the Chinese header the template uses
    other_headers: tuple[str, ...]  # further Chinese headers the importer recognises
    required: bool  # every row must fill it (reading.REQUIRED); others may be required by the row's content
    help: str
    help_zh: str
    values: tuple[tuple[str, str], ...]  # a vocabulary's accepted values: (Chinese label, code)


def _guide(column: Column) -> ColumnGuide:
    vocabulary = LABELS.get(VOCABULARY_COLUMNS.get(column.name, ""), {})
    help_en, help_zh = column.help, HELP_ZH[column.name]
    if column.name in TIME_COLUMNS:
        help_en += f"; e.g. {TIME_EXAMPLE}"
        help_zh += f"，如 {TIME_EXAMPLE}"
    return ColumnGuide(
        name=column.name,
        header=column.aliases[0],
        other_headers=column.aliases[1:],
        required=column.name in REQUIRED,
        help=help_en,
        help_zh=help_zh,
        values=tuple((label, code) for code, label in vocabulary.items()),
    )


def column_guides() -> list[ColumnGuide]:
    """Every ledger column in the order of COLUMNS (the order of the export and the template)."""
    return [_guide(column) for column in COLUMNS]


def template_xlsx() -> bytes:
    """The template workbook: sheet 台账 with the Chinese headers (required ones shaded) and EXAMPLE as its one
    row (greyed; the importer skips it); sheet 填写说明 with each column's other headers, whether it is required, and what it accepts."""
    book = Workbook()
    ledger = book.active
    ledger.title = "台账"
    guides = column_guides()
    append_row(ledger, [g.header for g in guides])
    for cell, guide in zip(ledger[1], guides, strict=True):
        cell.font = Font(bold=True)
        if guide.required:
            cell.fill = REQUIRED_FILL
    append_row(ledger, [EXAMPLE.get(g.name) for g in guides])
    for cell in ledger[2]:
        cell.font = EXAMPLE_FONT
    for cell, guide in zip(ledger[1], guides, strict=True):
        ledger.column_dimensions[cell.column_letter].width = max(12, 2 * len(guide.header) + 4)
    ledger.freeze_panes = "A2"

    notes = book.create_sheet("填写说明")
    append_row(notes, ["列名", "也可写作", "是否必填", "填写说明", "可填的值", "英文列名"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for guide in guides:
        append_row(notes, _note_row(guide))
    for letter, width in zip("ABCDEF", (16, 24, 10, 48, 60, 18), strict=True):
        notes.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _note_row(guide: ColumnGuide) -> list[Any]:
    return [
        guide.header,
        "、".join(guide.other_headers),
        "必填" if guide.required else "",
        guide.help_zh,
        "、".join(label for label, _code in guide.values),
        guide.name,
    ]
