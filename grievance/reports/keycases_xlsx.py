"""The key-case report (grievance/reports/keycases.py) as a workbook, apart from the queries so each module stays
short."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from grievance.reports.exports import NULL_NOTE, metric_cell, moment_cn, period_cn, sheet_title, write_table
from grievance.reports.keycases import GROUP_LABELS, KEY_METRICS
from grievance.spreadsheet import set_cell


def report_xlsx(doc: dict[str, Any], filter_names: list[tuple[str, str]] | None = None) -> bytes:
    """The report (`report()`'s document) as a workbook in Chinese, like the other report workbooks: 总计 (every
    figure with its numerator and denominator), one sheet per group, and 说明 (the period, the moment, the filters
    and each figure's definition). A rate without a denominator is an empty cell, never 0 %. `filter_names`: the
    filters as (what, which) names; by default their codes."""
    book = Workbook()
    book.remove(book.active)
    info = doc["formulas"]
    total = book.create_sheet("总计")
    write_table(
        total,
        ["指标", "分子", "分母", "数值", "口径"],
        [
            [
                info[key]["label"],
                m.get("numerator"),
                m.get("denominator"),
                metric_cell(m.get("value"), info[key]["kind"]),
                info[key]["formula"],
            ]
            for key, m in doc["metrics"].items()
        ],
    )
    for dimension, rows in doc["groups"].items():
        sheet = book.create_sheet(sheet_title(f"按{GROUP_LABELS[dimension][0]}", book.sheetnames))
        header = [GROUP_LABELS[dimension][0]]
        for key in KEY_METRICS:
            header += [info[key]["label"]] + (["分子", "分母"] if info[key]["kind"] == "rate" else [])
        body = []
        for row in rows:
            line: list[Any] = [row["label"]]
            for key in KEY_METRICS:
                m = row["metrics"][key]
                line.append(metric_cell(m.get("value"), info[key]["kind"]))
                if info[key]["kind"] == "rate":
                    line += [m["numerator"], m["denominator"]]
            body.append(line)
        write_table(sheet, header, body or [["本期无数据"]])
    period = doc["period"]
    names = filter_names if filter_names is not None else [(k, str(v)) for k, v in doc["filters"].items()]
    notes = book.create_sheet("说明")
    write_table(
        notes, ["指标", "口径（公式）", "Formula"], [[i["label"], i["formula"], i["formula_en"]] for i in info.values()]
    )
    lines = [
        f"统计区间：{period_cn(period)}（{period['timezone']}）",
        f"数据截至：{moment_cn(period['as_of'], period['timezone'])}；在办重点件、逾期节点为该时点的数",
        "筛选条件：" + ("；".join(f"{what}：{which}" for what, which in names) if names else "全部重点件"),
        NULL_NOTE,
    ]
    for n, line in enumerate(lines, start=notes.max_row + 2):
        set_cell(notes.cell(row=n, column=1), line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
