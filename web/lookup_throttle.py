"""A limit on public query-code lookups per client address, so guessing codes stays hopeless (the numbers are in
grievance/cases/query_codes.py): 10 a minute and 100 an hour, counted in this process's memory (each worker keeps
its own; a restart forgets), with moving windows from the `limits` library."""

from __future__ import annotations

import math
import threading
import time

from fastapi import Request
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from grievance.errors import TooManyAttempts

LOOKUP_LIMITS = "10/minute;100/hour"


class LookupThrottle:
    """Counts the lookups of each client address; one per app (app.state.lookup_throttle)."""

    def __init__(self, limits: str = LOOKUP_LIMITS) -> None:
        self.limits = parse_many(limits)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self._lock = threading.Lock()  # test-then-hit over several windows, from the threadpool

    def refusal(self, address: str) -> TooManyAttempts | None:
        """Count one lookup from `address`, or, when a window is full, count nothing and return the refusal:
        a 429 error with `retry_after` (whole seconds until the fullest window lets one more through) and a
        message in both languages."""
        with self._lock:
            full = [limit for limit in self.limits if not self.limiter.test(limit, "lookup", address)]
            if not full:
                for limit in self.limits:
                    self.limiter.hit(limit, "lookup", address)
                return None
            reset = max(self.limiter.get_window_stats(limit, "lookup", address).reset_time for limit in full)
        seconds = max(1, math.ceil(reset - time.time()))
        minutes = math.ceil(seconds / 60)
        return TooManyAttempts(
            f"查询过于频繁，请{minutes}分钟后再试 (too many lookups from this address; try again in {minutes} minutes)",
            retry_after=seconds,
            minutes=minutes,
        )


def lookup_refusal(request: Request) -> TooManyAttempts | None:
    """Count a lookup by the request's client address (behind a proxy: uvicorn's --forwarded-allow-ips makes it the
    real one), or the refusal when the address has used up its lookups."""
    throttle: LookupThrottle = request.app.state.lookup_throttle
    return throttle.refusal(request.client.host if request.client else "-")
