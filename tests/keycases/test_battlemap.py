"""The battle map (挂图作战, issue 12) read from a real database (SQLite and PostgreSQL): key cases made and worked
through the API, one met node, one completed late, one open and late, one due soon, one due; the map's rows,
marks and today line; the filters (leader, department — lead, a node's, an assisting part's —, reason, state)
narrowing exactly; bad filters refused with a message naming them; who may open it; a fixed number of queries."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from grievance.cases.models import Case
from grievance.db import transaction
from grievance.keycases.battlemap import MapFilter, load_map
from grievance.keycases.models import CasePart
from grievance.users.models import User
from grievance.users.service import create_user, deactivate_user
from tests.api._support import sh
from tests.reports.metrics_support import department_ids, handling
from tests.web.support import text_of

NS = {"s": "http://www.w3.org/2000/svg"}
LIGHT_KIND = {"met": "met", "met_late": "late-done", "overdue": "late-open", "due_soon": "soon", "running": "due"}


def _ids(world: Any) -> dict[str, int]:
    with transaction(world.app.state.sessions) as session:
        return {u.username: int(u.id) for u in session.exec(select(User)).all()}  # type: ignore[arg-type]


def scene(world: Any, clock: Any) -> dict[str, str]:
    """Four key cases and a plain one, seen on Wednesday 2025-10-22 12:00 (Shanghai):
    A backlog, leader, CGJ: node 1 met (9-30), node 2 completed late (due 10-10, done 10-13), node 3 (JD1) open,
      due 10-20: late;
    B group appeal, leader, JD1: node 1 due 10-24 (due soon), node 2 due 11-10 (due);
    C leader's instruction, leader2, CGJ, no plan, resolved, QFJ assisting;
    D backlog, leader2, CGJ, no plan; E not key."""
    with transaction(world.app.state.sessions) as session:
        create_user(session, username="leader2", role="leader", password=None, department=None, display_name="李副区长")
    a, b, c, d, e = (handling(world), handling(world, "JD1"), handling(world), handling(world), handling(world))
    world.act(a, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(b, "mark_key", "supervisor", reason="group_appeal", lead_leader_id="leader")
    world.act(c, "mark_key", "supervisor", reason="leader_instruction", lead_leader_id="leader2")
    world.act(d, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader2")
    jd1 = department_ids(world)["JD1"]
    with transaction(world.app.state.sessions) as session:
        # JD1 assists on A (a node's department is the lead or an assisting one), written as the parts' actions do.
        a_id = session.exec(select(Case.id).where(Case.case_no == a)).one()
        session.add(CasePart(case_id=a_id, seq=1, department_id=jd1, status="accepted", dispatched_at=sh(2025, 9, 29)))  # type: ignore[arg-type]
    world.act(
        a,
        "plan_nodes",
        "handler",
        nodes=[
            {"name": "约谈相关企业", "due_date": "2025-09-30"},
            {"name": "现场核查", "due_date": "2025-10-10"},
            {"name": "出具整改报告", "department_id": "JD1", "due_date": "2025-10-20"},
        ],
    )
    world.act(
        b,
        "plan_nodes",
        "other_handler",
        nodes=[{"name": "召开协调会", "due_date": "2025-10-24"}, {"name": "签订协议", "due_date": "2025-11-10"}],
    )
    clock.set(sh(2025, 9, 30, 15))
    world.act(a, "complete_node", "handler", node=1, note="已约谈")
    clock.set(sh(2025, 10, 13, 9))
    world.act(a, "complete_node", "handler", node=2, note="核查完毕")
    world.act(c, "resolve", "handler", outcome="solved", reply="已处理完毕")
    clock.set(sh(2025, 10, 22, 12))
    qfj = department_ids(world)["QFJ"]
    with transaction(world.app.state.sessions) as session:
        # An assisting department's part, as the parts' actions write it (their own tests drive them).
        c_id = session.exec(select(Case.id).where(Case.case_no == c)).one()
        session.add(CasePart(case_id=c_id, seq=1, department_id=qfj, status="reported", dispatched_at=sh(2025, 10, 9)))  # type: ignore[arg-type]
    return {"A": a, "B": b, "C": c, "D": d, "E": e}


def _svg(b: Any, query: str = "", expect: int = 200) -> ET.Element:
    response = b.get(f"/keycases/map.svg{query}")
    assert response.status_code == expect, response.text[:500]
    assert response.headers["content-type"].startswith("image/svg+xml")
    return ET.fromstring(response.content)


def _rows(root: ET.Element) -> list[str]:
    return [el.get("data-case", "") for el in root.iter() if "case-row" in (el.get("class") or "").split()]


def _count(root: ET.Element, cls: str) -> int:
    return sum(1 for el in root.iter() if cls in (el.get("class") or "").split())


def test_the_map_draws_each_key_case_and_each_node_in_its_colour_and_the_filters_narrow_it(
    world, browser, clock
) -> None:  # type: ignore[no-untyped-def]
    no = scene(world, clock)
    b = browser("supervisor")
    root = _svg(b)
    # Open key cases only by default: C is resolved, E is not key. B's next node is due first, then A's late one.
    assert sorted(_rows(root)) == sorted([no["A"], no["B"], no["D"]])
    assert _count(root, "node-met") == 1
    assert (
        _count(root, "node-late") == 2 and _count(root, "node-late-open") == 1 and _count(root, "node-late-done") == 1
    )
    assert _count(root, "node-due") == 2 and _count(root, "node-soon") == 1
    # The marks say what the case page says of each node (its light).
    kinds: Counter[str] = Counter()
    for key in ("A", "B"):
        for node in world.get(no[key], "supervisor")["nodes"]:
            kinds[LIGHT_KIND[node["light"]]] += 1
    assert kinds == Counter({"met": 1, "late-done": 1, "late-open": 1, "soon": 1, "due": 1})
    # Today's line: Wednesday 2025-10-22 at 12:00, half of its day gone.
    line = next(el for el in root.iter() if "today-line" in (el.get("class") or "").split())
    start = root.get("data-start", "")
    assert line.get("data-date") == "2025-10-22" and start == "2025-09-22"  # a week before the plans were set
    left, day_w = float(root.get("data-left", 0)), float(root.get("data-day-width", 0))
    assert abs(float(line.get("data-x", 0)) - (left + 30 * day_w + day_w / 2)) < 0.06
    # Each row links to its case.
    assert [a.get("href") for a in root.iterfind(".//s:a", NS)] == [f"/cases/{n}" for n in _rows(root)]

    ids, depts = _ids(world), department_ids(world)
    assert sorted(_rows(_svg(b, f"?lead_leader_id={ids['leader']}"))) == sorted([no["A"], no["B"]])
    assert _rows(_svg(b, f"?lead_leader_id={ids['leader2']}")) == [no["D"]]  # C is resolved
    assert sorted(_rows(_svg(b, f"?lead_leader_id={ids['leader2']}&state=all"))) == sorted([no["C"], no["D"]])
    assert _rows(_svg(b, "?state=resolved")) == [no["C"]]
    assert sorted(_rows(_svg(b, "?reason=backlog"))) == sorted([no["A"], no["D"]])
    # Department: the lead department (B), a node's responsible department (A's node 3), an assisting part (C).
    assert sorted(_rows(_svg(b, f"?department_id={depts['JD1']}"))) == sorted([no["A"], no["B"]])
    assert _rows(_svg(b, f"?department_id={depts['QFJ']}&state=all")) == [no["C"]]
    assert sorted(_rows(_svg(b, f"?department_id={depts['CGJ']}&state=all"))) == sorted([no["A"], no["C"], no["D"]])
    # The axis chosen: B's node 2 (11-10) falls after it; counted at the edge, not drawn.
    narrow = _svg(b, "?from=2025-10-01&to=2025-10-31")
    assert narrow.get("data-start") == "2025-10-01" and narrow.get("data-end") == "2025-10-31"
    assert _count(narrow, "node-met") == 0 and _count(narrow, "node-due") == 1 and _count(narrow, "out-of-range") == 2

    # Bad filters: the page names each field next to it (422), the SVG answers the 422 page naming them, nothing drawn.
    bad = b.get("/keycases/map?lead_leader_id=abc&reason=nope&from=2025-13-01&department_id=999999")
    assert bad.status_code == 422
    from tests.web.support import soup

    page = soup(bad.text)
    assert "应为编号" in text_of(page.select_one("#e-lead_leader_id"))
    assert "backlog" in text_of(page.select_one("#e-reason"))
    assert "2025-10-06" in text_of(page.select_one("#e-from"))
    assert "没有编号或代码为“999999”的部门" in text_of(page.select_one("#e-department_id"))
    assert page.select_one("svg.battle-map") is None
    refused = b.get(f"/keycases/map.svg?lead_leader_id={ids['handler']}&from=2025-10-31&to=2025-10-01")
    assert refused.status_code == 422
    assert f"没有编号为 {ids['handler']} 的领导" in refused.text and "结束日期不能早于开始日期" in refused.text
    assert b.get("/keycases/map?from=2025-01-01&to=2026-12-31").status_code == 422  # over a year
    b.client.cookies.set("lang", "en")
    english = b.get("/keycases/map.svg?state=bogus")
    assert english.status_code == 422 and "state is one of open, resolved, all" in english.text


def test_the_page_its_table_and_who_may_open_it(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    no = scene(world, clock)
    leader = browser("leader")
    page = leader.page("/keycases/map")
    # Nothing the Content-Security-Policy would refuse, inline or standalone (web/security_headers.py).
    for path in ("/keycases/map", "/keycases/map.svg"):
        body = leader.get(path).text
        assert "<style" not in body.lower() and not re.search(r"\sstyle\s*=", body, re.IGNORECASE), path
    # The tabs, the chart inline, the same nodes as a table, a leader's own shortcut, the standalone chart.
    assert page.select_one('nav.keycase-tabs a[aria-current="page"]')["href"] == "/keycases/map"
    svg = page.select_one("div.battle-map-frame svg.battle-map")
    assert svg is not None and len(svg.select(".node-mark")) == 5
    rows = {tr["data-case"]: tr for tr in page.select("table.map-table tbody tr")}
    assert set(rows) == {no["A"], no["B"], no["D"]}
    a = text_of(rows[no["A"]])
    assert "积案" in a and "逾期完成" in a and "逾期未完成" in a and "出具整改报告" in a and "青桐街道" in a
    assert "尚未设定节点" in text_of(rows[no["D"]]) and "李副区长" in text_of(rows[no["D"]])
    tools = page.select_one(".map-tools")
    assert tools.select_one('a[href^="/keycases/map.svg"]') is not None
    assert "lead_leader_id=" in tools.select_one('a[href^="/keycases/map?"]')["href"]
    # The form keeps the chosen filters.
    chosen = browser("supervisor").page("/keycases/map?reason=backlog&state=all")
    assert chosen.select_one("#f-reason option[selected]")["value"] == "backlog"
    assert chosen.select_one("#f-state option[selected]")["value"] == "all"
    assert {tr["data-case"] for tr in chosen.select("table.map-table tbody tr")} == {no["A"], no["D"]}
    # English.
    en = browser("dispatcher")
    en.client.cookies.set("lang", "en")
    english = en.page("/keycases/map")
    assert "Battle map" in text_of(english.select_one("h1")) and "Met on time" in text_of(english.select_one("svg"))
    # Roles: the centre's supervisor and dispatcher and the leaders; not a department, not the front desk.
    for username in ("handler", "head", "intake", "admin"):
        assert browser(username).get("/keycases/map").status_code == 403
        assert browser(username).get("/keycases/map.svg").status_code == 403
    assert browser().get("/keycases/map").status_code in (302, 303)


def test_the_map_reads_a_fixed_number_of_queries_whatever_the_number_of_cases(world, clock) -> None:  # type: ignore[no-untyped-def]
    def statements(count: int) -> int:
        for _ in range(count):
            n = handling(world)
            world.act(n, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
            world.act(n, "plan_nodes", "handler", nodes=[{"name": "现场核查", "working_days": 3}])
        seen: list[str] = []
        engine = world.app.state.engine

        def count_statement(*args: Any) -> None:
            seen.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", count_statement)
        try:
            runtime = world.app.state.runtime
            with transaction(world.app.state.sessions) as session:
                actor = session.exec(select(User).where(User.username == "supervisor")).one()
                seen.clear()
                data = load_map(
                    session,
                    actor=actor,
                    filters=MapFilter(state="all"),
                    workflows=runtime.workflows.definitions,
                    calendar=runtime.calendar(session),
                    now=runtime.now(),
                    timezone=runtime.settings.timezone,
                    open_states=["handling"],
                )
                assert sum(len(r.nodes) for r in data.rows) == len(data.rows)
                return len(seen)
        finally:
            event.remove(engine, "before_cursor_execute", count_statement)

    few = statements(2)
    many = statements(6)
    assert few == many and few <= 8


def test_a_department_by_code_a_deactivated_leader_marked_and_state_all_covering_every_node(
    world, browser, clock
) -> None:  # type: ignore[no-untyped-def]
    """Trial findings (T2 M5, minors 5 and 10): the department filter takes a code as dispatch and the reports do; a
    deactivated lead leader is offered by the filter and marked 已停用 on the rows (SVG and table); with state=all
    the default axis begins before every node drawn, so none is left at the edge."""
    no = scene(world, clock)
    b = browser("supervisor")
    depts = department_ids(world)
    by_id = sorted(_rows(_svg(b, f"?department_id={depts['JD1']}")))
    assert sorted(_rows(_svg(b, "?department_id=JD1"))) == by_id == sorted([no["A"], no["B"]])
    page = b.page("/keycases/map?department_id=JD1")
    assert page.select_one("#f-department_id option[selected]")["value"] == str(depts["JD1"])
    missing = b.get("/keycases/map?department_id=NOPE")
    assert missing.status_code == 422 and "NOPE" in missing.text

    with transaction(world.app.state.sessions) as session:
        leader2 = session.exec(select(User).where(User.username == "leader2")).one()
        deactivate_user(session, leader2)
        leader2_id = int(leader2.id)  # type: ignore[arg-type]
    page = b.page("/keycases/map?state=all")
    options = {o["value"]: text_of(o) for o in page.select("#f-lead_leader_id option")}
    assert options[str(leader2_id)] == "李副区长（已停用）"
    rows = {tr["data-case"]: tr for tr in page.select("table.map-table tbody tr")}
    assert "李副区长（已停用）" in text_of(rows[no["D"]]) and "已停用" not in text_of(rows[no["A"]])
    svg = _svg(b, f"?lead_leader_id={leader2_id}&state=all")
    assert sorted(_rows(svg)) == sorted([no["C"], no["D"]])
    assert "李副区长（已停用）" in "".join(svg.itertext())

    # state=all, months later, every old node completed and one new plan open: the default axis still begins a week
    # before the earliest node drawn (A's, set 09-29), not a week before the only open node.
    clock.set(sh(2026, 2, 16, 10))
    world.act(no["A"], "complete_node", "handler", node=3, note="报告已出具")
    for seq in (1, 2):
        world.act(no["B"], "complete_node", "other_handler", node=seq, note="已完成")
    f = handling(world)
    world.act(f, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    world.act(f, "plan_nodes", "handler", nodes=[{"name": "回访", "due_date": "2026-03-06"}])
    clock.set(sh(2026, 2, 20, 12))
    everything = _svg(b, "?state=all")
    assert _count(everything, "out-of-range") == 0
    assert everything.get("data-start") == "2025-09-22"
    assert _count(everything, "node-mark") == 6
    # The open map keeps its focus on what is open: the old nodes are counted at the edge.
    assert _svg(b).get("data-start") == "2026-02-09" and _count(_svg(b), "out-of-range") > 0
