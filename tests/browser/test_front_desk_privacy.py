"""Privacy on a shared front-desk computer, in a real browser: after sign-out, Back does not bring the last case page
(and its phone number) back; the receipt's QR link shows the petitioner their case without the code in the URL."""

from __future__ import annotations

from typing import Any

PHONE = "13812341234"  # the World's petitioner


def test_back_after_sign_out_shows_nothing_and_the_qr_link_tracks_the_case(person, live, chromium) -> None:  # type: ignore[no-untyped-def]
    no = live.world.intake()["case_no"]
    code = live.world.get(no, "intake")["query_code"]
    clerk = person("intake")
    page = clerk.go(f"/cases/{no}")
    assert PHONE in page.inner_text("main")
    with page.expect_navigation():
        page.click("form[action='/logout'] button")
    assert page.url.startswith(f"{live.base}/login")
    page.go_back()
    page.wait_for_load_state()
    # Not restored from the back-forward cache or the HTTP cache: asked again, and sent to the sign-in page.
    assert PHONE not in page.content()
    assert page.url.startswith(f"{live.base}/login")

    # The petitioner scans the receipt's QR code: /track#code=... on their phone.
    phone: Any = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    track = phone.new_page()
    track.goto(f"{live.base}/track#code={code[:4]}-{code[4:8]}-{code[8:]}")
    track.wait_for_selector("#status")
    assert no in track.inner_text("main") and PHONE not in track.content()
    assert track.url == f"{live.base}/track"  # posted: neither the fragment nor a query string holds the code
    phone.close()
