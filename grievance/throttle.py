"""Counters that every worker process shares, kept in the database: the sign-in throttle and the public lookup
throttle count here, so a limit holds however many processes serve requests (no Redis needed on an intranet).

A counter is one row per key (`throttle_counters`), read and changed under a row lock: on PostgreSQL the row is
inserted if missing and then selected FOR UPDATE, so concurrent requests for the same key take turns; on SQLite
every write transaction begins IMMEDIATE (grievance.db), which serialises them all. Callers keep the transaction
short (no password hashing inside it). Rows say when they may be forgotten (`expires_at`) and are pruned in
small batches, so the table stays bounded by the keys seen recently.

A throttle that counts failures, not attempts (the sign-in), also needs to know how many attempts are being
checked right now, whose outcome is not known yet: a reservation counter (`reserve`, `reserved`, `release`), a
row of its own per key, says how many, so N attempts at once cannot all slip under a limit of failures before
the first of them is counted, while N right answers at once are not refused for one another."""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col, select

from grievance.db import UTCDateTime

KEY_LENGTH = 160
PRUNE_BATCH = 200  # rows deleted per call: bounded work in a request


class ThrottleCounter(SQLModel, table=True):
    """One throttle key (a sign-in pair, an address, an account, a lookup address) and its count.

    count: events in the window that began at window_start (or, for a sign-in pair, failures since the last
    success); blocked_until: refused before this moment (progressive delay); good_until: the pair signed in
    successfully recently, until then it is a known address of the account; expires_at: the row may be deleted
    after this moment (all it says is then forgotten anyway)."""

    __tablename__ = "throttle_counters"

    key: str = Field(primary_key=True, max_length=KEY_LENGTH)
    count: int = 0
    window_start: datetime = Field(sa_type=UTCDateTime)
    blocked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    good_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


def locked_counter(session: Session, key: str, now: datetime) -> ThrottleCounter:
    """The counter row for `key`, created (count 0, window starting `now`) if missing, locked until the
    transaction ends. `key` is cut to KEY_LENGTH characters.

    One statement: INSERT ... ON CONFLICT DO UPDATE (a no-op update) RETURNING, which on PostgreSQL locks the
    existing row as SELECT ... FOR UPDATE would, and waits for a concurrent insert of the same key to finish."""
    key = key[:KEY_LENGTH]
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ThrottleCounter)
    upsert = (
        insert.values(key=key, count=0, window_start=now, expires_at=now)
        .on_conflict_do_update(index_elements=["key"], set_={"key": insert.excluded.key})
        .returning(ThrottleCounter)
    )
    statement = select(ThrottleCounter).from_statement(upsert).execution_options(populate_existing=True)
    return session.execute(statement).scalars().one()  # type: ignore[no-any-return]


def count_in_window(row: ThrottleCounter, *, window: timedelta, now: datetime) -> int:
    """Add one event to a fixed-window counter (a window that has ended starts again at `now`) and return the
    count in the current window, this event included. The row is kept until its window ends."""
    if row.count == 0 or row.window_start + window <= now:
        row.window_start, row.count = now, 0
    row.count += 1
    row.expires_at = max(row.expires_at, row.window_start + window)
    return row.count


def window_end(row: ThrottleCounter, window: timedelta) -> datetime:
    return row.window_start + window


def take_attempt(session: Session, limits: list[tuple[str, int, timedelta]], now: datetime) -> datetime | None:
    """Count one attempt against every fixed window in `limits` (key, amount allowed, window length), all or none:
    when any window of them is full, count nothing and return when the last full one ends (UTC); otherwise count
    the attempt in each, prune a few expired counters and return None. The counters stay locked until the
    caller's transaction ends (keep it short)."""
    rows = [(locked_counter(session, key, now), amount, window) for key, amount, window in limits]
    full = [
        window_end(row, window) for row, amount, window in rows if row.count >= amount and window_end(row, window) > now
    ]
    if full:
        return max(full)
    for row, _amount, window in rows:
        count_in_window(row, window=window, now=now)
        session.add(row)
    prune_counters(session, now)
    return None


def reserved(row: ThrottleCounter, now: datetime) -> int:
    """How many attempts hold a reservation on this reservation counter now: its count, or 0 once `expires_at`
    has passed (the reservations of an attempt that never came back, e.g. its process was killed, lapse)."""
    return row.count if row.expires_at > now else 0


def reserve(row: ThrottleCounter, now: datetime, hold: timedelta) -> None:
    """Add one reservation to a reservation counter (lapsed ones are dropped first). Each reservation holds its
    place for at most `hold` after the latest one was taken: the counter lapses as a whole, a crash leaves at
    most `hold` of reservations behind. The caller adds the row to its session."""
    if row.expires_at <= now:
        row.count = 0
    row.count += 1
    row.window_start = max(row.window_start, now)  # the latest reservation (a later `now` may have written)
    row.expires_at = row.window_start + hold


def release(session: Session, row: ThrottleCounter, now: datetime) -> None:
    """Give one reservation back (the attempt's outcome is known and counted where it belongs); the row is deleted
    when none is left, so reservation counters exist only while attempts are under way."""
    row.count = max(0, reserved(row, now) - 1)
    if row.count:
        session.add(row)
    else:
        session.delete(row)


def retry_after(until: datetime, now: datetime) -> tuple[int, int]:
    """(seconds, minutes) to wait until `until`: whole seconds, at least 1, and the same rounded up to minutes."""
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return seconds, math.ceil(seconds / 60)


def prune_counters(session: Session, now: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete up to `batch` counters that have expired; returns how many."""
    expired = select(ThrottleCounter.key).where(col(ThrottleCounter.expires_at) < now).limit(batch)
    keys = list(session.exec(expired).all())
    if not keys:
        return 0
    # expires_at again: a counter another request renewed meanwhile stays (PostgreSQL re-checks a locked row).
    stale = col(ThrottleCounter.key).in_(keys), col(ThrottleCounter.expires_at) < now
    session.exec(delete(ThrottleCounter).where(*stale))  # type: ignore[call-overload]
    return len(keys)


def address_key(ip: str) -> str:
    """The address as counted: an IPv6 address as its /64 network, anything else as given (at most 64 chars)."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:  # ::ffff:10.1.0.1 is the IPv4 address 10.1.0.1
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{parsed}/64", strict=False))
    return str(parsed)
