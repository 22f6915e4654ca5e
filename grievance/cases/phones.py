"""One written form for every phone number, so that a petitioner's phone matches itself (duplicate hints, the
petitioner lookup at intake, the phone filter of the lists) whatever spaces, dashes, prefixes or full-width digits
a clerk typed it with.

The canonical forms (what `normalize_phone` returns and the database stores):

| number | canonical form | typed, for example |
|---|---|---|
| mainland mobile | 11 digits: `13812345678` | `138-1234-5678`, `138 1234 5678`, `+86 138 1234 5678`, `0086 13812345678`, `１３８１２３４５６７８` |
| mainland landline | trunk 0, area code, `-`, local number: `0710-1234567`, `010-12345678` | `0710 1234 567`, `(0710)1234567`, `+86 710 1234567` |
| other mainland numbers | the national digits: `4001234567` | `400-123-4567` |
| outside the mainland | E.164: `+85221234567`, `+16502530000` | `+852 2123 4567` |
| an extension | the number, `转`, the extension: `0710-1234567转123` | `0710-1234567-123`, `0710-1234567转123`, `…分机123`, `… ext. 123`, `…#123` |

Parsing and validity are Google's libphonenumber (PyPI `phonenumbers`), whose metadata knows the mainland's mobile
prefixes and area codes; text is folded with NFKC first (full-width digits, brackets and dashes). Our own rules are
only the Chinese extension words (转, 分机) and the common `0710-1234567-123` extension form, which the library
does not read. A landline typed without its area code is refused: the area code is what makes it one number.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType

DEFAULT_REGION = "CN"
EXTENSION_MARK = "转"  # 转 = "put through to": how an extension is written in Chinese
MAX_INPUT = 64  # longer text is no phone number; the library's own limit is 250

# The accepted forms, for error messages (no ASCII brackets: pages split "中文 (English)" on them).
ACCEPTED_ZH = (
    "手机号如 13812345678、138-1234-5678、+86 138 1234 5678，"
    "或带区号的固定电话如 0710-1234567、0710 1234 567，分机写在号码后如 0710-1234567转123"
)
ACCEPTED_EN = (
    "a mobile number such as 13812345678, 138-1234-5678 or +86 138 1234 5678, "
    "or a landline with its area code such as 0710-1234567 or 0710 1234 567, "
    "an extension after the number as 0710-1234567-123 or 0710-1234567转123"
)
INVALID_ZH = f"电话号码无法识别，可填写{ACCEPTED_ZH}"
INVALID_EN = f"not a phone number we recognise; accepted: {ACCEPTED_EN}"

# Dashes NFKC leaves alone (hyphen, non-breaking hyphen, figure dash, en and em dash, bar, minus).
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"))
# An extension at the end: Chinese words, and the ones the library knows (ext, x, #).
_EXTENSION = re.compile(r"\s*(?:转分机|分机号?|转|ext\.?|x|#)\s*(\d{1,7})$", re.IGNORECASE)
# What the number itself may be written with: digits, one leading +, spaces, dashes, brackets, dots, slashes.
_NUMBER = re.compile(r"\+?[\d\s\-()./]*\d[\d\s\-()./]*")
# `0710-1234567-123`: a last group after a dash that the whole number cannot take is an extension.
_DASH_EXTENSION = re.compile(r"(.*\d)\s*-\s*(\d{1,6})")
_LANDLINE_TYPES = (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


@lru_cache(maxsize=4096)  # a pure function of its text; intake asks twice (the form, the duplicate hints)
def normalize_phone(text: str) -> str | None:
    """The canonical form of a typed phone number (see the module's table), `""` for blank text, or None when
    the text is not recognisable as a valid phone number (the caller refuses it or keeps it with a warning).

    `text`: what a person typed or a ledger cell held, in any width. Never raises. The result is at most 24
    characters and normalising it again returns it unchanged. Validity (area codes, mobile prefixes, lengths) is
    libphonenumber's metadata for the numbering plan of each country, mainland China by default.
    """
    folded = unicodedata.normalize("NFKC", text).translate(_DASHES).strip()
    if not folded:
        return ""
    if len(folded) > MAX_INPUT:
        return None
    number_text, extension = folded, ""
    found = _EXTENSION.search(folded)
    if found:
        number_text, extension = folded[: found.start()].strip(), found[1]
    if not _NUMBER.fullmatch(number_text):
        return None
    number = _parse(number_text)
    if number is None and not extension:
        split = _DASH_EXTENSION.fullmatch(number_text)
        if split:
            head = _parse(split[1])
            if head is not None and phonenumbers.number_type(head) in _LANDLINE_TYPES:
                number, extension = head, split[2]
    if number is None:
        return None
    return _canonical(number) + (EXTENSION_MARK + extension if extension else "")


def _parse(number_text: str) -> PhoneNumber | None:
    """A valid number, or None; the text holds no extension."""
    try:
        number = phonenumbers.parse(number_text, DEFAULT_REGION)
    except NumberParseException:
        return None
    if number.extension or not phonenumbers.is_valid_number(number):
        return None
    return number


def _canonical(number: PhoneNumber) -> str:
    if phonenumbers.region_code_for_number(number) != DEFAULT_REGION:
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    national = phonenumbers.national_significant_number(number)
    area = phonenumbers.length_of_geographical_area_code(number)
    if area and phonenumbers.number_type(number) != PhoneNumberType.MOBILE:
        return f"0{national[:area]}-{national[area:]}"
    return national
