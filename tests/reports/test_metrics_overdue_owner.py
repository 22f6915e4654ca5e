"""Whose lateness an overdue case is: the department's own clocks (accept, respond, resolve) count for the
department, the centre's clocks (callback, `owner: centre` in the workflow files) for the centre."""

from __future__ import annotations

from tests.api._support import sh
from tests.reports.metrics_support import MON, NOVEMBER, callback, counted, department_ids, dispatched, metrics, rates


def test_a_missed_callback_is_the_centres_lateness_not_the_departments(world, clock):
    """As of Wednesday 12 November: `callback_late` was resolved on time on Monday 3rd and never called back
    (callback due Thursday 00:00); `never_accepted` still waits for CGJ's acceptance; `both` was accepted and
    resolved late on Thursday 6th and is not called back by Tuesday 00:00; `on_time` was called back in time."""
    clock.set(MON)
    callback_late = dispatched(world)
    never_accepted = dispatched(world)
    both = dispatched(world)
    on_time = dispatched(world)
    for no in (callback_late, on_time):
        world.act(no, "accept", "handler")
        world.act(no, "respond", "handler", note="已电话联系诉求人")
        world.act(no, "resolve", "handler", outcome="solved", reply="已处理完毕")
    clock.set(sh(2025, 11, 4))
    callback(world, on_time)
    clock.set(sh(2025, 11, 6))
    world.act(both, "accept", "handler")
    world.act(both, "respond", "handler", note="已电话联系诉求人")
    world.act(both, "resolve", "handler", outcome="solved", reply="已处理完毕")
    clock.set(sh(2025, 11, 12, 12))

    figures = metrics(world, **NOVEMBER)
    assert figures["overdue_count"] == {"value": 3}
    assert figures["department_overdue_count"] == {"value": 2}
    assert figures["centre_overdue_count"] == {"value": 2}
    assert counted(world, "department_overdue_count", **NOVEMBER) == [never_accepted, both]
    assert counted(world, "centre_overdue_count", **NOVEMBER) == [callback_late, both]

    [cgj] = rates(world, **NOVEMBER, group_by="department")["groups"]["department"]
    assert cgj["key"] == department_ids(world)["CGJ"]
    assert cgj["metrics"]["department_overdue_count"] == {"value": 2}
    # As of Friday 7th, before `both` had a callback due: the same split, with `both` the department's only.
    friday = {**NOVEMBER, "as_of": sh(2025, 11, 7, 12).isoformat()}
    assert counted(world, "centre_overdue_count", **friday) == [callback_late]
    assert counted(world, "department_overdue_count", **friday) == [never_accepted, both]
