"""Issue 12's "done when" in a real browser (tests/keycases/test_done_when.py has it through the API on both
databases): the supervisor marks a backlog case key with its leader on the case page; once the departments have
worked it, the leader finds it on 我包案的件, reaches the battle map from the navigation and sees its three nodes
drawn, and follows the key-case report's "backlog cleared" figure to exactly this case."""

from __future__ import annotations

from typing import Any

from tests.keycases.test_done_when import received, work


class LiveClock:
    """The live server's business clock, set as the API tests set theirs."""

    def __init__(self, live: Any) -> None:
        self.live = live

    def set(self, at: Any) -> None:
        self.live.now = at


def test_the_supervisor_marks_it_and_the_leader_follows_it_to_the_map_and_the_report(live, person) -> None:  # type: ignore[no-untyped-def]
    world, clock = live.world, LiveClock(live)
    no = received(world, clock)
    supervisor = person("supervisor")
    page = supervisor.go(f"/cases/{no}")
    page.locator('details[data-for="mark_key"] > summary').click()
    form = page.locator('form[data-action="mark_key"]')
    form.locator("select[name=reason]").select_option(label="积案")
    form.locator("select[name=lead_leader_id]").select_option(label="leader")
    form.locator("textarea[name=note], input[name=note]").first.fill("三年来反复投诉")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash")
    assert world.get(no, "leader")["key_reason"] == "backlog"

    work(world, clock, no)
    leader = person("leader")
    page = leader.go("/leader/cases?finished=1")
    assert page.locator(f'tr[data-case="{no}"]').count() == 1
    page.locator("header nav a[href='/keycases']").click()
    page.locator("nav.keycase-tabs a[href='/keycases/map']").click()
    page.wait_for_selector("svg.battle-map")
    page.goto(f"{live.base}/keycases/map?state=all&from=2025-11-01&to=2025-11-30")
    row = page.locator(f'svg.battle-map g.case-row[data-case="{no}"]')
    assert row.locator("g.node-met").count() == 2 and row.locator("g.node-late-done").count() == 1
    page.goto(f"{live.base}/keycases/report?month=2025-11")
    page.locator('tr[data-metric="backlog_cleared"] a.fig').click()
    page.wait_for_load_state()
    assert no in page.locator("main").inner_text()
    leader.screenshot("key-case-journey-report")
