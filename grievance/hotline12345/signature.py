"""The one signature scheme of the 12345 exchange, both ways, so the platform and we check each other alike: lowercase
hex of HMAC-SHA256(key = the shared secret, message = the timestamp header + "." + the raw body bytes).

Inbound the secret is Settings.hotline12345_secret; outbound it is the subscription's secret. A timestamp more
than REPLAY_WINDOW_SECONDS away from our clock is refused: a captured push cannot be replayed later."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

TIMESTAMP_HEADER = "X-12345-Timestamp"  # whole Unix seconds (UTC), as sent
SIGNATURE_HEADER = "X-12345-Signature"  # hex HMAC-SHA256 of timestamp + "." + body
DELIVERY_HEADER = "X-12345-Delivery"  # outbound only: the delivery id, the same on every retry (de-duplication)
ACTION_HEADER = "X-12345-Action"  # outbound only: the action code (README, 12345)
REPLAY_WINDOW_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-12345-Signature value: lowercase hex HMAC-SHA256(secret, timestamp + "." + body)."""
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The two signature headers for `body`, stamped `now` (Unix seconds; default: the wall clock)."""
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}


def signature_problem(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> str | None:
    """Why a signed request is refused, or None when it is good: "missing" (a header absent), "stale" (the
    timestamp is not whole seconds or more than REPLAY_WINDOW_SECONDS from `now`, default the wall clock; the
    platform's push clock, not the runtime's) or "mismatch". Compared in constant time; hex case is ignored."""
    timestamp = (headers.get(TIMESTAMP_HEADER) or "").strip()
    sent = (headers.get(SIGNATURE_HEADER) or "").strip().lower()
    if not timestamp or not sent:
        return "missing"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "stale"
    if abs((time.time() if now is None else now) - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        return "stale"
    if not hmac.compare_digest(sent.encode("ascii", "replace"), sign(secret, timestamp, body).encode("ascii")):
        return "mismatch"
    return None
