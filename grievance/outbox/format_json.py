"""The `json` format: our event JSON, signed with the subscription's secret so the receiver can trust it, and
carrying a delivery id so it can drop the copies at-least-once delivery may send.

Signature (docs/integrations.md): X-Grievance-Signature: sha256=<lowercase hex of HMAC-SHA256(key=secret,
msg=X-Grievance-Timestamp + "." + raw body bytes)>, the timestamp being whole Unix seconds as sent."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from grievance.outbox.formats import USER_AGENT, OutgoingRequest
from grievance.outbox.privacy import withheld

if TYPE_CHECKING:
    from grievance.config import Settings
    from grievance.outbox.models import Delivery, OutboxMessage, Subscription

SIGNATURE_HEADER = "X-Grievance-Signature"
TIMESTAMP_HEADER = "X-Grievance-Timestamp"
DELIVERY_HEADER = "X-Grievance-Delivery"
EVENT_HEADER = "X-Grievance-Event"


def payload_of(message: OutboxMessage, delivery: Delivery) -> dict[str, Any]:
    """The JSON object sent: {"delivery_id", "message_id", **the message body} (grievance.outbox.writer.event_body),
    a confidential case's without its title and free text (privacy.withheld)."""
    return {"delivery_id": delivery.id, "message_id": message.id, **withheld(message.body)}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Grievance-Signature value: "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, headers: Any, body: bytes, *, tolerance_seconds: float | None = None) -> bool:
    """What a receiver does (and the tests do): recompute the signature from the timestamp header and the raw
    body and compare in constant time; with `tolerance_seconds`, also refuse a timestamp that far from now."""
    timestamp = str(headers.get(TIMESTAMP_HEADER) or "")
    sent = str(headers.get(SIGNATURE_HEADER) or "")
    if not timestamp.isdigit() or not sent:
        return False
    if tolerance_seconds is not None and abs(time.time() - int(timestamp)) > tolerance_seconds:
        return False
    return hmac.compare_digest(sent, sign(secret, timestamp, body))


def render(
    subscription: Subscription, message: OutboxMessage, delivery: Delivery, settings: Settings
) -> OutgoingRequest:
    """The signed POST of one message to a `json` subscription. The timestamp is the moment of this attempt (a
    retry is signed afresh); X-Grievance-Delivery is the delivery's id, the same on every attempt."""
    body = json.dumps(payload_of(message, delivery), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: message.event,
        DELIVERY_HEADER: str(delivery.id),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(subscription.secret, timestamp, body),
    }
    return OutgoingRequest(url=subscription.url, headers=headers, body=body)
