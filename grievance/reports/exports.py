"""Reports as files people open: CSV, an XLSX workbook and a printable A4 HTML page with inline SVG charts.

Rendering only: the figures come from service.py, so every format shows the same numbers, and a null rate (its
denominator is 0) is shown as "—" (a blank cell in a workbook), never as 0 %. Every text cell (a department's,
meeting's or case's name) goes through grievance.spreadsheet, so none is ever a live formula.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from grievance.errors import InvalidInput
from grievance.glossary import LABELS
from grievance.reports.metrics import METRICS, ZONE_METRICS
from grievance.reports.service import DIMENSION_LABELS
from grievance.spreadsheet import csv_row, set_cell

DASH = "—"
TEMPLATES = Path(__file__).parent / "templates"
RATES_FORMATS = ("csv", "xlsx", "html")
MONTHLY_FORMATS = ("html", "xlsx")
TREND_MONTHS = 12
# The columns of the monthly report's tables, by metric key.
DEPARTMENT_COLUMNS = (
    "intake_count",
    "response_rate",
    "resolution_rate",
    "on_time_resolution_rate",
    "satisfaction_rate",
    "department_overdue_count",
)
CATEGORY_COLUMNS = ("intake_count", "resolution_rate", "satisfaction_rate")
FILTER_LABELS = {
    "channel": ("来源渠道", "Channel"),
    "case_type": ("诉求类型", "CaseType"),
    "petitioner_kind": ("诉求人类别", "PetitionerKind"),
    "department_id": ("承办单位", None),
    "station_id": ("城市驿站", None),
    "meeting_id": ("阳光恳谈会", None),
    "enterprise_id": ("企业", None),
    "category_id": ("业务分类", None),
}


# --- figures as people read them ---------------------------------------------------------------------------


def kind_of(key: str) -> str:
    """rate, score or count; a metric unknown to the registry is shown as a plain number."""
    found = METRICS.get(key)
    return found.kind if found else "count"


def label_of(key: str) -> str:
    found = METRICS.get(key)
    return found.label if found else key


def number(value: float | int | None) -> str:
    """12 or 9.9: whole numbers without decimals (a satisfaction score's numerator may be fractional)."""
    if value is None:
        return DASH
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def figure(value: float | int | None, kind: str) -> str:
    """96.1% for a rate, 95.0分 for a score (out of 100), 12 for a count, — when there is no value."""
    if value is None:
        return DASH
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "score":
        return f"{value * 100:.1f}分"
    return number(value)


def change(value: float | int | None, kind: str) -> str:
    """Month-over-month change: percentage points for rates, points for scores, cases for counts."""
    if value is None:
        return DASH
    if kind == "count":
        amount, text = value, number(abs(value))
    else:
        amount = round(value * 100, 1)
        text = f"{abs(amount):.1f}" + ("个百分点" if kind == "rate" else "分")
    if amount == 0:
        return "持平"
    return ("▲" if amount > 0 else "▼") + text


def ratio(metric: dict[str, Any]) -> str:
    """numerator/denominator of a rate, empty for a count."""
    if "denominator" not in metric:
        return ""
    return f"{number(metric['numerator'])}/{number(metric['denominator'])}"


def local_day(value: str | date, timezone: str = "Asia/Shanghai") -> date:
    """The local day of a date or of a moment, given as ISO text or as an object (the service hands datetimes,
    the JSON strings): a case received at 00:30 in Shanghai is 16:30 UTC the day before, yet belongs to its day."""
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(timezone)).date() if value.tzinfo else value.date()
    return value


def day_cn(value: str | date, timezone: str = "Asia/Shanghai") -> str:
    """2025年3月5日"""
    day = local_day(value, timezone)
    return f"{day.year}年{day.month}月{day.day}日"


def moment_cn(value: str | datetime, timezone: str = "Asia/Shanghai") -> str:
    """2025年3月5日 09:30, in local time."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo:
        moment = moment.astimezone(ZoneInfo(timezone))
    return f"{day_cn(moment.date())} {moment:%H:%M}"


def period_cn(period: dict[str, Any]) -> str:
    """[from, to) as people say it: 2025年9月1日至2025年9月30日."""
    last = date.fromisoformat(period["to"]) - timedelta(days=1)
    return f"{day_cn(period['from'])}至{day_cn(last)}"


def filters_cn(filters: dict[str, Any]) -> str:
    """来源渠道：城市驿站；承办单位：编号 2 — the report's filters (reference records by their id)."""
    if not filters:
        return "全部诉求"
    parts = []
    for key, value in filters.items():
        label, vocabulary = FILTER_LABELS.get(key, (key, None))
        shown = LABELS[vocabulary].get(value, value) if vocabulary else f"编号 {value}"
        parts.append(f"{label}：{shown}")
    return "；".join(parts)


def dimension_label(dimension: str) -> str:
    return DIMENSION_LABELS.get(dimension, (dimension, dimension))[0]


def _check_format(fmt: str, accepted: Sequence[str]) -> None:
    if fmt not in accepted:
        raise InvalidInput.field(
            "format",
            f"不支持的格式「{fmt}」，可选：{'、'.join(accepted)}",
            f"unsupported format {fmt!r}; accepted: {', '.join(accepted)}",
        )


# --- inline SVG charts: drawn here so the page needs nothing from the network ------------------------------------


def _axis_top(value: float) -> float:
    """A round top for a count axis of four steps of 1, 2 or 5 × 10^k (at least 1 each): 3 -> 4, 70 -> 80."""
    scale = 1.0
    while True:
        for step in (1, 2, 5):
            if step * scale * 4 >= value:
                return step * scale * 4
        scale *= 10


def _svg(width: int, height: int, title: str, body: Iterable[str]) -> Markup:
    # No xmlns: inline SVG in HTML does not need it, and the page then holds no URL at all.
    return Markup(
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "middle", css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{cls}>{escape(text)}</text>'


def _linked(href: str | None, parts: Sequence[str]) -> list[str]:
    """Chart marks wrapped in a link (the web pages point each bar or dot to the cases behind it). Out of the
    tab order: the page's table of the same figures carries the same links for the keyboard."""
    return [f'<a href="{escape(href)}" tabindex="-1">', *parts, "</a>"] if href else list(parts)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    links: Sequence[str | None] | None = None,
) -> Markup:
    """Vertical bars with their values, e.g. cases received per month; `links`, one per bar, make each bar
    and its value a link."""
    width, height, left, top, bottom = 640, 220, 40, 20, 30
    plot_w, plot_h = width - left - 10, height - top - bottom
    ceiling = _axis_top(max((v or 0 for v in values), default=0))
    parts = _grid(left, top, plot_w, plot_h, ceiling, lambda v: number(v))
    slot = plot_w / max(len(values), 1)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + i * slot
        h = plot_h * (value or 0) / ceiling
        bar = [
            f'<rect class="bar" x="{x + slot * 0.2:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{slot * 0.6:.1f}" height="{h:.1f}"/>',
            _text(x + slot / 2, top + plot_h - h - 4, number(value) if value is not None else DASH),
        ]
        parts.extend(_linked(links[i] if links else None, bar))
        parts.append(_text(x + slot / 2, height - bottom + 16, label))
    return _svg(width, height, title, parts)


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    links: Sequence[Sequence[str | None]] | None = None,
) -> Markup:
    """Rates per month on a 0–100 % axis; a month without a value breaks the line instead of dropping to 0.
    `links`, one list per series with one link per month, make each dot a link."""
    width, height, left, top, bottom = 640, 240, 44, 30, 30
    plot_w, plot_h = width - left - 10, height - top - bottom
    parts = _grid(left, top, plot_w, plot_h, 1.0, lambda v: f"{v * 100:.0f}%")
    slot = plot_w / max(len(labels), 1)
    for i, label in enumerate(labels):
        parts.append(_text(left + slot * (i + 0.5), height - bottom + 16, label))
    for n, (name, values) in enumerate(series):
        points = [
            (left + slot * (i + 0.5), top + plot_h * (1 - v)) if v is not None else None for i, v in enumerate(values)
        ]
        runs: list[list[tuple[float, float]]] = [[]]
        for point in points:
            if point is None:
                runs.append([])
            else:
                runs[-1].append(point)
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline class="line s{n}" points="{path}"/>')
        for i, point in enumerate(points):
            if point is not None:
                dot = f'<circle class="dot s{n}" cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="3"/>'
                parts.extend(_linked(links[n][i] if links else None, [dot]))
        legend_x = left + 10 + n * 160
        parts.append(f'<line class="line s{n}" x1="{legend_x}" y1="12" x2="{legend_x + 24}" y2="12"/>')
        parts.append(_text(legend_x + 30, 16, name, anchor="start"))
    return _svg(width, height, title, parts)


def hbar_chart(title: str, items: Sequence[tuple[str, float]]) -> Markup:
    """Horizontal bars with their labels and values, e.g. the top categories."""
    row, left, width = 22, 170, 640
    height = row * max(len(items), 1) + 10
    ceiling = max((v for _, v in items), default=0) or 1
    parts = []
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        w = (width - left - 50) * value / ceiling
        shown = label if len(label) <= 12 else label[:11] + "…"
        parts.append(_text(left - 6, y + row * 0.65, shown, anchor="end"))
        parts.append(f'<rect class="bar" x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}"/>')
        parts.append(_text(left + w + 4, y + row * 0.65, number(value), anchor="start"))
    return _svg(width, height, title, parts)


def _grid(left: int, top: int, plot_w: int, plot_h: int, ceiling: float, tick: Callable[[float], str]) -> list[str]:
    parts = []
    for step in range(5):
        value = ceiling * step / 4
        y = top + plot_h * (1 - step / 4)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"/>')
        parts.append(_text(left - 4, y + 4, tick(value), anchor="end", css="axis"))
    return parts


# --- HTML --------------------------------------------------------------------------------------------------------

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(figure=figure, change=change, ratio=ratio, number=number, day=day_cn, moment=moment_cn)
_env.globals.update(kind_of=kind_of, label_of=label_of, DASH=DASH)


def last_months(key: str, count: int = TREND_MONTHS) -> list[str]:
    """The month keys of the trend: the `count` months up to and including `key` (2025-09)."""
    year, month = (int(part) for part in key.split("-"))
    last = year * 12 + month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(last - count + 1, last + 1)]


def trend_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Twelve months, oldest first; a month without cases is there with 0 received and no rates, not missing."""
    found = {row["key"]: row for row in doc["trend"]}
    empty = {key: m.value({}) for key, m in METRICS.items() if key not in ZONE_METRICS}
    return [
        found.get(key, {"key": key, "label": f"{key[:4]}年{int(key[5:])}月", "metrics": empty})
        for key in last_months(doc["month"])
    ]


def _value(row: dict[str, Any], key: str) -> float | None:
    return row["metrics"].get(key, {}).get("value")


def monthly_charts(doc: dict[str, Any]) -> dict[str, Markup]:
    months = trend_rows(doc)
    labels = [row["key"] for row in months]  # 2025-12, 2026-01: the trend spans two years
    span = f"{months[0]['label']}至{months[-1]['label']}"
    return {
        "intake": bar_chart(f"受理量（{span}）", labels, [_value(row, "intake_count") for row in months]),
        "rates": line_chart(
            f"办结率与满意率（{span}）",
            labels,
            [
                ("办结率", [_value(row, "resolution_rate") for row in months]),
                ("满意率", [_value(row, "satisfaction_rate") for row in months]),
            ],
        ),
        "categories": hbar_chart(
            "业务分类受理量（前十）", [(row["label"], _value(row, "intake_count") or 0) for row in doc["categories"]]
        ),
    }


def footnotes(keys: Iterable[str]) -> dict[str, int]:
    """Footnote numbers in reading order: a metric's number is that of its first appearance."""
    return {key: n for n, key in enumerate(dict.fromkeys(keys), start=1)}


def monthly_html(doc: dict[str, Any]) -> str:
    template = _env.get_template("monthly.html")
    notes = footnotes([*(item["key"] for item in doc["headline"]), *doc["metrics"]])
    return template.render(
        doc=doc,
        tz=doc["period"]["timezone"],
        period_text=period_cn(doc["period"]),
        previous_text=period_cn(doc["previous_period"]),
        charts=monthly_charts(doc),
        notes=notes,
        formulas={key: doc["metrics"][key]["formula"] for key in notes},
        department_columns=DEPARTMENT_COLUMNS,
        category_columns=CATEGORY_COLUMNS,
    )


def rates_html(report: dict[str, Any]) -> str:
    template = _env.get_template("rates.html")
    keys = list(report["metrics"])
    return template.render(
        report=report,
        title="诉求办理指标报表",
        tz=report["period"]["timezone"],
        period_text=period_cn(report["period"]),
        filters_text=filters_cn(report["filters"]),
        notes=footnotes(keys),
        formulas={key: METRICS[key].formula if key in METRICS else key for key in keys},
        groups=[(dimension_label(d), _group_keys(rows), rows) for d, rows in report["groups"].items()],
    )


def _group_keys(rows: list[dict[str, Any]]) -> list[str]:
    return list(rows[0]["metrics"]) if rows else []


# --- CSV -----------------------------------------------------------------------------------------------------------

CSV_COLUMNS = ("dimension", "key", "label", "metric", "metric_label", "numerator", "denominator", "value")


def rates_csv(report: dict[str, Any]) -> str:
    """Long format, one row per (group, metric), the totals as dimension "total"; with a BOM for Excel and WPS.
    Labels that could start a formula get a leading ' (grievance.spreadsheet.csv_text)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    blocks = [("total", [{"key": "", "label": "总计", "metrics": report["metrics"]}])]
    blocks += list(report["groups"].items())
    for dimension, rows in blocks:
        for row in rows:
            for key, metric in row["metrics"].items():
                writer.writerow(
                    csv_row(
                        [
                            dimension,
                            "" if row["key"] is None else row["key"],
                            row["label"],
                            key,
                            label_of(key),
                            _blank(metric.get("numerator")),
                            _blank(metric.get("denominator")),
                            _blank(metric.get("value")),
                        ]
                    )
                )
    return "\ufeff" + out.getvalue()


def _blank(value: Any) -> Any:
    return "" if value is None else value


# --- XLSX ----------------------------------------------------------------------------------------------------------

PERCENT = "0.0%"
SCORE = "0.0"
CHANGE_FORMATS = {
    "rate": '"▲"0.0"个百分点";"▼"0.0"个百分点";"持平"',
    "score": '"▲"0.0"分";"▼"0.0"分";"持平"',
    "count": '"▲"0;"▼"0;"持平"',
}
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="E8E8E8")
NULL_NOTE = "空白表示该比率的分母为 0，没有数值（不是 0%）。"


@dataclass(frozen=True)
class Num:
    """A cell value with its number format."""

    value: float | int | None
    format: str


def metric_cell(value: float | int | None, kind: str) -> Num:
    """A rate as a percentage cell, a score out of 100, a count as it is; None stays an empty cell."""
    if kind == "rate":
        return Num(value, PERCENT)
    if kind == "score":
        return Num(None if value is None else round(value * 100, 4), SCORE)
    return Num(value, "General")


def change_cell(value: float | int | None, kind: str) -> Num:
    scaled = value if value is None or kind == "count" else round(value * 100, 4)
    return Num(scaled, CHANGE_FORMATS.get(kind, "General"))


def _width(value: Any) -> int:
    """Display width in characters: a Chinese character takes two; a formatted number about ten."""
    if isinstance(value, Num):
        return 10
    text = str(value if value is not None else "")
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def write_table(
    sheet: Worksheet, header: Sequence[str] | Sequence[Sequence[str]], rows: Iterable[Sequence[Any]], start: int = 1
) -> None:
    """Bold header row(s), values with their formats, frozen header and column widths that fit the content."""
    headers = [header] if header and isinstance(header[0], str) else header
    widths: dict[int, int] = {}
    row_no = start
    for head in headers:
        for col, title in enumerate(head, start=1):
            cell = set_cell(sheet.cell(row=row_no, column=col), title or None)
            cell.font, cell.fill = HEADER_FONT, HEADER_FILL
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            widths[col] = max(widths.get(col, 0), _width(title))
        row_no += 1
    sheet.freeze_panes = sheet.cell(row=row_no, column=2)
    for values in rows:
        for col, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_no, column=col)
            if isinstance(value, Num):
                cell.value, cell.number_format = value.value, value.format
            else:
                set_cell(cell, value)
            widths[col] = max(widths.get(col, 0), _width(value))
        row_no += 1
    for col, width in widths.items():
        current = sheet.column_dimensions[get_column_letter(col)].width or 0
        sheet.column_dimensions[get_column_letter(col)].width = max(current, min(max(width + 2, 8), 60))


def _workbook() -> Workbook:
    book = Workbook()
    book.remove(book.active)
    return book


def _bytes(book: Workbook, moment: datetime | None = None) -> bytes:
    """The workbook's file. With a `moment` (the report's as_of), the file's own times (the creation and
    modification of its properties, each part's zip time) are that moment instead of now, so the same report
    gives the same bytes every time (a published month's workbook is reproducible from its stored JSON)."""
    out = io.BytesIO()
    book.save(out)
    return out.getvalue() if moment is None else _fixed_times(out.getvalue(), moment)


def _fixed_times(data: bytes, moment: datetime) -> bytes:
    utc = (moment.astimezone(UTC) if moment.tzinfo else moment).replace(tzinfo=None, microsecond=0)
    stamp = f"{utc:%Y-%m-%dT%H:%M:%SZ}".encode()
    when = max(utc.timetuple()[:6], (1980, 1, 1, 0, 0, 0))  # the zip format's first moment
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", lambda m: m.group(1) + stamp, body)
            fixed = zipfile.ZipInfo(info.filename, date_time=when)  # type: ignore[arg-type]
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, body)
    return out.getvalue()


def sheet_title(name: str, taken: Iterable[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the book."""
    clean = "".join("_" if c in "[]:*?/\\" else c for c in name)[:31]
    title, n = clean, 2
    while title in set(taken):
        title, n = f"{clean[:28]}({n})", n + 1
    return title


def _metric_row(label: str, metric: dict[str, Any], kind: str) -> list[Any]:
    return [label, metric.get("numerator"), metric.get("denominator"), metric_cell(metric.get("value"), kind)]


def _group_sheet(sheet: Worksheet, rows: list[dict[str, Any]]) -> None:
    """Groups down, metrics across: a rate spans its value, numerator and denominator under one merged title."""
    keys = _group_keys(rows)
    top, sub, spans = ["分组"], [""], []
    for key in keys:
        parts = ["比率", "分子", "分母"] if "denominator" in rows[0]["metrics"][key] else ["数值"]
        spans.append((len(top) + 1, len(parts)))
        top += [label_of(key)] + [""] * (len(parts) - 1)
        sub += parts
    body = []
    for row in rows:
        line: list[Any] = [row["label"]]
        for key in keys:
            metric = row["metrics"].get(key, {})
            line.append(metric_cell(metric.get("value"), kind_of(key)))
            if "denominator" in metric:
                line += [metric["numerator"], metric["denominator"]]
        body.append(line)
    write_table(sheet, [top, sub], body)
    sheet.merge_cells(start_row=1, start_column=1, end_row=2, end_column=1)
    for column, span in spans:
        if span > 1:
            sheet.merge_cells(start_row=1, start_column=column, end_row=1, end_column=column + span - 1)


def _formula_sheet(sheet: Worksheet, formulas: dict[str, dict[str, str]], notes: Sequence[str]) -> None:
    write_table(
        sheet,
        ["指标", "口径（公式）", "Formula"],
        [[item["label"], item["formula"], item.get("formula_en", "")] for item in formulas.values()],
    )
    for n, note in enumerate(notes, start=sheet.max_row + 2):
        set_cell(sheet.cell(row=n, column=1), note)


def rates_xlsx(report: dict[str, Any]) -> bytes:
    book = _workbook()
    total = book.create_sheet("总计")
    write_table(
        total,
        ["指标", "分子", "分母", "数值"],
        [_metric_row(label_of(key), metric, kind_of(key)) for key, metric in report["metrics"].items()],
    )
    for dimension, rows in report["groups"].items():
        sheet = book.create_sheet(sheet_title(dimension_label(dimension), book.sheetnames))
        if rows:
            _group_sheet(sheet, rows)
        else:
            set_cell(sheet.cell(row=1, column=1), "本期无数据")
    period = report["period"]
    formulas = {
        key: {"label": m.label, "formula": m.formula, "formula_en": m.formula_en}
        for key, m in METRICS.items()
        if key in report["metrics"]
    }
    _formula_sheet(
        book.create_sheet("说明"),
        formulas,
        [
            f"统计区间：{period_cn(period)}（按受理时间，{period['timezone']}）",
            f"数据截至：{moment_cn(period['as_of'], period['timezone'])}",
            f"筛选条件：{filters_cn(report['filters'])}",
            NULL_NOTE,
        ],
    )
    return _bytes(book)


def _summary_rows(rows: list[dict[str, Any]], keys: Sequence[str]) -> list[list[Any]]:
    return [[row["label"], *(metric_cell(_value(row, key), kind_of(key)) for key in keys)] for row in rows]


def _place_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """A meeting's or station's cases, how many are resolved, and the resolution rate."""
    return [
        [
            row["label"],
            _value(row, "intake_count"),
            row["metrics"]["resolution_rate"]["numerator"],
            metric_cell(_value(row, "resolution_rate"), "rate"),
        ]
        for row in rows
    ]


PLACE_HEADER = ["诉求数", "办结数", "办结率"]


def monthly_xlsx(doc: dict[str, Any]) -> bytes:
    book = _workbook()
    period, tz = doc["period"], doc["period"]["timezone"]
    overview = book.create_sheet("概览")
    set_cell(overview.cell(row=1, column=1), doc["title"]).font = Font(bold=True, size=14)
    set_cell(
        overview.cell(row=2, column=1),
        f"统计区间：{period_cn(period)}；上月：{period_cn(doc['previous_period'])}；"
        f"数据截至：{moment_cn(period['as_of'], tz)}",
    )
    write_table(
        overview,
        ["指标", "本月", "分子", "分母", "上月", "环比变化"],
        [
            [
                item["label"],
                metric_cell(item["value"], item["kind"]),
                item.get("numerator"),
                item.get("denominator"),
                metric_cell(item["previous"], item["kind"]),
                change_cell(item["change"], item["kind"]),
            ]
            for item in doc["headline"]
        ],
        start=4,
    )

    trend_keys = [key for key in METRICS if key not in ZONE_METRICS]
    write_table(
        book.create_sheet("趋势"),
        ["月份", *(label_of(key) for key in trend_keys)],
        [
            [row["label"], *(metric_cell(_value(row, key), kind_of(key)) for key in trend_keys)]
            for row in trend_rows(doc)
        ],
    )
    write_table(
        book.create_sheet("单位排名"),
        ["排名", "承办单位", *(label_of(key) for key in DEPARTMENT_COLUMNS)],
        [
            *(
                [rank, *line]
                for rank, line in enumerate(_summary_rows(doc["departments"], DEPARTMENT_COLUMNS), start=1)
            ),
            # The centre's lateness, apart from the departments' and unranked.
            [None, doc["centre"]["label"], *(_centre_cell(doc, key) for key in DEPARTMENT_COLUMNS)],
        ],
    )
    write_table(
        book.create_sheet("超期清单"),
        ["诉求编号", "标题", "承办单位", "受理日期", "超期环节"],
        [
            [
                item["case_no"],
                item["title"],
                item.get("department_name", ""),
                local_day(item["received_at"], tz),
                late_at(item),
            ]
            for item in doc["overdue"]["items"]
        ],
    )
    for row in book["超期清单"].iter_rows(min_row=2, min_col=4, max_col=4):
        row[0].number_format = "yyyy年m月d日"
    write_table(
        book.create_sheet("业务分类"),
        ["业务分类", *(label_of(key) for key in CATEGORY_COLUMNS)],
        _summary_rows(doc["categories"], CATEGORY_COLUMNS),
    )
    write_table(book.create_sheet("恳谈会"), ["阳光恳谈会", *PLACE_HEADER], _place_rows(doc["meetings"]))
    write_table(book.create_sheet("城市驿站"), ["城市驿站", *PLACE_HEADER], _place_rows(doc["stations"]))
    enterprise = doc["enterprise"]
    write_table(
        book.create_sheet("企业服务"),
        ["项目", "数值", "分子", "分母"],
        [
            ["服务企业数", enterprise["enterprises_served"], None, None],
            ["服务次数（企业诉求件数）", enterprise["services"], None, None],
            ["企业诉求响应率", *_rate_cells(enterprise["response_rate"])],
            ["企业诉求办结率", *_rate_cells(enterprise["resolution_rate"])],
            ["包保覆盖率", *_rate_cells(enterprise["liaison_coverage"])],
        ],
    )
    _formula_sheet(
        book.create_sheet("说明"),
        doc["metrics"],
        [
            f"统计区间：{period_cn(period)}（按受理时间，{tz}；考核月自每月{period['start_day']}日起）",
            f"数据截至：{moment_cn(period['as_of'], tz)}",
            NULL_NOTE,
            "满意度得分按百分制显示。",
        ],
    )
    return _bytes(book, datetime.fromisoformat(period["as_of"]))


def late_at(item: dict[str, Any]) -> str:
    """Whose time limit an overdue case missed: 承办单位, 中心 or both (a case_list row)."""
    return "、".join(
        name for key, name in (("department_overdue", "承办单位"), ("centre_overdue", "中心")) if item.get(key)
    )


def _centre_cell(doc: dict[str, Any], key: str) -> Any:
    """The centre row's cell under a ranking column: its own overdue count under the departments' one."""
    return doc["centre"]["overdue"]["value"] if key == "department_overdue_count" else None


def _rate_cells(metric: dict[str, Any]) -> list[Any]:
    """A rate's value, numerator and denominator, the columns of the enterprise sheet."""
    return [metric_cell(metric.get("value"), "rate"), metric.get("numerator"), metric.get("denominator")]


CASE_LIST_HEADER = ("诉求编号", "诉求标题", "受理时间", "状态", "承办单位", "来源渠道")  # the page list's columns
ENTERPRISE_LIST_HEADER = ("企业名称", "统一社会信用代码")


def case_list_xlsx(body: dict[str, Any], heading: Sequence[str], timezone: str) -> bytes:
    """The cases (or enterprises) behind one figure (service.explain with no limit) as a workbook: the columns of
    the page's list, one row per case in the list's order, under the lines of `heading` (what the figure is, its
    period, moment and filters). Each row may carry "state_label" (the workflow's label of its state)."""
    book = _workbook()
    sheet = book.create_sheet("诉求清单" if body["unit"] == "case" else "企业清单")
    for n, line in enumerate(heading, start=1):
        set_cell(sheet.cell(row=n, column=1), line)
    start = len(heading) + 2
    if body["unit"] == "case":
        rows = [
            [
                item["case_no"],
                item["title"],
                moment_cn(item["received_at"], timezone),
                item.get("state_label") or item["state"],
                item.get("department_name") or DASH,
                item.get("channel_label") or item["channel"],
            ]
            for item in body["items"]
        ]
        write_table(sheet, CASE_LIST_HEADER, rows, start=start)
    else:
        write_table(sheet, ENTERPRISE_LIST_HEADER, [[i["name"], i["credit_code"]] for i in body["items"]], start=start)
    return _bytes(book)


# --- the two entry points ---------------------------------------------------------------------------------------


def render_rates(report: dict[str, Any], fmt: str) -> str | bytes:
    """A period's rates report (service.rates) as csv (str, with BOM), xlsx (bytes) or html (str)."""
    _check_format(fmt, RATES_FORMATS)
    if fmt == "csv":
        return rates_csv(report)
    if fmt == "xlsx":
        return rates_xlsx(report)
    return rates_html(report)


def render_monthly(doc: dict[str, Any], fmt: str) -> str | bytes:
    """The monthly report (service.monthly_report) as a printable A4 html page (str) or an xlsx workbook."""
    _check_format(fmt, MONTHLY_FORMATS)
    return monthly_html(doc) if fmt == "html" else monthly_xlsx(doc)
