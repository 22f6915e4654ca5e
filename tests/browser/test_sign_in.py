"""The sign-in journey in a real browser: wrong password, then right, then the language switch."""

from __future__ import annotations

from tests.browser.conftest import PASSWORD


def test_a_person_signs_in_fixes_a_typo_and_switches_to_english(chromium, live) -> None:  # type: ignore[no-untyped-def]
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(f"{live.base}/account/password")
    assert page.url.startswith(f"{live.base}/login?next=")
    page.fill("#f-username", "handler")
    page.fill("#f-password", "typo")
    page.keyboard.press("Control+Enter")  # Ctrl+Enter submits, as on every form
    page.wait_for_selector(".form-error")
    assert "用户名或密码错误" in page.inner_text(".form-error")
    assert page.input_value("#f-username") == "handler"
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.base}/account/password")
    assert page.inner_text("h1") == "修改密码"
    page.click("text=English")
    page.wait_for_selector("h1:has-text('Change password')")
    context.close()
