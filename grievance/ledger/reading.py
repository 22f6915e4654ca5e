"""Read a ledger file as offices really keep it: CSV in UTF-8 or GB18030, or XLSX; title rows, notes and blank
rows above the header; blank and totals (合计) rows among the data; extra columns such as 序号.

The result says what became of every row and every column, so a dry run can show it to the person importing.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grievance.errors import InvalidInput
from grievance.input_bounds import text_problem
from grievance.ledger.columns import BY_NAME, header_name, text_of
from grievance.textfiles import decode_text_named

# The header is looked for among this many first non-blank rows (titles and "填报单位" lines come first).
HEADER_SEARCH_ROWS = 20
# A header row names at least this many known columns.
MIN_HEADER_COLUMNS = 3
# Data rows (below the header, blank rows not counted) a file may hold: Settings.ledger_max_rows, this by default.
# Both readers stream the file and stop as soon as the cap is surely passed, so a huge file costs little.
DEFAULT_MAX_ROWS = 20_000
# Blank rows are kept only as a shared empty row; a file of more rows than this times the cap (mostly blank,
# as Excel keeps formatted empty rows) is refused as too long too.
BLANK_ROWS_FACTOR = 5
MAX_CELL_PROBLEMS = 50  # NUL cells listed in one refusal
_BLANK: list[Any] = []  # one shared object for every blank row
TOTALS_WORDS = ("合计", "总计", "小计", "共计", "总数")
REQUIRED = ("case_no", "received_at", "channel", "case_type", "title")


@dataclass
class FileColumn:
    """One header cell: its position (1-based, as Excel numbers columns), its text and the column it names
    (None: not a ledger column, ignored)."""

    position: int
    header: str
    name: str | None
    values: int = 0  # non-empty cells below the header (data rows only)


@dataclass
class SkippedRow:
    row: int
    kind: str  # "title" (above the header), "blank", "totals", "footer" (notes below the grand total)
    text: str


@dataclass
class LedgerFile:
    """A ledger's rows as {column name: cell} (each with its spreadsheet row number in "_row"), and what the
    reader made of the file: the header row, the columns, the rows it skipped."""

    rows: list[dict[str, Any]]
    columns: list[FileColumn] = field(default_factory=list)
    header_row: int = 1
    skipped: list[SkippedRow] = field(default_factory=list)
    encoding: str = ""

    @classmethod
    def of_rows(cls, rows: list[dict[str, Any]]) -> LedgerFile:
        """Rows built in code (the demo year): every key a ledger column."""
        names = list(dict.fromkeys(k for r in rows for k in r if k != "_row"))
        columns = [FileColumn(i, n, n, sum(1 for r in rows if text_of(r.get(n)))) for i, n in enumerate(names, 1)]
        return cls(rows, columns)

    @property
    def ignored_columns(self) -> list[str]:
        return [c.header for c in self.columns if c.name is None and c.header]


def too_many_rows(max_rows: int) -> InvalidInput:
    """The refusal of a ledger over `max_rows` data rows (Settings.ledger_max_rows), in both languages."""
    return InvalidInput.field(
        "file",
        f"台账超过 {max_rows} 行（列名行以下的数据行）：请分成几个文件导入",
        f"the ledger has more than {max_rows} rows below the header: split it into several files",
    )


def _capped(rows: Iterator[list[Any]], max_rows: int) -> list[list[Any]]:
    """The rows, blank ones as one shared empty row; raises too_many_rows as soon as more than max_rows data
    rows are certain (the header is at most the HEADER_SEARCH_ROWS-th non-blank row) or the file, blank rows
    included, passes BLANK_ROWS_FACTOR times that."""
    table: list[list[Any]] = []
    filled = 0
    bound = max_rows + HEADER_SEARCH_ROWS
    for cells in rows:
        if _is_blank(cells):
            table.append(_BLANK)
        else:
            table.append(cells)
            filled += 1
        if filled > bound or len(table) > BLANK_ROWS_FACTOR * bound:
            raise too_many_rows(max_rows)
    return table


def _table(filename: str, data: bytes, max_rows: int) -> tuple[list[list[Any]], str]:
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        text, encoding = decode_text_named(data)
        # Excel's "Unicode text" and some exports separate with tabs or semicolons instead of commas.
        sample = "\n".join(text[:65536].splitlines()[:HEADER_SEARCH_ROWS])
        delimiter = max(",\t;", key=sample.count) if sample else ","
        return _capped(csv.reader(io.StringIO(text), delimiter=delimiter), max_rows), encoding
    if suffix == ".xlsx":
        try:
            return _capped(_sheet_rows(data), max_rows), "XLSX"
        except InvalidInput:
            raise
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise InvalidInput.field(
                "file",
                f"无法读取 XLSX 文件（{exc}）：请在 Excel 中打开并另存为 .xlsx",
                f"cannot read the XLSX file ({exc}): open it in Excel and save it as .xlsx again",
            ) from None
    raise InvalidInput.field(
        "file",
        f"不支持的文件类型「{suffix or filename}」，可选：.csv、.xlsx",
        f"unsupported file type {suffix or filename!r}; accepted: .csv, .xlsx",
    )


def _sheet_rows(data: bytes) -> Iterator[list[Any]]:
    """The first sheet's rows, streamed (openpyxl read_only: one row in memory at a time). The saved results and
    the formulas are read side by side: a formula saved without its result (files written by programs) reads
    as empty, so its text is kept instead and the person sees what the cell held."""
    from openpyxl import load_workbook

    values = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    formulas = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        pairs = zip(
            values.worksheets[0].iter_rows(values_only=True),
            formulas.worksheets[0].iter_rows(values_only=True),
            strict=False,
        )
        for row, source in pairs:
            cells = list(row)
            for i, (value, formula) in enumerate(zip(cells, source, strict=False)):
                if value is None and isinstance(formula, str) and formula.startswith("="):
                    cells[i] = formula
            yield cells
    finally:
        values.close()
        formulas.close()


def _is_blank(cells: list[Any]) -> bool:
    return not any(text_of(c) for c in cells)


def _first_text(cells: list[Any]) -> str:
    return next((text_of(c) for c in cells if text_of(c)), "")


def _all_text(cells: list[Any]) -> str:
    return " ".join(text_of(c) for c in cells if text_of(c))[:200]


def _is_totals(cells: list[Any]) -> bool:
    first = unicodedata.normalize("NFKC", _first_text(cells)).replace(" ", "")
    return first.startswith(TOTALS_WORDS)


def _is_grand_total(cells: list[Any]) -> bool:
    """合计/总计: the end of the table; what follows (制表人, 审核人, 填报说明) are notes. 小计 is not."""
    first = unicodedata.normalize("NFKC", _first_text(cells)).replace(" ", "")
    return first.startswith(("合计", "总计", "共计", "总数"))


def find_header(table: list[list[Any]]) -> int:
    """The index of the header row: among the first non-blank rows, the one naming the most known columns
    (the first of equals). Raises InvalidInput when no row names at least MIN_HEADER_COLUMNS columns."""
    best, best_known, looked = -1, 0, 0
    for index, cells in enumerate(table):
        if _is_blank(cells):
            continue
        looked += 1
        known = len({header_name(c) for c in cells} - {None})
        if known > best_known:
            best, best_known = index, known
        if looked >= HEADER_SEARCH_ROWS:
            break
    if best < 0 or best_known < MIN_HEADER_COLUMNS:
        names = "、".join(f"{c.aliases[0]}（{c.name}）" for c in BY_NAME.values() if c.name in REQUIRED)
        raise InvalidInput.field(
            "header",
            f"在前 {HEADER_SEARCH_ROWS} 行中找不到列名行：列名行至少应包含 {names}",
            f"no header row among the first {HEADER_SEARCH_ROWS} rows: it must name at least "
            f"{', '.join(REQUIRED)} (or their Chinese names)",
        )
    return best


def _cell_problems(rows: list[dict[str, Any]], columns: list[FileColumn]) -> list[dict[str, Any]]:
    """Each cell that no database column can store (a NUL character, a lone surrogate), as a row error."""
    headers = {c.name: c.header for c in columns if c.name is not None}
    problems: list[dict[str, Any]] = []
    for row in rows:
        for name, cell in row.items():
            problem = text_problem(cell) if name != "_row" and isinstance(cell, str) else None
            if problem is None:
                continue
            number, header = row["_row"], headers.get(name, name)
            problems.append(
                {
                    "field": f"第{number}行 {name}",
                    "row": number,
                    "column": name,
                    "message": f"第{number}行「{header}」：{problem[0]}",
                    "message_en": f"row {number}, column {name}: {problem[1]}",
                }
            )
            if len(problems) >= MAX_CELL_PROBLEMS:
                return problems
    return problems


def read_ledger(filename: str, data: bytes, *, max_rows: int = DEFAULT_MAX_ROWS) -> LedgerFile:
    """The rows of a .csv (UTF-8 with or without BOM, or GB18030) or .xlsx (first sheet).

    The header row is found among the first rows (rows above it are skipped as titles); blank rows and totals
    rows (合计, 总计...) are skipped; columns that are not ledger columns are kept as ignored. Raises
    InvalidInput for an unreadable file, no header, two header cells naming the same column, a missing
    required column, more than `max_rows` data rows (Settings.ledger_max_rows; refused while the file is
    streamed, as soon as the cap is passed), or cells holding a NUL character or a lone surrogate (every such
    cell listed by row and column, up to MAX_CELL_PROBLEMS: nothing is dropped silently).
    """
    table, encoding = _table(filename, data, max_rows)
    while table and _is_blank(table[-1]):  # Excel keeps formatted empty rows at the end: not worth listing
        table.pop()
    if _is_blank([c for row in table[:HEADER_SEARCH_ROWS] for c in row]):
        raise InvalidInput.field("file", "文件是空的：应有一行列名", "the file is empty: one row must name the columns")
    start = find_header(table)
    skipped = [
        SkippedRow(i + 1, "blank" if _is_blank(cells) else "title", _all_text(cells))
        for i, cells in enumerate(table[:start])
    ]
    columns: list[FileColumn] = []
    first_of: dict[str, FileColumn] = {}
    for position, cell in enumerate(table[start], start=1):
        header = text_of(cell).removeprefix("\ufeff")
        name = header_name(cell)
        column = FileColumn(position, header, name)
        if name is not None and name in first_of:
            other = first_of[name]
            raise InvalidInput.field(
                "header",
                f"列名「{other.header}」（第 {other.position} 列）与「{header}」（第 {position} 列）都表示 {name}"
                f"（{BY_NAME[name].aliases[0]}）：请删除或改名其中一列",
                f"the header cells {other.header!r} (column {other.position}) and {header!r} (column {position}) "
                f"both name the column {name}: remove or rename one of them",
            )
        if name is not None:
            first_of[name] = column
        columns.append(column)
    width = max((len(cells) for cells in table[start:]), default=0)
    for position in range(len(columns) + 1, width + 1):  # cells right of the last header cell
        columns.append(FileColumn(position, "", None))
    missing = [name for name in REQUIRED if name not in first_of]
    if missing:
        labels = "、".join(f"{BY_NAME[n].aliases[0]}（{n}）" for n in missing)
        raise InvalidInput.field(
            "header", f"缺少必需的列：{labels}", f"required columns are missing: {', '.join(missing)}"
        )
    body = table[start + 1 :]
    if sum(1 for cells in body if cells is not _BLANK) > max_rows:
        raise too_many_rows(max_rows)
    rows: list[dict[str, Any]] = []
    ended = False
    for number, cells in enumerate(body, start=start + 2):
        if _is_blank(cells):
            skipped.append(SkippedRow(number, "blank", ""))
            continue
        if ended:
            skipped.append(SkippedRow(number, "footer", _all_text(cells)))
            continue
        if _is_totals(cells):
            skipped.append(SkippedRow(number, "totals", _all_text(cells)))
            ended = _is_grand_total(cells)
            continue
        row: dict[str, Any] = {"_row": number}
        for column, cell in zip(columns, cells, strict=False):
            if text_of(cell):
                column.values += 1
            if column.name is not None:
                row[column.name] = cell
        rows.append(row)
    problems = _cell_problems(rows, columns)
    if problems:
        raise InvalidInput(
            f"台账有 {len(problems)} 个单元格含有无法保存的字符（如 NUL）：请在原文件中删除后重新导入",
            f"{len(problems)} cells of the ledger hold characters that cannot be stored (such as NUL): "
            "remove them in the file and import it again",
            problems,
        )
    return LedgerFile(rows, columns, start + 1, skipped, encoding)
