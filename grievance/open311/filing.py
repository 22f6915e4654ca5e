"""Open311 GeoReport v2, POST requests: a client's form becomes a case through the front desk's own intake
(cases.service.intake_case), channel online, logged by the system account "open311", with a per-key limit.

Mapping (docs/open311.md): service_code -> the category; description -> the description (its first line, cut to
60 characters, or the service's name -> the title); address_string, address_id and lat/long -> the location text
("青桐路18号 地址编号 A-17 [30.592800,114.305500]": the case has no coordinate columns); media_url -> the last line
of the description; first_name/last_name and phone -> the petitioner (the phone in the house's one form, never
shown by Open311); attribute[case_type], attribute[urgency], attribute[occurred_at] -> those columns. email,
device_id and account_id are accepted and not stored: the case has no place for them that Open311 would not
show."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import ValidationError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from grievance.cases.phones import INVALID_EN, INVALID_ZH
from grievance.cases.schemas import CaseCreate, PetitionerIn
from grievance.cases.service import ExternalOrder, intake_case
from grievance.db import transaction
from grievance.errors import Forbidden, InvalidInput, TooManyAttempts
from grievance.glossary import LABELS, CaseType, Channel, Urgency
from grievance.open311 import service
from grievance.open311.keys import verify_key
from grievance.throttle import count_in_window, locked_counter, prune_counters, window_end
from grievance.users.service import system_account
from grievance.workflow.engine import Runtime

# system_account(username, display_name); pages show the glossary's label in their language (users.account_label)
ACCOUNT = ("open311", LABELS["SystemAccount"]["open311"])
POST_LIMITS = "30/minute;1000/day"  # new requests per API key, counted in the database (grievance.throttle)
TITLE_CHARS = 60
DESCRIPTION_MAX = 4000  # the spec's request.json: description maxLength 4000
ADDRESS_MAX = 120  # the location column holds 200: the address, an address id and the coordinates
ATTRIBUTE_FIELD = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
KNOWN_FIELDS = frozenset(
    {
        "api_key",
        "jurisdiction_id",
        "service_code",
        "lat",
        "long",
        "address_string",
        "address_id",
        "email",
        "device_id",
        "account_id",
        "first_name",
        "last_name",
        "phone",
        "description",
        "media_url",
    }
)


@dataclass
class Filed:
    """What POST requests answers: the case number as service_request_id and the token stored on the case."""

    service_request_id: str
    token: str
    service_notice: str

    def as_record(self) -> dict[str, Any]:
        return {
            "service_request_id": self.service_request_id,
            "token": self.token,
            "service_notice": self.service_notice,
            "account_id": None,
        }


def authorize_post(sessions: sessionmaker[Session], api_key: str | None, now: datetime) -> int:
    """The id of the key (its last_used_at set to `now`) after checking it and counting one request against its
    limits (POST_LIMITS), in a short transaction of its own, so a refused or failing request still counts.
    Raises Forbidden (403) for a missing, unknown or revoked key, TooManyAttempts (429, `retry_after` seconds)
    when a window of the key is full."""
    windows = [(item.amount, timedelta(seconds=item.get_expiry())) for item in parse_many(POST_LIMITS)]
    with transaction(sessions) as session:
        key = verify_key(session, api_key, now=now)
        if key is None:
            raise Forbidden("api_key 缺失、无效或已吊销", "api_key is missing, unknown or revoked")
        rows = [
            (locked_counter(session, f"open311:{int(window.total_seconds())}s:{key.id}", now), amount, window)
            for amount, window in windows
        ]
        full = [window_end(r, w) for r, amount, w in rows if r.count >= amount and window_end(r, w) > now]
        if not full:
            for row, _amount, window in rows:
                count_in_window(row, window=window, now=now)
                session.add(row)
            prune_counters(session, now)
            return key.id  # type: ignore[return-value]
    seconds = max(1, math.ceil((max(full) - now).total_seconds()))
    raise TooManyAttempts(
        f"此密钥提交过于频繁，请 {seconds} 秒后再试",
        f"too many requests with this api_key; try again in {seconds} seconds",
        retry_after=seconds,
    )


def _number(fields: dict[str, str], name: str, low: float, high: float) -> float:
    try:
        value = float(fields[name])
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidInput.field(
            name, f"{name} 须为 {low} 到 {high} 之间的数", f"{name} must be a number in {low}..{high}"
        )
    return round(value, 6)


def location_text(fields: dict[str, str]) -> str:
    """The location text from address_string, address_id and lat+long (one of them required; lat and long
    together). Raises InvalidInput naming the field."""
    address = " ".join(fields.get("address_string", "").split())
    address_id = "".join(fields.get("address_id", "").split())
    if len(address) > ADDRESS_MAX:
        raise InvalidInput.field(
            "address_string",
            f"address_string 最多 {ADDRESS_MAX} 个字符",
            f"address_string: at most {ADDRESS_MAX} characters",
        )
    if len(address_id) > 32:
        raise InvalidInput.field("address_id", "address_id 最多 32 个字符", "address_id: at most 32 characters")
    has_lat, has_long = bool(fields.get("lat", "").strip()), bool(fields.get("long", "").strip())
    if has_lat != has_long:
        raise InvalidInput.field("lat", "lat 与 long 须同时提供", "lat and long go together")
    if not (address or address_id or has_lat):
        raise InvalidInput.field(
            "address_string",
            "须提供位置：lat 与 long、address_string 或 address_id",
            "a location is required: lat and long, address_string or address_id",
        )
    parts = [address] if address else []
    if address_id:
        parts.append(f"地址编号 {address_id}")
    if has_lat:
        lat, long = _number(fields, "lat", -90, 90), _number(fields, "long", -180, 180)
        parts.append(f"[{lat:.6f},{long:.6f}]")
    return " ".join(parts)


def _media_url(value: str) -> str:
    url = value.strip()
    parts = urlsplit(url)
    if len(url) > 500 or parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise InvalidInput.field("media_url", "media_url 须为 http(s) 地址", "media_url must be an http(s) URL")
    return url


def attributes_of(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """attribute[code]=value pairs checked against the definition (service.ATTRIBUTES): an unknown code, a value
    not among a list's keys or a repeated attribute is refused with InvalidInput naming `attribute[code]`."""
    found: dict[str, str] = {}
    for name, value in pairs:
        match = ATTRIBUTE_FIELD.match(name)
        if match is None:
            continue
        code = match.group(1)
        field = f"attribute[{code}]"
        attribute = service.ATTRIBUTE_CODES.get(code)
        if attribute is None:
            known = ", ".join(service.ATTRIBUTE_CODES)
            raise InvalidInput.field(
                field, f"{field}：没有这个属性，可用：{known}", f"{field}: no such attribute; known: {known}"
            )
        if code in found or match.group(2):
            raise InvalidInput.field(field, f"{field} 只能填一个值", f"{field} takes one value")
        value = value.strip()
        keys = [key for key, _ in attribute.values]
        if keys and value not in keys:
            raise InvalidInput.field(
                field, f"{field} 须为 {', '.join(keys)} 之一", f"{field} must be one of {', '.join(keys)}"
            )
        found[code] = value
    return found


def _petitioner(fields: dict[str, str]) -> PetitionerIn:
    first, last = fields.get("first_name", "").strip(), fields.get("last_name", "").strip()
    chinese = any("\u3400" <= ch <= "\u9fff" for ch in first + last)
    name = f"{last}{first}" if chinese else " ".join(p for p in (first, last) if p)
    try:
        return PetitionerIn(name=name, phone=fields.get("phone", ""))
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors() else "phone"
        if field == "phone":
            raise InvalidInput.field("phone", INVALID_ZH, INVALID_EN) from None
        raise InvalidInput.field(
            "first_name", "姓名最多 100 个字符", "first_name and last_name: at most 100 characters"
        ) from None


def case_create(session: Session, runtime: Runtime, pairs: list[tuple[str, str]]) -> CaseCreate:
    """The intake input for an Open311 form (name, value pairs as sent), validated as the module's docstring maps
    it. Raises NotFound (404) for a service code that is no public service, InvalidInput (400) naming the field
    for anything else."""
    fields = {name: value for name, value in pairs if name in KNOWN_FIELDS}
    code = fields.get("service_code", "").strip()
    if not code:
        raise InvalidInput.field("service_code", "缺少 service_code", "service_code is required")
    category = service.public_category(session, code)
    attributes = attributes_of(pairs)
    description = fields.get("description", "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput.field(
            "description",
            f"description 最多 {DESCRIPTION_MAX} 个字符",
            f"description: at most {DESCRIPTION_MAX} characters",
        )
    first_line = description.splitlines()[0].strip() if description else ""
    title = first_line[:TITLE_CHARS] + ("…" if len(first_line) > TITLE_CHARS else "") if first_line else category.name
    if fields.get("media_url", "").strip():
        description = f"{description}\n{service.MEDIA_LINE}{_media_url(fields['media_url'])}".strip()
    occurred_at = None
    if attributes.get("occurred_at"):
        occurred_at = service.parse_w3c(attributes["occurred_at"], "attribute[occurred_at]", runtime.settings.timezone)
    try:
        return CaseCreate(
            channel=Channel.online,
            case_type=CaseType(attributes.get("case_type") or CaseType.help.value),
            urgency=Urgency(attributes.get("urgency") or Urgency.normal.value),
            title=title,
            description=description,
            location=location_text(fields),
            petitioner=_petitioner(fields),
            category=category.code,
            occurred_at=occurred_at,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "request"
        if field == "occurred_at":
            field = "attribute[occurred_at]"
        raise InvalidInput.field(field, f"{field} 有误：{error['msg']}", f"{field}: {error['msg']}") from None


def file_request(session: Session, runtime: Runtime, pairs: list[tuple[str, str]]) -> Filed:
    """POST requests: validate (case_create) and log the case through intake_case as the "open311" system
    account, channel online, its external order ("open311", a new random token). Returns the case number, the
    token and a notice with the query code, the petitioner's key to /track (and to rating the case), given only
    here, to the client that filed it. Raises as case_create, and intake's own refusals (InvalidInput)."""
    case_in = case_create(session, runtime, pairs)
    actor = system_account(session, username=ACCOUNT[0], display_name=ACCOUNT[1])
    token = secrets.token_urlsafe(24)
    result = intake_case(session, runtime, case_in=case_in, actor=actor, external=ExternalOrder(service.SOURCE, token))
    case = result.case
    notice = (
        f"已受理，受理编号 {case.case_no}，查询码 {case.query_code}：凭查询码在 /track 查看办理进度和答复"
        f" (received as {case.case_no}; query code {case.query_code}: track the case and its reply at /track)"
    )
    return Filed(service_request_id=case.case_no, token=token, service_notice=notice)
