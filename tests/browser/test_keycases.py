"""The plan of nodes in a real browser, with the keyboard alone (issue 12): the handler tabs through the rows, adds
a node with the "Add a node" button, removes one, and sends the plan with Ctrl+Enter; the panel then shows the
nodes. Issue 12 (tests/keycases has the rest); here for the browser fixtures (the system Chromium, Playwright)."""

from __future__ import annotations


def test_the_handler_sets_a_plan_of_nodes_with_the_keyboard_only(live, person) -> None:  # type: ignore[no-untyped-def]
    world = live.world
    no = world.intake()["case_no"]
    world.act(no, "dispatch", "dispatcher", department_id="CGJ")
    world.act(no, "accept", "handler")
    world.act(no, "respond", "handler", note="已电话联系诉求人")
    world.act(no, "mark_key", "supervisor", reason="backlog", lead_leader_id="leader")
    handler = person("handler")
    page = handler.go(f"/cases/{no}")
    form = page.locator('form[data-action="plan_nodes"]')
    page.locator('details[data-for="plan_nodes"] > summary').focus()
    page.keyboard.press("Enter")  # open the action
    first = form.locator("input[name='nodes-0-name']")
    first.focus()
    page.keyboard.type("约谈相关企业")
    page.keyboard.press("Tab")  # the department: the case's by default
    page.keyboard.press("Tab")  # working days
    page.keyboard.type("2")
    # Enter inside a row moves on instead of sending half a plan.
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.name") == "nodes-0-due_date"
    # Add a fourth row with its button, reached by Tab from the last row's remove button.
    add = form.locator("button[data-add-node]")
    add.focus()
    page.keyboard.press("Enter")
    assert form.locator("fieldset.node-row").count() == 4
    assert page.evaluate("document.activeElement.name") == "nodes-3-name"
    page.keyboard.type("出具整改报告")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.type("10")
    # Remove the (blank) second row with the keyboard.
    form.locator("fieldset.node-row").nth(1).locator("button[data-remove-node]").focus()
    page.keyboard.press("Enter")
    assert form.locator("fieldset.node-row").count() == 3
    assert [t.strip() for t in form.locator("[data-row-number]").all_inner_texts()] == ["1", "2", "3"]
    form.locator("input[name='nodes-3-name']").focus()
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(".flash")
    rows = page.locator("table.nodes tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("td").first.inner_text().startswith("1. 约谈相关企业")
    assert rows.nth(1).locator("td").first.inner_text().startswith("2. 出具整改报告")
    handler.screenshot("key-case-plan")
