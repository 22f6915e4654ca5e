"""Due times in the rates: holidays, extensions, suspensions, and reports as of a moment in a case's life.

Due times are computed here with chinese_calendar (tests/api/_support.py), independently of the product.
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.api._support import end_of_working_days, sh
from tests.reports.metrics_support import (
    MON,
    NOVEMBER,
    SEPTEMBER,
    at,
    callback,
    counted,
    dispatched,
    explain,
    handling,
    metrics,
    rate,
    rates,
    resolve,
)

# --- National Day 2025 --------------------------------------------------------------------------

# Received Tuesday 2025-09-30 10:00, the day before the National Day holidays (1-8 October). Its 15 working
# days are 9, 10, 11 (make-up Saturday), 13-17, 20-24, 27 and 28 October: due 2025-10-29 00:00.
EVE = sh(2025, 9, 30)
HOLIDAY_DUE = sh(2025, 10, 29, 0)


def test_the_holiday_resolve_due_time_is_fifteen_working_days():
    assert end_of_working_days(date(2025, 9, 30), 15) == HOLIDAY_DUE


def test_a_case_resolved_after_the_holidays_within_fifteen_working_days_is_on_time(world, clock):
    """Resolved 28 October 16:00: 28 calendar days later, but on the 15th working day → on time, not overdue."""
    clock.set(EVE)
    no = handling(world)
    clock.set(sh(2025, 10, 28, 16))
    resolve(world, no)
    clock.set(sh(2025, 10, 30))

    figures = metrics(world, **SEPTEMBER)
    assert rate(figures, "on_time_resolution_rate") == (1, 1, 1.0)
    assert figures["overdue_count"] == {"value": 0}


def test_a_case_resolved_after_its_fifteenth_working_day_is_late_and_overdue(world, clock):
    """Resolved 29 October 09:00, nine hours after the due time → not on time, and counted overdue."""
    clock.set(EVE)
    on_time = handling(world)
    late = handling(world)
    clock.set(sh(2025, 10, 28, 16))
    resolve(world, on_time)
    clock.set(sh(2025, 10, 29, 9))
    resolve(world, late)
    clock.set(sh(2025, 10, 30))

    figures = metrics(world, **SEPTEMBER)
    assert rate(figures, "on_time_resolution_rate") == (1, 2, 0.5)
    assert counted(world, "on_time_resolution_rate", **SEPTEMBER) == [on_time]
    assert figures["overdue_count"] == {"value": 1}
    assert counted(world, "overdue_count", **SEPTEMBER) == [late]


def test_a_case_open_over_the_holidays_is_not_overdue_before_its_working_days_run_out(world, clock):
    """As of 27 October (14 working days used) the open case is not overdue; as of 29 October it is."""
    clock.set(EVE)
    handling(world)
    clock.set(sh(2025, 10, 30))

    assert metrics(world, **SEPTEMBER, as_of=at(sh(2025, 10, 27, 18)))["overdue_count"] == {"value": 0}
    assert metrics(world, **SEPTEMBER, as_of=at(HOLIDAY_DUE))["overdue_count"] == {"value": 1}


# --- the workflow's own limits ---------------------------------------------------------------------


def test_an_enterprise_case_is_measured_against_the_enterprise_limits(world, clock):
    """Enterprise cases: respond within 1 hour, resolve within 5 working days. Both cases are responded to after
    2 hours and resolved on the 6th working day: on time for the resident's case, late for the enterprise's."""
    clock.set(MON)
    resident = dispatched(world)
    enterprise = dispatched(
        world, channel="enterprise", meeting=None, enterprise="91420100MA4K00001U", title="企业用工招聘需要协调"
    )
    clock.set(MON + timedelta(hours=2))
    for no in (resident, enterprise):
        world.act(no, "accept", "handler")
        world.act(no, "respond", "handler", note="已联系")
    assert end_of_working_days(MON.date(), 5) == sh(2025, 11, 11, 0)
    clock.set(sh(2025, 11, 11, 10))
    for no in (resident, enterprise):
        resolve(world, no)

    figures = metrics(world, **NOVEMBER)
    assert counted(world, "on_time_response_rate", **NOVEMBER) == [resident]
    assert counted(world, "on_time_resolution_rate", **NOVEMBER) == [resident]
    assert counted(world, "overdue_count", **NOVEMBER) == [enterprise]
    assert rate(figures, "on_time_response_rate") == (1, 2, 0.5)


# --- extensions ---------------------------------------------------------------------------------

BASE_DUE = end_of_working_days(MON.date(), 15)  # 2025-11-25 00:00


def test_a_case_resolved_late_without_its_extension_is_on_time_with_it(world, clock):
    """Two cases resolved an hour after the 15-working-day due time; one had 3 working days' extension
    approved (due 2025-11-28 00:00) → on time 1/2; only the other is overdue."""
    clock.set(MON)
    extended = handling(world)
    plain = handling(world)
    clock.set(MON + timedelta(days=2))
    world.act(extended, "request_extension", "handler", days=3, reason="需协调供电公司")
    world.act(extended, "approve_extension", "supervisor", note="同意")
    clock.set(BASE_DUE + timedelta(hours=1))
    resolve(world, extended)
    resolve(world, plain)

    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "on_time_resolution_rate") == (1, 2, 0.5)
    assert counted(world, "on_time_resolution_rate", **NOVEMBER) == [extended]
    assert counted(world, "overdue_count", **NOVEMBER) == [plain]


def test_a_late_approval_through_a_suspension_is_refused_and_the_report_stays(world, clock):
    """The case runs past its due time and is then suspended (the missed clock keeps running); the extension
    asked for earlier can no longer be approved (before the due time only, whatever the clock's state). A report
    as of a moment after the suspension counts the case overdue, identically after the refused approval."""
    clock.set(MON)
    no = handling(world)
    clock.set(MON + timedelta(days=1))
    world.act(no, "request_extension", "handler", days=5, reason="需协调")
    clock.set(BASE_DUE + timedelta(hours=1))
    world.act(no, "suspend", "handler", reason="等待诉求人补充材料")
    as_of = at(BASE_DUE + timedelta(hours=2))
    clock.set(BASE_DUE + timedelta(hours=2))
    before = rates(world, **NOVEMBER, as_of=as_of)
    assert before["metrics"]["overdue_count"] == {"value": 1}

    clock.set(BASE_DUE + timedelta(hours=3))
    world.act(no, "approve_extension", "supervisor", expect=409, note="同意")

    assert rates(world, **NOVEMBER, as_of=as_of) == before
    assert counted(world, "overdue_count", **NOVEMBER, as_of=as_of) == [no]


# --- suspensions ----------------------------------------------------------------------------------


def test_the_suspended_time_does_not_count(world, clock):
    """Suspended Monday 10:00, resumed Wednesday 10:00: two working days paused, so the due time moves to the
    end of the 17th working day (2025-11-27 00:00). Resolved on 26 November → on time; the same resolve on a
    case never suspended is late."""
    clock.set(MON)
    suspended = handling(world)
    plain = handling(world)
    world.act(suspended, "suspend", "handler", reason="等待诉求人补充材料")
    clock.set(sh(2025, 11, 5))
    world.act(suspended, "resume", "handler", note="材料已补齐")
    assert end_of_working_days(MON.date(), 17) == sh(2025, 11, 27, 0)
    clock.set(sh(2025, 11, 26, 10))
    resolve(world, suspended)
    resolve(world, plain)

    figures = metrics(world, **NOVEMBER)
    assert counted(world, "on_time_resolution_rate", **NOVEMBER) == [suspended]
    assert counted(world, "overdue_count", **NOVEMBER) == [plain]
    assert rate(figures, "on_time_resolution_rate") == (1, 2, 0.5)


def test_a_case_suspended_before_its_due_time_is_not_overdue_while_paused(world, clock):
    """As of a day after the 15-working-day due time, the case suspended on day one is paused, not overdue;
    the case handled without a pause is overdue."""
    clock.set(MON)
    suspended = handling(world)
    running = handling(world)
    world.act(suspended, "suspend", "handler", reason="等待鉴定结果")
    clock.set(BASE_DUE + timedelta(days=1))

    assert counted(world, "overdue_count", **NOVEMBER) == [running]
    states = {item["case_no"]: item["state"] for item in explain(world, "intake_count", **NOVEMBER)["items"]}
    assert states == {suspended: "suspended", running: "handling"}


def test_a_case_suspended_after_its_due_time_stays_overdue(world, clock):
    clock.set(MON)
    no = handling(world)
    clock.set(BASE_DUE + timedelta(hours=1))
    world.act(no, "suspend", "handler", reason="等待材料")
    clock.set(BASE_DUE + timedelta(days=3))

    assert counted(world, "overdue_count", **NOVEMBER) == [no]


# --- as of a moment -------------------------------------------------------------------------------


def test_a_report_as_of_before_the_resolve_shows_the_case_unresolved(world, clock):
    clock.set(MON)
    no = handling(world)
    clock.set(MON + timedelta(days=1))
    resolve(world, no)
    clock.set(MON + timedelta(days=2))

    before = metrics(world, **NOVEMBER, as_of=at(MON + timedelta(hours=12)))
    assert rate(before, "resolution_rate") == (0, 1, 0.0)
    assert before["on_time_resolution_rate"]["value"] is None
    [item] = explain(world, "resolution_rate", "denominator", **NOVEMBER, as_of=at(MON + timedelta(hours=12)))["items"]
    assert item["state"] == "handling"

    after = metrics(world, **NOVEMBER)
    assert rate(after, "resolution_rate") == (1, 1, 1.0)


def test_a_report_regenerated_later_with_the_same_as_of_is_identical(world, clock):
    """A report as of Wednesday noon, taken then and again after the cases were resolved, called back,
    reopened, re-dispatched, merged and closed: the same JSON, and the same case lists."""
    clock.set(MON)
    a = handling(world)
    b = handling(world)
    c = world.intake()["case_no"]
    d = world.intake()["case_no"]
    clock.set(sh(2025, 11, 4))
    resolve(world, a)
    as_of = at(sh(2025, 11, 5, 12))
    params = {**NOVEMBER, "as_of": as_of, "group_by": "department,channel,month,category"}
    clock.set(sh(2025, 11, 5, 12))
    then = rates(world, **params)
    lists = {
        (key, part): explain(world, key, part, **NOVEMBER, as_of=as_of)
        for key in ("resolution_rate", "overdue_count", "callback_rate", "duplicate_count")
        for part in ("numerator", "denominator")
        if not (part == "denominator" and key in ("overdue_count", "duplicate_count"))
    }

    clock.set(sh(2025, 11, 6))
    callback(world, a, "unsatisfied", solved=False)
    world.act(a, "reopen", "dispatcher", reason="未解决")
    resolve(world, b)
    callback(world, b, "satisfied")
    world.act(b, "close", "dispatcher")
    world.act(c, "merge", "dispatcher", into=d)
    world.act(d, "dispatch", "dispatcher", department_id="JD1")
    clock.set(sh(2025, 12, 20))

    assert rates(world, **params) == then
    for (key, part), body in lists.items():
        assert explain(world, key, part, **NOVEMBER, as_of=as_of) == body, (key, part)
    assert then["metrics"]["intake_count"] == {"value": 4}
    assert rate(then["metrics"], "resolution_rate") == (1, 4, 0.25)


def test_a_case_resolved_late_stays_counted_overdue_after_a_reopen_and_an_on_time_second_round(world, clock):
    """Resolved late (29 October), called back unsatisfied, reopened and resolved again within the new round's
    15 working days: the first due time was missed, so the case is still "met late" for overdue_count, while
    its last resolution is on time."""
    clock.set(EVE)
    no = handling(world)
    clock.set(sh(2025, 10, 29, 9))
    resolve(world, no)
    clock.set(sh(2025, 10, 29, 14))
    world.act(no, "callback", "intake", reached=True, solved=False, satisfaction="unsatisfied")
    world.act(no, "reopen", "dispatcher", reason="路灯仍不亮")
    clock.set(sh(2025, 10, 31, 10))
    resolve(world, no)
    clock.set(sh(2025, 11, 3))

    figures = metrics(world, **SEPTEMBER)
    assert rate(figures, "on_time_resolution_rate") == (1, 1, 1.0)
    assert rate(figures, "reopen_rate") == (1, 1, 1.0)
    assert counted(world, "overdue_count", **SEPTEMBER) == [no]
