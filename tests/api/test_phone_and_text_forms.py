"""One form for phones and text through the API (issue 8, section 5): a phone typed in any form is stored in one
form, so duplicate hints and the ?phone= filter find it; a phone that is no phone number gets a bilingual 422; and
free-text search folds full-width and half-width forms in the index and the query."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api._support import API, fields_of
from tests.factories import World

MOBILE_FORMS = [
    "138-1234-5678",
    "138 1234 5678",
    "+86 138 1234 5678",
    "+8613812345678",
    "0086 13812345678",
    "１３８１２３４５６７８",
]


def listed(world: World, as_user: str = "dispatcher", **params: Any) -> list[str]:
    response = world.client.get(f"{API}/cases", params=params, headers=world.headers(as_user))
    assert response.status_code == 200, response.text
    return [c["case_no"] for c in response.json()["items"]]


def phone_of(world: World, case_no: str, as_user: str = "dispatcher") -> str:
    return world.get(case_no, as_user)["petitioner"]["phone"]  # type: ignore[no-any-return]


def test_a_mobile_typed_in_any_form_is_stored_and_found_as_one_number(world: World) -> None:
    plain = world.intake(petitioner={"name": "张三", "phone": "13812345678"})["case_no"]
    typed = [world.intake(title=f"路灯不亮{i}", petitioner={"phone": p})["case_no"] for i, p in enumerate(MOBILE_FORMS)]
    for case_no in typed:
        assert phone_of(world, case_no) == "13812345678"
        assert phone_of(world, case_no, "leader") == "138****5678"  # masking works on the stored form
    everyone = [*typed[::-1], plain]  # newest first
    for form in ["13812345678", *MOBILE_FORMS]:
        assert listed(world, phone=form) == everyone, form


def test_the_same_phone_typed_differently_is_hinted_as_a_duplicate(world: World) -> None:
    first = world.intake(title="楼下烧烤店噪音扰民", petitioner={"phone": "13812345678"})["case_no"]
    hints = world.intake(title="地下车库积水", description="", petitioner={"phone": "138-1234-5678"})[
        "possible_duplicates"
    ]
    assert [(h["case_no"], h["reason"]) for h in hints] == [(first, "same_phone")]
    second = world.intake(title="井盖缺失", description="", petitioner={"phone": "+86 138 1234 5678"})
    assert first in [h["case_no"] for h in second["possible_duplicates"]]
    # The duplicates route of a stored case finds the others too.
    response = world.client.get(f"{API}/cases/{first}/duplicates", headers=world.headers("dispatcher"))
    assert response.status_code == 200
    assert {h["reason"] for h in response.json()} == {"same_phone"} and len(response.json()) == 2


@pytest.mark.parametrize(
    ("typed", "stored", "masked"),
    [
        ("0710-1234567", "0710-1234567", "071****4567"),
        ("(0710)1234567", "0710-1234567", "071****4567"),
        ("0710 1234 567", "0710-1234567", "071****4567"),
        ("0710-1234567-123", "0710-1234567转123", "071****4567转***"),
        ("0710-1234567转123", "0710-1234567转123", "071****4567转***"),
        ("0710-1234567 ext. 123", "0710-1234567转123", "071****4567转***"),
    ],
)
def test_landlines_and_extensions_are_stored_in_one_form(world: World, typed: str, stored: str, masked: str) -> None:
    case_no = world.intake(petitioner={"phone": typed})["case_no"]
    assert phone_of(world, case_no) == stored
    assert phone_of(world, case_no, "leader") == masked
    assert listed(world, phone=typed) == [case_no]
    assert listed(world, phone=stored) == [case_no]


def test_a_phone_that_is_no_phone_number_is_refused_naming_the_accepted_forms(world: World) -> None:
    for typed in ("12345", "138-abc", "1234567"):
        response = world.client.post(
            f"{API}/cases",
            json={"channel": "walk_in", "case_type": "help", "title": "路灯不亮", "petitioner": {"phone": typed}},
            headers=world.headers("intake"),
        )
        assert response.status_code == 422, typed
        error = fields_of(response.json())["petitioner.phone"]
        assert "电话号码无法识别" in error["message"] and "0710-1234567" in error["message"]
        assert "not a phone number we recognise" in error["message_en"] and "13812345678" in error["message_en"]
        assert "recognise" not in error["message"] and "无法识别" not in error["message_en"]  # one language each
    assert listed(world) == []


def test_a_phone_filter_that_is_no_phone_number_is_a_422_on_the_field(world: World) -> None:
    world.intake()
    response = world.client.get(f"{API}/cases", params={"phone": "138abc"}, headers=world.headers("dispatcher"))
    assert response.status_code == 422
    error = fields_of(response.json())["phone"]
    assert error["message"].startswith("电话号码无法识别")
    assert error["message_en"].startswith("not a phone number we recognise; accepted: a mobile number")
    # The role check comes first: a role that may not search by phone learns nothing about the number.
    refused = world.client.get(f"{API}/cases", params={"phone": "138abc"}, headers=world.headers("leader"))
    assert refused.status_code == 403


# --- text ------------------------------------------------------------------------------------------


def test_full_width_titles_are_found_by_half_width_queries_and_back(world: World) -> None:
    building = world.intake(title="３号楼电梯故障", description="")["case_no"]
    garage = world.intake(title="ＡＢ栋地下车库积水", description="")["case_no"]
    half = world.intake(title="5号楼屋顶漏水", description="")["case_no"]
    world.intake(title="路灯不亮", description="")
    for query in ("3号楼", "３号楼", "3号楼 电梯"):
        assert listed(world, q=query) == [building], query
    for query in ("AB栋", "ab栋", "ＡＢ栋", "ａｂ栋", "AB"):
        assert listed(world, q=query) == [garage], query
    assert listed(world, q="５号楼") == [half]
    assert listed(world, q="号楼") == [half, building]


def test_single_characters_are_folded_too(world: World) -> None:
    # ⾦ is the Kangxi radical, which some input methods and PDF copies produce; NFKC makes it 金.
    bridge = world.intake(title="⾦桥小区停水", description="")["case_no"]
    garage = world.intake(title="ＡＢ栋地下车库积水", description="")["case_no"]
    world.intake(title="路灯不亮", description="")
    assert listed(world, q="金") == [bridge]
    assert listed(world, q="金桥") == [bridge]
    assert listed(world, q="⾦") == [bridge]
    assert listed(world, q="栋") == [garage]  # a lone character that ends a pair
    assert listed(world, q="积") == [garage]  # one inside a run
    assert listed(world, q="ＡＢ 栋") == [garage]  # a word and a lone character


def test_search_covers_the_location(world: World) -> None:
    case_no = world.intake(title="路灯不亮", description="", location="青桐路１８号")["case_no"]
    assert listed(world, q="青桐路") == [case_no]
    assert listed(world, q="18号") == [case_no]
