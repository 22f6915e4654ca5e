"""Ledger files are read streaming and refused early (grievance/ledger/reading.py): past Settings.ledger_max_rows
data rows the read stops with the cap in the message, memory stays far below the file's unpacked size, a file
over Settings.ledger_max_bytes is refused before it is read (by the API and, with the same message, by the
CLI), a NUL in a cell is a row error on both databases with nothing written, and a cell the CSV reader cannot
take is a file error, not a crash."""

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
            list(read_ledger("big.xlsx", data, max_rows=100).stream())  # refused as the rows are streamed
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
        list(read_ledger("a.csv", csv_bytes(HEADER, rows + blank * 10 + rows), max_rows=5).stream())
    with pytest.raises(InvalidInput, match="台账超过 5 行"):  # five times the cap (and the title allowance)
        list(read_ledger("a.csv", csv_bytes(HEADER, rows + blank * 1000), max_rows=5).stream())


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


def test_the_cli_refuses_a_file_over_the_byte_cap_as_the_api_does(cli, world, engine, settings, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GRIEVANCE_LEDGER_MAX_BYTES", str(settings.ledger_max_bytes))  # the CLI reads the environment
    rows = [[f"GX-2024-{i:06d}", "2024-03-05 09:30", "热线", "求助", "路灯", "很" * 100] for i in range(600)]
    rows[-1][-1] = ""
    rows[-1][-1] = "x" * (settings.ledger_max_bytes - len(csv_bytes(HEADER, rows)))  # to the byte
    at_cap = csv_bytes(HEADER, rows)
    assert len(at_cap) == settings.ledger_max_bytes
    over = at_cap.replace(b"xx", b"xxx", 1)
    path = tmp_path / "big.csv"
    path.write_bytes(over)
    before = counts(engine)
    result = cli("import", str(path))
    body = upload(world, "big.csv", over, expect=422)
    assert result.code == 2 and result.out == ""
    assert result.err.splitlines() == [f"错误 (error): {body['message']} | {body['message_en']}"]
    assert "0.25 MB" in result.err and "262144 bytes" in result.err
    assert counts(engine) == before
    path.write_bytes(at_cap)  # one byte less: read
    accepted = cli("import", str(path), "--dry-run")
    assert accepted.code == 0, accepted.err
    assert accepted.out.startswith("将导入 (would import) 600 件")


def test_a_cell_the_csv_reader_cannot_take_is_a_file_error_not_a_crash(world, engine) -> None:  # type: ignore[no-untyped-def]
    rows = [
        ["GX-2024-000001", "2024-03-05 09:30", "热线", "求助", "路灯", "长" * 10],
        ["GX-2024-000002", "", "", "", "", "x" * 140_000],
    ]
    before = counts(engine)
    body = upload(world, "long.csv", csv_bytes(HEADER, rows), expect=422)
    assert body["errors"][0]["field"] == "file"
    assert body["message"].startswith("无法读取 CSV 文件（第 3 行：field larger than field limit (131072)）")
    assert body["message_en"].startswith("cannot read the CSV file (line 3: field larger than field limit (131072))")
    assert counts(engine) == before


def test_a_long_file_without_a_header_is_refused_as_too_long_as_before_streaming() -> None:
    rows = [["甲", "乙", "丙"]] * 200
    with pytest.raises(InvalidInput, match="台账超过 5 行"):  # the length is said first, as when read whole
        read_ledger("a.csv", csv_bytes(["x", "y", "z"], rows), max_rows=5)
    with pytest.raises(InvalidInput, match="找不到列名行"):
        read_ledger("a.csv", csv_bytes(["x", "y", "z"], rows[:10]), max_rows=5)
