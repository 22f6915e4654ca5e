"""The ledger template from the command line: the same workbook the import page offers, which `grievance
import` reads as exactly one case, and a guide that explains every column in both languages."""

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


def test_the_cli_writes_the_template_and_it_imports_as_one_case(cli, app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "台账模板.xlsx"
    written = cli("ledger", "template", "-o", str(path))
    assert (written.code, written.out) == (0, f"已写入台账模板 {path} (wrote the ledger template to {path})\n")
    imported = cli("import", str(path))
    assert imported.code == 0, imported.err
    with transaction(app.state.sessions) as session:
        cases = session.exec(select(Case)).all()
        assert [(c.case_no, c.channel, c.title) for c in cases] == [("示例-0001", "hotline", "小区路灯不亮")]
    wrong = cli("ledger", "template", "-o", str(tmp_path / "模板.csv"))
    assert wrong.code == 2 and "must end in .xlsx" in wrong.err
