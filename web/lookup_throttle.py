"""A limit on public query-code lookups per client address, so guessing codes stays hopeless (the numbers are in
grievance/cases/query_codes.py): 10 a minute and 100 an hour, counted in the database (grievance.throttle), so
every worker process sees the same counts and a restart forgets nothing.

Windows are fixed (a minute, an hour, each starting at an address's first lookup after the last window ended),
counted under a row lock: concurrent lookups from one address take turns, and at most 10 pass per window
however many processes serve them. At a window's edge up to 20 can pass within a few seconds, never more than
100 in one hour window, so the yearly bound (876,000 from one address) is the same as with moving windows."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import Request
from limits import parse_many
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from grievance.db import transaction
from grievance.errors import TooManyAttempts
from grievance.throttle import address_key, retry_after, take_attempt

LOOKUP_LIMITS = "10/minute;100/hour"


class LookupThrottle:
    """The lookup limits (parsed with the `limits` library's notation); the counts live in the database, so
    one per app (app.state.lookup_throttle) is only configuration."""

    def __init__(self, limits: str = LOOKUP_LIMITS) -> None:
        self.windows = [(item.amount, timedelta(seconds=item.get_expiry())) for item in parse_many(limits)]

    def refusal(self, sessions: sessionmaker[Session], address: str, now: datetime) -> TooManyAttempts | None:
        """Count one lookup from `address`, or, when a window is full, count nothing and return the refusal:
        a 429 error with `retry_after` (whole seconds until every full window has ended, at least 1), `minutes`
        (the same, rounded up) and a message in both languages. Runs its own short transaction, so the count
        stays whatever the lookup answers."""
        address = address_key(address)
        limits = [(f"lookup:{int(w.total_seconds())}s:{address}", n, w) for n, w in self.windows]
        with transaction(sessions) as session:
            until = take_attempt(session, limits, now)
        if until is None:
            return None
        seconds, minutes = retry_after(until, now)
        return TooManyAttempts(
            f"查询过于频繁，请{minutes}分钟后再试",
            f"too many lookups from this address; try again in {minutes} minute{'s' if minutes > 1 else ''}",
            retry_after=seconds,
            minutes=minutes,
        )


def lookup_refusal(request: Request) -> TooManyAttempts | None:
    """Count a lookup by the request's client address (behind a proxy: uvicorn's --forwarded-allow-ips makes it the
    real one), or the refusal when the address has used up its lookups."""
    throttle: LookupThrottle = request.app.state.lookup_throttle
    address = request.client.host if request.client else "-"
    return throttle.refusal(request.app.state.sessions, address, request.app.state.runtime.now())
