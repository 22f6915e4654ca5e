"""The pool's select-all on a phone: the card layout hides the table's header row, yet the box that ticks every
case on the page stays there, with its words, and ticks them all (and at desk width it is the header cell)."""

from __future__ import annotations

from typing import Any


def ticked(page: Any) -> list[bool]:
    return [box.is_checked() for box in page.locator('tbody input[type="checkbox"][name="case_no"]').all()]


def test_a_dispatcher_on_a_phone_ticks_the_whole_pool_at_once(live, person) -> None:  # type: ignore[no-untyped-def]
    world = live.world
    numbers = [
        world.intake(title=title)["case_no"] for title in ("桂园路井盖松动", "青桐路人行道破损", "驿站旁垃圾满溢")
    ]
    phone = person("dispatcher", width=390, height=844)
    page = phone.page
    assert page.url == f"{live.base}/pool"
    assert page.locator("table.pool thead th").nth(1).is_hidden()  # the cards have no column headings
    everything = page.locator("#bulk-all")
    assert everything.is_visible()
    assert page.locator("th.tick-all .tick-all-text").inner_text() == "勾选本页全部诉求"
    everything.check()
    assert ticked(page) == [True] * len(numbers)
    phone.screenshot("work-pool-phone")
    # Unticking one leaves the select-all half-ticked; ticking it again ticks every box.
    page.locator(f'tr[data-case="{numbers[1]}"] input[name="case_no"]').uncheck()
    assert everything.evaluate("box => box.indeterminate") and not everything.is_checked()
    everything.check()
    assert ticked(page) == [True] * len(numbers)
    # At desk width the header row is back and the box sits in its first cell, without the words beside it.
    desk = person("dispatcher")
    assert desk.page.locator("table.pool thead th").nth(1).is_visible()
    assert desk.page.locator("#bulk-all").is_visible()
    assert desk.page.locator("th.tick-all .tick-all-text").is_hidden()
