"""The ledger template from the command line: the same workbook the import page offers, whose example row
`grievance import` skips (「模板示例行，已跳过」), and a guide that explains every column in both languages."""

from __future__ import annotations

from sqlmodel import select

from grievance.cases.models import Case
from grievance.db import transaction
from grievance.ledger.columns import COLUMNS
from grievance.ledger.template import column_guides


def test_every_column_is_explained_in_chinese_and_english() -> None:
    guides = column_guides()
    assert [g.name for g in guides] == [c.name for c in COLUMNS]
    assert all(g.help and g.help_zh for g in guides)
    assert [g.header for g in guides if g.required] == ["诉求编号", "受理时间", "来源渠道", "诉求类型", "标题"]
    headers = [g.header for g in guides]
    accused = guides[headers.index("被举报单位")]
    assert headers[headers.index("承办单位") + 1] == "被举报单位" and accused.other_headers == ("被举报部门",)
    assert accused.help_zh.startswith("单位代码或名称；举报件应填写：被举报的单位看不到此件")


def test_the_cli_writes_the_template_whose_example_row_is_skipped_and_a_filled_row_imports(cli, app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    path = tmp_path / "台账模板.xlsx"
    written = cli("ledger", "template", "-o", str(path))
    assert (written.code, written.out) == (0, f"已写入台账模板 {path} (wrote the ledger template to {path})\n")
    for dry_run in (["--dry-run"], []):
        unchanged = cli("import", str(path), *dry_run)
        assert unchanged.code == 0, unchanged.err
        assert "模板示例行，已跳过" in unchanged.out and "第 2 行" in unchanged.out
    book = load_workbook(path)
    ledger = book["台账"]
    example = [c.value for c in ledger[2]]
    ledger.append(["QT-2025-0001", *example[1:5], "楼道灯不亮", *example[6:]])  # the office's own row
    book.save(path)
    filled = cli("import", str(path))
    assert filled.code == 0, filled.err
    with transaction(app.state.sessions) as session:
        cases = session.exec(select(Case)).all()
        assert [(c.case_no, c.channel, c.title) for c in cases] == [("QT-2025-0001", "hotline", "楼道灯不亮")]
    wrong = cli("ledger", "template", "-o", str(tmp_path / "模板.csv"))
    assert wrong.code == 2 and "must end in .xlsx" in wrong.err
