"""Lead and assisting departments (协办, issue 12) in a real browser: the dispatcher sends a case to a lead and two
assisting departments from the dispatch form, ticking the assisting departments with the keyboard (Tab, Space) and
sending with Enter; the case page's panel then lists both parts. tests/keycases has the rest."""

from __future__ import annotations


def test_the_dispatcher_sends_a_case_to_a_lead_and_two_assisting_departments_by_keyboard(live, person) -> None:  # type: ignore[no-untyped-def]
    world = live.world
    no = world.intake()["case_no"]
    dispatcher = person("dispatcher")
    page = dispatcher.go(f"/cases/{no}")
    form = page.locator('form[data-action="dispatch"]')
    form.locator("select[name='department_id']").select_option(label="城市管理局")
    boxes = form.locator("input[name='assisting_department_ids']")
    labels = [t.strip() for t in form.locator("fieldset.departments-field label").all_inner_texts()]
    first = labels.index("青桐街道")
    boxes.nth(first).focus()
    page.keyboard.press("Space")
    # Tab through the checkboxes to 企业服务局 and tick it too.
    target = labels.index("企业服务局")
    step = 1 if target > first else -1
    for _ in range(abs(target - first)):
        page.keyboard.press("Tab" if step == 1 else "Shift+Tab")
    page.keyboard.press("Space")
    assert boxes.nth(first).is_checked() and boxes.nth(target).is_checked()
    form.locator("button[type='submit']").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".flash")
    rows = page.locator("section.card-parts tr[data-part]")
    assert rows.count() == 2
    assert sorted(rows.nth(i).locator("td").first.inner_text().split(". ", 1)[1] for i in range(2)) == [
        "企业服务局",
        "青桐街道",
    ]
    dispatcher.screenshot("assisting-departments")
