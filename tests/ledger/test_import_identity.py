"""A ledger and the two things intake protects: a report (举报) row names the department it accuses (被举报单位),
which never sees it nor handles it, and one that names none is imported with a warning that nothing hides it; a
new enterprise's credit code must carry its GB 32100 check character."""

from __future__ import annotations

from sqlalchemy import select

from grievance.cases.models import Case
from grievance.db import transaction
from grievance.reference.models import Department
from tests.ledger._support import counts, csv_bytes, errors_by_cell, upload

HEADER = ["诉求编号", "受理时间", "来源渠道", "诉求类型", "标题", "企业名称", "统一社会信用代码"]
ACCUSING = ["诉求编号", "受理时间", "来源渠道", "诉求类型", "标题", "承办单位", "被举报单位"]


def accused_of(world, case_nos: list[str]) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    """Each case's accused department, by name."""
    with transaction(world.app.state.sessions) as session:
        found = session.execute(
            select(Case.case_no, Department.name)
            .outerjoin(Department, Department.id == Case.accused_department_id)
            .where(Case.case_no.in_(case_nos))  # type: ignore[attr-defined]
        ).all()
    return dict(found)  # type: ignore[arg-type]


def test_a_report_row_names_its_accused_department_which_never_sees_the_case(world, engine):
    rows = [
        # By name, handled by 青桐街道; by code, still in the pool; a department this file creates.
        ["L-0001", "2025-10-09 09:00", "12345热线", "举报", "举报城管队员吃拿卡要", "JD1", "城市管理局"],
        ["L-0002", "2025-10-09 10:00", "网络", "举报类", "举报街道违规收费", "", "JD1"],
        ["L-0003", "2025-10-09 11:00", "12345热线", "举报", "举报工地违规施工", "CGJ", "新区建设局"],
        ["L-0004", "2025-10-09 12:00", "12345热线", "投诉", "投诉街道窗口态度差", "", "青桐街道"],
        ["L-0005", "2025-10-09 13:00", "12345热线", "咨询", "路灯报修电话", "", "城市管理局"],
        ["L-0006", "2025-10-09 14:00", "12345热线", "举报", "举报某单位", "", ""],
    ]
    summary = upload(world, "ledger.csv", csv_bytes(ACCUSING, rows))
    assert summary["created"] == 6 and summary["new_departments"] == ["新区建设局"]
    assert accused_of(world, [r[0] for r in rows]) == {
        "L-0001": "城市管理局",
        "L-0002": "青桐街道",
        "L-0003": "新区建设局",
        "L-0004": "青桐街道",  # a complaint names the department complained of, as in live intake
        "L-0005": None,  # a consultation accuses nobody: ignored, with a warning
        "L-0006": None,
    }
    warnings = {w["rows"][0]: w for w in summary["warnings"] if w["column"] == "accused_department"}
    assert warnings[7]["message"] == (
        "「被举报单位（accused_department）」举报件未填写：导入后不对任何单位隐藏（被举报的单位也能看到）；"
        "请在此列填写被举报单位的代码或名称后再导入（1 行：第 7 行）"
    )
    assert "fill in the accused department" in warnings[7]["message_en"]
    assert warnings[6]["message"].startswith("「被举报单位（accused_department）」只有举报件和投诉件记录被举报单位")
    # Open to claim (揭榜), where every department may open them, the accused 青桐街道 does not see them.
    for case_no in ("L-0002", "L-0004"):
        world.act(case_no, "publish", "dispatcher", note="欢迎认领")
    assert world.get("L-0002", "handler")["title"] == "举报街道违规收费"
    world.get("L-0002", "other_handler", expect=404)
    world.get("L-0004", "other_handler", expect=404)
    assert world.get("L-0001", "other_handler")["title"] == "举报城管队员吃拿卡要"  # it handles the report


def test_a_report_handled_by_the_department_it_accuses_is_refused_and_nothing_written(world, engine):
    before = counts(engine)
    rows = [
        ["L-0001", "2025-10-09 09:00", "12345热线", "举报", "举报城管队员吃拿卡要", "CGJ", "城市管理局"],
        ["L-0002", "2025-10-09 10:00", "12345热线", "举报", "举报街道违规收费", "CGJ", "JD1"],
    ]
    body = upload(world, "ledger.csv", csv_bytes(ACCUSING, rows), expect=422)
    errors = errors_by_cell(body)
    assert list(errors) == [(2, "accused_department")]
    assert errors[(2, "accused_department")]["message"] == (
        "第2行「被举报单位（accused_department）」：「城市管理局」与承办单位「CGJ」是同一单位：举报件不能由被举报单位办理，"
        "请改填承办单位或被举报单位"
    )
    assert errors[(2, "accused_department")]["message_en"] == (
        "row 2, column accused_department: '城市管理局' is the same department as the department column ('CGJ'): "
        "a report is never handled by the department it accuses; change one of the two"
    )
    assert counts(engine) == before


def test_a_new_enterprise_with_a_wrong_check_character_is_refused_and_nothing_written(world, engine):
    before = counts(engine)
    rows = [
        ["L-0001", "2025-10-09 09:00", "企业包保", "求助", "奖补兑现", "星河新材料有限公司", "91420100MA4K999999"],
        ["L-0002", "2025-10-09 09:00", "企业包保", "求助", "用工招聘", "云帆光电科技有限公司", "91420100ma4k00001u"],
    ]
    body = upload(world, "ledger.csv", csv_bytes(HEADER, rows), expect=422)
    errors = errors_by_cell(body)
    assert list(errors) == [(2, "enterprise_code")]
    assert "统一社会信用代码校验位不正确" in errors[(2, "enterprise_code")]["message"]
    assert counts(engine) == before
