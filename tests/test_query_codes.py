"""The query code's rules: an unambiguous alphabet, 12 symbols, printed in groups, read back whatever the case,
blanks, dashes, full-width forms or look-alike letters; codes of the old format only as printed."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grievance.cases.query_codes import ALPHABET, LENGTH, grouped, lookup_candidates, new_query_code, normalise

codes = st.text(alphabet=ALPHABET, min_size=LENGTH, max_size=LENGTH)


def test_new_codes_use_twelve_symbols_without_look_alikes_and_print_in_three_groups() -> None:
    made = {new_query_code() for _ in range(200)}
    assert len(made) == 200
    for code in made:
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{12}", code), code
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", grouped(code))
    assert not set("ILOU") & set(ALPHABET) and len(ALPHABET) == 32  # 5 bits a symbol, 60 bits a code


@settings(max_examples=60, deadline=None)
@given(
    code=codes, separators=st.lists(st.sampled_from(["", " ", "-", "  ", "－", "\u3000", "—"]), min_size=3, max_size=3)
)
def test_a_code_is_read_back_however_it_is_typed(code: str, separators: list[str]) -> None:
    groups = [code[0:4], code[4:8], code[8:12]]
    typed = separators[0] + groups[0] + separators[1] + groups[1].lower() + separators[2] + groups[2] + " "
    assert normalise(typed) == code
    assert normalise(grouped(code)) == code
    # Full-width letters and digits, as a Chinese input method may give them.
    assert normalise("".join(chr(ord(c) + 0xFEE0) for c in code)) == code
    assert lookup_candidates(grouped(code).lower())[0] == code


@settings(max_examples=30, deadline=None)
@given(code=codes)
def test_o_i_and_l_read_as_the_digits_they_look_like(code: str) -> None:
    typed = code.replace("0", "O").replace("1", "l")
    assert normalise(typed) == code
    assert normalise(code.replace("1", "I").lower()) == code


@pytest.mark.parametrize(
    "typed",
    ["K7QM-3XHD-9TP", "K7QM-3XHD-9TPRX", "K7QM-3XHD-9TPU", "K7QM_3XHD_9TPR", "", "查询码K7QM3XHD9TPR"],
    ids=["short", "long", "U", "underscores", "empty", "words"],
)
def test_what_cannot_be_a_current_code_is_none(typed: str) -> None:
    assert normalise(typed) is None


@given(typed=st.text(max_size=20))
@settings(max_examples=60, deadline=None)
def test_normalising_gives_a_canonical_code_or_none(typed: str) -> None:
    result = normalise(typed)
    assert result is None or (len(result) == LENGTH and set(result) <= set(ALPHABET))


def test_an_old_code_is_looked_up_exactly_as_printed() -> None:
    assert normalise("K7QM-3XHD-9TPU") is None
    old = "q3J-x_0lO1aB9zKd"  # secrets.token_urlsafe(12), case-sensitive
    assert lookup_candidates(f" {old}\n") == [old]
    assert grouped(old) == old
    assert lookup_candidates("") == [] and lookup_candidates("查询码") == []
