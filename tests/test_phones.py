"""Every written form of a phone number a clerk may type comes out in one form (grievance/cases/phones.py), text
that is no phone number is recognised as such, and masking works on the normalised forms."""

from __future__ import annotations

import pytest

from grievance.cases.access import mask_phone
from grievance.cases.phones import normalize_phone

TYPED = [
    # mobiles
    ("13812345678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("+8613812345678", "13812345678"),
    ("0086 13812345678", "13812345678"),
    ("86 13812345678", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"),  # full-width digits
    ("１３８－１２３４－５６７８", "13812345678"),  # full-width dashes
    ("138—1234—5678", "13812345678"),  # em dashes, which NFKC leaves alone
    ("  13812345678 ", "13812345678"),
    ("19212345678", "19212345678"),
    # landlines: trunk 0, area code, dash, local number
    ("0710-1234567", "0710-1234567"),
    ("(0710)1234567", "0710-1234567"),
    ("（0710）1234567", "0710-1234567"),
    ("0710 1234 567", "0710-1234567"),
    ("07101234567", "0710-1234567"),
    ("+86 710 1234567", "0710-1234567"),
    ("+86 (0710) 1234567", "0710-1234567"),
    ("０７１０－１２３４５６７", "0710-1234567"),
    ("010-12345678", "010-12345678"),
    ("0755 8888 8888", "0755-88888888"),
    # extensions
    ("0710-1234567-123", "0710-1234567转123"),
    ("0710-1234567转123", "0710-1234567转123"),
    ("0710-1234567 转 123", "0710-1234567转123"),
    ("0710-1234567分机123", "0710-1234567转123"),
    ("0710-1234567 ext. 123", "0710-1234567转123"),
    ("0710-1234567#123", "0710-1234567转123"),
    ("010-1234-5678-66", "010-12345678转66"),
    # other numbers
    ("400-123-4567", "4001234567"),
    ("+852 2123 4567", "+85221234567"),
    ("+1 650 253 0000", "+16502530000"),
    # no phone given
    ("", ""),
    ("   ", ""),
]

NOT_PHONES = [
    "12",
    "12345",
    "1234567",  # a landline without its area code
    "028-1234567",  # Chengdu's local numbers have 8 digits
    "12345678901",  # no such mobile prefix
    "138123456789",  # one digit too many
    "1381234567",  # one too few
    "abc",
    "138-abc",
    "张三13812345678",
    "tel:13812345678",
    "1-800-FLOWERS",
    "0710-1234567转123转4",
    "1" * 100,
]


@pytest.mark.parametrize(("typed", "canonical"), TYPED)
def test_each_written_form_becomes_the_one_form(typed: str, canonical: str) -> None:
    assert normalize_phone(typed) == canonical
    assert normalize_phone(canonical) == canonical  # the stored form normalises to itself


@pytest.mark.parametrize("typed", NOT_PHONES)
def test_text_that_is_no_phone_number_is_recognised_as_such(typed: str) -> None:
    assert normalize_phone(typed) is None


@pytest.mark.parametrize(
    ("typed", "masked"),
    [
        ("+86 138 1234 5678", "138****5678"),
        ("0710 1234 567", "071****4567"),
        ("0710-1234567-123", "071****4567转***"),
        ("+1 650 253 0000", "+16****0000"),
    ],
)
def test_masking_works_on_the_normalised_forms(typed: str, masked: str) -> None:
    phone = normalize_phone(typed)
    assert phone is not None
    assert mask_phone(phone) == masked
