"""One form for phones and text on the pages (issue 8, section 5): the intake form stores a phone typed in any form
in one form, the live lookup and duplicate hints and the case list's phone filter find it, a phone that is no phone
number is named next to its field, and the list's search folds full-width forms."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from grievance.cases.models import Case
from grievance.db import transaction
from tests.factories import World
from tests.web.support import soup, text_of
from tests.web.test_frontdesk import a_case, error_of


def stored_phones(app: Any) -> list[str]:
    with transaction(app.state.sessions) as session:
        return list(session.exec(select(Case.petitioner_phone).order_by(Case.id)).all())


def rows(page: Any) -> list[str]:
    return [tr["data-case"] for tr in page.select("table tbody tr[data-case]")]


def test_the_intake_form_stores_a_phone_in_one_form(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    for typed in ("+86 138 1234 5678", "１３８－１２３４－５６７８", "(0710)1234567", "0710-1234567-123"):
        response = b.post("/intake", a_case(petitioner_phone=typed, title=f"路灯不亮 {typed}"))
        assert response.status_code == 303, typed
    assert stored_phones(app) == ["13812345678", "13812345678", "0710-1234567", "0710-1234567转123"]


def test_a_phone_that_is_no_phone_number_names_the_accepted_forms(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    b = browser("intake")
    page = soup(b.post("/intake", a_case(petitioner_phone="1234567")).text)
    message = error_of(page, "petitioner_phone")
    assert message.startswith("电话号码无法识别") and "0710-1234567" in message and "13812345678" in message
    assert "accepted" not in message
    b.client.cookies.set("lang", "en")
    page = soup(b.post("/intake", a_case(petitioner_phone="1234567")).text)
    assert "a landline with its area code such as 0710-1234567" in error_of(page, "petitioner_phone")
    assert stored_phones(app) == []


def test_the_live_lookup_and_hints_find_the_phone_however_it_is_typed(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    earlier = world.intake(title="楼道灯坏了", petitioner={"phone": "13812341234"})["case_no"]
    b = browser("intake")
    for typed in ("138-1234-1234", "+86 138 1234 1234", "0086 13812341234", "１３８１２３４１２３４"):
        hint = b.page(f"/intake/lookup?petitioner_phone={typed.replace('+', '%2B')}")
        assert [text_of(a) for a in hint.find_all("a")] == [earlier], typed
        hint = b.page(f"/intake/duplicates?title=别的事&petitioner_phone={typed.replace('+', '%2B')}")
        assert "同一电话" in text_of(hint), typed
    # While the clerk is still typing, the hints stay quiet.
    assert text_of(b.page("/intake/lookup?petitioner_phone=138-12")) == ""


def test_the_case_list_filters_by_a_phone_typed_in_any_form(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    mine = world.intake(petitioner={"phone": "138 1234 5678"})["case_no"]
    world.intake(title="别人的事", petitioner={"phone": "13900001111"})
    b = browser("dispatcher")
    for typed in ("13812345678", "138-1234-5678", "+86 138 1234 5678"):
        assert rows(b.page(f"/cases?phone={typed.replace('+', '%2B')}")) == [mine], typed
    response = b.get("/cases?phone=138abc")
    assert response.status_code == 422
    page = soup(response.text)
    assert text_of(page.find(id="e-phone")).startswith("电话号码无法识别")
    assert page.find("input", {"name": "phone"})["value"] == "138abc"


def test_the_case_list_finds_full_width_titles(app, world: World, browser) -> None:  # type: ignore[no-untyped-def]
    building = world.intake(title="３号楼电梯故障")["case_no"]
    garage = world.intake(title="ＡＢ栋地下车库积水")["case_no"]
    b = browser("dispatcher")
    for query, found in (("3号楼", building), ("３号楼", building), ("AB栋", garage), ("ab栋", garage)):
        page = b.page(f"/cases?q={query}")
        assert rows(page) == [found], query
        assert text_of(page.select_one(f'tr[data-case="{found}"] a')) in (building, garage)
