"""The totals above the work lists: the case list counts up to a limit and says "more than" past it (a common
word matches a tenth of a million cases), the queue's total is its tab's count, both as list_cases lists."""

from __future__ import annotations

from sqlmodel import Session, select

from grievance.cases import listing
from grievance.users.models import User
from tests.api._support import sh
from tests.web.support import soup, text_of
from web.i18n import LOCALE_COOKIE
from web.pages.work import cases as work_cases
from web.pages.work.common import department_states


def test_the_case_list_counts_up_to_its_limit(world, browser, clock, app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock.set(sh(2025, 11, 3))
    for i in range(4):
        world.intake(title=f"路灯不亮{i}", description="晚上很黑")
    world.intake(title="井盖缺失", description="有人差点掉下去")
    monkeypatch.setattr(work_cases, "PAGE_SIZE", 2)
    monkeypatch.setattr(work_cases, "COUNT_LIMIT", 10)
    heading = text_of(browser("supervisor").page("/cases?q=路灯").find("h1"))
    assert "共 4 件" in heading
    monkeypatch.setattr(work_cases, "COUNT_LIMIT", 4)
    assert "共 4 件" in text_of(browser("supervisor").page("/cases?q=路灯").find("h1"))  # exactly the limit
    monkeypatch.setattr(work_cases, "COUNT_LIMIT", 2)
    page = browser("supervisor").page("/cases?q=路灯")
    assert "超过 2 件" in text_of(page.find("h1"))
    assert "统计报表" in page.select_one("h1 .count")["title"]
    english = browser("supervisor")
    english.client.cookies.set(LOCALE_COOKIE, "en")
    assert "more than 2" in text_of(english.page("/cases?q=路灯").find("h1"))
    monkeypatch.setattr(work_cases, "PAGE_SIZE", 50)
    assert "共 1 件" in text_of(browser("supervisor").page("/cases?q=井盖").find("h1"))  # one page: no count at all
    with Session(app.state.engine) as session:
        supervisor = session.exec(select(User).where(User.username == "supervisor")).one()
        runtime = app.state.runtime
        filters = listing.CaseFilter(q="路灯")
        assert listing.count_cases(session, runtime, supervisor, filters) == 4
        assert listing.count_cases(session, runtime, supervisor, filters, at_most=2) == 3
        assert listing.count_cases(session, runtime, supervisor, filters, at_most=4) == 4
        assert listing.count_cases(session, runtime, supervisor, filters, at_most=0) == 1


def test_the_queue_total_is_the_count_of_its_view(world, browser, clock, app) -> None:  # type: ignore[no-untyped-def]
    """Each view of the queue states how many cases it lists over all its pages: what list_cases lists."""
    clock.set(sh(2025, 11, 3))
    numbers = []
    for i in range(5):
        no = world.intake(title=f"排水不畅{i}")["case_no"]
        world.act(no, "dispatch", "dispatcher", department_id="CGJ")
        numbers.append(no)
    with Session(app.state.engine) as session:
        handler = session.exec(select(User).where(User.username == "handler")).one()
    for no in numbers[:2]:
        world.act(no, "accept", "head")
        world.act(no, "assign", "head", handler_id=handler.id)
    with Session(app.state.engine) as session:
        runtime = app.state.runtime
        states = department_states(runtime)
        base = {"state": states, "department_id": handler.department_id}
        expected = {
            "all": listing.count_cases(session, runtime, handler, listing.CaseFilter(**base)),
            "mine": listing.count_cases(session, runtime, handler, listing.CaseFilter(**base, assignee_id=handler.id)),
            "unassigned": listing.count_cases(session, runtime, handler, listing.CaseFilter(**base, unassigned=True)),
        }
    assert expected == {"all": 5, "mine": 2, "unassigned": 3}
    for view, n in expected.items():
        assert f"共 {n} 件" in text_of(browser("handler").page(f"/queue?view={view}").find("h1")), view


def test_the_queue_tally_counts_the_whole_view_on_every_page(world, browser, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """超期 / 即将到期 / 其余 above the queue sum to its total on every page, as the view's filters count them (a
    trial found page 2 saying 0 overdue while 4 were, and paused cases counted nowhere)."""
    from web.pages.work import queue as work_queue

    clock.set(sh(2025, 11, 3))
    for i in range(4):
        no = world.intake(title=f"噪音扰民{i}")["case_no"]
        world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    clock.set(sh(2025, 11, 10))  # a week later: the four are late to be signed for
    for i in range(2):
        no = world.intake(title=f"占道经营{i}")["case_no"]
        world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    monkeypatch.setattr(work_queue, "PAGE_SIZE", 4)
    head = browser("head")
    first = head.page("/queue?view=all")
    more = first.select_one("a[rel=next]")
    assert more is not None
    second = head.page(more["href"])
    for page in (first, second):
        tally = text_of(page.select_one(".tally"))
        assert tally.startswith("已超期 4 即将到期 0") and "其余 2" in tally and "本页" not in tally, tally
        assert "共 6 件" in text_of(page.find("h1"))


def test_a_search_too_long_for_the_api_is_refused_on_the_page_too(world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    """The page said nothing and searched the first 100 characters; it refuses as the API does, naming the limit."""
    clock.set(sh(2025, 11, 3))
    long = "路灯" * 51  # 102 characters
    response = browser("supervisor").get(f"/cases?q={long}")
    assert response.status_code == 422
    page = soup(response.text)
    assert "最多 100 个字符" in text_of(page.select_one("#e-q")), text_of(page.select_one("#e-q"))
    api = world.client.get("/api/v1/cases", params={"q": long}, headers=world.headers("supervisor"))
    assert api.status_code == 422
