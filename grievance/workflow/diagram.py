"""Draws a workflow as an SVG state diagram from its definition, so an administrator sees the process the
deployment's file describes without reading YAML.

A simple layered layout, no graphviz: each state sits in the column of its distance (in transitions) from the
initial state, columns are ordered to cross few arrows, every transition is an arrow labelled with the
actions that take it, actions that keep the case in its state are a badge on the state, final states have a
double border and the initial state a start dot. Every text is escaped.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from html import escape

from grievance.workflow.definition import WorkflowDef

FONT = 14  # state labels
SMALL = 11  # state codes, arrow labels, badges
NODE_H = 44
ROW_GAP = 40
MIN_GAP = 120  # horizontal room between columns, widened to fit the arrow labels
MARGIN = 20
START = 30  # room left of the first column for the start dot
INK, MUTED, ACCENT, LINE = "#1d2733", "#5b6775", "#0b5cad", "#8a96a3"


def text_width(text: str, size: float) -> float:
    """A close enough width: CJK and full-width characters are square, the others about 0.6 em."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


@dataclass
class _Node:
    name: str
    label: str
    final: bool
    column: int
    loops: list[str] = field(default_factory=list)
    row: int = 0
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + NODE_H / 2


@dataclass
class _Edge:
    source: str
    target: str
    labels: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " / ".join(self.labels)


def columns_of(wf: WorkflowDef) -> dict[str, int]:
    """Each state's distance from the initial state; a state no action reaches goes after the last column."""
    distance = {wf.initial_state: 0}
    todo = deque([wf.initial_state])
    while todo:
        state = todo.popleft()
        for action in wf.actions.values():
            if state in action.from_ and action.to is not None and action.to not in distance:
                distance[action.to] = distance[state] + 1
                todo.append(action.to)
    last = max(distance.values()) + 1
    return {name: distance.get(name, last) for name in wf.states}


def _transitions(wf: WorkflowDef, locale: str = "zh_CN") -> tuple[list[_Edge], dict[str, list[str]]]:
    """Arrows (one per pair of states, with every action that takes it) and each state's in-state actions,
    named in the locale."""
    edges: dict[tuple[str, str], _Edge] = {}
    loops: dict[str, list[str]] = {name: [] for name in wf.states}
    for action in wf.actions.values():
        for source in action.from_:
            if action.to is None or action.to == source:
                loops[source].append(action.label_in(locale))
            else:
                edges.setdefault((source, action.to), _Edge(source, action.to)).labels.append(action.label_in(locale))
    return list(edges.values()), loops


def _order(nodes: dict[str, _Node], edges: list[_Edge], count: int) -> list[list[_Node]]:
    """Columns of nodes, each sorted by the mean row of its neighbours in the column before (then after),
    a few sweeps of the barycentre heuristic."""
    cols: list[list[_Node]] = [[] for _ in range(count)]
    for node in nodes.values():
        cols[node.column].append(node)
    neighbours: dict[str, set[str]] = {name: set() for name in nodes}
    for edge in edges:
        neighbours[edge.source].add(edge.target)
        neighbours[edge.target].add(edge.source)

    def barycentre(node: _Node, ref: dict[str, int], current: dict[str, int]) -> float:
        rows = [ref[other] for other in neighbours[node.name] if other in ref]
        return sum(rows) / len(rows) if rows else current[node.name]

    def sweep(indices: range, step: int) -> None:
        for c in indices:
            ref = {n.name: i for i, n in enumerate(cols[c - step])}
            current = {n.name: i for i, n in enumerate(cols[c])}
            cols[c].sort(key=lambda node, ref=ref, current=current: barycentre(node, ref, current))

    for _ in range(2):
        sweep(range(1, count), 1)
        sweep(range(count - 2, -1, -1), -1)
    return cols


class _Labels:
    """Arrow labels placed where they cover no state and no other label."""

    def __init__(self, nodes: list[_Node]) -> None:
        self.taken = [(n.x - 2, n.y - 2, n.x + n.w + 2, n.y + NODE_H + 2) for n in nodes]

    def place(self, text: str, x: float, y: float, anchor: str = "middle") -> tuple[float, float, float, float]:
        """A free box of the text near (x, y): (left, top, width, height)."""
        w, h = text_width(text, SMALL) + 8, SMALL + 6
        left = x - w / 2 if anchor == "middle" else x
        for shift in (0, 1, -1, 2, -2, 3, -3, 4, -4):
            top = y - h / 2 + shift * (h + 2)
            box = (left, top, left + w, top + h)
            if not any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in self.taken):
                break
        else:
            top = y - h / 2
            box = (left, top, left + w, top + h)
        self.taken.append(box)
        return left, top, w, h


def _ports(nodes: dict[str, _Node], edges: list[_Edge]) -> dict[tuple[int, str], float]:
    """Where each arrow leaves and enters: the arrows on one side of a state are spread along it, in the
    order of the states at their other end, so they do not share a point."""
    sides: dict[tuple[str, str], list[tuple[float, int, str]]] = {}
    for i, edge in enumerate(edges):
        s, t = nodes[edge.source], nodes[edge.target]
        if s.column < t.column:
            sides.setdefault((s.name, "right"), []).append((t.cy, i, "out"))
            sides.setdefault((t.name, "left"), []).append((s.cy, i, "in"))
        elif s.column > t.column:
            sides.setdefault((s.name, "left"), []).append((t.cy, i, "out"))
            sides.setdefault((t.name, "right"), []).append((s.cy, i, "in"))
    ports: dict[tuple[int, str], float] = {}
    for (name, _side), items in sides.items():
        node = nodes[name]
        items.sort()
        for k, (_y, i, end) in enumerate(items):
            ports[(i, end)] = node.y + NODE_H * (k + 1) / (len(items) + 1)
    return ports


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def workflow_svg(wf: WorkflowDef, *, title: str | None = None, locale: str = "zh_CN") -> str:
    """The workflow's state diagram as a standalone <svg> element (ids prefixed with the workflow's name,
    so several diagrams can share a page), its labels and description in the locale ("en" or Chinese)."""
    prefix = "wf-" + re.sub(r"[^A-Za-z0-9_-]", "-", wf.name)
    edges, loops = _transitions(wf, locale)
    column = columns_of(wf)
    nodes = {
        name: _Node(name=name, label=state.label_in(locale), final=state.final, column=column[name], loops=loops[name])
        for name, state in wf.states.items()
    }
    count = max(column.values()) + 1
    cols = _order(nodes, edges, count)

    # Sizes: a column is as wide as its widest state; a gap as wide as the labels of the arrows crossing it.
    for node in nodes.values():
        badge = 26 if node.loops else 0
        node.w = max(text_width(node.label, FONT), text_width(node.name, SMALL)) + 28 + badge
    widths = [max((n.w for n in col), default=0.0) for col in cols]
    gaps = [float(MIN_GAP)] * count
    for edge in edges:
        a, b = nodes[edge.source].column, nodes[edge.target].column
        if abs(a - b) == 1:
            gap = min(a, b)
            gaps[gap] = max(gaps[gap], min(text_width(edge.text, SMALL) + 48, 240.0))
    rows = max(len(col) for col in cols)
    height = rows * NODE_H + (rows - 1) * ROW_GAP
    x = float(MARGIN + START)
    for c, col in enumerate(cols):
        top = MARGIN + (height - (len(col) * NODE_H + (len(col) - 1) * ROW_GAP)) / 2
        for r, node in enumerate(col):
            node.row = r
            node.x = x + (widths[c] - node.w) / 2
            node.y = top + r * (NODE_H + ROW_GAP)
        x += widths[c] + gaps[c]
    # Same-column arrows between rows that are not neighbours bow out to the right of the column.
    bows = [0.0] * count
    for edge in edges:
        s, t = nodes[edge.source], nodes[edge.target]
        if s.column == t.column and abs(s.row - t.row) > 1:
            bows[s.column] += 1
    total_w = x - gaps[-1] + MARGIN + (60 if bows[-1] else 0)
    total_h = height + 2 * MARGIN

    labels = _Labels(list(nodes.values()))
    ports = _ports(nodes, edges)
    arrows: list[str] = []
    texts: list[str] = []
    bowed = [0] * count
    for i, edge in enumerate(edges):
        s, t = nodes[edge.source], nodes[edge.target]
        if s.column != t.column:
            forward = s.column < t.column
            x0 = s.x + s.w if forward else s.x
            x3 = t.x if forward else t.x + t.w
            y0, y3 = ports[(i, "out")], ports[(i, "in")]
            d = (x3 - x0) / 2
            path = f"M{_num(x0)},{_num(y0)} C{_num(x0 + d)},{_num(y0)} {_num(x3 - d)},{_num(y3)} {_num(x3)},{_num(y3)}"
            lx, ly = (x0 + x3) / 2, (y0 + y3) / 2
            anchor = "middle"
        elif abs(s.row - t.row) == 1:
            # Neighbours in a column: a straight arrow, beside the centre when both directions exist.
            both = any(e.source == edge.target and e.target == edge.source for e in edges)
            dx = (-8 if s.row < t.row else 8) if both else 0
            down = s.row < t.row
            y0 = s.y + NODE_H if down else s.y
            y3 = t.y if down else t.y + NODE_H
            path = f"M{_num(s.cx + dx)},{_num(y0)} L{_num(t.cx + dx)},{_num(y3)}"
            lx, ly = s.cx + dx + 6, (y0 + y3) / 2
            anchor = "start"
            if dx < 0:
                lx = s.cx + dx - 6 - (text_width(edge.text, SMALL) + 8)
        else:
            bowed[s.column] += 1
            reach = 24 + 18 * bowed[s.column]
            x0 = s.x + s.w
            x3 = t.x + t.w
            right = max(x0, x3) + reach
            path = (
                f"M{_num(x0)},{_num(s.cy)} C{_num(right)},{_num(s.cy)} {_num(right)},{_num(t.cy)} "
                f"{_num(x3)},{_num(t.cy)}"
            )
            lx, ly = x0 + 0.75 * (right - x0) + 4, (s.cy + t.cy) / 2
            anchor = "start"
        arrows.append(
            f'<path class="transition" d="{path}" fill="none" stroke="{LINE}" stroke-width="1.4" '
            f'marker-end="url(#{prefix}-arrow)"><title>{escape(s.label)} → {escape(t.label)}：'
            f"{escape(edge.text)}</title></path>"
        )
        left, top, w, h = labels.place(edge.text, lx, ly, anchor)
        texts.append(
            f'<g class="action-label"><rect x="{_num(left)}" y="{_num(top)}" width="{_num(w)}" height="{_num(h)}" '
            f'rx="3" fill="#fff" fill-opacity="0.92"/><text x="{_num(left + w / 2)}" y="{_num(top + h - 5)}" '
            f'text-anchor="middle" font-size="{SMALL}" fill="{MUTED}">{escape(edge.text)}</text></g>'
        )

    shapes: list[str] = []
    for node in nodes.values():
        kind = "state final" if node.final else "state"
        if node.name == wf.initial_state:
            kind += " initial"
        parts = [
            f'<g class="{kind}" data-state="{escape(node.name)}"><title>{escape(node.label)} ({escape(node.name)})'
        ]
        if node.loops:
            parts[0] += "\n" + escape("；".join(node.loops))
        parts[0] += "</title>"
        fill = "#eef1f5" if node.final else "#fff"
        stroke = INK if node.final else ACCENT
        parts.append(
            f'<rect x="{_num(node.x)}" y="{_num(node.y)}" width="{_num(node.w)}" height="{NODE_H}" rx="8" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.6"/>'
        )
        if node.final:
            parts.append(
                f'<rect x="{_num(node.x + 3.5)}" y="{_num(node.y + 3.5)}" width="{_num(node.w - 7)}" '
                f'height="{NODE_H - 7}" rx="5" fill="none" stroke="{stroke}" stroke-width="1"/>'
            )
        text_x = node.x + (node.w - (26 if node.loops else 0)) / 2
        weight = ' font-weight="700"' if node.final or node.name == wf.initial_state else ' font-weight="600"'
        parts.append(
            f'<text x="{_num(text_x)}" y="{_num(node.y + 20)}" text-anchor="middle" font-size="{FONT}" '
            f'fill="{INK}"{weight}>{escape(node.label)}</text>'
            f'<text x="{_num(text_x)}" y="{_num(node.y + 35)}" text-anchor="middle" font-size="{SMALL}" '
            f'fill="{MUTED}">{escape(node.name)}</text>'
        )
        if node.loops:
            bx = node.x + node.w - 24
            parts.append(
                f'<g class="loops"><rect x="{_num(bx)}" y="{_num(node.y + 12)}" width="18" height="20" rx="4" '
                f'fill="#e8edf3"/><text x="{_num(bx + 9)}" y="{_num(node.y + 26)}" text-anchor="middle" '
                f'font-size="{SMALL}" fill="{INK}">↻{len(node.loops)}</text></g>'
            )
        if node.name == wf.initial_state:
            sx = node.x - 22
            parts.append(
                f'<circle cx="{_num(sx)}" cy="{_num(node.cy)}" r="6" fill="{INK}"/>'
                f'<path d="M{_num(sx + 6)},{_num(node.cy)} L{_num(node.x)},{_num(node.cy)}" stroke="{INK}" '
                f'stroke-width="1.4" marker-end="url(#{prefix}-arrow)"/>'
            )
        parts.append("</g>")
        shapes.append("".join(parts))

    # Labels beside an arrow may stick out of the columns: widen the canvas to hold them.
    left_edge = min([0.0, *(box[0] - 4 for box in labels.taken)])
    right_edge = max([total_w, *(box[2] + 4 for box in labels.taken)])
    bottom_edge = max([total_h, *(box[3] + 4 for box in labels.taken)])
    top_edge = min([0.0, *(box[1] - 4 for box in labels.taken)])
    finals = [nodes[n].label for n in wf.states if nodes[n].final]
    if locale == "en":
        desc = (
            f"{len(nodes)} states, {len(edges)} transitions; starts in {nodes[wf.initial_state].label}; "
            f"ends in {', '.join(finals)}"
        )
    else:
        desc = f"{len(nodes)} 个状态，{len(edges)} 条流转；起始：{nodes[wf.initial_state].label}；终止：{'、'.join(finals)}"
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" role="img" '
            f'viewBox="{_num(left_edge)} {_num(top_edge)} {_num(right_edge - left_edge)} {_num(bottom_edge - top_edge)}" '
            f'width="{_num(right_edge - left_edge)}" height="{_num(bottom_edge - top_edge)}" '
            # Fill a wider container a little (text stays readable), scroll in a narrower one: web/static/app.js
            # sizes it from data-width (a style="" attribute would be refused by the pages' Content-Security-Policy).
            f'data-width="{_num(right_edge - left_edge)}" '
            f'aria-labelledby="{prefix}-title {prefix}-desc">',
            f'<title id="{prefix}-title">{escape(title if title is not None else wf.label_in(locale))}</title>',
            f'<desc id="{prefix}-desc">{escape(desc)}</desc>',
            f'<defs><marker id="{prefix}-arrow" viewBox="0 0 10 10" refX="9.5" refY="5" markerWidth="8" '
            f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{MUTED}"/></marker></defs>',
            *arrows,
            *shapes,
            *texts,
            "</svg>",
        ]
    )
