"""The battle map's drawing alone (grievance/keycases/battlemap_svg.py, issue 12): a BattleMap made by hand, no
database. The SVG parses as XML, each case is a row linking to its page, each node one mark of its colour class,
today's line sits where the axis puts the moment, texts are escaped and cut, and the axis is bounded."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

from grievance.keycases.battlemap import (
    DUE,
    LATE_DONE,
    LATE_OPEN,
    MAX_SPAN_DAYS,
    MET,
    SOON,
    BattleMap,
    MapNode,
    MapRow,
    axis,
)
from grievance.keycases.battlemap_svg import geometry, map_svg, truncate

NS = {"s": "http://www.w3.org/2000/svg"}
NOW = datetime(2025, 10, 22, 4, 0, tzinfo=UTC)  # Wednesday 12:00 in Shanghai
TODAY = date(2025, 10, 22)


def node(seq: int, kind: str, due: date, done: date | None = None, **kw: object) -> MapNode:
    return MapNode(
        seq=seq,
        name=kw.get("name", f"节点{seq}"),  # type: ignore[arg-type]
        department=kw.get("department", "城市管理局"),  # type: ignore[arg-type]
        kind=kind,
        due_day=due,
        done_day=done,
        planned_day=date(2025, 9, 29),
        late_by=kw.get("late_by"),  # type: ignore[arg-type]
    )


def row(no: str, nodes: list[MapNode], **kw: object) -> MapRow:
    return MapRow(
        case_no=no,
        title=str(kw.get("title", "小区门口路灯不亮")),
        reason=str(kw.get("reason", "backlog")),
        lead_leader=kw.get("lead_leader", "王领导"),  # type: ignore[arg-type]
        department="城市管理局",
        assisting=tuple(kw.get("assisting", ())),  # type: ignore[call-overload]
        finished=bool(kw.get("finished", False)),
        nodes=tuple(nodes),
    )


def sample() -> BattleMap:
    a = row(
        "A-1",
        [
            node(1, MET, date(2025, 9, 30), date(2025, 9, 30)),
            node(2, LATE_DONE, date(2025, 10, 10), date(2025, 10, 13)),
            node(3, LATE_OPEN, date(2025, 10, 20), late_by=2),
        ],
        assisting=("企业服务局", "青桐街道"),
    )
    b = row("B-2", [node(1, SOON, date(2025, 10, 24)), node(2, DUE, date(2025, 11, 10))], lead_leader=None)
    c = row("C-3", [], title='<script>alert("x")</script> & 很长很长很长很长很长很长很长很长很长很长很长的标题')
    start, end = axis([a, b, c], TODAY)
    return BattleMap(
        rows=[a, b, c],
        start=start,
        end=end,
        now=NOW,
        timezone="Asia/Shanghai",
        off_days=frozenset({date(2025, 10, 25), date(2025, 10, 26)}),
        total=3,
    )


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def classes(el: ET.Element) -> set[str]:
    return set((el.get("class") or "").split())


def marks(root: ET.Element, cls: str) -> list[ET.Element]:
    return [el for el in root.iter() if cls in classes(el)]


def test_each_case_is_a_row_linking_to_its_page_and_each_node_one_mark_of_its_colour() -> None:
    data = sample()
    root = parse(map_svg(data))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    rows = [el for el in root.iter() if "case-row" in classes(el)]
    assert [r.get("data-case") for r in rows] == ["A-1", "B-2", "C-3"]
    links = [a.get("href") for a in root.iterfind(".//s:a", NS)]
    assert links == ["/cases/A-1", "/cases/B-2", "/cases/C-3"]
    assert len(marks(root, "node-met")) == 1
    assert len(marks(root, "node-due")) == 2 and len(marks(root, "node-soon")) == 1
    assert len(marks(root, "node-late")) == 2
    assert len(marks(root, "node-late-open")) == 1 and len(marks(root, "node-late-done")) == 1
    assert data.counts == {MET: 1, DUE: 1, SOON: 1, LATE_OPEN: 1, LATE_DONE: 1}
    # Every mark says what it is in its tooltip; a late one how late.
    late = marks(root, "node-late-open")[0]
    tip = late.find("s:title", NS)
    assert tip is not None and "A-1 3. 节点3" in str(tip.text) and "逾期 2 个工作日" in str(tip.text)
    # A met node is drawn on its completion day, a late-done one too (its due day a tick joined to it).
    g = geometry(data)
    late_done = marks(root, "node-late-done")[0]
    assert late_done.get("data-day") == "2025-10-13"
    shape = late_done.find("s:rect", NS)
    assert shape is not None and abs(float(shape.get("x", 0)) + 6 - g.x_centre(date(2025, 10, 13))) < 0.1
    # Lead leader missing and no plan yet: said in the row.
    text = "".join(root.itertext())
    assert "未定包案领导" in text and "尚未设定节点计划" in text


def test_today_is_a_vertical_line_at_the_moment_on_the_axis() -> None:
    data = sample()
    root = parse(map_svg(data))
    line = next(el for el in root.iter() if "today-line" in classes(el))
    assert line.get("data-date") == "2025-10-22"
    left, day_w = float(root.get("data-left", 0)), float(root.get("data-day-width", 0))
    start = date.fromisoformat(root.get("data-start", ""))
    expected = left + (TODAY - start).days * day_w + 0.5 * day_w  # 12:00 local: half the day gone
    assert abs(float(line.get("data-x", 0)) - expected) < 0.06
    path = line.find("s:path", NS)
    assert path is not None and path.get("d", "").startswith(f"M{line.get('data-x')},")
    # Off days shaded, legend present, CJK font first in the list.
    assert len(marks(root, "off-day")) == 2
    assert "Noto Sans CJK SC" in root.get("font-family", "") and "sans-serif" in root.get("font-family", "")
    legend = marks(root, "legend-item")
    assert [g.get("data-kind") for g in legend] == [MET, DUE, SOON, LATE_OPEN, LATE_DONE]
    assert ["".join(g.itertext()).strip() for g in legend] == [
        "按时完成",
        "进行中",
        "即将到期",
        "逾期未完成",
        "逾期完成",
    ]


def test_texts_are_escaped_and_long_titles_cut() -> None:
    svg = map_svg(sample())
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = parse(svg)  # still well-formed XML
    title_texts = [t.text or "" for t in root.iterfind(".//s:a/s:text", NS)]
    assert any(t.endswith("…") for t in title_texts)
    assert truncate("短标题", 100, 13) == "短标题"
    cut = truncate("很" * 50, 100, 13)
    assert cut.endswith("…") and len(cut) < 10


def test_english_labels_and_an_empty_map() -> None:
    data = sample()
    english = map_svg(data, locale="en")
    assert "Met on time" in english and "Late, still open" in english and "Today" in english
    empty = BattleMap(rows=[], start=date(2025, 10, 1), end=date(2025, 10, 31), now=NOW, timezone="Asia/Shanghai")
    root = parse(map_svg(empty))
    assert "没有符合条件的重点件" in "".join(root.itertext()) and not marks(root, "node-mark")


def test_nodes_outside_the_axis_are_counted_at_its_edge_not_drawn() -> None:
    data = sample()
    narrow = BattleMap(
        rows=data.rows, start=date(2025, 10, 12), end=date(2025, 10, 31), now=NOW, timezone="Asia/Shanghai"
    )
    root = parse(map_svg(narrow))
    assert len(marks(root, "node-met")) == 0 and len(marks(root, "node-due")) == 1  # 9-30 before, 11-10 after
    edges = ["".join(el.itertext()) for el in marks(root, "out-of-range")]
    assert any(e.endswith("◂1") for e in edges) and any(e.endswith("1▸") for e in edges)
    assert narrow.counts == {MET: 0, DUE: 0, SOON: 1, LATE_OPEN: 1, LATE_DONE: 1}


def test_the_default_axis_runs_a_week_around_the_nodes_and_is_bounded() -> None:
    data = sample()
    # Earliest open node set on 9-29 (node 3 of A) → a week before; latest due 11-10 → a week after.
    assert (data.start, data.end) == (date(2025, 9, 22), date(2025, 11, 17))
    # Given bounds are kept; one bound alone keeps the other's default.
    assert axis(data.rows, TODAY, date(2025, 10, 1), None) == (date(2025, 10, 1), date(2025, 11, 17))
    assert axis(data.rows, TODAY, None, date(2025, 10, 31)) == (date(2025, 9, 22), date(2025, 10, 31))
    # Nodes years apart: the default stays within MAX_SPAN_DAYS and keeps today in view.
    far = row("F-1", [node(1, DUE, TODAY + timedelta(days=900)), node(2, LATE_OPEN, TODAY - timedelta(days=700))])
    first, last = axis([far], TODAY)
    assert (last - first).days + 1 == MAX_SPAN_DAYS and first <= TODAY <= last
    wide = BattleMap(rows=[far], start=first, end=last, now=NOW, timezone="Asia/Shanghai")
    g = geometry(wide)
    assert g.day_w >= 3 and g.right < 4000  # bounded picture
