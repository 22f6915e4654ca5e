"""The petitioner's query code (查询码): made once at intake, read aloud at the desk, typed on a phone, so it uses an
alphabet without look-alike letters, ignores case and separators, and is printed in groups of four.

The rules, and why the code is long enough (the numbers the README states):

- Alphabet: Crockford's base32 (https://www.crockford.com/base32.html), the digits and the capitals without I, L, O
  and U: 32 symbols, 5 bits each. A reader who types O, I or L gets 0, 1 and 1, the letters they stand for.
- Length: 12 symbols = 60 bits, 2**60 ≈ 1.15e18 codes, stored canonical (upper case, no separators, 12 characters)
  in `Case.query_code` (VARCHAR(32): no migration) and printed "K7QM-3XHD-9TPR".
- Codes alive: they never expire; assume 1,000,000 (decades of a zone's intake at tens of thousands a year).
- Guesses: the public lookups (page and API) are throttled per client address to 10 a minute and 100 an hour
  (web.lookup_throttle), counted in the database, so the limit holds however many worker processes serve them
  (an IPv6 address counts as its /64 network): at most 100 * 24 * 365 = 876,000 guesses a year from one address.
- Chance that one address hits any live code in a year: 876,000 * 1e6 / 2**60 ≈ 7.6e-7 (about 1 in 1.3 million);
  10,000 addresses guessing for a year together: about 0.76%. A hit shows a case's status and replies, never
  personal data (grievance.cases.public).
- Random collisions between new codes: below 1e6**2 / 2**61 ≈ 4e-7 over a million codes (the column is unique).

Codes made before these rules (16 case-sensitive characters of base64url, such as "q3J-x_0lO1aB9zKd") stay valid:
a petitioner has them on paper. They are looked up exactly as typed, apart from surrounding blanks.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
LENGTH = 12
GROUP = 4
# What a reader may type for a symbol of the alphabet (Crockford's decoding rules).
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
# Blanks and dashes a person types between groups, ASCII or full width (NFKC folds most of the latter).
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−]+")
_CANONICAL = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")
_LEGACY = re.compile(r"[A-Za-z0-9_\-]{1,32}")  # secrets.token_urlsafe's alphabet, within the column's width


def new_query_code() -> str:
    """A fresh random code in canonical form: LENGTH symbols of ALPHABET (60 bits from `secrets`)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(typed: str) -> str | None:
    """The canonical code a person meant, or None if what they typed cannot be a current code.

    Full-width characters become ASCII (NFKC), blanks and dashes are dropped, letters are upper-cased, and O, I, L
    read as 0, 1, 1: " k7qm-3xhd 9tpr " and "K7QM3XHD9TPR" are the same code."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", typed)).upper().translate(_READ_AS)
    return text if _CANONICAL.fullmatch(text) else None


def lookup_candidates(typed: str) -> list[str]:
    """The stored values that what a person typed may match, best first: the canonical current code, then a code
    of the old format as typed (case-sensitive, only surrounding blanks removed). Empty when it can be neither."""
    candidates = []
    canonical = normalise(typed)
    if canonical:
        candidates.append(canonical)
    legacy = unicodedata.normalize("NFKC", typed).strip()
    if _LEGACY.fullmatch(legacy) and legacy != canonical:
        candidates.append(legacy)
    return candidates


def grouped(code: str) -> str:
    """A code as printed and shown: a current code in groups of four joined by dashes ("K7QM-3XHD-9TPR"); a code of
    the old format unchanged (it is case-sensitive and may itself contain dashes)."""
    if not _CANONICAL.fullmatch(code):
        return code
    return "-".join(code[i : i + GROUP] for i in range(0, LENGTH, GROUP))
