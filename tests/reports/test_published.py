"""Published months (发布月报, issue 13): a supervisor freezes a complete month's report; the month's report, the
trend of later months and the headline's comparison read the frozen figures; what changed since publication names
the cases and figures; a correction is a new version with a reason, the earlier one kept; files of a published
month are its stored document, byte for byte. Through the API, the CLI and the pages, on both databases.

November 2025: one case resolved (its callback still due when the month is published, made late afterwards), one
case still being handled; October: one case, for the month before."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

from grievance.db import transaction
from grievance.reports import exports
from grievance.reports.models import PublishedMonth
from tests.api._support import API, sh
from tests.factories import World
from tests.reports.metrics_support import handling, resolve
from tests.web.support import Browser, text_of

MONTHLY = API + "/reports/monthly"


@pytest.fixture
def browser(app, world) -> Any:  # type: ignore[no-untyped-def]
    """browser("leader") -> a Browser signed in as that World user (tests/web/support.py)."""
    return lambda username=None: Browser(app, username)


@pytest.fixture
def november(world: World, clock: Any) -> dict[str, str]:
    clock.set(sh(2025, 10, 14, 9))
    october = handling(world)
    clock.set(sh(2025, 11, 5, 9))
    resolved = handling(world, title="路灯不亮")
    resolve(world, resolved)
    open_case = handling(world, title="井盖缺失")
    clock.set(sh(2025, 12, 2, 10))  # November is over
    return {"october": october, "resolved": resolved, "open": open_case}


def get(world: World, url: str, user: str = "leader", expect: int = 200, **params: Any) -> Any:
    response = world.client.get(url, params=params, headers=world.headers(user))
    assert response.status_code == expect, response.text
    return response


def publish(world: World, month: str, user: str = "supervisor", expect: int = 201, **body: Any) -> Any:
    response = world.client.post(f"{MONTHLY}/{month}/publish", json=body, headers=world.headers(user))
    assert response.status_code == expect, response.text
    return response.json()


def headline(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return next(item for item in doc["headline"] if item["key"] == key)


def trend_row(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return next(row for row in doc["trend"] if row["key"] == key)


def test_a_published_month_stays_frozen_and_later_reports_read_it(world: World, clock: Any, november) -> None:
    published = publish(world, "2025-11")
    assert published["version"] == 1 and published["official"] and published["published_by"]["username"] == "supervisor"
    assert published["as_of"] == "2025-12-02T10:00:00+08:00" and published["intact"]

    # A late callback on a November case after publication.
    clock.set(sh(2025, 12, 5, 15))
    world.act(november["resolved"], "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")

    frozen = get(world, f"{MONTHLY}/2025-11").json()
    assert frozen["source"] == "published" and frozen["published"]["version"] == 1
    assert frozen["period"]["as_of"] == "2025-12-02T10:00:00+08:00"
    assert (
        headline(frozen, "callback_rate")["numerator"] == 0 and headline(frozen, "satisfaction_rate")["value"] is None
    )
    live = get(world, f"{MONTHLY}/2025-11", live="true").json()
    assert live["source"] == "live" and live["published"]["version"] == 1
    assert headline(live, "callback_rate")["numerator"] == 1 and headline(live, "satisfaction_rate")["value"] == 1

    changes = get(world, f"{MONTHLY}/2025-11/changes").json()
    assert changes["count"] == 1 and changes["reproduced"]
    (case,) = changes["cases"]
    assert case["case_no"] == november["resolved"] and case["counted_then"]
    assert case["facts"]["callback_reached"] == {"then": 0, "now": 1}
    assert {"callback_rate", "satisfaction_rate", "solved_rate"} <= set(case["metrics"])
    callback = next(m for m in changes["metrics"] if m["key"] == "callback_rate")
    assert callback["published"]["numerator"] == 0 and callback["live"]["numerator"] == 1
    assert callback["numerator_change"] == 1 and callback["cases"] == [november["resolved"]]
    intake = next(m for m in changes["metrics"] if m["key"] == "intake_count")
    assert intake["change"] == 0 and intake["cases"] == []

    # December's trend and comparison read the frozen November: its callback stays uncounted there.
    december = get(world, f"{MONTHLY}/2025-12").json()
    row = trend_row(december, "2025-11")
    assert row["published"] is True and row["version"] == 1 and row["as_of"] == "2025-12-02T10:00:00+08:00"
    assert row["metrics"]["callback_rate"]["numerator"] == 0
    assert trend_row(december, "2025-10")["published"] is False
    assert headline(december, "intake_count")["previous"] == 2
    # As of a moment before the publication, the same report computes November as it was then (regenerates).
    before = get(world, f"{MONTHLY}/2025-12", as_of="2025-12-01T12:00:00+08:00").json()
    assert trend_row(before, "2025-11")["published"] is False
    assert [m["month"] for m in get(world, API + "/reports/published").json()] == ["2025-11"]


def test_a_correction_needs_a_reason_and_keeps_the_first_version(world: World, clock: Any, november) -> None:
    publish(world, "2025-11")
    clock.set(sh(2025, 12, 5, 15))
    world.act(november["resolved"], "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    refused = publish(world, "2025-11", expect=409)
    assert refused["error"] == "refused_by_rule" and "原因" in refused["message"] and "reason" in refused["message_en"]
    second = publish(world, "2025-11", reason="回访结果补录")
    assert second["version"] == 2 and second["reason"] == "回访结果补录" and len(second["versions"]) == 2

    official = get(world, f"{MONTHLY}/2025-11").json()
    assert official["published"]["shown_version"] == 2 and headline(official, "callback_rate")["numerator"] == 1
    first = get(world, f"{MONTHLY}/2025-11", version=1).json()
    assert first["published"]["official"] is False and headline(first, "callback_rate")["numerator"] == 0
    assert get(world, f"{MONTHLY}/2025-11", version=3, expect=404).json()["error"] == "not_found"
    # The later month's trend now reads the corrected version.
    assert trend_row(get(world, f"{MONTHLY}/2025-12").json(), "2025-11")["version"] == 2
    with transaction(world.app.state.sessions) as session:
        rows = session.exec(select(PublishedMonth).order_by(PublishedMonth.version)).all()
        assert [(r.month, r.version) for r in rows] == [("2025-11", 1), ("2025-11", 2)]
    assert get(world, f"{MONTHLY}/2025-11/changes").json()["count"] == 0


def test_who_publishes_and_which_months(world: World, clock: Any, november) -> None:
    for user in ("leader", "admin", "dispatcher"):
        assert publish(world, "2025-11", user=user, expect=403)["error"] == "forbidden"
    incomplete = publish(world, "2025-12", expect=422)
    assert incomplete["errors"][0]["field"] == "month" and "尚未结束" in incomplete["message"]
    assert "not over" in incomplete["message_en"]
    assert publish(world, "2025-13", expect=422)["errors"][0]["field"] == "month"
    assert get(world, f"{MONTHLY}/2025-11/changes", expect=404).json()["error"] == "not_found"
    assert get(world, f"{MONTHLY}/2025-11", version=1, expect=404).json()["error"] == "not_found"
    assert get(world, f"{MONTHLY}/2025-11", user="head", expect=403).json()["error"] == "forbidden"
    long = publish(world, "2025-11", reason="长" * 2001, expect=422)
    assert long["errors"][0]["field"] == "body.reason" or long["errors"][0]["field"] == "reason"
    with transaction(world.app.state.sessions) as session:
        assert session.exec(select(PublishedMonth)).all() == []


def test_the_files_of_a_published_month_are_its_stored_document(world: World, clock: Any, november) -> None:
    publish(world, "2025-11")
    with transaction(world.app.state.sessions) as session:
        stored = json.loads(session.exec(select(PublishedMonth)).one().document)
    clock.set(sh(2025, 12, 5, 15))
    world.act(november["resolved"], "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    for fmt in ("xlsx", "html"):
        first = get(world, f"{MONTHLY}/2025-11", format=fmt).content
        clock.set(sh(2025, 12, 9, 11))
        again = get(world, f"{MONTHLY}/2025-11", format=fmt).content
        rendered = exports.render_monthly(stored, fmt)
        assert first == again == (rendered if isinstance(rendered, bytes) else rendered.encode())
    live = get(world, f"{MONTHLY}/2025-11", format="xlsx", live="true").content
    assert live != first


def test_the_cli_publishes_a_month(world: World, clock: Any, november, cli) -> None:
    refused = cli("report", "publish", "--month", "2025-11", "--by", "leader")
    assert refused.code != 0 and "不能发布月报" in refused.err
    done = cli("report", "publish", "--month", "2025-11", "--by", "supervisor")
    assert done.code == 0, done.err
    assert "2025-11" in done.out and "1" in done.out


def test_the_supervisor_publishes_on_the_page_and_readers_see_the_badge(world: World, clock: Any, november, browser):
    supervisor = browser("supervisor")
    page = supervisor.page("/reports/monthly/2025-11")
    assert page.select_one("#published") is None
    button = page.select_one("#publish")
    assert text_of(button) == "发布本月月报" and button["href"] == "/reports/monthly/2025-11/publish"
    confirm = supervisor.page(button["href"])
    assert confirm.select_one("#publish-form textarea") is None  # no reason for a first publication
    # Without the CSRF token: refused, nothing written.
    assert supervisor.client.post("/reports/monthly/2025-11/publish", data={}).status_code == 403
    done = supervisor.post("/reports/monthly/2025-11/publish")
    assert done.status_code == 303 and done.headers["location"] == "/reports/monthly/2025-11"

    clock.set(sh(2025, 12, 5, 15))
    world.act(november["resolved"], "callback", "dispatcher", reached=True, solved=True, satisfaction="satisfied")
    leader = browser("leader")
    page = leader.page("/reports/monthly/2025-11")
    badge = page.select_one("#published")
    assert badge["data-source"] == "published" and "已发布（官方数据）" in text_of(badge)
    assert "2025年12月2日 10:00:00" in text_of(badge)
    assert page.select_one("#publish") is None  # leaders read
    callback = page.select_one('#headline tr[data-metric="callback_rate"] a[data-part="numerator"]')
    assert text_of(callback) == "0" and "as_of=2025-12-02T10%3A00%3A00%2B08%3A00" in callback["href"]
    recompute = page.select_one("#recompute")
    assert text_of(recompute) == "按当前数据重新计算"
    live = leader.page(recompute["href"])
    assert live.select_one("#published")["data-source"] == "live"
    assert text_of(live.select_one('#headline tr[data-metric="callback_rate"] a[data-part="numerator"]')) == "1"
    changes = leader.page(page.select_one("#changes")["href"])
    row = changes.select_one(f'#changed tr[data-case="{november["resolved"]}"]')
    assert row is not None and row.select_one('[data-metric="callback_rate"]') is not None
    assert text_of(changes.select_one("#count")) == "共 1 件"

    # A correction on the page needs its reason; then the history lists both versions.
    confirm = supervisor.page("/reports/monthly/2025-11/publish")
    assert confirm.select_one("#already") is not None and confirm.select_one("textarea[name=reason]") is not None
    refused = supervisor.post("/reports/monthly/2025-11/publish", {"reason": " "})
    assert refused.status_code == 409 and "须填写原因" in refused.text
    assert supervisor.post("/reports/monthly/2025-11/publish", {"reason": "回访补录"}).status_code == 303
    page = leader.page("/reports/monthly/2025-11")
    assert [r["data-version"] for r in page.select("#versions tbody tr")] == ["2", "1"]
    old = leader.page("/reports/monthly/2025-11?version=1")
    assert old.select_one("#superseded") is not None
    # December's trend table marks November published and links its figures as of publication.
    december = leader.page("/reports/monthly/2025-12")
    nov = december.select_one('#trend tr[data-key="2025-11"]')
    assert nov["data-published"] == "2" and "已发布" in text_of(nov)
    # An incomplete month offers no button and its confirmation refuses.
    assert supervisor.page("/reports/monthly/2025-12").select_one("#publish") is None
    assert supervisor.get("/reports/monthly/2025-12/publish").status_code == 422
    assert supervisor.post("/reports/monthly/2025-12/publish").status_code == 422
    assert "尚未结束" in supervisor.post("/reports/monthly/2025-12/publish").text
    assert "已发布" in text_of(leader.page("/reports/monthly").select_one("ul.months"))
