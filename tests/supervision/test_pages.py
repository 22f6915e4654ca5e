"""What people see of automatic supervision: the board tells automatic urges from manual ones, per case and per
department, in Chinese and English; the case timeline names the system as the actor; the API detail and the
public tracking page read a case with system events as any other."""

from __future__ import annotations

from sqlmodel import select

from grievance.db import transaction
from grievance.reference.models import Department
from tests.factories import World
from tests.supervision.helpers import dispatched, local, sweep
from tests.web.support import Browser, soup, text_of

ACCEPT_WARN = local(2025, 9, 30, 16, 24)


def _row(section, case_no: str):  # type: ignore[no-untyped-def]
    return section.select_one(f'tr[data-case="{case_no}"]')


def _urges(row) -> str:  # type: ignore[no-untyped-def]
    """The row's urge line as one reads it (get_text without separators: the brackets hug their text)."""
    return " ".join(row.select_one(".urges").get_text().split())


def test_the_board_shows_which_urges_were_automatic(world: World, app, clock) -> None:  # type: ignore[no-untyped-def]
    no = dispatched(world)
    quiet = dispatched(world, title="无人催办的件")
    assert sweep(app, ACCEPT_WARN).urged == 4  # accept and respond of both cases
    clock.set(ACCEPT_WARN)
    world.act(no, "urge", "supervisor", note="请尽快签收")
    supervisor = Browser(app, "supervisor")
    page = supervisor.page("/board")
    due_soon = page.find("h2", id="h-due-soon").find_parent("section")
    split = _row(due_soon, no).select_one(".urge-split")
    assert (split["data-automatic"], split["data-manual"]) == ("2", "1")
    assert _urges(_row(due_soon, no)) == "已催办 3 次（自动催办 2 次，人工催办 1 次）"
    assert _urges(_row(due_soon, quiet)) == "已催办 2 次（自动催办 2 次，人工催办 0 次）"
    by_department = page.find("h2", id="h-urges").find_parent("section")
    with transaction(app.state.sessions) as session:
        cgj = session.exec(select(Department).where(Department.code == "CGJ")).one()
    line = by_department.select_one(f'tr[data-department="{cgj.id}"]')
    assert text_of(line.select_one(".automatic")) == "4" and text_of(line.select_one(".manual")) == "1"
    assert "城市管理局" in text_of(line)

    supervisor.client.cookies.set("lang", "en")
    english = supervisor.page("/board")
    row = _row(english.find("h2", id="h-due-soon").find_parent("section"), no)
    assert _urges(row) == "Urged 3 times (2 automatic, 1 manual)"
    assert "Urges by department (open cases)" in text_of(english) and "Automatic urges" in text_of(english)


def test_the_board_says_so_when_nothing_was_urged(world: World, app) -> None:  # type: ignore[no-untyped-def]
    dispatched(world)
    page = Browser(app, "supervisor").page("/board")
    section = page.find("h2", id="h-urges").find_parent("section")
    assert "未办结件中没有被催办的" in text_of(section) and section.select_one("table") is None


def test_the_timeline_names_the_system_as_the_actor(world: World, app, clock) -> None:  # type: ignore[no-untyped-def]
    no = dispatched(world)
    sweep(app, ACCEPT_WARN)
    sweep(app, local(2025, 10, 1, 9, 0))
    clock.set(local(2025, 10, 1, 9, 0))
    handler = Browser(app, "handler")
    items = [text_of(li) for li in handler.page(f"/cases/{no}").select("ol.timeline li")]
    urges = [t for t in items if "系统自动催办" in t]
    overdue = [t for t in items if "已超期（系统记录）" in t]
    assert len(urges) == 2 and len(overdue) == 2
    assert all("系统" in t.replace("系统自动催办", "").replace("系统记录", "") for t in urges + overdue)
    assert any("签收时限" in t and "9月30日 24:00" in t for t in urges), urges
    assert not any("automatic" in t or "due_at" in t for t in items)  # the payload is read, not dumped

    handler.client.cookies.set("lang", "en")
    english = [text_of(li) for li in handler.page(f"/cases/{no}").select("ol.timeline li")]
    assert sum("System: automatic urge" in t for t in english) == 2
    assert sum("Overdue (recorded by the system)" in t for t in english) == 2
    assert all(" System " in f" {t} " for t in english if "System: automatic urge" in t)


def test_the_api_and_the_public_page_read_a_case_with_system_events(world: World, app) -> None:  # type: ignore[no-untyped-def]
    no = dispatched(world)
    sweep(app, ACCEPT_WARN)
    detail = world.get(no, "handler")
    system = [e for e in detail["timeline"] if e["actor"] is None and e["action"] == "auto_urge"]
    assert len(system) == 2 and all(e["payload"]["automatic"] is True for e in system)
    code = world.get(no, "intake")["query_code"]
    response = Browser(app).post("/track", {"code": code})
    assert response.status_code == 200
    assert no in text_of(soup(response.text).find("main"))
