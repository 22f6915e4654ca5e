"""Read a ledger file as offices really keep it: CSV in UTF-8 or GB18030, or XLSX; title rows, notes and blank
rows above the header; blank and totals (合计) rows among the data; extra columns such as 序号.

The result says what became of every row and every column, so a dry run can show it to the person importing.
The rows are streamed (issue 13: a 100,000-row ledger imports in bounded memory): the file is read once, as the
importer asks for its rows, and never held whole, neither its text nor its rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from grievance.errors import InvalidInput
from grievance.input_bounds import text_problem
from grievance.ledger.columns import BY_NAME, header_name, text_of
from grievance.textfiles import ENCODINGS, NAMES, undecodable

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
READ_BYTES = 1 << 20  # a CSV's bytes are decoded this many at a time when its encoding is looked for


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


class LedgerFile:
    """A ledger's rows as {column name: cell} (each with its spreadsheet row number in "_row"), and what the
    reader made of the file: the header row, the columns, the rows it skipped.

    A file read by `read_ledger` is streamed: its rows are read once, by `stream()`, and `columns` (their
    counts of values, the cells right of the last header cell) and `skipped` are complete once the stream is.
    `rows` reads them all into a list (tests, small files)."""

    def __init__(
        self,
        rows: list[dict[str, Any]] | Iterator[dict[str, Any]],
        columns: list[FileColumn] | None = None,
        header_row: int = 1,
        skipped: list[SkippedRow] | None = None,
        encoding: str = "",
    ) -> None:
        self._rows = rows if isinstance(rows, list) else None
        self._stream = None if isinstance(rows, list) else rows
        self.columns = columns if columns is not None else []
        self.header_row = header_row
        self.skipped = skipped if skipped is not None else []
        self.encoding = encoding

    @classmethod
    def of_rows(cls, rows: list[dict[str, Any]]) -> LedgerFile:
        """Rows built in code (the demo year): every key a ledger column."""
        names = list(dict.fromkeys(k for r in rows for k in r if k != "_row"))
        columns = [FileColumn(i, n, n, sum(1 for r in rows if text_of(r.get(n)))) for i, n in enumerate(names, 1)]
        return cls(rows, columns)

    def stream(self) -> Iterator[dict[str, Any]]:
        """The rows in file order, read as they are asked for; a generator to close when not read to its end.
        Raises, while it is read, what `read_ledger` says of the rows (too many, unstorable cells: at the end);
        RuntimeError when a streamed file's rows were asked for already."""
        if self._rows is not None:
            return (row for row in self._rows)
        if self._stream is None:
            raise RuntimeError("the ledger's rows were read already")
        stream, self._stream = self._stream, None
        return stream

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every row, read into a list on first use."""
        if self._rows is None:
            self._rows = list(self.stream())
        return self._rows

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


def _capped(rows: Iterator[list[Any]], max_rows: int) -> Iterator[list[Any]]:
    """The rows, blank ones as one shared empty row; raises too_many_rows as soon as more than max_rows data
    rows are certain (the header is at most the HEADER_SEARCH_ROWS-th non-blank row) or the file, blank rows
    included, passes BLANK_ROWS_FACTOR times that. Closing it closes `rows` (and so the file)."""
    filled = 0
    bound = max_rows + HEADER_SEARCH_ROWS
    try:
        for total, cells in enumerate(rows, start=1):
            blank = _is_blank(cells)
            filled += not blank
            if filled > bound or total > BLANK_ROWS_FACTOR * bound:
                raise too_many_rows(max_rows)
            yield _BLANK if blank else cells
    finally:
        rows.close()  # type: ignore[attr-defined]


def _open(source: bytes | Path) -> BinaryIO:
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")


def _encoding(source: bytes | Path) -> str:
    """The encoding decode_text_named would find (textfiles: UTF-16 with its BOM, UTF-8, GB18030), found by
    decoding the file chunk by chunk: the file's text is never held whole. Raises textfiles.undecodable."""
    with _open(source) as f:
        start = f.read(2)
    for encoding in ("utf-16", *ENCODINGS) if start in (b"\xff\xfe", b"\xfe\xff") else ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with _open(source) as f:
                while chunk := f.read(READ_BYTES):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise undecodable()


def _csv_rows(source: bytes | Path, encoding: str) -> Iterator[list[str]]:
    """The rows of a CSV, streamed. Lines split as io.StringIO splits a decoded text (on "\\n" only; the csv
    module reads "\\r\\n" itself). Raises InvalidInput for what the csv module cannot read (a cell over its
    field limit, say)."""
    with _open(source) as f:
        first = io.TextIOWrapper(f, encoding=encoding, newline="\n").read(65536)
    # Excel's "Unicode text" and some exports separate with tabs or semicolons instead of commas.
    sample = "\n".join(first.splitlines()[:HEADER_SEARCH_ROWS])
    delimiter = max(",\t;", key=sample.count) if sample else ","
    with _open(source) as f:
        reader = csv.reader(io.TextIOWrapper(f, encoding=encoding, newline="\n"), delimiter=delimiter)
        try:
            yield from reader
        except csv.Error as exc:
            raise InvalidInput.field(
                "file",
                f"无法读取 CSV 文件（第 {reader.line_num} 行：{exc}）：请在 Excel 中打开并另存为 CSV",
                f"cannot read the CSV file (line {reader.line_num}: {exc}): open it in Excel and save it as CSV again",
            ) from None


def _xlsx_rows(source: bytes | Path) -> Iterator[list[Any]]:
    try:
        yield from _sheet_rows(source)
    except InvalidInput:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InvalidInput.field(
            "file",
            f"无法读取 XLSX 文件（{exc}）：请在 Excel 中打开并另存为 .xlsx",
            f"cannot read the XLSX file ({exc}): open it in Excel and save it as .xlsx again",
        ) from None


def _table(filename: str, source: bytes | Path, max_rows: int) -> tuple[Iterator[list[Any]], str]:
    """The file's rows (streamed and capped) and its encoding's name."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        encoding = _encoding(source)
        return _capped(_csv_rows(source, encoding), max_rows), NAMES[encoding]
    if suffix == ".xlsx":
        return _capped(_xlsx_rows(source), max_rows), "XLSX"
    raise InvalidInput.field(
        "file",
        f"不支持的文件类型「{suffix or filename}」，可选：.csv、.xlsx",
        f"unsupported file type {suffix or filename!r}; accepted: .csv, .xlsx",
    )


def _sheet_rows(source: bytes | Path) -> Iterator[list[Any]]:
    """The first sheet's rows, streamed (openpyxl read_only: one row in memory at a time). The saved results and
    the formulas are read side by side: a formula saved without its result (files written by programs) reads
    as empty, so its text is kept instead and the person sees what the cell held."""
    from openpyxl import load_workbook

    def workbook(data_only: bool) -> Any:
        return load_workbook(
            io.BytesIO(source) if isinstance(source, bytes) else source, read_only=True, data_only=data_only
        )

    values = workbook(True)
    try:
        formulas = workbook(False)
        try:
            pairs = zip(
                values.worksheets[0].iter_rows(values_only=True),
                formulas.worksheets[0].iter_rows(values_only=True),
                strict=False,
            )
            for row, source_row in pairs:
                cells = list(row)
                for i, (value, formula) in enumerate(zip(cells, source_row, strict=False)):
                    if value is None and isinstance(formula, str) and formula.startswith("="):
                        cells[i] = formula
                yield cells
        finally:
            formulas.close()
    finally:
        values.close()


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


def _cell_problems(row: dict[str, Any], headers: dict[str | None, str]) -> Iterator[dict[str, Any]]:
    """Each cell of a row that no database column can store (a NUL character, a lone surrogate), as an error."""
    for name, cell in row.items():
        problem = text_problem(cell) if name != "_row" and isinstance(cell, str) else None
        if problem is None:
            continue
        number, header = row["_row"], headers.get(name, name)
        yield {
            "field": f"第{number}行 {name}",
            "row": number,
            "column": name,
            "message": f"第{number}行「{header}」：{problem[0]}",
            "message_en": f"row {number}, column {name}: {problem[1]}",
        }


def _refuse(rows: Iterator[list[Any]], error: InvalidInput) -> NoReturn:
    """Raise `error` about the header, unless the rest of the file is too long or unreadable: that is said first,
    as when the whole file was read before its header was looked at."""
    for _cells in rows:
        pass
    raise error


def read_ledger(filename: str, data: bytes | Path, *, max_rows: int = DEFAULT_MAX_ROWS) -> LedgerFile:
    """The ledger in a .csv (UTF-8 with or without BOM, or GB18030) or .xlsx (first sheet), given as its bytes
    or its path (read from disk as it is streamed: the CLI's large files).

    The header row is found among the first rows (rows above it are skipped as titles); blank rows and totals
    rows (合计, 总计...) are skipped; columns that are not ledger columns are kept as ignored. Reads only as far
    as the header: the rows are streamed by LedgerFile.stream().

    Raises InvalidInput for an unreadable file, no header, two header cells naming the same column or a missing
    required column (here); and while the rows are streamed, for more than `max_rows` data rows
    (Settings.ledger_max_rows, as soon as the cap is passed) or, once every row is read, for cells holding a
    NUL character or a lone surrogate (every such cell listed by row and column, up to MAX_CELL_PROBLEMS:
    nothing is dropped silently). OSError when the path cannot be read.
    """
    rows, encoding = _table(filename, data, max_rows)
    try:
        head: list[list[Any]] = []  # up to the HEADER_SEARCH_ROWS-th non-blank row: where the header is
        looked = 0
        for cells in rows:
            head.append(cells)
            looked += cells is not _BLANK
            if looked >= HEADER_SEARCH_ROWS:
                break
        if _is_blank([c for row in head[:HEADER_SEARCH_ROWS] for c in row]):
            _refuse(
                rows,
                InvalidInput.field(
                    "file", "文件是空的：应有一行列名", "the file is empty: one row must name the columns"
                ),
            )
        try:
            start = find_header(head)
        except InvalidInput as exc:
            _refuse(rows, exc)
        skipped = [
            SkippedRow(i + 1, "blank" if _is_blank(cells) else "title", _all_text(cells))
            for i, cells in enumerate(head[:start])
        ]
        columns: list[FileColumn] = []
        first_of: dict[str, FileColumn] = {}
        for position, cell in enumerate(head[start], start=1):
            header = text_of(cell).removeprefix("\ufeff")
            name = header_name(cell)
            column = FileColumn(position, header, name)
            if name is not None and name in first_of:
                other = first_of[name]
                _refuse(
                    rows,
                    InvalidInput.field(
                        "header",
                        f"列名「{other.header}」（第 {other.position} 列）与「{header}」（第 {position} 列）都表示 "
                        f"{name}（{BY_NAME[name].aliases[0]}）：请删除或改名其中一列",
                        f"the header cells {other.header!r} (column {other.position}) and {header!r} (column "
                        f"{position}) both name the column {name}: remove or rename one of them",
                    ),
                )
            if name is not None:
                first_of[name] = column
            columns.append(column)
        missing = [name for name in REQUIRED if name not in first_of]
        if missing:
            labels = "、".join(f"{BY_NAME[n].aliases[0]}（{n}）" for n in missing)
            _refuse(
                rows,
                InvalidInput.field(
                    "header", f"缺少必需的列：{labels}", f"required columns are missing: {', '.join(missing)}"
                ),
            )
    except BaseException:
        rows.close()  # type: ignore[attr-defined]
        raise
    body = _body(head[start + 1 :], rows, columns, skipped, start + 2, max_rows)
    return LedgerFile(body, columns, start + 1, skipped, encoding)


def _body(
    head: list[list[Any]],
    rows: Iterator[list[Any]],
    columns: list[FileColumn],
    skipped: list[SkippedRow],
    first: int,
    max_rows: int,
) -> Iterator[dict[str, Any]]:
    """The data rows below the header (numbered from `first`: the rows read with the header, then the rest of
    the file), as {column name: cell}. Fills in as it goes what the whole file says: each column's count of
    values, the columns right of the last header cell, the rows skipped (blank rows only when a row follows:
    Excel keeps formatted empty rows at the end, not worth listing). Raises too_many_rows past `max_rows` data
    rows, and once every row is read, the cells no column can store."""
    headers: dict[str | None, str] = {c.name: c.header for c in columns if c.name is not None}
    problems: list[dict[str, Any]] = []
    blank_from, blanks = 0, 0  # the run of blank rows not yet followed by another row
    data_rows = 0
    ended = False
    try:
        for number, cells in enumerate(itertools.chain(head, rows), start=first):
            if cells is _BLANK:
                blank_from, blanks = (blank_from, blanks + 1) if blanks else (number, 1)
                continue
            data_rows += 1
            if data_rows > max_rows:
                raise too_many_rows(max_rows)
            skipped.extend(SkippedRow(n, "blank", "") for n in range(blank_from, blank_from + blanks))
            blanks = 0
            for position in range(len(columns) + 1, len(cells) + 1):  # cells right of the last header cell
                columns.append(FileColumn(position, "", None))
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
            if len(problems) < MAX_CELL_PROBLEMS:
                problems.extend(itertools.islice(_cell_problems(row, headers), MAX_CELL_PROBLEMS - len(problems)))
            yield row
    finally:
        rows.close()  # type: ignore[attr-defined]
    if problems:
        raise InvalidInput(
            f"台账有 {len(problems)} 个单元格含有无法保存的字符（如 NUL）：请在原文件中删除后重新导入",
            f"{len(problems)} cells of the ledger hold characters that cannot be stored (such as NUL): "
            "remove them in the file and import it again",
            problems,
        )
