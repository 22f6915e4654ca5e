"""The one rule for text in the spreadsheets the service writes (ledger and report CSV/XLSX) and reads back, so
that no cell a citizen typed ever runs as a formula in Excel, WPS or LibreOffice, and an export re-imports as it was.

The rule follows OWASP's CSV-injection guidance (https://owasp.org/www-community/attacks/CSV_Injection): a
text cell that starts with = + - @ TAB CR or LF is prefixed with a single quote in CSV, which spreadsheets
show as text. In XLSX a text cell is stored as a string (never a formula or an error value) and such a cell
also gets Excel's "quote prefix" style, so that editing it in Excel does not turn it into a formula either.
Numbers stay numbers: a negative count is written as -1, while a title or phone such as "-1" or
"+8613812341234" is text and is escaped.

Reading undoes our own escape: a leading quote followed by (more quotes and) a trigger character is dropped.
To make that exact for every text, a text that itself starts with quotes and a trigger gets one more quote
on the way out, in CSV and XLSX alike ("'=x" is written "''=x" and reads back as "'=x").

Checked first: defusedcsv (PyPI) covers CSV only, leaves TAB, CR and LF unescaped and rewrites "|" as "\\|"
inside the text, which the reader would then have to undo; the rule here is a few lines and covers both formats.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet.worksheet import Worksheet

# OWASP's list (2025 revision, which added line feed).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
QUOTE = "'"
_TRIGGER = "[=+\\-@\t\r\n]"
_NEEDS_QUOTE = re.compile(f"'*{_TRIGGER}")  # written with one more leading quote in CSV
_QUOTED = re.compile(f"'+{_TRIGGER}")  # what csv_text wrote, and what the reader unquotes
# XML 1.0 cannot hold these control characters: openpyxl refuses them (a 500 on export).
XLSX_FORBIDDEN = ILLEGAL_CHARACTERS_RE


def csv_text(text: str) -> str:
    """A text as a CSV cell: "'=SUM(A1)" for "=SUM(A1)", unchanged when it cannot start a formula.

    Shape: str -> str. Source: OWASP CSV Injection (leading = + - @ TAB CR LF get a single quote).
    """
    return QUOTE + text if _NEEDS_QUOTE.match(text) else text


def csv_cell(value: Any) -> Any:
    """A CSV cell value: text through csv_text; numbers, booleans and None as they are (a number is never a
    formula, and -5 must stay a number a spreadsheet can add up)."""
    return csv_text(value) if isinstance(value, str) else value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row for csv.writer with every text cell escaped by csv_cell."""
    return [csv_cell(value) for value in values]


def read_text(text: str) -> str:
    """Undo csv_text on a cell read from a CSV or XLSX file: "'=SUM(A1)" -> "=SUM(A1)", "''=x" -> "'=x".

    Any other text is returned unchanged, so a ledger from elsewhere reads as it always did (a quote an office
    typed before "+86 ..." to keep Excel from treating it as a number is dropped, which is what it meant).
    """
    return text[1:] if _QUOTED.match(text) else text


def xlsx_text(text: str) -> str:
    """A text as it is stored in a workbook cell: as is, except one more leading quote where the text already
    starts with quotes and a trigger (so that read_text restores it), and with the control characters that
    XML cannot hold (U+0000-U+0008, U+000B, U+000C, U+000E-U+001F) replaced by a space."""
    text = XLSX_FORBIDDEN.sub(" ", text)
    return QUOTE + text if _QUOTED.match(text) else text


def set_cell(cell: Cell, value: Any) -> Cell:
    """Put a value in an openpyxl cell: a str is always a string cell, never a formula ("=...") nor an error
    value ("#N/A"), and one starting with a formula trigger gets the quote-prefix style; other values (numbers,
    dates, None) as openpyxl stores them. Returns the cell."""
    if not isinstance(value, str):
        cell.value = value
        return cell
    text = xlsx_text(value)
    cell.value = text
    cell.data_type = "s"  # openpyxl makes any str starting with "=" a formula and "#N/A" an error
    if text.startswith(FORMULA_TRIGGERS):
        cell.quotePrefix = True
    return cell


def append_row(sheet: Worksheet, values: Iterable[Any]) -> None:
    """Append one row to a sheet (like Worksheet.append), every cell written by set_cell."""
    sheet.append([set_cell(Cell(sheet), value) for value in values])
