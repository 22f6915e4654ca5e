"""Privacy towards departments that do not handle a case, and the limits DOMAIN.md puts on actions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from tests.api._support import API, clock_of, fire, sh, ts

MON = sh(2025, 11, 3)


def test_a_pool_case_shows_the_petitioner_only_to_the_department_that_claims_it(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "publish", "dispatcher")
    before = world.get(no, "handler")["petitioner"]
    assert before["phone"] == "138****1234" and before["masked"] is True
    world.act(no, "claim", "handler")
    after = world.get(no, "handler")["petitioner"]
    assert after["phone"] == "13812341234" and after["masked"] is False


def test_a_report_about_the_centre_is_hidden_from_every_centre_role(world, clock):
    clock.set(MON)
    no = world.intake(
        channel="hotline", meeting=None, case_type="report", title="举报服务中心人员", accused_department="ZX"
    )["case_no"]
    for user in ("intake", "dispatcher", "supervisor"):  # all of department ZX
        assert world.get(no, user, expect=404)["error"] == "not_found", user
        listed = world.client.get(f"{API}/cases", headers=world.headers(user)).json()["items"]
        assert no not in [c["case_no"] for c in listed], user
    assert world.get(no, "leader")["confidential"] is True  # the leader belongs to no department


def test_the_warning_comes_at_eighty_percent_of_the_working_time(world, clock):
    # Received Tue 30 Sep 2025 10:00: 1 working day to respond ends at midnight after Thu 9 Oct. The
    # working time is 14 h on 30 Sep plus 24 h on 9 Oct; 80% of 38 h is 30.4 h, so 9 Oct 16:24.
    clock.set(sh(2025, 9, 30, 10))
    no = world.intake()["case_no"]
    clock.set(sh(2025, 10, 8, 12))  # still a holiday: not due soon
    item = world.client.get(f"{API}/cases", headers=world.headers("dispatcher")).json()["items"][0]
    assert item["due_soon"] is False
    clock.set(sh(2025, 10, 9, 16, 30))
    assert clock_of(world.get(no, "dispatcher"), "respond")["status"] == "due_soon"
    soon = world.client.get(f"{API}/cases", params={"due_soon": True}, headers=world.headers("dispatcher"))
    assert [c["case_no"] for c in soon.json()["items"]] == [no]


def test_the_warning_moves_with_the_due_time_after_a_suspension(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系")
    clock.set(MON + timedelta(days=1))
    world.act(no, "suspend", "handler", reason="等待诉求人补充材料")
    clock.set(MON + timedelta(days=28))  # suspended past the original warning
    resumed = world.act(no, "resume", "handler")
    assert clock_of(resumed, "resolve")["status"] == "running"  # not "due soon" the moment it resumes


def test_re_routing_a_returned_petition_keeps_its_sixty_days(world, clock):
    clock.set(MON)
    no = world.intake(channel="walk_in", meeting=None, case_type="petition", title="征迁补偿信访")["case_no"]
    accepted = world.act(no, "accept_petition", "dispatcher", department_id="JD1", notice="已受理")
    due = clock_of(accepted, "resolve")["due_at"]
    world.act(no, "return", "other_handler", reason="不属于本单位职责")
    clock.set(MON + timedelta(days=3))
    again = world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    assert clock_of(again, "resolve")["due_at"] == due
    assert clock_of(again, "accept")["status"] == "running"  # the new department must accept in time


def test_an_extension_is_approved_before_the_due_time_only(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系")
    due = ts(clock_of(world.get(no, "handler"), "resolve")["due_at"])
    clock.set(due - timedelta(hours=2))
    world.act(no, "request_extension", "handler", days=3, reason="需协调")
    clock.set(due + timedelta(minutes=1))
    late = fire(world, no, "approve_extension", "supervisor")
    assert late.status_code == 409
    assert "due time" in late.json()["message_en"]


def test_the_third_dispatch_is_the_supervisors_designation_and_final(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    for department, handler in (("CGJ", "handler"), ("JD1", "other_handler")):
        world.act(no, "dispatch", "dispatcher", department_id=department)
        world.act(no, "return", handler, reason="非本单位职责")
    refused = fire(world, no, "dispatch", "dispatcher", department_id="CGJ")
    assert refused.status_code == 409
    assert "supervisor designates" in refused.json()["message_en"]
    assert world.act(no, "dispatch", "supervisor", department_id="CGJ")["dispatch_count"] == 3
    assert fire(world, no, "return", "handler", reason="仍非本单位").status_code == 409


def test_out_of_range_references_are_refused_naming_the_field_not_errors(world, clock):
    clock.set(MON)
    huge = "99999999999999999999"  # beyond a 32-bit id: refused as input (issue 10), not a 500
    response = world.client.get(f"{API}/cases/{huge}", headers=world.headers("dispatcher"))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "ref"
    bad = world.intake(expect=422, meeting=2**70)
    assert bad["errors"][0]["field"] == "meeting"
    naive = "WyJyZWNlaXZlZCIsICIyMDI1LTExLTAzVDEwOjAwOjAwIiwgMV0"  # ["received", "2025-11-03T10:00:00", 1]
    response = world.client.get(f"{API}/cases", params={"cursor": naive}, headers=world.headers("dispatcher"))
    assert response.status_code == 422
    preview = world.client.get(
        f"{API}/calendar/due",
        params={"start": "2025-09-30T10:00:00+08:00", "amount": 100000, "unit": "working_days"},
        headers=world.headers("dispatcher"),
    )
    assert preview.status_code == 422
    assert "at most a year" in preview.json()["errors"][0]["message_en"]


def test_duplicate_hints_that_show_a_report_are_audited(world, clock, engine):
    clock.set(MON)
    world.intake(
        channel="hotline",
        meeting=None,
        case_type="report",
        title="举报青桐街道违规收费",
        accused_department="JD1",
        petitioner={"phone": "13700001111"},
    )
    hints = world.intake(channel="hotline", meeting=None, petitioner={"phone": "13700001111"})["possible_duplicates"]
    assert len(hints) == 1
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_log")).scalars().all()
    assert "hint_confidential" in actions


def test_importing_next_years_holidays_moves_running_due_times(world, clock):
    # Received Mon 28 Dec 2026 10:00 with 15 working days to resolve. The statutory package knows no
    # 2027, so Fri 1 Jan 2027 counts as a working day: Dec 29-31 (3), Jan 1 (4), Jan 4-8 (9),
    # Jan 11-15 (14), Jan 18 (15): due at midnight after 18 Jan.
    clock.set(sh(2026, 12, 28, 10))
    no = world.intake()["case_no"]
    case = world.get(no, "dispatcher")
    assert ts(clock_of(case, "resolve")["due_at"]) == sh(2027, 1, 19, 0)
    respond_due = ts(clock_of(case, "respond")["due_at"])
    assert respond_due == sh(2026, 12, 30, 0)

    # The administrator adds New Year's Day, as the fallback warning asks.
    clock.set(sh(2026, 12, 29, 9))
    response = world.client.put(
        f"{API}/calendar/overrides", json={"day": "2027-01-01", "kind": "holiday"}, headers=world.headers("admin")
    )
    assert response.status_code == 200, response.text
    assert response.json()["cases_rescheduled"] == 1
    case = world.get(no, "dispatcher")
    assert ts(clock_of(case, "resolve")["due_at"]) == sh(2027, 1, 20, 0)  # one working day later
    assert ts(clock_of(case, "respond")["due_at"]) == respond_due  # due before the changed day: unchanged
    listed = world.client.get(f"{API}/cases", params={"sort": "due"}, headers=world.headers("dispatcher"))
    assert ts(listed.json()["items"][0]["next_due_at"]) == respond_due

    # Removing the override moves it back.
    removed = world.client.delete(f"{API}/calendar/overrides/2027-01-01", headers=world.headers("admin"))
    assert removed.status_code == 204
    assert ts(clock_of(world.get(no, "dispatcher"), "resolve")["due_at"]) == sh(2027, 1, 19, 0)


def test_a_late_callback_is_the_centres_overdue_not_the_departments(world, clock):
    clock.set(MON)
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已联系")
    resolved = world.act(no, "resolve", "handler", outcome="solved", reply="已修复")
    callback = clock_of(resolved, "callback")
    assert callback["owner"] == "centre" and callback["status"] == "running"
    clock.set(ts(callback["due_at"]) + timedelta(hours=1))  # the centre missed its callback

    def overdue(user: str) -> list[tuple[str, bool]]:
        response = world.client.get(f"{API}/cases", params={"overdue": True}, headers=world.headers(user))
        return [(c["case_no"], c["overdue"]) for c in response.json()["items"]]

    assert overdue("handler") == []  # the department resolved on time
    assert overdue("supervisor") == [(no, True)]
    mine = world.client.get(f"{API}/cases", headers=world.headers("handler")).json()["items"]
    assert [(c["case_no"], c["overdue"]) for c in mine] == [(no, False)]
