"""What of a case may leave the service in a message (docs/integrations.md, "What leaves and what does not"):
free text (titles, notes, reasons, replies) goes out with phone numbers, resident ID numbers and the case's own
petitioner name masked; callback and rating comments never go out; a confidential case (举报, `confidential`)
carries neither title nor free text, and reaches no subscription filtered to its accused department and no
all-department group robot.

The masks are the ones staff without personal-data rights see on the pages (grievance/cases/access.py:
138****5678, 420***********1234, 李*). Phone numbers are found with Google's libphonenumber (PyPI
`phonenumbers`, the library grievance/cases/phones.py parses with), plus the bare 11-digit mobile shape."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from phonenumbers import Leniency, PhoneNumberMatcher

from grievance.cases.access import mask_id_no, mask_phone
from grievance.cases.phones import normalize_phone

CONFIDENTIAL_TITLE = "【保密件】"
# Input keys whose words are the petitioner's own (a callback record, a rating comment): never sent, flagged.
COMMENT_KEYS = ("comment",)
# Events whose `note` is what the petitioner said (the centre's callback record, the self-rating's comment).
CALLBACK_EVENTS = ("callback",)
# Input keys that are codes or times, never free text: not searched for phone numbers.
STRUCTURED_KEYS = frozenset(
    {"case_no", "into", "outcome", "satisfaction", "source", "clock", "due_at", "at", "automatic", "self_reported"}
)
# Robot formats: chat groups on a third party's servers (formats.FORMATS).
ROBOT_FORMATS = frozenset({"dingtalk", "wecom"})

# A resident ID (GB 11643: 17 digits and a check digit or X), not inside a longer run of digits or letters.
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# A mainland mobile number written without separators, whatever the library thinks of its prefix.
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# Digits that look like a phone number to the library but are ours: case and order numbers (GX-2025-000123),
# dates and times (2025-12-02, 2025年12月2日 12:00).
_NOT_PHONES = re.compile(r"[A-Za-z]+-\d{4}-\d+|\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?")


def mask_name(name: str) -> str:
    """李四 -> 李*, 王大妈 -> 王**: the first character kept, the others starred."""
    return name[:1] + "*" * (len(name) - 1)


def _masked_phone(raw: str) -> str:
    number = normalize_phone(raw) or re.sub(r"\D", "", raw)
    return mask_phone(number.removeprefix("+"))


def mask_text(text: str, *, names: Iterable[str] = ()) -> str:
    """`text` with every resident ID number, phone number (mobile, landline with its area code, +86 forms,
    spaced or dashed) and each of `names` (the case's petitioner; names of 2 characters or more) masked.
    Case numbers and dates are left alone. Never raises."""
    if not text:
        return text
    text = _RESIDENT_ID.sub(lambda m: mask_id_no(m[0].upper()), text)
    protected = [m.span() for m in _NOT_PHONES.finditer(text)]
    spans: list[tuple[int, int]] = []
    for match in PhoneNumberMatcher(text, "CN", leniency=Leniency.VALID):
        if not any(start < match.end and match.start < end for start, end in protected):
            spans.append((match.start, match.end))
    for match in _MOBILE.finditer(text):
        if not any(start < match.end() and match.start() < end for start, end in spans):
            spans.append(match.span())
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + _masked_phone(text[start:end]) + text[end:]
    for name in sorted({n.strip() for n in names if len(n.strip()) >= 2}, key=len, reverse=True):
        text = text.replace(name, mask_name(name))
    return text


def public_input(event: str, payload: dict[str, Any], *, names: Iterable[str] = ()) -> dict[str, Any]:
    """An event's input as it may leave: comments (and a callback's note) dropped, with "has_comment": true
    when there was one; every other text masked (mask_text). Keys holding personal data (petitioner, phone,
    id_no) were dropped before (grievance/outbox/writer.py)."""
    names = list(names)
    kept: dict[str, Any] = {}
    had_comment = False
    # A callback by its action's name, or by its shape (record_callback's `reached`, a self-reported rating), so
    # a workflow naming its callback action otherwise does not leak the petitioner's words.
    callback = event in CALLBACK_EVENTS or "reached" in payload or payload.get("self_reported") is True
    for key, value in payload.items():
        if key in COMMENT_KEYS or (key == "note" and callback):
            had_comment = had_comment or bool(str(value or "").strip())
            continue
        kept[key] = _masked(key, value, names)
    if had_comment:
        kept["has_comment"] = True
    return kept


def _masked(key: str, value: Any, names: list[str]) -> Any:
    if isinstance(value, str):
        return value if key in STRUCTURED_KEYS else mask_text(value, names=names)
    if isinstance(value, list):
        return [_masked(key, item, names) for item in value]
    if isinstance(value, dict):
        return {k: _masked(k, v, names) for k, v in value.items()}
    return value


def is_confidential(body: dict[str, Any]) -> bool:
    """Is the message about a confidential case (a report, or one marked confidential): body.case.confidential."""
    return bool((body.get("case") or {}).get("confidential"))


def _without_text(value: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, item in value.items():
        if key.endswith("department") or key in STRUCTURED_KEYS:
            kept[key] = item  # {"code", "name"} of a department; codes and times
        elif isinstance(item, dict):
            kept[key] = _without_text(item)
        elif isinstance(item, list):
            kept[key] = [_without_text(x) if isinstance(x, dict) else x for x in item if not isinstance(x, str)]
        elif not isinstance(item, str):
            kept[key] = item
    return kept


def withheld(body: dict[str, Any]) -> dict[str, Any]:
    """A confidential case's message as it may leave: the title replaced by CONFIDENTIAL_TITLE and every free
    text of the input dropped (departments, codes, numbers, booleans and times kept). Other messages unchanged."""
    if not is_confidential(body):
        return body
    inputs = _without_text(dict(body.get("input") or {}))
    return {**body, "input": inputs, "case": {**(body.get("case") or {}), "title": CONFIDENTIAL_TITLE}}


def may_receive(
    subscription_format: str,
    subscription_departments: list[int],
    body: dict[str, Any],
    *,
    department_id: int | None,
    accused_department_id: int | None,
) -> bool:
    """May a subscription get this message at all (the confidentiality rule; the events and departments
    filters are worker._matches). Not about a confidential case: yes. About one: never a subscription whose
    departments include the accused department; a robot (dingtalk, wecom) only when it is filtered to
    departments that include the one the case is with (a group chat for all departments has the accused
    department's staff in it); a json or 12345 subscription otherwise yes (they get it withheld())."""
    if not is_confidential(body):
        return True
    if accused_department_id is not None and accused_department_id in subscription_departments:
        return False
    if subscription_format in ROBOT_FORMATS:
        return bool(subscription_departments) and department_id in subscription_departments
    return True
