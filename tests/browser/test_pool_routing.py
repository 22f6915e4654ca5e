"""The pool and the dispatch form in Chromium after a newcomer's trial: a case two departments returned shows both
returns, suggests neither and says why the dispatcher cannot send it a third time; each department is offered
once in a row's select; the 协办单位 (assisting departments) boxes sit beside their names, at desk width and on a
phone. Screenshots: work-pool-routing, work-dispatch-assisting(-phone)."""

from __future__ import annotations

from typing import Any

import pytest

from grievance.db import transaction
from grievance.reference.service import load_categories
from tests.web.test_frontdesk import CATEGORIES

LAMP = {"channel": "station", "station": "ZS01", "meeting": None, "category": "010101"}  # → 城市管理局, 青桐街道

# Each box of the assisting departments with the box's and its name's rectangles (the name: the label's text).
BOXES = """fieldset => [...fieldset.querySelectorAll("label.check")].map(label => {
  const box = label.querySelector("input[type=checkbox]").getBoundingClientRect();
  const range = document.createRange();
  range.selectNodeContents(label.lastChild);
  const text = range.getBoundingClientRect();
  return {name: label.textContent.trim(), box: [box.left, box.top, box.right, box.bottom],
          text: [text.left, text.top, text.right, text.bottom]};
})"""


@pytest.fixture
def lamp_categories(live: Any) -> None:
    path = live.settings.data_dir / "categories.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CATEGORIES, encoding="utf-8")
    with transaction(live.app.state.sessions) as session:
        load_categories(session, path)


def test_the_pool_says_who_returned_a_case_why_it_cannot_go_and_lists_each_department_once(
    live: Any, person: Any, lamp_categories: None
) -> None:
    world = live.world
    twice = world.intake(title="路灯不亮两次被退", **LAMP)["case_no"]
    world.act(twice, "dispatch", "dispatcher", department_id="CGJ")
    world.act(twice, "return", "handler", reason="路灯归街道管养")
    world.act(twice, "dispatch", "dispatcher", department_id="JD1")
    world.act(twice, "return", "other_handler", reason="路灯归城管管养")
    fresh = world.intake(title="驿站门口路灯闪烁", **LAMP, petitioner={"name": "李四", "phone": "13900001111"})[
        "case_no"
    ]
    dispatcher = person("dispatcher")
    page = dispatcher.page
    assert page.url == f"{live.base}/pool"
    line = page.locator(f'tr[data-case="{twice}"]')
    assert line.locator(".returned").all_inner_texts() == [
        "城市管理局退单： 路灯归街道管养 handler 9月29日 10:00",
        "青桐街道退单： 路灯归城管管养 other_handler 9月29日 10:00",
    ]
    assert line.locator(".suggestion").count() == 0 and line.locator(".withheld").count() == 2
    reason = line.locator(".unavailable-reason")
    assert reason.is_visible() and reason.inner_text() == "暂不能派单： 已派单2次，第3次须由督办员指定承办单位"
    # The fresh case: its suggestions first, then the other departments, each once.
    select = page.locator(f'tr[data-case="{fresh}"] form[data-action=dispatch] select')
    groups = select.evaluate(
        "s => [...s.querySelectorAll('optgroup')].map(g => [g.label, [...g.children].map(o => o.textContent)])"
    )
    assert groups == [["建议", ["城市管理局", "青桐街道"]], ["其他单位", ["企业服务局", "诉求服务中心"]]]
    values = select.evaluate("s => [...s.options].map(o => o.value).filter(Boolean)")
    assert len(values) == len(set(values)) == 4
    dispatcher.screenshot("work-pool-routing")
    # A department of the second group is sent to like any other.
    select.select_option(label="企业服务局")
    page.locator(f'tr[data-case="{fresh}"] form[data-action=dispatch] button[type=submit]').click()
    page.wait_for_load_state()
    assert page.locator(f'tr[data-case="{fresh}"]').count() == 0
    assert world.get(fresh, "dispatcher")["department"] == "企业服务局"


@pytest.mark.parametrize(("width", "height", "lang"), [(1366, 768, "zh_CN"), (390, 844, "zh_CN"), (1366, 768, "en")])
def test_the_assisting_department_boxes_sit_beside_their_names(live: Any, person: Any, width, height, lang) -> None:  # type: ignore[no-untyped-def]
    no = live.world.intake(title="桂园路井盖松动")["case_no"]
    dispatcher = person("dispatcher", width=width, height=height)
    if lang == "en":
        dispatcher.go(f"/lang/en?next=/cases/{no}")
    page = dispatcher.go(f"/cases/{no}")
    fieldset = page.locator('form[data-action="dispatch"] fieldset.departments-field')
    assert fieldset.locator("legend").inner_text() == ("Assisting departments" if lang == "en" else "协办单位")
    boxes = fieldset.evaluate(BOXES)
    assert [b["name"] for b in boxes] == ["城市管理局", "青桐街道", "企业服务局", "诉求服务中心"]  # by code
    for found in boxes:
        (b_left, b_top, b_right, b_bottom), (t_left, t_top, _t_right, t_bottom) = found["box"], found["text"]
        assert b_right - b_left < 30, found  # a box, not a field-wide input
        assert b_right <= t_left, found  # beside its name, before it
        assert t_top <= (b_top + b_bottom) / 2 <= t_bottom, found  # on the same line
    if width > 1000:
        rows = {round(b["box"][1]) for b in boxes}
        assert len(rows) < len(boxes)  # several to a line in the side column, not one box over each name
    # The name is the box's label: a click on it ticks the box.
    fieldset.get_by_text("青桐街道").click()
    assert fieldset.locator('input[value="4"]').is_checked()
    suffix = "" if width > 1000 else "-phone"
    dispatcher.screenshot(f"work-dispatch-assisting{suffix}{'-en' if lang == 'en' else ''}")
