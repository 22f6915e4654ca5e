"""The two national identifiers people type at intake and in the enterprise register, checked the same way in the
API, the pages, the CLI and the ledger import: resident ID numbers (居民身份证号码, GB 11643-1999) and unified
social credit codes (统一社会信用代码, GB 32100-2015), by their check digits (python-stdnum computes them)."""

from __future__ import annotations

import re
import unicodedata

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from grievance.errors import BilingualValueError

# GB 32100: 1 registration authority, 1 kind, 6 digits of region, 9 of organisation code, 1 check character;
# letters exclude I, O, S, V and Z.
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")

CREDIT_CODE_FORMAT = (
    "统一社会信用代码应为18位数字或大写字母（不含 I、O、S、V、Z）",
    "a unified social credit code is 18 digits or capital letters (not I, O, S, V, Z)",
)
CREDIT_CODE_CHECK = (
    "统一社会信用代码校验位不正确",
    "the unified social credit code's check digit is wrong",
)
RESIDENT_ID_FORMAT = (
    "身份证号码应为18位：17位数字加1位校验位（数字或 X）",
    "a resident ID number is 18 characters: 17 digits, then a check digit or X",
)
RESIDENT_ID_CHECK = (
    "身份证号码校验位不正确",
    "the resident ID number's check digit is wrong",
)
RESIDENT_ID_BIRTH = (
    "身份证号码中的出生日期不存在",
    "the birth date in the resident ID number is not a real date",
)


def halfwidth(value: str) -> str:
    """What a person typed, in its half-width form (Unicode NFKC: 「１１０１０５」 and 「Ｘ」 become 110105 and X,
    the ideographic space a space) and without surrounding spaces. Chinese input methods type full-width
    digits and letters; every field that reads numbers, codes or days reads them through this."""
    return unicodedata.normalize("NFKC", value).strip()


def _compact(value: str) -> str:
    """As typed (full-width forms too), without spaces or hyphens, with a lower-case x as X."""
    return re.sub(r"[\s\-]", "", halfwidth(value)).upper()


def normalize_resident_id(value: str) -> str:
    """A resident ID number in its one stored form (18 characters, upper-case X), or "" for none.

    Raises BilingualValueError when it is not 18 characters of the GB 11643 form, when its check digit (ISO 7064
    MOD 11-2) is wrong, or when characters 7-14 are not a real birth date. The region code is not checked against
    a list: new counties get codes the list may not know yet."""
    number = _compact(value)
    if not number:
        return ""
    if not RESIDENT_ID.match(number):
        raise BilingualValueError(*RESIDENT_ID_FORMAT)
    if ric.calc_check_digit(number) != number[-1]:
        raise BilingualValueError(*RESIDENT_ID_CHECK)
    try:
        ric.get_birth_date(number)
    except ValidationError:
        raise BilingualValueError(*RESIDENT_ID_BIRTH) from None
    return number


def normalize_credit_code(value: str) -> str:
    """A unified social credit code in its one stored form (18 upper-case characters).

    Raises BilingualValueError when it is not 18 characters of the GB 32100 alphabet or when its check character
    (GB 32100 section 5, weighted MOD 31) is wrong."""
    code = _compact(value)
    if not CREDIT_CODE.match(code):
        raise BilingualValueError(*CREDIT_CODE_FORMAT)
    if uscc.calc_check_digit(code) != code[-1]:
        raise BilingualValueError(*CREDIT_CODE_CHECK)
    return code


def with_credit_check_digit(first_17: str) -> str:
    """The credit code that 17 characters make with their check character (demo data and tests build codes)."""
    return first_17 + uscc.calc_check_digit(first_17)


def with_resident_check_digit(first_17: str) -> str:
    """The resident ID number that 17 digits make with their check digit (demo data and tests)."""
    return first_17 + ric.calc_check_digit(first_17 + "?")  # stdnum reads the digits before the last
