"""Ledger files are read streaming and refused early (grievance/ledger/reading.py): past Settings.ledger_max_rows
data rows the read stops with the cap in the message, memory stays far below the file's unpacked size, a file
over Settings.ledger_max_bytes is refused before it is read, and a NUL in a cell is a row error on both
databases with nothing written."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest

from grievance.errors import InvalidInput
from grievance.ledger.reading import read_ledger
from tests.ledger._support import counts, csv_bytes, upload

HEADER = ["诉求编号", "受理时间", "来源渠道", "诉求类型", "标题", "诉求内容"]


def big_xlsx(rows: int) -> bytes:
    """A ledger of `rows` rows, written streaming (openpyxl write_only) so the test itself stays small."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for i in range(rows):
        sheet.append([f"GX-2024-{i:06d}", "2024-03-05 09:30", "热线", "求助", f"路灯不亮 {i}", "青桐路" * 20])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def unpacked_size(xlsx: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        return sum(info.file_size for info in archive.infolist())


def test_a_large_xlsx_is_refused_early_with_the_cap_and_bounded_memory() -> None:
    data = big_xlsx(8_000)
    unpacked = unpacked_size(data)
    assert unpacked > 4 * 1024 * 1024  # the sheet's XML: what a whole-file read would hold and more
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput) as refused:
            read_ledger("big.xlsx", data, max_rows=100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.message == "台账超过 100 行（列名行以下的数据行）：请分成几个文件导入"
    assert refused.value.message_en == "the ledger has more than 100 rows below the header: split it into several files"
    # The shared-strings table is loaded whole (openpyxl), the rows never: well under the unpacked file.
    assert peak < unpacked / 2, (peak, unpacked)


def test_a_ledger_at_the_cap_is_read_whole() -> None:
    ledger = read_ledger("ok.xlsx", big_xlsx(1000), max_rows=1000)
    assert len(ledger.rows) == 1000 and ledger.rows[-1]["title"] == "路灯不亮 999"


def test_blank_rows_do_not_count_but_cannot_be_endless() -> None:
    rows = [[f"GX-2024-{i:06d}", "2024-03-05 09:30", "热线", "求助", "路灯", ""] for i in range(5)]
    blank = [[""] * 6]
    data = csv_bytes(HEADER, rows + blank * 100)  # Excel-style trailing blank rows
    assert len(read_ledger("a.csv", data, max_rows=5).rows) == 5
    with pytest.raises(InvalidInput, match="台账超过 5 行"):
        read_ledger("a.csv", csv_bytes(HEADER, rows + blank * 10 + rows), max_rows=5)
    with pytest.raises(InvalidInput, match="台账超过 5 行"):  # five times the cap (and the title allowance)
        read_ledger("a.csv", csv_bytes(HEADER, rows + blank * 1000), max_rows=5)


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"ledger_max_rows": 50, "ledger_max_bytes": 256 * 1024})


def test_the_api_refuses_rows_past_the_cap_and_writes_nothing(world, engine) -> None:  # type: ignore[no-untyped-def]
    before = counts(engine)
    body = upload(world, "big.xlsx", big_xlsx(200), expect=422)
    assert body["errors"][0]["field"] == "file"
    assert "50 行" in body["message"] and "more than 50 rows" in body["message_en"]
    assert counts(engine) == before


def test_the_api_refuses_a_file_over_the_byte_cap(world, engine) -> None:  # type: ignore[no-untyped-def]
    before = counts(engine)
    rows = [[f"GX-2024-{i:06d}", "2024-03-05 09:30", "热线", "求助", "路灯", "很" * 200] for i in range(500)]
    body = upload(world, "big.csv", csv_bytes(HEADER, rows), expect=422)
    assert body["errors"][0]["field"] == "file"
    assert "0.25 MB" in body["message"] and "262144 bytes" in body["message_en"]
    assert counts(engine) == before


def test_a_nul_in_a_cell_is_a_row_error_and_nothing_is_written(world, engine) -> None:  # type: ignore[no-untyped-def]
    rows = [
        ["GX-2024-000001", "2024-03-05 09:30", "热线", "求助", "路灯不亮", "正常内容"],
        ["GX-2024-000002", "2024-03-05 10:30", "热线", "求助", "井盖\x00缺失", "内容\x00"],
    ]
    before = counts(engine)
    body = upload(world, "nul.csv", csv_bytes(HEADER, rows), expect=422)
    problems = {(e["row"], e["column"]): e for e in body["errors"]}
    assert set(problems) == {(3, "title"), (3, "description")}
    assert problems[(3, "title")]["message"] == "第3行「标题」：不能包含空字符（NUL，\\u0000）"
    assert "row 3, column title" in problems[(3, "title")]["message_en"]
    assert counts(engine) == before
