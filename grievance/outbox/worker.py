"""The outbox worker: fans each new message out to the subscriptions that want it, then sends the due
deliveries, in order per (subscription, case), at least once, retrying with exponential backoff until a
delivery is delivered or dead. Several worker processes may run at once on PostgreSQL; on SQLite, one.

How it stays correct (docs/integrations.md, "推送与订阅 / Outbox and subscriptions"):
- fan-out takes messages in id order and is serialised (PostgreSQL: a transaction-scoped advisory lock; the
  others skip the round), so deliveries of one case are created in the order of its events;
- a delivery is due only when no earlier (lower message id) pending delivery of the same subscription and case
  exists and no earlier message of its case is still unfanned: one at a time per (subscription, case);
- claiming is a short transaction: the chosen rows are locked `FOR UPDATE SKIP LOCKED` (PostgreSQL), and each
  is leased by moving its next_attempt_at past the time the sends may take; the HTTP calls happen outside any
  transaction; the result is written in another short one, only while the lease is still ours. A worker that
  dies mid-send leaves its rows pending with an expired lease: another worker sends them again (at least once;
  receivers de-duplicate by delivery id);
- a dead delivery is no longer pending, so it does not hold back the later ones of its case;
- a paused subscription still gets its deliveries at fan-out; they are not due until it is resumed."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, exists, func, text, update
from sqlalchemy.orm import aliased, sessionmaker
from sqlmodel import Session, col, select

from grievance.cases.models import Case
from grievance.config import Settings
from grievance.db import is_busy, transaction, utcnow
from grievance.outbox.formats import OutgoingRequest, renderer, takes
from grievance.outbox.models import Delivery, OutboxMessage, Subscription
from grievance.outbox.privacy import is_confidential, may_receive
from grievance.outbox.retention import prune_sent
from grievance.reference.models import Department

log = logging.getLogger("grievance.outbox")
PRUNE_EVERY = timedelta(hours=1)

FAN_OUT_LOCK = 0x6F7574626F78  # pg_advisory_xact_lock key of the fan-out ("outbox")
FAN_OUT_BATCH = 500
CLAIM_BATCH = 20
LEASE_MARGIN_SECONDS = 30.0
ERROR_MAX = 500  # Delivery.last_error's length
JITTER = 0.1  # up to 10% more wait, so retries of many deliveries do not land at one instant

Clock = Callable[[], datetime]


@dataclass
class Claimed:
    """A delivery this worker leased, with what rendering needs (detached copies)."""

    delivery: Delivery
    subscription: Subscription
    message: OutboxMessage
    lease: datetime


@dataclass
class Pass:
    """What one round did: messages fanned out, and deliveries delivered, retried later, dead, skipped."""

    fanned: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.delivered + self.retried + self.dead + self.skipped


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _matches(subscription: Subscription, message: OutboxMessage, department_id: int | None) -> bool:
    if subscription.events and message.event not in subscription.events:
        return False
    return not subscription.department_ids or department_id in subscription.department_ids


def _wants(
    subscription: Subscription, message: OutboxMessage, department_id: int | None, accused_id: int | None
) -> bool:
    """Does the subscription get a delivery of this message: its filters (_matches), the confidentiality rule
    (privacy.may_receive) and its format's own choice (formats.takes: the 12345 format takes only the actions of
    cases from 12345), so no delivery is made only to be skipped."""
    return (
        _matches(subscription, message, department_id)
        and may_receive(
            subscription.format,
            list(subscription.department_ids),
            message.body,
            department_id=department_id,
            accused_department_id=accused_id,
        )
        and takes(subscription.format, message)
    )


def fan_out(session: Session, *, now: datetime | None = None, limit: int = FAN_OUT_BATCH) -> int:
    """Give the oldest unfanned messages (id order, at most `limit`) one pending Delivery per subscription that
    wants it (_wants), paused ones included (a paused subscription holds its deliveries: they go out, in order,
    when it is resumed), and mark them fanned out (`fanned_out_at`). Returns how many messages were fanned out.

    A subscription matches when its `events` is empty or holds the message's event, and its `department_ids` is
    empty or holds the case's department as the message recorded it (body.case.department.code, the department
    at the time of the event); a confidential case's messages go by privacy.may_receive (never to a subscription
    filtered to the accused department, the case's current accused_department_id). A message that no
    subscription wants is fanned out with no delivery: a subscription created later does not receive the past.
    On PostgreSQL one fan-out runs at a time (advisory lock, taken with try: a worker that finds it taken does
    nothing this round); flushes, never commits."""
    now = now or utcnow()
    if _is_postgresql(session):
        taken = session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": FAN_OUT_LOCK}).scalar()
        if not taken:
            return 0
    messages = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.fanned_out_at).is_(None))
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    ).all()
    if not messages:
        return 0
    subscriptions = session.exec(select(Subscription).order_by(col(Subscription.id))).all()
    codes = {((m.body.get("case") or {}).get("department") or {}).get("code") for m in messages} - {None}
    department_ids = (
        dict(session.exec(select(Department.code, Department.id).where(col(Department.code).in_(codes))).all())
        if codes and subscriptions
        else {}
    )
    confidential = {m.case_id for m in messages if is_confidential(m.body)}
    accused: dict[int, int | None] = (
        dict(session.exec(select(Case.id, Case.accused_department_id).where(col(Case.id).in_(confidential))).all())
        if confidential and subscriptions
        else {}
    )
    for message in messages:
        code = ((message.body.get("case") or {}).get("department") or {}).get("code")
        department_id = department_ids.get(code) if code else None
        for subscription in subscriptions:
            if _wants(subscription, message, department_id, accused.get(message.case_id)):
                session.add(
                    Delivery(
                        message_id=message.id,  # type: ignore[arg-type]
                        subscription_id=subscription.id,  # type: ignore[arg-type]
                        case_id=message.case_id,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        message.fanned_out_at = now
        session.add(message)
    session.flush()
    return len(messages)


def due_deliveries_query(now: datetime, limit: int) -> Any:
    """The ids of the deliveries that may be sent now, oldest message first: pending, due, of an active
    subscription, with no earlier pending delivery of the same (subscription, case) and no earlier unfanned
    message of the case."""
    earlier = aliased(Delivery)
    earlier_pending = exists().where(
        and_(
            earlier.subscription_id == Delivery.subscription_id,
            earlier.case_id == Delivery.case_id,
            earlier.status == "pending",
            earlier.message_id < Delivery.message_id,
        )
    )
    earlier_unfanned = exists().where(
        and_(
            OutboxMessage.case_id == Delivery.case_id,
            col(OutboxMessage.fanned_out_at).is_(None),
            col(OutboxMessage.id) < Delivery.message_id,
        )
    )
    active = exists().where(and_(Subscription.id == Delivery.subscription_id, col(Subscription.active).is_(True)))
    return (
        select(Delivery.id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now, active)
        .where(~earlier_pending, ~earlier_unfanned)
        .order_by(col(Delivery.message_id), col(Delivery.id))
        .limit(limit)
    )


def claim_due(session: Session, settings: Settings, *, now: datetime, limit: int = CLAIM_BATCH) -> list[Claimed]:
    """Lease up to `limit` due deliveries for this worker: their next_attempt_at moves to now + the time the
    sends may take (timeout x count + a margin), so no other worker takes them meanwhile, and a crashed
    worker's rows come due again when the lease ends. On PostgreSQL the rows are chosen `FOR UPDATE SKIP
    LOCKED` (two workers never choose one row); on both databases a row is leased only if it is still pending
    and due (a conditional UPDATE), so a row is never leased twice. Flushes; the caller commits before sending."""
    query = due_deliveries_query(now, limit)
    if _is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    ids = list(session.exec(query).all())
    if not ids:
        return []
    lease = now + timedelta(seconds=settings.outbox_timeout_seconds * len(ids) + LEASE_MARGIN_SECONDS)
    leased: list[int] = []
    for delivery_id in ids:
        result = session.execute(
            update(Delivery)
            .where(col(Delivery.id) == delivery_id, col(Delivery.status) == "pending", Delivery.next_attempt_at <= now)
            .values(next_attempt_at=lease)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            leased.append(delivery_id)
    if not leased:
        return []
    session.expire_all()
    deliveries = session.exec(select(Delivery).where(col(Delivery.id).in_(leased)).order_by(col(Delivery.id))).all()
    subscriptions = {
        s.id: s
        for s in session.exec(
            select(Subscription).where(col(Subscription.id).in_({d.subscription_id for d in deliveries}))
        ).all()
    }
    messages = {
        m.id: m
        for m in session.exec(
            select(OutboxMessage).where(col(OutboxMessage.id).in_({d.message_id for d in deliveries}))
        ).all()
    }
    return [Claimed(d, subscriptions[d.subscription_id], messages[d.message_id], lease) for d in deliveries]


def backoff_seconds(attempts: int, settings: Settings) -> float:
    """The wait after the `attempts`-th failed try: min(base x 2^(attempts-1), max) seconds, plus up to 10%."""
    wait = min(settings.outbox_backoff_base_seconds * 2 ** min(attempts - 1, 60), settings.outbox_backoff_max_seconds)
    return wait * (1 + random.uniform(0, JITTER))


def dead_after_seconds(settings: Settings) -> float:
    """Seconds from a delivery's first failed attempt to its last (the outbox_max_attempts-th, which makes it
    dead), jitter left out: the sum of backoff waits 1 … max_attempts-1. The defaults give 87,915 s (24.4 h)."""
    return float(
        sum(
            min(settings.outbox_backoff_base_seconds * 2 ** min(n - 1, 60), settings.outbox_backoff_max_seconds)
            for n in range(1, settings.outbox_max_attempts)
        )
    )


def _scrub(text: str, claimed: Claimed, request: OutgoingRequest | None) -> str:
    """An error text without the subscription's secret or its URL (webhook URLs carry access tokens)."""
    for secret in (request.url if request else "", claimed.subscription.url, claimed.subscription.secret):
        if secret:
            text = text.replace(secret, "…")
    return " ".join(text.split())[:ERROR_MAX]


def send(claimed: Claimed, settings: Settings, client: httpx.Client) -> tuple[str, int | None, str]:
    """Render and POST one leased delivery, outside any transaction: ("delivered" | "failed" | "skipped",
    the HTTP status or None, an error text without secrets)."""
    request: OutgoingRequest | None = None
    try:
        request = renderer(claimed.subscription.format)(
            claimed.subscription, claimed.message, claimed.delivery, settings
        )
        if request is None:
            return "skipped", None, ""
        response = client.post(request.url, content=request.body, headers=request.headers)
    except Exception as exc:  # a receiver down, a timeout, a format that cannot render this message
        return "failed", None, _scrub(f"{exc.__class__.__name__}: {exc}", claimed, request)
    ok = 200 <= response.status_code < 300
    if ok and request.accepted is not None:
        ok = request.accepted(response.status_code, response.content)
    if ok:
        return "delivered", response.status_code, ""
    return (
        "failed",
        response.status_code,
        _scrub(f"HTTP {response.status_code}: {response.text[:200]}", claimed, request),
    )


def record(
    session: Session,
    settings: Settings,
    claimed: Claimed,
    outcome: tuple[str, int | None, str],
    *,
    now: datetime,
) -> str:
    """Write one send's result, only while this worker's lease is still on the row (else another worker has
    taken it over after the lease ended, and its result counts). Returns "delivered", "retried", "dead",
    "skipped", or "lost" (the lease had ended). A failure waits backoff_seconds; the outbox_max_attempts-th
    failure makes the delivery dead. Flushes."""
    status, code, error = outcome
    attempts = claimed.delivery.attempts + (0 if status == "skipped" else 1)
    values: dict[str, Any] = {"attempts": attempts, "last_attempt_at": now, "last_status_code": code}
    if status == "delivered":
        values.update(status="delivered", delivered_at=now, last_error="")
        result = "delivered"
    elif status == "skipped":
        values.update(status="skipped", last_error="")
        result = "skipped"
    elif attempts >= settings.outbox_max_attempts:
        values.update(status="dead", last_error=error)
        result = "dead"
    else:
        values.update(next_attempt_at=now + timedelta(seconds=backoff_seconds(attempts, settings)), last_error=error)
        result = "retried"
    done = session.execute(
        update(Delivery)
        .where(
            col(Delivery.id) == claimed.delivery.id,
            col(Delivery.status) == "pending",
            Delivery.next_attempt_at == claimed.lease,
        )
        .values(**values)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        log.warning("outbox: delivery %s: lease ended before its result was written", claimed.delivery.id)
        return "lost"
    if result in ("retried", "dead"):
        log.warning("outbox: delivery %s %s after %s attempts: %s", claimed.delivery.id, result, attempts, error)
    return result


def deliver_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    clock: Clock = utcnow,
    limit: int = CLAIM_BATCH,
    client: httpx.Client | None = None,
) -> Pass:
    """One round of sending: lease the due deliveries (claim_due, committed), POST each with httpx (timeout
    settings.outbox_timeout_seconds, no redirects followed), write each result in its own transaction."""
    outcome = Pass()
    with transaction(sessions) as session:
        claimed = claim_due(session, settings, now=clock(), limit=limit)
    if not claimed:
        return outcome
    own = client is None
    http = client or httpx.Client(timeout=settings.outbox_timeout_seconds, follow_redirects=False)
    try:
        for item in claimed:
            result = send(item, settings, http)
            with transaction(sessions) as session:
                written = record(session, settings, item, result, now=clock())
            if written in ("delivered", "retried", "dead", "skipped"):
                setattr(outcome, written, getattr(outcome, written) + 1)
            if result[2]:
                outcome.errors.append(result[2])
    finally:
        if own:
            http.close()
    return outcome


def run_once(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    clock: Clock = utcnow,
    client: httpx.Client | None = None,
    max_rounds: int = 1000,
) -> Pass:
    """Fan out every waiting message and send whatever is due now, round after round until nothing more is
    (a delivered event lets the next one of its case go), at most `max_rounds` rounds: `outbox run --once`."""
    total = Pass()
    for _ in range(max_rounds):
        with transaction(sessions) as session:
            fanned = fan_out(session, now=clock())
        done = deliver_due(sessions, settings, clock=clock, client=client)
        total.fanned += fanned
        for name in ("delivered", "retried", "dead", "skipped"):
            setattr(total, name, getattr(total, name) + getattr(done, name))
        total.errors.extend(done.errors)
        if not fanned and not done.sent:
            break
    return total


def run_worker(
    sessions: sessionmaker[Session],
    runtime: Any,
    stop_event: threading.Event,
    *,
    clock: Clock = utcnow,
) -> None:
    """The worker loop (`grievance outbox run`, and a thread of `grievance serve`): a round of run_once, then a
    pause of settings.outbox_poll_seconds when the round found nothing to do, until `stop_event` is set. A
    database or network failure is logged and the loop carries on after the pause. Wall-clock time (not the
    runtime's business clock) decides when a retry is due."""
    settings: Settings = runtime.settings
    log.info("outbox worker started (poll every %ss)", settings.outbox_poll_seconds)
    next_prune = clock()
    with httpx.Client(timeout=settings.outbox_timeout_seconds, follow_redirects=False) as client:
        while not stop_event.is_set():
            busy = False
            try:
                if clock() >= next_prune:  # sent messages past their retention go, once an hour
                    pruned = prune_sent(sessions, now=clock(), retention_days=settings.outbox_retention_days)
                    if pruned:
                        log.info(
                            "outbox: pruned %s sent messages older than %s days", pruned, settings.outbox_retention_days
                        )
                    next_prune = clock() + PRUNE_EVERY
                with transaction(sessions) as session:
                    busy = fan_out(session, now=clock()) > 0
                busy = deliver_due(sessions, settings, clock=clock, client=client).sent > 0 or busy
            except Exception as exc:
                if is_busy(exc):  # a long write or a restart: expected now and then, one line (no traceback)
                    log.warning(
                        "outbox worker: the database is busy; trying again in %ss", settings.outbox_poll_seconds
                    )
                else:
                    log.exception("outbox worker: round failed; trying again in %ss", settings.outbox_poll_seconds)
            if not busy:
                stop_event.wait(settings.outbox_poll_seconds)
    log.info("outbox worker stopped")


def status_counts(session: Session) -> dict[str, int]:
    """{"unfanned": messages not yet fanned out, "pending", "delivered", "dead", "skipped": deliveries}."""
    counts = {"unfanned": 0, "pending": 0, "delivered": 0, "dead": 0, "skipped": 0}
    counts["unfanned"] = session.exec(
        select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.fanned_out_at).is_(None))
    ).one()
    for status, count in session.exec(select(Delivery.status, func.count()).group_by(Delivery.status)).all():
        counts[status] = count
    return counts
