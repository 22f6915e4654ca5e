"""Published months (发布月报): a supervisor freezes a complete month's report as the official record; later reports
read its figures instead of recomputing them, and what changed since publication is shown for the month's cases.

A publication stores the document service.monthly_report returned (JSON text and its SHA-256), the month's own
figures (its row of the trend) and their `as_of`. A month is published once; a correction is a new version with a
reason, the highest version being the official one, the earlier ones kept. A report as of a moment T reads the
versions published by T, so regenerating it as of T still gives the same figures.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from grievance.cases.models import AuditEntry
from grievance.config import Settings
from grievance.errors import Forbidden, InvalidInput, NotFound, RefusedByRule, StaleVersion
from grievance.glossary import Role, role_label, role_labels
from grievance.reports import queries, service
from grievance.reports.metrics import METRICS, ZONE_METRICS
from grievance.reports.models import PublishedMonth
from grievance.reports.periods import Month, Period, local_midnight, month
from grievance.users.models import User

# Who publishes: the supervisor keeps the record of the month (督办). Leaders are judged by it and read it; an
# administrator runs the system, not its figures.
PUBLISHERS = (Role.supervisor,)
REASON_LENGTH = 2000
# The case metrics a month's figures hold (liaison coverage describes the zone, not the month's cases).
CASE_METRICS = tuple(key for key in METRICS if key not in ZONE_METRICS)
# The facts compared case by case in what_changed (the enterprise column is a case attribute, not a fact).
CHANGE_FACTS = tuple(key for key in queries.CASE_FACTS)
CHANGES_LIMIT = 1000


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def canonical(doc: dict[str, Any]) -> str:
    """The document as the JSON text that is stored and hashed: keys in the report's own order (the pages and
    files render them in that order), moments as ISO text."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _local(moment: datetime, settings: Settings) -> str:
    """A stored moment (UTC) as local ISO text to the second, the form report links carry as `as_of`."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(settings.timezone)).replace(microsecond=0).isoformat()


def _month(settings: Settings, key: str) -> Month:
    return month(key, settings.report_period_start_day)


def check_publisher(user: User) -> None:
    """Forbidden (403) unless the user may publish a month (PUBLISHERS)."""
    if user.role not in PUBLISHERS:
        raise Forbidden(
            f"{role_label(user.role)}不能发布月报；可发布的角色：{role_labels(PUBLISHERS)}",
            f"the {role_label(user.role, 'en')} role may not publish a monthly report; "
            f"allowed: {role_labels(PUBLISHERS, 'en')}",
            allowed=list(PUBLISHERS),
        )


def check_complete(settings: Settings, key: str, now: datetime) -> Month:
    """The assessment month `key` (YYYY-MM) if it is over at `now` (UTC): its last local day has ended.
    InvalidInput (field month) for a malformed month or one not yet complete."""
    found = _month(settings, key)
    end = local_midnight(found.end, settings.timezone)
    if end > now:
        last = date.fromordinal(found.end.toordinal() - 1)
        raise InvalidInput.field(
            "month",
            f"考核月 {found.key} 尚未结束（最后一天为 {last}），只能发布已结束的月份",
            f"the assessment month {found.key} is not over (its last day is {last}); only a complete month "
            "can be published",
        )
    return found


def versions(session: Session, key: str) -> list[PublishedMonth]:
    """Every published version of the month `key` (YYYY-MM), version 1 first; empty when never published."""
    rows = session.execute(
        select(PublishedMonth).where(PublishedMonth.month == key).order_by(PublishedMonth.version)  # type: ignore[arg-type]
    ).scalars()
    return list(rows)


def get_published(session: Session, settings: Settings, key: str, version: int | None = None) -> PublishedMonth | None:
    """The official (latest) published version of the month `key` (YYYY-MM), or the given `version`; None when
    the month was never published. NotFound (404) for a version that does not exist; InvalidInput for a bad
    month."""
    key = _month(settings, key).key
    query = select(PublishedMonth).where(PublishedMonth.month == key)  # type: ignore[arg-type]
    if version is not None:
        found = session.execute(query.where(PublishedMonth.version == version)).scalar_one_or_none()  # type: ignore[arg-type]
        if found is None:
            raise NotFound(
                f"{key} 没有第 {version} 版发布的月报",
                f"the monthly report of {key} has no published version {version}",
            )
        return found
    return session.execute(query.order_by(PublishedMonth.version.desc()).limit(1)).scalar_one_or_none()  # type: ignore[attr-defined]


def document(row: PublishedMonth) -> dict[str, Any]:
    """The frozen monthly report of a published version, exactly as stored (moments as ISO text)."""
    return json.loads(row.document)  # type: ignore[no-any-return]


def publish_month(
    session: Session,
    settings: Settings,
    key: str,
    user: User,
    *,
    reason: str | None = None,
    now: datetime,
) -> PublishedMonth:
    """Publish the monthly report of the assessment month `key` (YYYY-MM) as of `now` (UTC, cut to the second):
    the report is computed live (service.monthly_report, every overdue case listed), stored with its hash as the
    next version, and audited. Returns the new row (version 1, or n+1 for a correction).

    Errors: Forbidden unless a supervisor; InvalidInput (month) for a malformed or incomplete month, (reason) for
    a reason over REASON_LENGTH characters; RefusedByRule (409) to re-publish without a reason; StaleVersion (409)
    when another publication of the month was written at the same time."""
    check_publisher(user)
    found = check_complete(settings, key, now)
    reason = (reason or "").strip()
    if len(reason) > REASON_LENGTH:
        raise InvalidInput.field(
            "reason", f"原因最多 {REASON_LENGTH} 字", f"the reason is at most {REASON_LENGTH} characters"
        )
    earlier = get_published(session, settings, found.key)
    if earlier is not None and not reason:
        raise RefusedByRule(
            f"{found.key} 的月报已发布（第 {earlier.version} 版）；重新发布（更正）须填写原因",
            f"the monthly report of {found.key} is already published (version {earlier.version}); "
            "publishing it again (a correction) needs a reason",
        )
    as_of = now.astimezone(UTC).replace(microsecond=0)
    doc = service.monthly_report(session, settings, month_key=found.key, as_of=as_of, overdue_limit=None)
    text = canonical(doc)
    own = json.loads(text)["trend"][-1]
    row = PublishedMonth(
        month=found.key,
        version=(earlier.version if earlier else 0) + 1,
        period_start=found.start,
        period_end=found.end,
        as_of=as_of,
        published_at=now,
        published_by_id=int(user.id or 0),
        reason=reason,
        document=text,
        figures={"key": own["key"], "label": own["label"], "metrics": own["metrics"]},
        content_hash=content_hash(text),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise StaleVersion(
            f"{found.key} 的月报刚被他人发布，请刷新后再试",
            f"the monthly report of {found.key} was just published by someone else; reload and try again",
        ) from None
    session.add(
        AuditEntry(
            user_id=user.id,
            action="publish_month",
            detail=f"monthly {found.key} version {row.version} as of {as_of.isoformat()} {row.content_hash}"[:500],
        )
    )
    return row


def _people(session: Session, ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in session.execute(select(User).where(User.id.in_(ids))).scalars()}  # type: ignore[union-attr,attr-defined,misc]


def _version_info(row: PublishedMonth, people: dict[int, User], settings: Settings) -> dict[str, Any]:
    person = people.get(row.published_by_id)
    return {
        "version": row.version,
        "published_at": _local(row.published_at, settings),
        "published_by": {
            "id": row.published_by_id,
            "username": person.username if person else "",
            "display_name": person.display_name if person else "",
        },
        "as_of": _local(row.as_of, settings),
        "reason": row.reason,
        "content_hash": row.content_hash,
        # The stored text still hashes to the recorded hash (nobody edited the record in the database).
        "intact": content_hash(row.document) == row.content_hash,
    }


def info(session: Session, settings: Settings, key: str, version: int | None = None) -> dict[str, Any] | None:
    """What a reader needs to know of a month's publication, or None when it was never published:
    {"month", "official_version", "shown_version", "official": whether the version shown is the official one,
    "period": {"from", "to"}, "versions": [{"version", "published_at", "published_by": {"id", "username",
    "display_name"}, "as_of", "reason", "content_hash", "intact"}], **the shown version's entry}. Moments are
    local ISO text. NotFound for a `version` that does not exist."""
    rows = versions(session, _month(settings, key).key)
    if not rows:
        if version is not None:
            get_published(session, settings, key, version)  # raises NotFound
        return None
    shown = rows[-1] if version is None else next((r for r in rows if r.version == version), None)
    if shown is None:
        get_published(session, settings, key, version)  # raises NotFound
        raise AssertionError("unreachable")
    people = _people(session, {r.published_by_id for r in rows})
    entries = [_version_info(r, people, settings) for r in rows]
    return {
        "month": rows[-1].month,
        "official_version": rows[-1].version,
        "shown_version": shown.version,
        "official": shown.version == rows[-1].version,
        "period": {"from": shown.period_start.isoformat(), "to": shown.period_end.isoformat()},
        **next(entry for entry in entries if entry["version"] == shown.version),
        "versions": entries,
    }


def list_published(session: Session, settings: Settings) -> list[dict[str, Any]]:
    """Every published month, newest month first, with its official version: [{"month", "version" (official),
    "versions" (how many), "published_at", "published_by" (username), "as_of", "reason"}]. One query."""
    latest = (
        select(PublishedMonth.month, func.max(PublishedMonth.version).label("version"), func.count().label("n"))
        .group_by(PublishedMonth.month)
        .subquery()
    )
    rows = session.execute(
        select(PublishedMonth, latest.c.n, User.username)
        .join(latest, and_(latest.c.month == PublishedMonth.month, latest.c.version == PublishedMonth.version))
        .join(User, User.id == PublishedMonth.published_by_id)  # type: ignore[arg-type]
        .order_by(PublishedMonth.month.desc())  # type: ignore[attr-defined]
    ).all()
    return [
        {
            "month": row.month,
            "version": row.version,
            "versions": int(n),
            "published_at": _local(row.published_at, settings),
            "published_by": username,
            "as_of": _local(row.as_of, settings),
            "reason": row.reason,
        }
        for row, n, username in rows
    ]


def frozen_figures(session: Session, settings: Settings, keys: list[str], as_of: datetime) -> dict[str, dict[str, Any]]:
    """For the months `keys` (YYYY-MM), the figures of the latest version published by `as_of` (UTC), when it was
    published for the month's present bounds (a changed period start day makes it another month):
    {key: {"metrics", "version", "as_of" (local ISO)}}. One query, reading no document."""
    if not keys:
        return {}
    rows = session.execute(
        select(
            PublishedMonth.month,
            PublishedMonth.version,
            PublishedMonth.period_start,
            PublishedMonth.period_end,
            PublishedMonth.as_of,
            PublishedMonth.figures,
        )
        .where(PublishedMonth.month.in_(keys), PublishedMonth.published_at <= as_of)  # type: ignore[attr-defined,arg-type]
        .order_by(PublishedMonth.month, PublishedMonth.version)
    ).all()
    found: dict[str, dict[str, Any]] = {}
    for row in rows:  # the last version of each month wins
        bounds = _month(settings, row.month)
        if (row.period_start, row.period_end) == (bounds.start, bounds.end):
            found[row.month] = {
                "metrics": row.figures["metrics"],
                "version": row.version,
                "as_of": _local(row.as_of, settings),
            }
    return found


# --- what changed since publication ----------------------------------------------------------------------------


def _changed_rows(
    session: Session,
    then: service.ReportQuery,
    now: service.ReportQuery,
    *,
    limit: int | None,
    hidden_from_department: int | None,
) -> tuple[int, list[dict[str, Any]]]:
    """The cases of the month whose facts, state or department differ between the two moments (or that were not
    in the cohort then), oldest first, and how many. One query for the rows, one for the count."""
    live, frozen = queries.facts(now), queries.facts(then).alias("facts_then")
    differs = [
        frozen.c.case_id.is_(None),
        live.c.state != frozen.c.state,
        live.c.department.is_distinct_from(frozen.c.department),
        *(live.c[key] != frozen.c[key] for key in CHANGE_FACTS),
    ]
    condition: Any = or_(*differs)
    if hidden_from_department is not None:
        condition = and_(
            condition,
            or_(live.c.accused_department_id.is_(None), live.c.accused_department_id != hidden_from_department),
        )
    joined = live.outerjoin(frozen, frozen.c.case_id == live.c.case_id)
    total = session.execute(select(func.count()).select_from(joined).where(condition)).scalar_one()
    query = (
        select(
            live.c.case_id,
            live.c.case_no,
            live.c.title,
            live.c.received_at,
            live.c.confidential,
            frozen.c.state.label("state_then"),
            live.c.state.label("state_now"),
            frozen.c.department.label("department_then"),
            live.c.department.label("department_now"),
            *(frozen.c[key].label(f"then_{key}") for key in CHANGE_FACTS),
            *(live.c[key].label(f"now_{key}") for key in CHANGE_FACTS),
        )
        .select_from(joined)
        .where(condition)
        .order_by(live.c.received_at, live.c.case_id)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = []
    for row in session.execute(query):
        m = row._mapping
        facts = {}
        for key in CHANGE_FACTS:
            before, after = m[f"then_{key}"], m[f"now_{key}"]
            before = float(before) if before is not None else None
            after = float(after or 0)
            if before != after and not (before is None and after == 0):
                facts[key] = {"then": _num(before), "now": _num(after)}
        rows.append(
            {
                "case_id": m["case_id"],
                "case_no": m["case_no"],
                "title": m["title"],
                "received_at": m["received_at"],
                "confidential": bool(m["confidential"]),
                "counted_then": m["state_then"] is not None,
                "state_then": m["state_then"],
                "state_now": m["state_now"],
                "department_then": m["department_then"],
                "department_now": m["department_now"],
                "facts": facts,
                "metrics": [
                    key
                    for key in CASE_METRICS
                    if METRICS[key].numerator in facts or (METRICS[key].denominator or "") in facts
                ],
            }
        )
    return int(total), rows


def _num(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 6)


def what_changed(
    session: Session,
    settings: Settings,
    key: str,
    *,
    now: datetime,
    version: int | None = None,
    actor: User | None = None,
    limit: int | None = CHANGES_LIMIT,
) -> dict[str, Any]:
    """What changed since a month was published, for the month's own cases: the cases received in the assessment
    month (the cohort every figure of the month counts, duplicates included as the duplicate count does).

    Returns {"month", "version", "published_as_of", "as_of" (now; local ISO text), "metrics": [{"key", "label",
    "label_en", "kind", "published": {value[, numerator, denominator]}, "live": {...}, "change" (live - published
    value, None when either has none), "numerator_change", "denominator_change", "cases": [case_no...] (the listed
    changed cases whose facts behind the metric changed)}] in registry order, "count" (changed cases), "cases":
    [{"case_id", "case_no", "title", "received_at", "confidential", "counted_then", "state_then", "state_now",
    "department_then", "department_now", "department_then_name", "department_now_name", "facts": {fact: {"then",
    "now"}}, "metrics": [metric keys]}] (the first `limit`, oldest first), "reproduced": whether the history as of
    the published moment still gives the frozen figures}. A case counts as changed when a fact, its state or its
    department differs between the published as_of and now, or when it joined the month's cohort since (a case
    recorded later with an earlier time received). Facts in SQL: three aggregate queries and two for the cases.

    NotFound when the month (or that version) was never published; listed confidential cases are audited and a
    report (举报) is never listed to the department it accuses (the actor's)."""
    row = get_published(session, settings, key, version)
    if row is None:
        found = _month(settings, key).key
        raise NotFound(f"{found} 的月报尚未发布", f"the monthly report of {found} has not been published")
    bounds = Period(row.period_start, row.period_end, row.as_of, settings.timezone)
    then = service.report_query(settings, bounds)
    moment = now.astimezone(UTC)
    current = service.report_query(settings, Period(row.period_start, row.period_end, moment, settings.timezone))
    live = service.metric_values(queries.totals(session, current), zone=False)
    replayed = service.metric_values(queries.totals(session, then), zone=False)
    frozen = row.figures["metrics"]
    hidden = actor.department_id if actor is not None else None
    count, cases = _changed_rows(session, then, current, limit=limit, hidden_from_department=hidden)
    session.add_all(
        AuditEntry(user_id=actor.id if actor else None, action="list_confidential", case_id=item["case_id"])
        for item in cases
        if item["confidential"]
    )
    names = service.group_labels(
        session,
        "department",
        list({item["department_then"] for item in cases} | {item["department_now"] for item in cases}),
    )
    for item in cases:
        item["department_then_name"] = names.get(item["department_then"], "") if item["counted_then"] else ""
        item["department_now_name"] = names.get(item["department_now"], "")
    metrics = []
    for key_ in CASE_METRICS:
        m = METRICS[key_]
        before, after = frozen.get(key_, {}), live[key_]
        metrics.append(
            {
                "key": key_,
                "label": m.label,
                "label_en": m.label_en,
                "kind": m.kind,
                "published": before,
                "live": after,
                "change": _diff(after.get("value"), before.get("value")),
                "numerator_change": _diff(after.get("numerator"), before.get("numerator")),
                "denominator_change": _diff(after.get("denominator"), before.get("denominator")),
                "cases": [item["case_no"] for item in cases if key_ in item["metrics"]],
            }
        )
    return {
        "month": row.month,
        "version": row.version,
        "published_as_of": _local(row.as_of, settings),
        "as_of": _local(moment, settings),
        "metrics": metrics,
        "count": count,
        "cases": cases,
        "reproduced": all(replayed[k] == frozen.get(k) for k in CASE_METRICS),
    }


def _diff(after: float | int | None, before: float | int | None) -> float | int | None:
    if after is None or before is None:
        return None
    return _num(round(after - before, 6))


def monthly_for_reader(
    session: Session,
    settings: Settings,
    key: str,
    *,
    now: datetime,
    as_of: datetime | None = None,
    live: bool = False,
    version: int | None = None,
    overdue_limit: int | None = 100,
) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
    """The monthly report a reader asked for: (document, publication info or None, source). A published month
    is served frozen ("published": its official version, or `version`) unless `live` or an explicit `as_of` asks
    for the figures computed now or as of that moment ("live", through service.monthly_report). The info is
    `info()` of the version shown, or of the official one beside a live document.

    InvalidInput (field version) for a version asked together with live or as_of; NotFound for a version that
    does not exist."""
    key = _month(settings, key).key
    if version is not None and (live or as_of is not None):
        raise InvalidInput.field(
            "version",
            "指定发布版本时不能同时要求重新计算（live 或 as_of）",
            "a published version is shown as stored: leave out live and as_of",
        )
    row = None if live or as_of is not None else get_published(session, settings, key, version)
    shown = info(session, settings, key, row.version if row is not None else None)
    if row is not None:
        return document(row), shown, "published"
    doc = service.monthly_report(session, settings, month_key=key, as_of=as_of or now, overdue_limit=overdue_limit)
    return doc, shown, "live"
