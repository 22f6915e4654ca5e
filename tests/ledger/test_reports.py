"""Imported cases count in the reports exactly like live ones: a small October ledger, and its figures worked
out by hand from DOMAIN.md's definitions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api._support import API, sh
from tests.ledger._support import csv_bytes, records, upload

HANDLED = {"department": "CGJ", "dispatched_at": "{d} 09:30", "accepted_at": "{d} 10:00"}


def handled(day: str, **row: Any) -> dict[str, Any]:
    return {**{k: v.format(d=day) for k, v in HANDLED.items()}, "received_at": f"{day} 09:00", **row}


# October 2025 (the 11th, a Saturday, is a make-up working day).
ROWS = [
    # A: on time throughout; reached, solved, satisfied.
    handled(
        "2025-10-09",
        case_no="A",
        responded_at="2025-10-09 11:00",
        resolved_at="2025-10-15 10:00",
        outcome="solved",
        callback_at="2025-10-16 10:00",
        callback_reached="是",
        solved="是",
        satisfaction="满意",
        closed_at="2025-10-17 10:00",
    ),
    # B: responded after its working day (due the end of 10 October), resolved after 15 (due the end of
    # 29 October); reached, not solved, basically satisfied.
    handled(
        "2025-10-09",
        case_no="B",
        responded_at="2025-10-13 10:00",
        resolved_at="2025-11-20 10:00",
        outcome="explained",
        callback_at="2025-11-21 10:00",
        callback_reached="是",
        solved="否",
        satisfaction="基本满意",
    ),
    # C: a dispute mediated; the callback did not reach the petitioner: an attempt, the centre's clock runs out.
    handled(
        "2025-10-10",
        case_no="C",
        case_type="矛盾纠纷",
        responded_at="2025-10-10 11:00",
        resolved_at="2025-10-20 10:00",
        outcome="已化解",
        callback_at="2025-10-21 10:00",
        callback_reached="否",
    ),
    # D: a dispute not mediated, unsatisfied, reopened and still open (its new round runs out in November).
    handled(
        "2025-10-13",
        case_no="D",
        case_type="矛盾纠纷",
        responded_at="2025-10-13 11:00",
        resolved_at="2025-10-20 10:00",
        outcome="未化解",
        callback_at="2025-10-21 10:00",
        callback_reached="是",
        solved="否",
        satisfaction="不满意",
        reopened_at="2025-10-21 15:00",
    ),
    # E: extended, resolved within the extension, never called back (the centre's clock runs out).
    handled(
        "2025-10-14",
        case_no="E",
        responded_at="2025-10-14 11:00",
        resolve_due_at="2025-11-04 00:00",
        extended_due_at="2025-11-11 00:00",
        resolved_at="2025-11-07 10:00",
        outcome="solved",
    ),
    # F: a duplicate of A: counted apart, in no denominator.
    {"case_no": "F", "received_at": "2025-10-15 09:00", "duplicate_of": "A"},
    # G: answered on the spot; reached, solved, satisfied.
    {
        "case_no": "G",
        "received_at": "2025-10-16 09:00",
        "case_type": "咨询",
        "resolved_at": "2025-10-16 09:10",
        "outcome": "当场答复",
        "callback_at": "2025-10-17 10:00",
        "callback_reached": "是",
        "solved": "是",
        "satisfaction": "满意",
        "closed_at": "2025-10-20 10:00",
    },
    # H: dispatched and never accepted.
    {"case_no": "H", "received_at": "2025-10-20 09:00", "department": "CGJ", "dispatched_at": "2025-10-20 09:30"},
    # J: reopened, then resolved again in time; reached, solved, satisfied.
    handled(
        "2025-10-21",
        case_no="J",
        responded_at="2025-10-21 11:00",
        reopened_at="2025-10-22 10:00",
        resolved_at="2025-10-24 10:00",
        outcome="solved",
        callback_at="2025-10-27 10:00",
        callback_reached="是",
        solved="是",
        satisfaction="满意",
        closed_at="2025-10-28 10:00",
    ),
    # K: received in November, outside the period.
    {"case_no": "K", "received_at": "2025-11-03 09:00"},
]
HEADER = list(dict.fromkeys(["case_no", "received_at", "channel", "case_type", "title", *(k for r in ROWS for k in r)]))
PERIOD = {"from": "2025-10-01", "to": "2025-11-01", "as_of": "2025-12-31T00:00:00+08:00"}


@pytest.fixture(autouse=True)
def after_the_period(clock):  # type: ignore[no-untyped-def]
    """Reports are read as of 31 December: by then it must be the past."""
    clock.set(sh(2026, 1, 1))


def ledger() -> bytes:
    rows = [{"channel": "12345热线", "case_type": "求助", "title": f"诉求{r['case_no']}", **r} for r in ROWS]
    return csv_bytes(HEADER, records(HEADER, rows), bom=True)


def report(world: Any, **params: Any) -> dict[str, Any]:
    response = world.client.get(f"{API}/reports/rates", params={**PERIOD, **params}, headers=world.headers("leader"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def cases_of(world: Any, metric: str, part: str = "numerator") -> list[str]:
    response = world.client.get(
        f"{API}/reports/rates/{metric}/cases", params={**PERIOD, "part": part}, headers=world.headers("leader")
    )
    assert response.status_code == 200, response.text
    return [item["case_no"] for item in response.json()["items"]]


def test_imported_cases_give_the_figures_worked_out_by_hand(world):
    assert upload(world, "十月.csv", ledger())["created"] == len(ROWS)
    m = report(world, group_by="case_type")["metrics"]

    def figure(key: str) -> tuple[Any, ...]:
        return tuple(m[key].get(part) for part in ("numerator", "denominator", "value"))

    # Received: A B C D E G H J (F is merged, K is November's).
    assert m["intake_count"] == {"value": 8}
    assert m["duplicate_count"] == {"value": 1}
    assert figure("response_rate") == (7, 8, 0.875)  # all but H
    assert figure("on_time_response_rate") == (6, 8, 0.75)  # and not B
    assert figure("resolution_rate") == (6, 8, 0.75)  # A B C E G J; D is open again
    assert figure("on_time_resolution_rate") == (5, 6, 0.833333)  # all but B; E within its extension
    assert m["overdue_count"] == {"value": 5}  # B late; C's and E's callback; D's new round; H never accepted
    assert figure("callback_rate") == (4, 6, 0.666667)  # A B G J reached after their last resolution
    assert figure("solved_rate") == (3, 5, 0.6)  # reached: A B D G J; solved: A G J
    assert figure("satisfaction_rate") == (4, 5, 0.8)  # A B G J
    assert figure("satisfaction_score") == (3.9, 5, 0.78)  # 1 + 0.9 + 0 + 1 + 1
    assert figure("mediation_rate") == (1, 2, 0.5)  # C of C and D
    assert figure("reopen_rate") == (1, 6, 0.166667)  # J
    assert m["enterprises_served"] == {"value": 0}

    # Each figure lists exactly its cases.
    assert cases_of(world, "overdue_count") == ["B", "C", "D", "E", "H"]
    assert cases_of(world, "department_overdue_count") == ["B", "D", "H"]  # E's missed time limit is the callback
    assert cases_of(world, "centre_overdue_count") == ["C", "E"]  # C was never reached
    assert cases_of(world, "on_time_resolution_rate") == ["A", "C", "E", "G", "J"]
    assert cases_of(world, "reopen_rate") == ["J"]
    assert cases_of(world, "duplicate_count") == ["F"]
    assert cases_of(world, "callback_rate") == ["A", "B", "G", "J"]


def test_imported_cases_group_by_department_and_type(world):
    upload(world, "十月.csv", ledger())
    groups = report(world, group_by="department,case_type")["groups"]
    departments = {row["label"]: row["metrics"]["intake_count"]["value"] for row in groups["department"]}
    assert departments == {"城市管理局": 7, "未派单": 1}  # G was answered at the desk
    types = {row["key"]: row["metrics"] for row in groups["case_type"]}
    assert set(types) == {"help", "dispute", "consult"}
    assert types["dispute"]["mediation_rate"] == {"numerator": 1, "denominator": 2, "value": 0.5}
    assert types["consult"]["on_time_resolution_rate"]["value"] == 1.0


def test_as_of_before_the_import_dates_shows_the_past(world):
    """The ledger's historical times are the events' times: a report as of 16 October 12:00 sees only
    what had happened by then."""
    upload(world, "十月.csv", ledger())
    m = report(world, as_of="2025-10-16T08:00:00+08:00")["metrics"]
    assert m["intake_count"] == {"value": 5}  # A B C D E (F merged; G received at 9:00)
    assert (m["resolution_rate"]["numerator"], m["resolution_rate"]["denominator"]) == (1, 5)  # A
    assert m["duplicate_count"] == {"value": 1}
