"""Messy input on the front desk and the leader's pages (issue 9): full-width digits typed with a Chinese input
method, months outside what a report can show, and a meeting address that names no meeting."""

from __future__ import annotations

import pytest

from tests.factories import World
from tests.web.support import soup, text_of

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # pages only: no SQL of their own


@SQLITE_ONLY
def test_a_meeting_typed_in_full_width_digits_is_opened(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    form = {"title": "第二期阳光恳谈会", "held_on": "２０２５／９／２８", "attendee_count": "８０", "station": ""}
    response = b.post("/meetings", form)
    assert response.status_code == 303, text_of(soup(response.text).find(class_="error"))
    facts = text_of(b.page(response.headers["location"]).find(class_="fd-facts"))
    assert "80" in facts and "2025年9月28日" in facts


@SQLITE_ONLY
def test_a_meeting_address_that_is_no_number_is_the_not_found_page(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    for url in ("/meetings/abc/edit", "/meetings/abc", "/meetings/99999/report"):
        response = b.get(url)
        assert response.status_code == 404, url
        assert "没有这个恳谈会" in text_of(soup(response.text)) and "整数" not in response.text


@SQLITE_ONLY
def test_the_dashboard_names_the_month_typed_and_the_accepted_range(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("leader")
    early = b.page("/dashboard?month=1900-01", expect=422)
    assert "月份「1900-01」超出范围，可选 2000-01 至 2025-09" in text_of(early) and "1899" not in text_of(early)


@SQLITE_ONLY
def test_the_monthly_report_of_a_month_not_yet_begun_is_refused(world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("leader")
    page = b.page("/reports/monthly/2030-01", expect=422)
    assert "考核月 2030-01 尚未开始，可选 2025-09 及以前的月份" in text_of(page)
    assert b.get("/reports/monthly/1900-01").status_code == 422
    assert b.get("/reports/monthly/2030-01.xlsx").status_code == 422


def test_an_intake_time_typed_in_full_width_digits_is_read() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from web.pages.frontdesk.desk import local_datetime

    moment = local_datetime("２０２５／９／２８　９：３０", "Asia/Shanghai")
    assert moment == datetime(2025, 9, 28, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
