"""Upload limits are checked in the browser before anything is sent: a selection over Settings' limits shows a
bilingual message next to the file input at once, the form keeps what the clerk typed and cannot be submitted;
a selection that fits clears the message (the server's 413 stays as the backstop, tests/api)."""

from __future__ import annotations

from typing import Any


def files(count: int, size: int = 10) -> list[dict[str, Any]]:
    return [{"name": f"f{i}.txt", "mimeType": "text/plain", "buffer": b"x" * size} for i in range(count)]


def test_eleven_files_are_refused_before_submit_and_the_form_keeps_its_values(person, live) -> None:  # type: ignore[no-untyped-def]
    clerk = person("intake")
    page = clerk.go("/intake")
    field = page.locator("#f-files")
    assert field.get_attribute("data-max-files") == "10"
    page.fill("input[name=title]", "青桐路路灯不亮")
    page.fill("input[name=petitioner_phone]", "13812341234")

    field.set_input_files(files(11))
    note = page.locator("p[data-upload-limit]")
    assert note.is_visible()
    assert note.inner_text() == "选择了 11 个文件，每次最多 10 个"
    assert field.get_attribute("aria-invalid") == "true"
    page.click("form:has(#f-files) button[type=submit]")
    page.wait_for_timeout(300)
    assert page.url == f"{live.base}/intake"  # not sent: no 413 page, nothing lost
    assert page.input_value("input[name=title]") == "青桐路路灯不亮"
    assert page.input_value("input[name=petitioner_phone]") == "13812341234"
    assert not field.evaluate("input => input.checkValidity()")

    field.set_input_files(files(2))
    assert not note.is_visible()
    assert field.evaluate("input => input.checkValidity()")
    assert field.get_attribute("aria-invalid") is None


def test_a_file_over_the_size_limit_is_named_and_english_readers_get_english(person, live) -> None:  # type: ignore[no-untyped-def]
    clerk = person("intake")
    clerk.go("/lang/en?next=/intake")
    page = clerk.page
    field = page.locator("#f-files")
    field.evaluate("input => { input.dataset.maxBytes = '100'; }")  # a small limit keeps the test file small
    field.set_input_files(files(1, size=1024 * 1024))
    assert page.locator("p[data-upload-limit]").inner_text() == "f0.txt is 1 MB; each file may be at most 100 B"
