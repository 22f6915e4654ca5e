"""The `hotline12345` outbox format: our actions on a case the 12345 platform sent us, told back to the platform in
its terms (签收, 退单, 延期申请, 批准延期, 驳回延期, 办结, 回访, 归档), signed like its pushes to us; every other message is not its
business and is skipped (render returns None).

The body is our contract's (README, "12345 工单对接 / 12345 work orders"); its `delivery_id` is the same on every
retry of one delivery, so the platform drops the copies at-least-once delivery may send."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from grievance.glossary import LABELS
from grievance.hotline12345.inbound import SOURCE
from grievance.hotline12345.signature import ACTION_HEADER, DELIVERY_HEADER, signed_headers
from grievance.outbox.formats import OutgoingRequest

if TYPE_CHECKING:
    from grievance.config import Settings
    from grievance.outbox.models import Delivery, OutboxMessage, Subscription

# Our event -> the platform's action (code, 中文). answer_on_spot resolves the case at the front desk: 办结 too;
# claim is a department taking the order from the open pool: 签收 too.
ACTIONS: dict[str, tuple[str, str]] = {
    "accept": ("accept", "签收"),
    "claim": ("accept", "签收"),
    "return": ("return", "退单"),
    "request_extension": ("extension_request", "延期申请"),
    # The answer to an extension request, named like it: the platform learns the new due time or the refusal.
    "approve_extension": ("extension_approval", "批准延期"),
    "reject_extension": ("extension_rejection", "驳回延期"),
    "resolve": ("finish", "办结"),
    "answer_on_spot": ("finish", "办结"),
    "callback": ("callback", "回访"),
    "close": ("archive", "归档"),
}


def _details(event: str, given: dict[str, Any], case: dict[str, Any]) -> dict[str, Any] | None:
    """The action's own fields from the event's input (and the case as of the event); None when the message is
    not one to send."""
    if event == "return":
        return {"reason": given.get("reason", "")}
    if event == "request_extension":
        return {"days": given.get("days"), "reason": given.get("reason", "")}
    if event == "approve_extension":
        # Our resolve clock's due time after the extension; null while the case is suspended (the clock paused).
        return {"due_at": case.get("resolve_due_at"), "note": given.get("note", "")}
    if event == "reject_extension":
        return {"reason": given.get("note", "")}
    if event in ("resolve", "answer_on_spot"):
        outcome = given.get("outcome") or ("answered_on_spot" if event == "answer_on_spot" else None)
        return {
            "outcome": outcome,
            "outcome_name": LABELS["Outcome"].get(outcome or "", ""),
            "reply": given.get("reply", ""),
        }
    if event == "callback":
        if given.get("source") == SOURCE:
            return None  # the platform's own callback result, which it sent us: no echo
        satisfaction = given.get("satisfaction")
        return {
            "reached": bool(given.get("reached")),
            "solved": given.get("solved"),
            "satisfaction": satisfaction,
            "satisfaction_name": LABELS["Satisfaction"].get(satisfaction or "", ""),
            "self_reported": bool(given.get("self_reported")),
        }
    if event == "close":
        return {"note": given.get("note", "")}
    return {}


def payload_of(message: OutboxMessage, delivery: Delivery) -> dict[str, Any] | None:
    """The JSON object sent for one message, or None: a case that did not come from 12345, or an event the
    platform does not take. {"delivery_id", "order_id" (工单编号), "action", "action_name", "at" (ISO UTC),
    "case_no" (本方编号), "state", "department": {"code", "name"} | null (承办单位; for a return, the department that
    returned it), **the action's fields}."""
    body = message.body
    case = body.get("case") or {}
    external = case.get("external") or {}
    if external.get("source") != SOURCE or message.event not in ACTIONS:
        return None
    details = _details(message.event, dict(body.get("input") or {}), case)
    if details is None:
        return None
    code, name = ACTIONS[message.event]
    # A returned case has left its department: the platform is told which one sent it back (whoever returned it
    # acted for their department, the only one that may return it).
    department = body.get("actor_department") if message.event == "return" else case.get("department")
    return {
        "delivery_id": delivery.id,
        "order_id": external.get("id"),
        "action": code,
        "action_name": name,
        "at": body.get("at"),
        "case_no": case.get("case_no"),
        "state": case.get("state"),
        "department": department,
        **details,
    }


def render(
    subscription: Subscription, message: OutboxMessage, delivery: Delivery, settings: Settings
) -> OutgoingRequest | None:
    """The signed POST of one message to the platform (a subscription of format hotline12345), or None when there
    is nothing to tell it (payload_of): the worker then marks the delivery skipped. Signed with the subscription's
    secret at the moment of this attempt (grievance/hotline12345/signature.py); X-12345-Delivery is the delivery's
    id, the same on every attempt. Raises ValueError for a subscription without a secret (nothing goes unsigned)."""
    payload = payload_of(message, delivery)
    if payload is None:
        return None
    if not subscription.secret:
        # Never unsigned: the worker records this as the delivery's error and retries until a secret is set.
        raise ValueError("the hotline12345 subscription has no secret: set the key shared with the 12345 platform")
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "grievance-outbox/1",
        ACTION_HEADER: payload["action"],
        DELIVERY_HEADER: str(delivery.id),
        **signed_headers(subscription.secret, body),
    }
    return OutgoingRequest(url=subscription.url, headers=headers, body=body, accepted=_accepted)


def _accepted(status: int, body: bytes) -> bool:
    """2xx is delivered unless the platform answers {"success": false} (an error code in a 200, as platforms do)."""
    if not 200 <= status < 300:
        return False
    try:
        answer = json.loads(body) if body else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return True
    return not (isinstance(answer, dict) and answer.get("success") is False)
