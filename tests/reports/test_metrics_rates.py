"""Each metric of DOMAIN.md's "Rates" table against figures computed by hand on a few cases made through the API.

Unless a test says otherwise, the cases are received on Monday 2025-11-03 10:00 (Shanghai), a week without
holidays, and the report covers November 2025.
"""

from __future__ import annotations

from datetime import timedelta

from tests.api._support import API, end_of_working_days, sh
from tests.reports.metrics_support import (
    MON,
    NOVEMBER,
    at,
    callback,
    counted,
    dispatched,
    handling,
    metrics,
    rate,
    resolve,
    resolved,
)

# --- intake_count -------------------------------------------------------------------------------


def test_intake_count_counts_the_cases_received_in_the_local_days_of_the_period(world, clock):
    """[2025-11-01, 2025-12-01) in Shanghai time: 31 Oct 23:59 and 1 Dec 00:00 are outside, 1 Nov 00:00 and
    30 Nov 23:59 inside (the UTC day of each differs from its local day)."""
    received = {}
    for moment in (sh(2025, 10, 31, 23, 59), sh(2025, 11, 1, 0, 0), sh(2025, 11, 30, 23, 59), sh(2025, 12, 1, 0, 0)):
        clock.set(moment)
        received[moment] = world.intake()["case_no"]
    clock.set(sh(2025, 12, 2))

    figures = metrics(world, **NOVEMBER)
    assert figures["intake_count"] == {"value": 2}
    assert counted(world, "intake_count", **NOVEMBER) == [
        received[sh(2025, 11, 1, 0, 0)],
        received[sh(2025, 11, 30, 23, 59)],
    ]


def test_a_case_received_after_as_of_is_not_in_the_report(world, clock):
    clock.set(MON)
    early = world.intake()["case_no"]
    clock.set(MON + timedelta(hours=2))
    world.intake()

    figures = metrics(world, **NOVEMBER, as_of=at(MON + timedelta(hours=1)))
    assert figures["intake_count"] == {"value": 1}
    assert counted(world, "intake_count", **NOVEMBER, as_of=at(MON + timedelta(hours=1))) == [early]


# --- response_rate, on_time_response_rate ------------------------------------------------------


def test_response_rate_counts_responses_and_answers_on_the_spot(world, clock):
    """responded: the responded case and the one answered on the spot = 2; received 3 → 2/3."""
    clock.set(MON)
    responded = handling(world)
    answered = world.intake(case_type="consult")["case_no"]
    world.act(answered, "answer_on_spot", "intake", reply="携带身份证到服务大厅办理")
    waiting = dispatched(world)

    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "response_rate") == (2, 3, round(2 / 3, 6))
    assert counted(world, "response_rate", **NOVEMBER) == [responded, answered]
    assert counted(world, "response_rate", "denominator", **NOVEMBER) == [responded, answered, waiting]


def test_on_time_response_rate_counts_first_responses_by_the_respond_due_time(world, clock):
    """The respond limit is 1 working day: due Wednesday 2025-11-05 00:00. One case responded within the hour,
    one on Wednesday morning (late), one not at all → 1 on time of 3 received."""
    clock.set(MON)
    prompt = handling(world)
    late = dispatched(world)
    world.act(late, "accept", "handler")
    silent = dispatched(world)
    respond_due = end_of_working_days(MON.date(), 1)
    assert respond_due == sh(2025, 11, 5, 0)
    clock.set(sh(2025, 11, 5, 9))
    world.act(late, "respond", "handler", note="联系上了")
    clock.set(sh(2025, 11, 6))

    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "on_time_response_rate") == (1, 3, round(1 / 3, 6))
    assert rate(figures, "response_rate") == (2, 3, round(2 / 3, 6))
    assert counted(world, "on_time_response_rate", **NOVEMBER) == [prompt]
    assert counted(world, "on_time_response_rate", "denominator", **NOVEMBER) == [prompt, late, silent]


# --- resolution_rate, on_time_resolution_rate ----------------------------------------------------


def test_resolution_rate_counts_resolves_and_answers_on_the_spot_over_cases_received(world, clock):
    """resolved 1 + answered on the spot 1 = 2, of 3 received (the third is still being handled)."""
    clock.set(MON)
    done = resolved(world)
    answered = world.intake(case_type="consult")["case_no"]
    world.act(answered, "answer_on_spot", "intake", reply="可在网上办理")
    open_case = handling(world)

    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "resolution_rate") == (2, 3, round(2 / 3, 6))
    assert counted(world, "resolution_rate", **NOVEMBER) == [done, answered]
    assert counted(world, "resolution_rate", "denominator", **NOVEMBER) == [done, answered, open_case]


def test_on_time_resolution_rate_is_over_resolved_cases_only(world, clock):
    """Resolve limit 15 working days: due 2025-11-25 00:00. One case resolved the next day, one an hour after
    the due time, one still open (not in the denominator) → 1/2."""
    clock.set(MON)
    prompt = handling(world)
    late = handling(world)
    handling(world)
    clock.set(MON + timedelta(days=1))
    resolve(world, prompt)
    resolve_due = end_of_working_days(MON.date(), 15)
    assert resolve_due == sh(2025, 11, 25, 0)
    clock.set(resolve_due + timedelta(hours=1))
    resolve(world, late)
    clock.set(resolve_due + timedelta(hours=2))

    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "on_time_resolution_rate") == (1, 2, 0.5)
    assert counted(world, "on_time_resolution_rate", **NOVEMBER) == [prompt]
    assert counted(world, "on_time_resolution_rate", "denominator", **NOVEMBER) == [prompt, late]


def test_an_answer_on_the_spot_is_resolved_on_time(world, clock):
    clock.set(MON)
    answered = world.intake(case_type="consult")["case_no"]
    world.act(answered, "answer_on_spot", "intake", reply="可在网上办理")

    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "on_time_response_rate") == (1, 1, 1.0)
    assert rate(figures, "on_time_resolution_rate") == (1, 1, 1.0)


# --- overdue_count ------------------------------------------------------------------------------


def test_overdue_count_counts_clocks_running_past_due_and_clocks_met_late(world, clock):
    """Respond due 2025-11-05 00:00. As of Wednesday 10:00: the case never responded to is past due, the one
    responded on Wednesday 09:00 was met late, the one responded on Monday is fine → 2."""
    clock.set(MON)
    silent = world.intake()["case_no"]
    late = dispatched(world)
    world.act(late, "accept", "handler")
    handling(world)
    clock.set(sh(2025, 11, 5, 9))
    world.act(late, "respond", "handler", note="联系上了")
    clock.set(sh(2025, 11, 5, 10))

    assert metrics(world, **NOVEMBER)["overdue_count"] == {"value": 2}
    assert counted(world, "overdue_count", **NOVEMBER) == [silent, late]


def test_overdue_count_is_zero_before_any_due_time_passes(world, clock):
    clock.set(MON)
    world.intake()
    handling(world)
    before_due = end_of_working_days(MON.date(), 1) - timedelta(minutes=1)
    clock.set(before_due)

    assert metrics(world, **NOVEMBER)["overdue_count"] == {"value": 0}
    assert counted(world, "overdue_count", **NOVEMBER) == []


def test_a_report_as_of_the_exact_due_time_agrees_with_the_case_page(world, clock):
    """The case page says "overdue" from the due time on (and extensions are refused from then): a report
    as of that very moment counts the case overdue too."""
    clock.set(MON)
    no = world.intake()["case_no"]
    respond_due = end_of_working_days(MON.date(), 1)
    clock.set(respond_due)
    respond = next(c for c in world.get(no, "dispatcher")["clocks"] if c["name"] == "respond")
    assert respond["status"] == "overdue"

    assert metrics(world, **NOVEMBER, as_of=at(respond_due))["overdue_count"] == {"value": 1}
    assert metrics(world, **NOVEMBER, as_of=at(respond_due - timedelta(seconds=1)))["overdue_count"] == {"value": 0}


# --- callback_rate, solved_rate, satisfaction_rate, satisfaction_score ---------------------------


def _callbacks(world, clock):
    """Six cases: five resolved, of which three got a callback that reached the petitioner (satisfied and
    solved; basically satisfied and solved; unsatisfied and not solved), one a callback that did not reach
    anyone, one no callback yet; and one case still being handled."""
    clock.set(MON)
    nos = {name: resolved(world) for name in ("satisfied", "basically", "unsatisfied", "unreached", "none")}
    nos["open"] = handling(world)
    clock.set(MON + timedelta(days=1))
    callback(world, nos["satisfied"], "satisfied", solved=True)
    callback(world, nos["basically"], "basically_satisfied", solved=True)
    callback(world, nos["unsatisfied"], "unsatisfied", solved=False)
    callback(world, nos["unreached"], None)
    return nos


def test_callback_rate_counts_resolved_cases_whose_callback_reached_the_petitioner(world, clock):
    """reached callbacks 3 of 5 resolved cases; the open case is in neither."""
    nos = _callbacks(world, clock)
    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "callback_rate") == (3, 5, 0.6)
    assert counted(world, "callback_rate", **NOVEMBER) == [nos["satisfied"], nos["basically"], nos["unsatisfied"]]
    assert counted(world, "callback_rate", "denominator", **NOVEMBER) == [
        nos[k] for k in ("satisfied", "basically", "unsatisfied", "unreached", "none")
    ]


def test_solved_rate_is_over_reached_callbacks(world, clock):
    """solved 2 of the 3 reached callbacks; the unreached callback is in neither."""
    nos = _callbacks(world, clock)
    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "solved_rate") == (2, 3, round(2 / 3, 6))
    assert counted(world, "solved_rate", **NOVEMBER) == [nos["satisfied"], nos["basically"]]
    assert counted(world, "solved_rate", "denominator", **NOVEMBER) == [
        nos["satisfied"],
        nos["basically"],
        nos["unsatisfied"],
    ]


def test_satisfaction_rate_counts_satisfied_and_basically_satisfied(world, clock):
    nos = _callbacks(world, clock)
    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "satisfaction_rate") == (2, 3, round(2 / 3, 6))
    assert counted(world, "satisfaction_rate", **NOVEMBER) == [nos["satisfied"], nos["basically"]]


def test_satisfaction_score_weighs_basically_satisfied_at_the_setting(world, clock):
    """satisfied 1 + basically satisfied 0.9 + unsatisfied 0 = 1.9 points over 3 reached callbacks."""
    _callbacks(world, clock)
    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "satisfaction_score") == (1.9, 3, round(1.9 / 3, 6))
    assert figures["satisfaction_score"]["value"] == 0.633333


def test_only_the_latest_callback_counts(world, clock):
    """A callback that did not reach anyone, then one that did: the case counts as reached and satisfied."""
    clock.set(MON)
    no = resolved(world)
    callback(world, no, None)
    assert rate(metrics(world, **NOVEMBER), "callback_rate") == (0, 1, 0.0)
    callback(world, no, "satisfied")
    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "callback_rate") == (1, 1, 1.0)
    assert rate(figures, "satisfaction_rate") == (1, 1, 1.0)


# --- mediation_rate -----------------------------------------------------------------------------


def test_mediation_rate_counts_disputes_resolved_as_mediated_over_disputes_received(world, clock):
    """Disputes: one mediated, one not mediated, one open → 1/3. A help case is no dispute whatever its
    outcome."""
    clock.set(MON)
    mediated = resolved(world, "mediated", case_type="dispute")
    failed = resolved(world, "not_mediated", case_type="dispute")
    open_dispute = handling(world, case_type="dispute")
    resolved(world, "solved", case_type="help")

    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "mediation_rate") == (1, 3, round(1 / 3, 6))
    assert counted(world, "mediation_rate", **NOVEMBER) == [mediated]
    assert counted(world, "mediation_rate", "denominator", **NOVEMBER) == [mediated, failed, open_dispute]


# --- reopen: resolution, reopen_rate, callbacks after the new resolve ----------------------------


def _reopened(world, clock):
    """`redone`: resolved, unsatisfied callback, reopened, resolved again; `kept`: resolved, satisfied;
    `reopened`: resolved, unsatisfied callback, reopened and not yet resolved again."""
    clock.set(MON)
    redone, kept, reopened = resolved(world), resolved(world), resolved(world)
    clock.set(MON + timedelta(days=1))
    callback(world, kept, "satisfied")
    for no in (redone, reopened):
        callback(world, no, "unsatisfied", solved=False)
        world.act(no, "reopen", "dispatcher", reason="诉求人反映问题仍未解决")
    clock.set(MON + timedelta(days=2))
    resolve(world, redone)
    return redone, kept, reopened


def test_a_reopened_case_is_unresolved_until_resolved_again(world, clock):
    """resolved: redone and kept; reopened is not → 2/3."""
    redone, kept, reopened = _reopened(world, clock)
    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "resolution_rate") == (2, 3, round(2 / 3, 6))
    assert counted(world, "resolution_rate", **NOVEMBER) == [redone, kept]
    assert counted(world, "resolution_rate", "denominator", **NOVEMBER) == [redone, kept, reopened]


def test_reopen_rate_counts_resolved_cases_ever_reopened(world, clock):
    """Of the 2 resolved cases, redone was reopened once → 1/2; the case reopened and still open is in neither."""
    redone, kept, _ = _reopened(world, clock)
    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "reopen_rate") == (1, 2, 0.5)
    assert counted(world, "reopen_rate", **NOVEMBER) == [redone]
    assert counted(world, "reopen_rate", "denominator", **NOVEMBER) == [redone, kept]


def test_a_callback_before_the_new_resolve_does_not_count_for_it(world, clock):
    """redone's only callback came before its second resolve: callback_rate 1/2 (kept); after a callback on
    the new resolve, 2/2."""
    redone, kept, _ = _reopened(world, clock)
    assert rate(metrics(world, **NOVEMBER), "callback_rate") == (1, 2, 0.5)
    assert counted(world, "callback_rate", **NOVEMBER) == [kept]

    clock.set(MON + timedelta(days=3))
    callback(world, redone, "satisfied")
    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "callback_rate") == (2, 2, 1.0)
    assert counted(world, "callback_rate", **NOVEMBER) == [redone, kept]


def test_a_reopened_case_is_resolved_on_time_against_its_new_due_time(world, clock):
    """Reopen restarts the resolve clock: the second resolve two days later is on time."""
    redone, kept, _ = _reopened(world, clock)
    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "on_time_resolution_rate") == (2, 2, 1.0)
    assert counted(world, "on_time_resolution_rate", **NOVEMBER) == [redone, kept]


# --- duplicates ---------------------------------------------------------------------------------


def test_merged_duplicates_are_counted_apart_and_left_out_of_every_denominator(world, clock):
    """first is resolved with a satisfied callback; two duplicates are merged into it (one of them only after
    its respond due time had passed). Every rate is 1/1 and nothing is overdue."""
    clock.set(MON)
    first = world.intake()["case_no"]
    again = world.intake(petitioner={"name": "李四", "phone": "13900001111"})["case_no"]
    late_dup = world.intake(petitioner={"name": "王五", "phone": "13900002222"})["case_no"]
    world.act(again, "merge", "intake", into=first)
    world.act(first, "dispatch", "dispatcher", department_id="CGJ")
    world.act(first, "accept", "handler")
    world.act(first, "respond", "handler", note="已联系")
    resolve(world, first)
    callback(world, first, "satisfied")
    clock.set(sh(2025, 11, 6))  # after the respond due time of the duplicates
    world.act(late_dup, "merge", "dispatcher", into=first)

    figures = metrics(world, **NOVEMBER)
    assert figures["duplicate_count"] == {"value": 2}
    assert figures["intake_count"] == {"value": 1}
    assert figures["overdue_count"] == {"value": 0}
    for key in ("response_rate", "on_time_response_rate", "resolution_rate", "on_time_resolution_rate"):
        assert rate(figures, key) == (1, 1, 1.0), key
    for key in ("callback_rate", "solved_rate", "satisfaction_rate", "reopen_rate", "satisfaction_score"):
        assert figures[key]["denominator"] == 1, key
    assert counted(world, "duplicate_count", **NOVEMBER) == [again, late_dup]
    for key in ("response_rate", "resolution_rate", "on_time_resolution_rate", "callback_rate", "solved_rate"):
        assert counted(world, key, "denominator", **NOVEMBER) == [first], key


# --- zero denominators ----------------------------------------------------------------------------


def test_rates_of_an_empty_period_have_no_value(world, clock):
    clock.set(MON)
    world.intake()  # in November, not in October

    figures = metrics(world, **{"from": "2025-10-01", "to": "2025-11-01"})
    # Liaison coverage is the zone's as of the moment, not the period's cases: the World's one large
    # enterprise has its liaison.
    assert figures.pop("liaison_coverage") == {"numerator": 1, "denominator": 1, "value": 1.0}
    for key, figure in figures.items():
        if "denominator" in figure:
            assert figure == {"numerator": 0, "denominator": 0, "value": None}, key
        else:
            assert figure == {"value": 0}, key


def test_a_rate_with_a_zero_denominator_is_null_while_others_are_zero(world, clock):
    """One case received and nothing done: response 0/1 is 0 %, while the rates over resolved cases, reached
    callbacks and disputes have nothing to divide by."""
    clock.set(MON)
    world.intake()

    figures = metrics(world, **NOVEMBER)
    assert rate(figures, "response_rate") == (0, 1, 0.0)
    assert rate(figures, "resolution_rate") == (0, 1, 0.0)
    for key in (
        "on_time_resolution_rate",
        "callback_rate",
        "solved_rate",
        "satisfaction_rate",
        "satisfaction_score",
        "mediation_rate",
        "reopen_rate",
    ):
        assert figures[key]["value"] is None, key
        assert figures[key]["denominator"] == 0, key


# --- the registry ---------------------------------------------------------------------------------


def test_the_metrics_endpoint_lists_every_metric_with_its_formula(world, clock):
    response = world.client.get(f"{API}/reports/metrics", headers=world.headers("leader"))
    assert response.status_code == 200
    listed = {m["key"]: m for m in response.json()}
    assert set(listed) == {
        "intake_count",
        "response_rate",
        "on_time_response_rate",
        "resolution_rate",
        "on_time_resolution_rate",
        "overdue_count",
        "department_overdue_count",
        "centre_overdue_count",
        "callback_rate",
        "solved_rate",
        "satisfaction_rate",
        "satisfaction_score",
        "mediation_rate",
        "reopen_rate",
        "duplicate_count",
        "enterprises_served",
        "liaison_coverage",
    }
    assert listed["resolution_rate"]["numerator"] == "resolved"
    assert listed["resolution_rate"]["denominator"] == "received"
    assert listed["resolution_rate"]["formula"].startswith("办结率 = ")
    assert listed["overdue_count"]["denominator"] is None
