"""A work order from another system (the 12345 platform) keeps that system's deadline: the resolve clock is due no
later than it, so lists, board, sweeper and the on-time rate read the deadline the zone is assessed on."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

from grievance.cases.schemas import CaseCreate
from grievance.cases.service import ExternalOrder, intake_case
from grievance.db import transaction
from grievance.users.models import User
from tests.api._support import due, sh, ts

MON = sh(2025, 11, 3)  # a quiet working week


def _with_external_due(world, due_at: datetime) -> str:  # type: ignore[no-untyped-def]
    """A hotline case taken in as a 12345 order with the platform's deadline, the way the inbound endpoint does."""
    app = world.app
    with transaction(app.state.sessions) as session:
        actor = session.exec(select(User).where(User.username == "intake")).one()
        result = intake_case(
            session,
            app.state.runtime,
            case_in=CaseCreate.model_validate(world.case_body(channel="hotline")),
            actor=actor,
            external=ExternalOrder("12345", f"T-{due_at.timestamp():.0f}", due_at),
        )
        return str(result.case.case_no)


def test_the_platforms_earlier_deadline_is_the_resolve_due_time(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    platform_due = MON + timedelta(days=1, hours=3)  # Tuesday, well before our 15 working days
    no = _with_external_due(world, platform_due)
    case = world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    assert due(case, "resolve") == platform_due
    assert ts(case["next_due_at"]) is not None and ts(case["next_due_at"]) <= platform_due
    # Past it, the case is overdue like any other.
    clock.set(platform_due + timedelta(minutes=5))
    case = world.get(no, "handler")
    resolve = next(c for c in case["clocks"] if c["name"] == "resolve")
    assert resolve["status"] == "overdue"


def test_a_later_platform_deadline_leaves_our_limit(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    ours = world.act(world.intake(channel="hotline")["case_no"], "dispatch", "dispatcher", department_id="CGJ")
    no = _with_external_due(world, MON + timedelta(days=60))
    case = world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    assert due(case, "resolve") == due(ours, "resolve")


def test_a_platform_deadline_already_past_at_dispatch_is_overdue_at_once(world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = _with_external_due(world, MON - timedelta(hours=1))
    case = world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    resolve = next(c for c in case["clocks"] if c["name"] == "resolve")
    assert ts(resolve["due_at"]) == MON - timedelta(hours=1)
    assert resolve["status"] == "overdue"


def test_the_platforms_deadline_reads_as_its_day_and_a_calendar_change_does_not_move_it(world, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from bs4 import BeautifulSoup

    from grievance.workflow import calendar_service
    from tests.web.support import Browser

    clock.set(MON)
    platform_due = sh(2025, 11, 7, 18)  # Friday
    no = _with_external_due(world, platform_due)
    ours = world.intake(channel="hotline")["case_no"]
    world.act(ours, "dispatch", "dispatcher", department_id="CGJ")
    case = world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    resolve = next(c for c in case["clocks"] if c["name"] == "resolve")
    assert resolve["limit"] == "2025-11-07 working_days"
    page = BeautifulSoup(Browser(world.app, "dispatcher").get(f"/cases/{no}").text, "html.parser")
    row = next(tr for tr in page.select("tr") if "办结时限" in tr.get_text())
    assert "2025-11-07" in row.get_text() and "15个工作日" not in row.get_text()
    # A holiday declared on Wednesday moves our own 15-working-day clock, never the platform's day.
    before = due(world.get(ours, "dispatcher"), "resolve")
    with transaction(world.app.state.sessions) as session:
        calendar_service.change_overrides(session, [(date(2025, 11, 5), False, "临时休假")], now=MON)
    world.app.state.runtime.forget_calendar()
    assert due(world.get(no, "dispatcher"), "resolve") == platform_due
    assert due(world.get(ours, "dispatcher"), "resolve") > before
