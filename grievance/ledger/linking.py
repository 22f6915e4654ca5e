"""Find what a ledger row names, or plan to create it: the department (承办单位) and the department it accuses
(被举报单位), the station, the meeting, the enterprise and the category. Part of checking a ledger
(grievance.ledger.planning); nothing here writes: a reference the import creates is only listed in the plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grievance.errors import BilingualValueError
from grievance.glossary import CaseType
from grievance.identifiers import normalize_credit_code
from grievance.ledger.categories import CategoryIndex
from grievance.ledger.columns import read_day, text_of

if TYPE_CHECKING:
    from grievance.ledger.planning import LedgerCase, Plan, _Errors


def link(
    item: LedgerCase,
    raw: dict[str, Any],
    errors: _Errors,
    departments: dict[str, int],
    stations: dict[str, int],
    enterprises: dict[str, int],
    meetings: dict[tuple[str, str], int],
    plan: Plan,
) -> None:
    """Find (or plan to create) the department, station, meeting and enterprise a row names."""
    number, channel = item.row, item.values["channel"]
    department = text_of(raw.get("department"))
    if department:
        item.department = department
        if department not in departments and department not in plan.new_departments:
            plan.new_departments.append(department)
    elif item.times["dispatched_at"]:
        errors.add(number, "department", "有派单时间时须填写承办单位", "required with dispatched_at")
    station = text_of(raw.get("station"))
    if station:
        item.station = station
        if station not in stations and station not in plan.new_stations:
            plan.new_stations.append(station)
    elif channel == "station":
        errors.add(number, "station", "城市驿站渠道须填写驿站", "required for the station channel")
    meeting_day, meeting_title = text_of(raw.get("meeting_date")), text_of(raw.get("meeting_title"))
    if meeting_day or meeting_title:
        try:
            # As the database writes it (2025-09-28), so that 2025/9/28 finds the meeting held that day.
            meeting_day = read_day(raw.get("meeting_date")).isoformat()
        except ValueError:
            errors.add(number, "meeting_date", f"日期「{meeting_day}」无效，格式为 YYYY-MM-DD", "accepted: YYYY-MM-DD")
            return
        if not meeting_title:
            errors.add(number, "meeting_title", "有恳谈会日期时须填写恳谈会名称", "required with meeting_date")
            return
        item.meeting = (meeting_day, meeting_title)
        if item.meeting not in meetings and item.meeting not in plan.new_meetings:
            plan.new_meetings.append(item.meeting)
    elif channel == "meeting":
        errors.add(number, "meeting_date", "阳光恳谈会渠道须填写恳谈会日期和名称", "required for the meeting channel")
    name, code = text_of(raw.get("enterprise_name")), text_of(raw.get("enterprise_code")).upper()
    if code and code not in enterprises:
        try:  # a code already in the register is its own; a new one must be a real one (GB 32100 check digit)
            code = normalize_credit_code(code)
        except BilingualValueError as exc:
            errors.add(number, "enterprise_code", exc.message, exc.message_en)
            return
    if code or name:
        if not (code in enterprises or name in enterprises or (name, code) in plan.new_enterprises):
            if not code:
                errors.add(number, "enterprise_code", "新企业须填写统一社会信用代码", "required for a new enterprise")
            elif not name:
                errors.add(number, "enterprise_name", "新企业须填写企业名称", "required for a new enterprise")
            else:
                plan.new_enterprises.append((name, code))
        item.enterprise = (name, code)
    elif channel == "enterprise":
        errors.add(number, "enterprise_name", "企业包保渠道须填写企业", "required for the enterprise channel")


# The case types that may name the department they accuse, as in live intake (cases.service._validate_links).
ACCUSING_TYPES = (CaseType.report.value, CaseType.complaint.value)


def accused(item: LedgerCase, raw: dict[str, Any], errors: _Errors, departments: dict[str, int], plan: Plan) -> None:
    """The department a report (举报) accuses (被举报单位), found or planned like 承办单位. The accused department
    never sees the case (cases.access) and is never given it (the workflow guard not_accused_department), so a
    row whose 被举报单位 is its own 承办单位 is an error. A report without one is imported with a warning: nothing
    would hide it. As in live intake a complaint (投诉) may name one too; any other type's is ignored, with a
    warning (a consultation accuses nobody, and hiding it from a department would only lose it)."""
    number, case_type = item.row, item.values["case_type"]
    accused = text_of(raw.get("accused_department"))
    if not accused:
        if case_type == CaseType.report.value:
            plan.warn(
                number,
                "accused_department",
                "report-without-accused",
                "举报件未填写：导入后不对任何单位隐藏（被举报的单位也能看到）；请在此列填写被举报单位的代码或名称后再导入",
                "empty for a report: after import no department is kept from it (the accused one included); fill in "
                "the accused department's code or name in this column before importing",
            )
        return
    if case_type not in ACCUSING_TYPES:
        plan.warn(
            number,
            "accused_department",
            "not-accusing",
            "只有举报件和投诉件记录被举报单位：这些行的被举报单位未导入",
            "only reports and complaints name an accused department: not imported for these rows",
        )
        return
    department = item.department
    if department and departments.get(accused, accused) == departments.get(department, department):
        kind, kind_en = ("举报件", "a report") if case_type == CaseType.report.value else ("投诉件", "a complaint")
        errors.add(
            number,
            "accused_department",
            f"「{accused}」与承办单位「{department}」是同一单位：{kind}不能由被举报单位办理，请改填承办单位或被举报单位",
            f"{accused!r} is the same department as the department column ({department!r}): {kind_en} is never "
            "handled by the department it accuses; change one of the two",
        )
        return
    item.accused_department = accused
    if accused not in departments and accused not in plan.new_departments:
        plan.new_departments.append(accused)


def category(
    item: LedgerCase, raw: dict[str, Any], errors: _Errors, categories: CategoryIndex, plan: Plan, create: bool
) -> None:
    text = text_of(raw.get("category"))
    if not text:
        return
    found = categories.resolve(text)
    if found.id is not None:
        item.category_id = found.id
        return
    if found.ambiguous:
        errors.add_value(
            item.row,
            "category",
            text,
            f"「{text}」对应多个分类：{'、'.join(found.ambiguous)}；请写完整路径",
            f"{text!r} names several categories: {', '.join(found.ambiguous)}; write the full path",
        )
        return
    if create and found.path and len(found.path) == 1:
        errors.add_value(
            item.row,
            "category",
            text,
            f"分类「{text}」不存在：要新建，请写出它的完整路径（如 城市管理/市政设施/{text}），以免把笔误建成一级分类",
            f"unknown category {text!r}: to create it, write its full path (such as 城市管理/市政设施/{text}), "
            "so that a typo does not become a top-level category",
        )
        return
    if create and found.path and len(found.path) <= 3:
        item.category_path = found.path
        if found.path not in plan.new_categories:
            plan.new_categories.append(found.path)
        return
    errors.add_value(
        item.row,
        "category",
        text,
        f"分类「{text}」不存在（填写分类代码、名称或路径如 城市管理/市政设施/路灯照明；"
        "或勾选「创建缺少的分类」/ 使用 --create-categories）",
        f"unknown category {text!r} (give a code, a name or a path such as 城市管理/市政设施/路灯照明; "
        "or create missing categories: --create-categories)",
    )
