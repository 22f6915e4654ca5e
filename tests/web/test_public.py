"""The petitioner's tracking page: public, by query code, status and replies only."""

from __future__ import annotations

from tests.web.support import Browser, text_of


def test_a_petitioner_tracks_a_case_with_the_query_code_and_sees_no_personal_data(app, world) -> None:  # type: ignore[no-untyped-def]
    case = world.intake()
    no = case["case_no"]
    world.act(no, "answer_on_spot", "intake", reply="路灯已报修，三日内修复")
    code = world.get(no, "intake")["query_code"]
    b = Browser(app)  # not signed in
    page = b.page(f"/track?code={code}")
    assert no in text_of(page.find("h2"))
    assert "路灯已报修，三日内修复" in text_of(page.find("main"))
    assert "13812341234" not in page.text and "1381234" not in page.text and "张三" not in page.text


def test_an_unknown_code_says_what_to_check_and_the_empty_form_asks_for_one(app, world) -> None:  # type: ignore[no-untyped-def]
    b = Browser(app)
    page = b.page("/track?code=nope", expect=404)
    assert "请核对回执上的查询码" in text_of(page.find(id="e-code"))
    assert b.page("/track").find("input", {"name": "code"}) is not None
