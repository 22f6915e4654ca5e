"""The rating form of the public tracking page: offered once the case is resolved, posted with the receipt's code
only; the recorded rating replaces it; refusals are shown in the reader's language; attempts are throttled; the
centre's callback list shows a dissatisfied rating with its comment."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.reports.metrics_support import MON, resolved
from tests.web.support import Browser, soup, text_of


def _code(world, no: str) -> str:  # type: ignore[no-untyped-def]
    return world.get(no, "intake")["query_code"]  # type: ignore[no-any-return]


def _rate(client, code: str, **answers: str):  # type: ignore[no-untyped-def]
    return client.post("/track", data={"code": code, "intent": "rate", **answers})


def test_the_form_appears_after_resolution_and_the_recorded_rating_replaces_it(app, world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    open_case = world.intake()["case_no"]
    b = Browser(app)  # nobody signed in: the receipt is all
    assert soup(b.post("/track", {"code": _code(world, open_case)}).text).find("form", id="rating-form") is None
    no = resolved(world)
    code = _code(world, no)
    page = soup(b.post("/track", {"code": code}).text)
    form = page.find("form", id="rating-form")
    assert form["method"] == "post" and form["action"] == "/track"
    hidden = {i["name"]: i["value"] for i in form.find_all("input", type="hidden")}
    assert hidden == {"code": f"{code[:4]}-{code[4:8]}-{code[8:]}", "intent": "rate"}
    assert [i["value"] for i in form.find_all("input", {"name": "solved"})] == ["yes", "no"]
    assert [text_of(i.parent) for i in form.find_all("input", {"name": "satisfaction"})] == [
        "满意",
        "基本满意",
        "不满意",
    ]
    assert [text_of(f.find("legend")) for f in form.find_all("fieldset")] == [
        "您的问题是否已解决？",
        "您对办理结果是否满意？",
    ]
    assert form.find("textarea", {"name": "comment"})["maxlength"] == "500"
    assert form.find("label", {"for": "f-comment"}) is not None
    clock.set(MON + timedelta(hours=1))
    response = _rate(
        b, hidden["code"], solved="no", satisfaction="unsatisfied", comment="路灯还是不亮，电话13812341234"
    )
    assert response.status_code == 200
    after = soup(response.text)
    assert after.find("form", id="rating-form") is None
    assert "感谢您的评价，已记录。" in text_of(after.find(id="rating-recorded"))
    assert text_of(after.find(id="rated-solved")) == "否" and text_of(after.find(id="rated-satisfaction")) == "不满意"
    assert "诉求服务中心将就此回访您" in text_of(after.find(id="centre-will-call"))
    assert "13812341234" not in response.text and "路灯还是不亮" not in response.text  # the comment is not shown back
    again = soup(b.post("/track", {"code": code}).text)  # a later lookup shows the rating, no form
    assert again.find("form", id="rating-form") is None and text_of(again.find(id="rated-satisfaction")) == "不满意"
    assert world.get(no, "dispatcher")["satisfaction"] == "unsatisfied"


def test_refusals_keep_the_answers_and_speak_the_readers_language(app, world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = resolved(world)
    code = _code(world, no)
    b = Browser(app)
    missing = _rate(b, code, solved="yes", comment="谢谢")
    assert missing.status_code == 422
    page = soup(missing.text)
    assert text_of(page.find(id="e-satisfaction")) == "请选择满意度：满意、基本满意、不满意"
    assert page.find("input", {"name": "solved", "value": "yes"}).has_attr("checked")
    assert text_of(page.find("textarea", {"name": "comment"})) == "谢谢"
    assert page.find("input", {"name": "satisfaction"}).has_attr("autofocus")  # the first field to fix
    b.client.cookies.set("lang", "en")
    too_long = soup(_rate(b, code, solved="yes", satisfaction="satisfied", comment="x" * 501).text)
    assert text_of(too_long.find(id="e-comment")) == "Comment must be at most 500 characters"
    assert _rate(b, code, solved="yes", satisfaction="satisfied").status_code == 200
    second = _rate(b, code, solved="no", satisfaction="unsatisfied")
    assert second.status_code == 409
    shown = soup(second.text)
    assert "This resolution has already been rated" in text_of(shown.find(id="e-rating"))
    assert text_of(shown.find(id="rated-satisfaction")) == "Satisfied"  # the recorded rating stays
    unknown = _rate(b, "K7QM-3XHD-9TPR", solved="yes", satisfaction="satisfied")
    assert unknown.status_code == 404
    assert "No case has this query code" in text_of(soup(unknown.text).find(id="e-code"))


def test_ratings_are_throttled_per_case_with_retry_after(app, world, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    no = resolved(world)
    code = _code(world, no)
    for n in range(5):
        with TestClient(app, client=(f"198.51.100.{n + 1}", 50000)) as client:
            assert _rate(client, code, solved="yes").status_code == 422
    with TestClient(app, client=("198.51.100.77", 50000)) as client:
        refused = _rate(client, code, solved="yes", satisfaction="satisfied")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "3600"
    assert "评价提交过于频繁，请 60 分钟后再试" in text_of(soup(refused.text).find(id="e-code"))
    assert world.get(no, "dispatcher")["callback_at"] is None


def test_the_callback_list_shows_the_dissatisfied_rating_and_its_comment(app, world, browser, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(MON)
    unhappy, happy = resolved(world), resolved(world)
    _rate(Browser(app), _code(world, unhappy), solved="no", satisfaction="unsatisfied", comment="路灯还是不亮")
    _rate(Browser(app), _code(world, happy), solved="yes", satisfaction="satisfied")
    dispatcher = browser("dispatcher")
    page = dispatcher.page("/callbacks")
    assert page.find(id=f"row-{happy}") is None  # a satisfied rating is the callback
    rating = page.find(id=f"rating-{unhappy}")
    assert rating is not None
    said = text_of(rating)
    assert "诉求人自评" in said and "不满意" in said and "路灯还是不亮" in said
    assert "请回访诉求人：不满意或问题未解决。" in said
    assert page.find(id=f"row-{unhappy}").find("form") is not None  # the centre records its call right there
    dispatcher.client.cookies.set("lang", "en")
    english = text_of(dispatcher.page("/callbacks").find(id=f"rating-{unhappy}"))
    assert "Petitioner (self-rated)" in english and "Unsatisfied" in english
