"""The battle map's drawing (挂图作战, issue 12): a BattleMap (grievance/keycases/battlemap.py) laid out as one SVG,
pure (data in, text out; no database), so its geometry is tested apart from the query.

Drawn like the workflow diagrams (grievance/workflow/diagram.py): every text escaped, presentation attributes only,
no style="" and no <style> (the pages' Content-Security-Policy refuses inline styles), so the same SVG is served
inline in the page and standalone for printing large. Chinese text uses the installed CJK fonts (FONTS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo

from grievance.glossary import label_of
from grievance.keycases.battlemap import (
    DUE,
    LATE_DONE,
    LATE_OPEN,
    MARK_CLASS,
    MET,
    SOON,
    BattleMap,
    MapNode,
    MapRow,
    days_of,
    local_day,
    mark_day,
)
from grievance.workflow.diagram import text_width

COLOUR = {MET: "#2e7d32", DUE: "#0b5cad", SOON: "#c77700", LATE_OPEN: "#c62828", LATE_DONE: "#c62828"}
INK, MUTED, GRID, OFF_DAY, TODAY = "#1d2733", "#5b6775", "#d5dbe2", "#eef1f4", "#6a1b9a"
FONTS = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif"

LABEL_W = 300  # the case column
HEAD_H = 92  # legend, months, days
ROW_H = 40
MARGIN = 16
TIMELINE_W = 1100  # the axis fills about this much; a long range gets narrower days, never under MIN_DAY
MIN_DAY, MAX_DAY = 5.0, 36.0
FONT, SMALL = 13, 11
TITLE_WIDTH = LABEL_W - 24  # a longer title is cut with an ellipsis

TEXTS: dict[str, tuple[str, str]] = {
    MET: ("按时完成", "Met on time"),
    DUE: ("进行中", "Due, in time"),
    SOON: ("即将到期", "Due soon"),
    LATE_OPEN: ("逾期未完成", "Late, still open"),
    LATE_DONE: ("逾期完成", "Completed late"),
    "today": ("今天", "Today"),
    "off": ("非工作日", "Non-working day"),
    "due_tick": ("截止日", "Due day"),
    "title": ("挂图作战：重点件节点", "Battle map: the nodes of the key cases"),
    "no_lead": ("未定包案领导", "no lead leader"),
    "deactivated": ("{name}（已停用）", "{name} (deactivated)"),
    "no_nodes": ("尚未设定节点计划", "no plan of nodes yet"),
    "before": ("个节点在时间轴之前", "node(s) before the axis"),
    "after": ("个节点在时间轴之后", "node(s) after the axis"),
    "empty": ("没有符合条件的重点件", "No key case matches"),
    "finished": ("已办结", "resolved or ended"),
    "lead": ("主办", "lead"),
    "assisting": ("协办", "assisting"),
    "due_on": ("截止", "due"),
    "done_on": ("完成", "completed"),
    "late_by": ("逾期 {n} 个工作日", "{n} working day(s) late"),
    "planned": ("设定", "set"),
    "more": ("另有 {n} 件未画出，请缩小筛选范围", "{n} more not drawn: narrow the filters"),
}


def _t(key: str, locale: str) -> str:
    zh, en = TEXTS[key]
    return en if locale == "en" else zh


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _day_text(day: date, locale: str) -> str:
    return day.strftime("%d %b %Y").lstrip("0") if locale == "en" else f"{day.year}年{day.month}月{day.day}日"


def truncate(text: str, width: float, size: float) -> str:
    """`text` cut to fit `width` pixels at font `size` (grievance.workflow.diagram.text_width), ending in "…"."""
    if text_width(text, size) <= width:
        return text
    kept = ""
    for ch in text:
        if text_width(kept + ch + "…", size) > width:
            break
        kept += ch
    return kept + "…"


@dataclass(frozen=True)
class Geometry:
    """Where the axis sits: day `start` begins at x `left`, each day `day_w` wide; rows begin at y `top`."""

    start: date
    days: int
    day_w: float
    left: float = MARGIN + LABEL_W
    top: float = MARGIN + HEAD_H

    def x_of_day(self, day: date) -> float:
        """The x of the start of a local day."""
        return self.left + (day - self.start).days * self.day_w

    def x_centre(self, day: date) -> float:
        return self.x_of_day(day) + self.day_w / 2

    def x_of_moment(self, moment: datetime, tz: ZoneInfo) -> float:
        """The x of an instant: its local day's start plus the part of the day gone by."""
        local = moment.astimezone(tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return self.x_of_day(local.date()) + (local - midnight).total_seconds() / 86400 * self.day_w

    @property
    def right(self) -> float:
        return self.left + self.days * self.day_w


def geometry(data: BattleMap) -> Geometry:
    """The axis of a map: its days, their width (TIMELINE_W shared out, between MIN_DAY and MAX_DAY pixels)."""
    days = (data.end - data.start).days + 1
    return Geometry(start=data.start, days=days, day_w=round(min(MAX_DAY, max(MIN_DAY, TIMELINE_W / days)), 1))


def _shape(kind: str, x: float, y: float) -> str:
    colour = COLOUR[kind]
    if kind == MET:
        return f'<circle cx="{_num(x)}" cy="{_num(y)}" r="6" fill="{colour}"/>'
    if kind in (DUE, SOON):
        return f'<circle cx="{_num(x)}" cy="{_num(y)}" r="6" fill="#fff" stroke="{colour}" stroke-width="2.5"/>'
    if kind == LATE_OPEN:  # a diamond: late and still open
        return (
            f'<path d="M{_num(x)},{_num(y - 8)} L{_num(x + 8)},{_num(y)} L{_num(x)},{_num(y + 8)} '
            f'L{_num(x - 8)},{_num(y)} z" fill="{colour}"/>'
        )
    return f'<rect x="{_num(x - 6)}" y="{_num(y - 6)}" width="12" height="12" fill="{colour}"/>'  # late-done: a square


def _node_title(row: MapRow, node: MapNode, locale: str) -> str:
    sep = "; " if locale == "en" else "；"
    parts = [f"{row.case_no} {node.seq}. {node.name}", _t(node.kind, locale)]
    if node.department:
        parts.append(node.department)
    parts.append(f"{_t('planned', locale)} {_day_text(node.planned_day, locale)}")
    parts.append(f"{_t('due_on', locale)} {_day_text(node.due_day, locale)}")
    if node.done_day is not None:
        parts.append(f"{_t('done_on', locale)} {_day_text(node.done_day, locale)}")
    if node.late_by:
        parts.append(_t("late_by", locale).format(n=node.late_by))
    return sep.join(parts)


def _header(data: BattleMap, g: Geometry, locale: str, height: float) -> list[str]:
    """Shaded non-working days, month and day labels, the grid."""
    out: list[str] = []
    body_h = height - g.top - MARGIN
    for day in sorted(data.off_days):
        if data.start <= day <= data.end:
            out.append(
                f'<rect class="off-day" x="{_num(g.x_of_day(day))}" y="{_num(g.top - 26)}" width="{_num(g.day_w)}" '
                f'height="{_num(body_h + 26)}" fill="{OFF_DAY}"/>'
            )
    every = 1 if g.day_w >= 16 else 7  # day numbers: every day when there is room, else Mondays
    for day in days_of(data.start, data.end):
        x = g.x_of_day(day)
        if day.day == 1 or day == data.start:
            label = day.strftime("%b %Y") if locale == "en" else f"{day.year}年{day.month}月"
            out.append(
                f'<text class="month" x="{_num(x + 3)}" y="{_num(g.top - 34)}" font-size="{SMALL}" fill="{INK}" '
                f'font-weight="600">{escape(label)}</text>'
            )
            out.append(f'<path d="M{_num(x)},{_num(g.top - 46)} V{_num(height - MARGIN)}" stroke="{GRID}"/>')
        if (every == 1 or day.weekday() == 0) and g.day_w * every >= 14:
            out.append(
                f'<text class="day" x="{_num(g.x_centre(day))}" y="{_num(g.top - 9)}" text-anchor="middle" '
                f'font-size="{SMALL - 1}" fill="{MUTED}">{day.day}</text>'
            )
    out.append(f'<path d="M{MARGIN},{_num(g.top)} H{_num(g.right)}" stroke="{MUTED}"/>')
    return out


def _legend(locale: str) -> list[str]:
    out = [f'<g class="legend" transform="translate({MARGIN},{MARGIN + 2})">']
    x = 0.0
    for kind in (MET, DUE, SOON, LATE_OPEN, LATE_DONE):
        out.append(f'<g class="legend-item" data-kind="{kind}">{_shape(kind, x + 8, 10)}')
        out.append(
            f'<text x="{_num(x + 20)}" y="{_num(14)}" font-size="{SMALL + 1}" fill="{INK}">{escape(_t(kind, locale))}</text></g>'
        )
        x += 32 + text_width(_t(kind, locale), SMALL + 1)
    out.append(f'<path d="M{_num(x + 8)},0 V20" stroke="{TODAY}" stroke-width="2"/>')
    out.append(
        f'<text x="{_num(x + 16)}" y="14" font-size="{SMALL + 1}" fill="{INK}">{escape(_t("today", locale))}</text>'
    )
    x += 32 + text_width(_t("today", locale), SMALL + 1)
    out.append(f'<rect x="{_num(x)}" y="3" width="14" height="14" fill="{OFF_DAY}" stroke="{GRID}"/>')
    out.append(
        f'<text x="{_num(x + 20)}" y="14" font-size="{SMALL + 1}" fill="{INK}">{escape(_t("off", locale))}</text>'
    )
    x += 32 + text_width(_t("off", locale), SMALL + 1)
    out.append(f'<path d="M{_num(x + 8)},2 V18" stroke="{MUTED}" stroke-width="2"/>')
    out.append(
        f'<text x="{_num(x + 16)}" y="14" font-size="{SMALL + 1}" fill="{INK}">{escape(_t("due_tick", locale))}</text>'
    )
    out.append("</g>")
    return out


def _row(row: MapRow, index: int, data: BattleMap, g: Geometry, locale: str) -> list[str]:
    y0 = g.top + index * ROW_H
    cy = y0 + ROW_H / 2
    today = local_day(data.now, ZoneInfo(data.timezone))
    leader = row.lead_leader or _t("no_lead", locale)
    if row.lead_leader and not row.lead_leader_active:
        leader = _t("deactivated", locale).format(name=row.lead_leader)
    first_line = f"{row.case_no} · {leader}"
    if row.finished:
        first_line += f" · {_t('finished', locale)}"
    out = [f'<g class="case-row" data-case="{escape(row.case_no)}" data-reason="{escape(row.reason)}">']
    if index % 2:
        out.append(
            f'<rect x="{MARGIN}" y="{_num(y0)}" width="{_num(g.right - MARGIN)}" height="{ROW_H}" fill="#f7f9fb" fill-opacity="0.6"/>'
        )
    out.append(f'<path d="M{MARGIN},{_num(y0 + ROW_H)} H{_num(g.right)}" stroke="{GRID}" stroke-width="0.6"/>')
    departments = [d for d in (row.department,) if d] + list(row.assisting)
    label_title = f"{row.case_no} {row.title}"
    if departments:
        label_title += (
            f"\n{_t('lead', locale)}：{row.department or '—'}" if locale != "en" else f"\nLead: {row.department or '—'}"
        )
    if row.assisting:
        label_title += (
            f"；{_t('assisting', locale)}：{'、'.join(row.assisting)}"
            if locale != "en"
            else f"; assisting: {', '.join(row.assisting)}"
        )
    out.append(
        f'<a class="case-link" href="/cases/{escape(row.case_no)}"><title>{escape(label_title)}</title>'
        f'<text x="{MARGIN + 6}" y="{_num(y0 + 16)}" font-size="{SMALL}" fill="{MUTED}">{escape(truncate(first_line, TITLE_WIDTH, SMALL))}</text>'
        f'<text x="{MARGIN + 6}" y="{_num(y0 + 32)}" font-size="{FONT}" fill="{INK}">'
        f"{escape(truncate(row.title, TITLE_WIDTH, FONT))}</text></a>"
    )
    if not row.nodes:
        out.append(
            f'<text class="no-nodes" x="{_num(g.left + 8)}" y="{_num(cy + 4)}" font-size="{SMALL}" fill="{MUTED}">'
            f"{escape(_t('no_nodes', locale))}</text>"
        )
    before = after = 0
    for node in row.nodes:
        day = mark_day(node)
        if day < data.start:
            before += 1
            continue
        if day > data.end:
            after += 1
            continue
        x = g.x_centre(day)
        due_x = g.x_centre(min(max(node.due_day, data.start), data.end))
        parts = [f'<g class="{MARK_CLASS[node.kind]}" data-seq="{node.seq}" data-day="{day.isoformat()}">']
        parts.append(f"<title>{escape(_node_title(row, node, locale))}</title>")
        if node.kind in (MET, LATE_DONE) and node.due_day != day:
            # The due day: a tick, joined to the completion mark (dashed when completed late).
            dash = ' stroke-dasharray="4 3"' if node.kind == LATE_DONE else ""
            parts.append(
                f'<path d="M{_num(due_x)},{_num(cy)} H{_num(x)}" stroke="{COLOUR[node.kind]}" stroke-width="1.5"{dash}/>'
            )
            if data.start <= node.due_day <= data.end:
                parts.append(
                    f'<path d="M{_num(due_x)},{_num(cy - 8)} V{_num(cy + 8)}" stroke="{MUTED}" stroke-width="2"/>'
                )
        elif node.kind == LATE_OPEN and today > day:
            # How far it has slipped: from its due day to today.
            end_x = g.x_centre(min(today, data.end))
            parts.append(
                f'<path d="M{_num(x)},{_num(cy)} H{_num(end_x)}" stroke="{COLOUR[node.kind]}" stroke-width="3" stroke-opacity="0.45"/>'
            )
        parts.append(_shape(node.kind, x, cy))
        if g.day_w >= 14:
            parts.append(
                f'<text x="{_num(x)}" y="{_num(cy - 10)}" text-anchor="middle" font-size="9" fill="{MUTED}">{node.seq}</text>'
            )
        parts.append("</g>")
        out.append("".join(parts))
    for count, key, x, anchor in ((before, "before", g.left + 4, "start"), (after, "after", g.right - 4, "end")):
        if count:
            arrow = f"◂{count}" if key == "before" else f"{count}▸"
            out.append(
                f'<text class="out-of-range" x="{_num(x)}" y="{_num(cy + 16)}" text-anchor="{anchor}" font-size="{SMALL}" '
                f'fill="{MUTED}"><title>{count} {escape(_t(key, locale))}</title>{arrow}</text>'
            )
    out.append("</g>")
    return out


def map_svg(data: BattleMap, *, locale: str = "zh_CN") -> str:
    """The battle map as a standalone <svg> element: a legend, the axis (month and day labels, non-working days
    shaded), one row per case (its number, lead leader and title, a link to /cases/<no> with the departments in
    its <title>), each node a mark of class node-met / node-due (node-soon too) / node-late (node-late-open or
    node-late-done) with a <title> tooltip, and today a vertical line of class today-line (data-date, at the moment
    `data.now` within its day). Texts in `locale` ("en" or Chinese), escaped. Root attributes carry the axis for
    readers and tests: data-start, data-end, data-day-width, data-left (x of the axis' first day)."""
    g = geometry(data)
    rows = max(len(data.rows), 1)
    width = g.right + MARGIN
    height = g.top + rows * ROW_H + MARGIN + (18 if data.total > len(data.rows) else 0)
    tz = ZoneInfo(data.timezone)
    body: list[str] = [*_header(data, g, locale, height), *_legend(locale)]
    if not data.rows:
        body.append(
            f'<text class="empty" x="{_num(g.left + 8)}" y="{_num(g.top + ROW_H / 2 + 4)}" font-size="{FONT}" '
            f'fill="{MUTED}">{escape(_t("empty", locale))}</text>'
        )
    for index, row in enumerate(data.rows):
        body.extend(_row(row, index, data, g, locale))
    if data.total > len(data.rows):
        more = _t("more", locale).format(n=data.total - len(data.rows))
        body.append(
            f'<text class="more" x="{MARGIN + 6}" y="{_num(height - MARGIN)}" font-size="{SMALL}" fill="{MUTED}">{escape(more)}</text>'
        )
    today = local_day(data.now, tz)
    if data.start <= today <= data.end:
        x = g.x_of_moment(data.now, tz)
        body.append(
            f'<g class="today-line" data-date="{today.isoformat()}" data-x="{_num(x)}"><title>{escape(_t("today", locale))} '
            f"{escape(_day_text(today, locale))}</title>"
            f'<path d="M{_num(x)},{_num(g.top - 26)} V{_num(height - MARGIN)}" stroke="{TODAY}" stroke-width="2"/>'
            f'<text x="{_num(x + 3)}" y="{_num(g.top - 22)}" font-size="{SMALL - 1}" fill="{TODAY}">'
            f"{escape(_t('today', locale))}</text></g>"
        )
    span = f"{_day_text(data.start, locale)} – {_day_text(data.end, locale)}"
    desc = f"{len(data.rows)} key case(s), {span}" if locale == "en" else f"重点件 {len(data.rows)} 件，{span}"
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="battle-map" role="img" '
            f'viewBox="0 0 {_num(width)} {_num(height)}" width="{_num(width)}" height="{_num(height)}" '
            f'data-width="{_num(width)}" data-start="{data.start.isoformat()}" data-end="{data.end.isoformat()}" '
            f'data-day-width="{_num(g.day_w)}" data-left="{_num(g.left)}" font-family="{FONTS}" '
            f'aria-labelledby="battle-map-title battle-map-desc">',
            f'<title id="battle-map-title">{escape(_t("title", locale))}</title>',
            f'<desc id="battle-map-desc">{escape(desc)}</desc>',
            f'<rect class="background" x="0" y="0" width="{_num(width)}" height="{_num(height)}" fill="#fff"/>',
            *body,
            "</svg>",
        ]
    )


def reason_label(code: str, locale: str) -> str:
    """A KeyReason code's label in the locale (grievance.glossary)."""
    return label_of("KeyReason", code, locale)
