"""Open311 GeoReport v2, the read side: the services (leaf categories open to the public), their attribute
definitions, and cases filed through Open311 as the spec's service requests, with nothing of the petitioner.

Which cases: only those that came in through Open311 (Case.external_source "open311") and are not confidential;
a case logged at the front desk is never listed, since its title and description were typed by staff and may name
people. Status: "closed" once the case is resolved (Case.resolved_at set, cleared by a reopen) or in a final state
of its workflow (closed, merged), else "open". Times are ISO 8601 in the deployment's time zone, with its offset.
Spec: http://wiki.open311.org/GeoReport_v2 (schemas in ../shared/open311/georeport-v2/)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from grievance.cases.models import Case, CaseClock, CaseEvent
from grievance.cases.public import PUBLIC_FIELDS
from grievance.errors import InvalidInput, NotFound
from grievance.glossary import CaseType, Urgency, label_of
from grievance.reference.models import Category, Department
from grievance.workflow.definition import RESOLVE_CLOCK
from grievance.workflow.engine import Runtime

SOURCE = "open311"  # Case.external_source of a case filed through Open311
MAX_RESULTS = 1000  # GET requests answers at most this many (the spec's limit), newest first
MAX_RANGE = timedelta(days=90)  # start_date..end_date may not span more; without dates: the last 90 days
MEDIA_LINE = "media_url: "  # the last line of a case's description holding the request's media_url
# lat/long and address_id are written into the case's location text (the case has no columns for them) in these
# forms, and read back from it: "青桐路18号 地址编号 A-17 [30.592800,114.305500]".
GPS_PATTERN = re.compile(r"\s*\[(-?\d{1,2}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)\]$")
ADDRESS_ID_PATTERN = re.compile(r"(?:^|\s)地址编号 (\S+)")


@dataclass(frozen=True)
class Attribute:
    """One attribute of every service's definition (GET services/{code}): `values` for list types."""

    code: str
    datatype: str
    description: str
    datatype_description: str
    order: int
    values: tuple[tuple[str, str], ...] = ()


# Small and honest: every attribute maps onto a column the case has. Reports (举报) are not offered: they need
# the accused department and are confidential, so they are filed in person. Petitions (信访) follow their own law.
PUBLIC_CASE_TYPES = (CaseType.help, CaseType.complaint, CaseType.consult, CaseType.suggestion, CaseType.praise)
ATTRIBUTES = (
    Attribute(
        "case_type",
        "singlevaluelist",
        "诉求类型 (kind of request); default help (求助)",
        "one key of the values",
        1,
        tuple(
            (t.value, f"{label_of('CaseType', t.value)} ({label_of('CaseType', t.value, 'en')})")
            for t in PUBLIC_CASE_TYPES
        ),
    ),
    Attribute(
        "urgency",
        "singlevaluelist",
        "紧急程度 (urgency); default normal (一般)",
        "one key of the values",
        2,
        tuple((u.value, f"{label_of('Urgency', u.value)} ({label_of('Urgency', u.value, 'en')})") for u in Urgency),
    ),
    Attribute(
        "occurred_at",
        "datetime",
        "问题发生时间 (when it happened); default: when the request is filed",
        "ISO 8601 with its offset, e.g. 2025-09-29T08:30:00+08:00; not in the future",
        3,
    ),
)
ATTRIBUTE_CODES = {a.code: a for a in ATTRIBUTES}


def public_categories(session: Session) -> list[Category]:
    """The categories offered as services: leaves of the tree (no child category) that accept public requests
    (Category.accepts_public_requests, which the admin toggles), ordered by code."""
    rows = session.exec(select(Category).order_by(col(Category.code))).all()
    parents = {c.parent_id for c in rows}
    return [c for c in rows if c.id not in parents and c.accepts_public_requests]


def public_category(session: Session, code: str) -> Category:
    """The public leaf category with this service code. Raises NotFound (404) for any other code."""
    found = next((c for c in public_categories(session) if c.code == code), None)
    if found is None:
        raise NotFound(f"没有业务类型 {code}", f"no service {code!r}")
    return found


def services(session: Session) -> list[dict[str, Any]]:
    """GET services: [{service_code, service_name, description (the category's path), metadata (true: every
    service has the attributes of ATTRIBUTES), type "realtime" (a request gets its id at once), keywords, group
    (the parent category's name)}]."""
    names = {c.id: c for c in session.exec(select(Category)).all()}

    def path(category: Category) -> list[str]:
        parent = names.get(category.parent_id) if category.parent_id else None
        return ([*path(parent)] if parent else []) + [category.name]

    return [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": " / ".join(path(c)),
            "metadata": True,
            "type": "realtime",
            "keywords": None,
            "group": names[c.parent_id].name if c.parent_id in names else None,
        }
        for c in public_categories(session)
    ]


def service_definition(session: Session, code: str) -> dict[str, Any]:
    """GET services/{code}: {service_code, attributes [{variable, code, datatype, required, datatype_description,
    order, description, values [{key, name}]}]}. Raises NotFound for a code that is not a public service."""
    category = public_category(session, code)
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": a.code,
                "datatype": a.datatype,
                "required": False,
                "datatype_description": a.datatype_description,
                "order": a.order,
                "description": a.description,
                "values": [{"key": key, "name": name} for key, name in a.values],
            }
            for a in ATTRIBUTES
        ],
    }


def local_iso(moment: datetime | None, timezone: str) -> str | None:
    """An aware UTC moment as ISO 8601 in the deployment's zone with its offset (2025-09-29T10:00:00+08:00)."""
    return None if moment is None else moment.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")


def split_location(location: str) -> tuple[str | None, str | None, float | None, float | None]:
    """(address, address_id, lat, long) read back from a case's location text (see GPS_PATTERN)."""
    lat = long = None
    gps = GPS_PATTERN.search(location)
    if gps:
        lat, long = float(gps.group(1)), float(gps.group(2))
        location = location[: gps.start()]
    address_id = None
    found = ADDRESS_ID_PATTERN.search(location)
    if found:
        address_id = found.group(1)
        location = location[: found.start()] + location[found.end() :]
    return location.strip() or None, address_id, lat, long


def split_description(description: str) -> tuple[str | None, str | None]:
    """(description, media_url): the media_url line the filing appended is taken off again."""
    head, _, last = description.rpartition("\n")
    if last.startswith(MEDIA_LINE):
        return head.strip() or None, last.removeprefix(MEDIA_LINE).strip() or None
    return description.strip() or None, None


def is_closed(runtime: Runtime, case: Case) -> bool:
    """Resolved (not reopened since) or in a final state of its workflow: see the module's docstring."""
    return case.resolved_at is not None or runtime.workflows.get(case.workflow).is_final(case.state)


def _closed_condition(runtime: Runtime) -> Any:
    finals = [
        and_(col(Case.workflow) == name, col(Case.state).in_([s for s in wf.states if wf.is_final(s)]))
        for name, wf in runtime.workflows.definitions.items()
    ]
    return or_(col(Case.resolved_at).is_not(None), *finals) if finals else col(Case.resolved_at).is_not(None)


def _service_requests(session: Session, runtime: Runtime, cases: list[Case]) -> list[dict[str, Any]]:
    """The spec's request records for these cases, in their order, from three further queries (replies and last
    event times, resolve clocks, categories and departments), whatever the number of cases."""
    ids = [c.id for c in cases]
    if not ids:
        return []
    notes: dict[int, str] = {}
    updated: dict[int, datetime] = {}
    events = session.exec(select(CaseEvent).where(col(CaseEvent.case_id).in_(ids)).order_by(col(CaseEvent.id))).all()
    for event in events:
        updated[event.case_id] = max(updated.get(event.case_id, event.at), event.at)
        reply = next((str(event.payload[f]) for f in PUBLIC_FIELDS if event.payload.get(f)), None)
        if reply:
            notes[event.case_id] = reply  # the latest public reply: the same text /track shows
    expected = {
        clock.case_id: clock.due_at
        for clock in session.exec(
            select(CaseClock).where(col(CaseClock.case_id).in_(ids), CaseClock.name == RESOLVE_CLOCK)
        ).all()
    }
    categories = {c.id: c for c in session.exec(select(Category)).all()}
    departments = {d.id: d.name for d in session.exec(select(Department)).all()}
    tz = runtime.settings.timezone
    out = []
    for case in cases:
        case_id = case.id or 0
        category = categories.get(case.category_id)
        address, address_id, lat, long = split_location(case.location)
        description, media_url = split_description(case.description)
        out.append(
            {
                "service_request_id": case.case_no,
                "status": "closed" if is_closed(runtime, case) else "open",
                "status_notes": notes.get(case_id),
                "service_name": category.name if category else None,
                "service_code": category.code if category else "",
                "description": description,
                "agency_responsible": departments.get(case.department_id),
                "service_notice": None,
                "requested_datetime": local_iso(case.received_at, tz),
                "updated_datetime": local_iso(updated.get(case_id) or case.state_changed_at, tz),
                "expected_datetime": local_iso(expected.get(case_id), tz),
                "address": address,
                "address_id": address_id,
                "zipcode": None,
                "lat": lat,
                "long": long,
                "media_url": media_url,
            }
        )
    return out


def _public(query: Any) -> Any:
    return query.where(Case.external_source == SOURCE, col(Case.confidential).is_(False))


# A time followed by a space and an offset: "2026-12-31T00:00:00 08:00" is "+08:00" whose "+" a URL's query string
# turned into a space (the client typed it unescaped, as the spec's examples and our error message show it).
_PLUS_AS_SPACE = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)$")


def parse_w3c(value: str, field: str, timezone: str) -> datetime:
    """A W3C date-time (2010-01-01T00:00:00Z, with an offset, or a date): aware; without an offset the
    deployment's zone is meant. A space before the offset is read as the "+" a query string decoded to a space
    ("2026-12-31T00:00:00 08:00" is +08:00). Raises InvalidInput naming the field."""
    try:
        moment = datetime.fromisoformat(_PLUS_AS_SPACE.sub(r"\1+\2", value.strip()))
    except ValueError:
        raise InvalidInput.field(
            field,
            f"{field} 须为 W3C 日期时间，如 2025-09-29T08:00:00+08:00",
            f"{field} must be a W3C date-time such as 2025-09-29T08:00:00Z",
        ) from None
    if not 1900 <= moment.year <= 2200:
        raise InvalidInput.field(field, f"{field} 须在 1900 至 2200 年之间", f"{field} must be within 1900..2200")
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def _listed(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def find_requests(
    session: Session,
    runtime: Runtime,
    *,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """GET requests with the spec's filters, as given (comma-separated lists, W3C dates):

    - `service_request_id` (case numbers) overrides every other filter (the spec);
    - otherwise requested_datetime (Case.received_at) within start_date..end_date, which may not span more than
      90 days (MAX_RANGE); a missing end is start + 90 days (or now), a missing start is end - 90 days;
    - `service_code` and `status` (open, closed) lists narrow further.
    At most MAX_RESULTS records, newest first. Raises InvalidInput (400) for a bad date, range or status."""
    query = _public(select(Case))
    ids = _listed(service_request_id)
    if ids:
        query = query.where(col(Case.case_no).in_(ids[:MAX_RESULTS]))
    else:
        tz = runtime.settings.timezone
        start = parse_w3c(start_date, "start_date", tz) if start_date else None
        end = parse_w3c(end_date, "end_date", tz) if end_date else None
        if end is None:
            end = start + MAX_RANGE if start is not None else runtime.now()
        if start is None:
            start = end - MAX_RANGE
        if end < start:
            raise InvalidInput.field("end_date", "end_date 不能早于 start_date", "end_date is before start_date")
        if end - start > MAX_RANGE:
            raise InvalidInput.field(
                "end_date",
                "start_date 到 end_date 不能超过 90 天",
                "start_date..end_date may not span more than 90 days",
            )
        query = query.where(col(Case.received_at) >= start, col(Case.received_at) <= end)
        codes = _listed(service_code)
        if codes:
            category_ids = select(Category.id).where(col(Category.code).in_(codes))
            query = query.where(col(Case.category_id).in_(category_ids))
        statuses = set(_listed(status))
        if statuses - {"open", "closed"}:
            raise InvalidInput.field("status", "status 只能是 open 或 closed", "status must be open or closed")
        if statuses == {"closed"}:
            query = query.where(_closed_condition(runtime))
        elif statuses == {"open"}:
            query = query.where(~_closed_condition(runtime))
    query = query.order_by(col(Case.received_at).desc(), col(Case.id).desc()).limit(MAX_RESULTS)
    return _service_requests(session, runtime, list(session.exec(query).all()))


def get_request(session: Session, runtime: Runtime, case_no: str) -> list[dict[str, Any]]:
    """GET requests/{id}: a one-record list. Raises NotFound for a number that is no public Open311 case."""
    case = session.exec(_public(select(Case)).where(Case.case_no == case_no)).first()
    if case is None:
        raise NotFound(f"没有服务请求 {case_no}", f"no service request {case_no!r}")
    return _service_requests(session, runtime, [case])


def request_for_token(session: Session, token: str) -> list[dict[str, Any]]:
    """GET tokens/{token}: [{service_request_id, token}] (the request is numbered at once, so a token always has
    its id). Raises NotFound for an unknown token."""
    case = session.exec(_public(select(Case)).where(Case.external_id == token)).first() if len(token) <= 64 else None
    if case is None:
        raise NotFound(f"没有令牌 {token[:64]}", "no service request has this token")
    return [{"service_request_id": case.case_no, "token": token}]


def set_public_categories(session: Session, offered: set[int]) -> int:
    """The admin's choice of services: every leaf category whose id is in `offered` accepts public requests, every
    other leaf does not (groups are never services and keep their flag). Returns how many leaves are offered."""
    rows = session.exec(select(Category)).all()
    parents = {c.parent_id for c in rows}
    count = 0
    for category in rows:
        if category.id in parents:
            continue
        wanted = category.id in offered
        count += wanted
        if category.accepts_public_requests != wanted:
            category.accepts_public_requests = wanted
            session.add(category)
    session.flush()
    return count
