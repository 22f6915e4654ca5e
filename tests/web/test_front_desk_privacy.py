"""Privacy on shared front-desk computers: no page or API answer with case data stays in the browser's cache, and
the receipt gives the petitioner the query code in groups and as a QR code whose URL keeps the code in the fragment."""

from __future__ import annotations

import re

import pytest
import segno

from tests.web.support import soup, text_of

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # pages only: the SQL is not at stake


@SQLITE_ONLY
def test_signed_in_pages_and_the_api_are_never_stored_while_static_assets_cache(app, world, browser) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]
    desk = browser("intake")
    case_page = desk.get(f"/cases/{no}")
    assert case_page.status_code == 200 and "13812341234" in case_page.text  # the front desk sees the phone
    assert case_page.headers["cache-control"] == "no-store"
    assert world.client.get(f"/api/v1/cases/{no}", headers=world.headers("intake")).headers["cache-control"] == (
        "no-store"
    )
    assert desk.get(f"/cases/{no}/receipt").headers["cache-control"] == "no-store"
    signed_out = browser().get(f"/cases/{no}")  # the redirect to the sign-in page
    assert signed_out.status_code == 303 and signed_out.headers["cache-control"] == "no-store"
    css = desk.get("/static/app.css")
    assert css.status_code == 200 and "no-store" not in css.headers.get("cache-control", "")


@SQLITE_ONLY
def test_the_receipt_prints_the_code_in_groups_and_a_qr_code_to_the_tracking_page(app, world, browser) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]
    code = world.get(no, "intake")["query_code"]
    printed = f"{code[:4]}-{code[4:8]}-{code[8:]}"
    receipt = browser("intake").page(f"/cases/{no}/receipt")
    assert text_of(receipt.find(id="query-code")) == printed
    qr = receipt.select_one("#tracking-qr svg")
    assert text_of(receipt.select_one("#tracking-qr figcaption")) == printed  # for a reader without a camera
    # The QR code encodes the tracking page with the code in the fragment, never sent to the server.
    url = f"http://testserver/track#code={printed}"
    expected = soup(segno.make(url, error="m").svg_inline(omitsize=True)).find("path")["d"]
    assert qr.find("path")["d"] == expected
    assert qr.find("title").get_text() == url
    assert not re.search(r"<img|https?://(?!testserver)", str(qr))  # inline, no outside request
    case_page = browser("intake").page(f"/cases/{no}")
    assert text_of(case_page.find(id="query-code")) == printed


@SQLITE_ONLY
def test_who_may_not_see_the_query_code_gets_no_qr_code(app, world, browser) -> None:  # type: ignore[no-untyped-def]
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    receipt = browser("handler").page(f"/cases/{no}/receipt")
    assert receipt.find(id="tracking-qr") is None and receipt.find(id="query-code") is None


@SQLITE_ONLY
def test_the_qr_code_points_to_the_public_address_when_one_is_set(app, world, browser) -> None:  # type: ignore[no-untyped-def]
    # The front desk works on an intranet address; petitioners' phones reach the zone's public one.
    app.state.runtime.settings.public_base_url = "https://12345.example.gov.cn/gx/"
    no = world.intake()["case_no"]
    code = world.get(no, "intake")["query_code"]
    qr = browser("intake").page(f"/cases/{no}/receipt").select_one("#tracking-qr svg")
    assert (
        qr.find("title").get_text() == f"https://12345.example.gov.cn/gx/track#code={code[:4]}-{code[4:8]}-{code[8:]}"
    )
