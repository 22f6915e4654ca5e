"""The body formats a subscription may choose, each a function that turns one outbox message into the HTTP
request its receiver expects (our signed JSON, a DingTalk or WeCom group robot, the city's 12345 platform)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grievance.config import Settings
    from grievance.outbox.models import Delivery, OutboxMessage, Subscription


USER_AGENT = "grievance-outbox/1"  # every format's requests (the 12345 format writes the same string)


@dataclass(frozen=True)
class OutgoingRequest:
    """What the worker POSTs: the URL (a format may add query parameters, as DingTalk's signature), headers and
    the body bytes. A 2xx answer means delivered, unless `accepted` (given the response's status and body) says
    otherwise: the robots answer 200 with an error code in the body."""

    url: str
    headers: dict[str, str]
    body: bytes
    accepted: Callable[[int, bytes], bool] | None = field(default=None, compare=False)


Render = Callable[["Subscription", "OutboxMessage", "Delivery", "Settings"], OutgoingRequest]

# name -> "module:function". Looked up when used, so each format lives in its own module and owns its imports.
FORMATS: dict[str, str] = {
    "json": "grievance.outbox.format_json:render",
    "dingtalk": "grievance.outbox.format_robots:render_dingtalk",
    "wecom": "grievance.outbox.format_robots:render_wecom",
    "hotline12345": "grievance.hotline12345.outbound:render",
}


def renderer(name: str) -> Render:
    """The render function of a format; KeyError for a name not in FORMATS (subscriptions are checked on save)."""
    module, function = FORMATS[name].split(":")
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


def _takes_hotline12345(message: OutboxMessage) -> bool:
    # The 12345 format's own rule (payload_of: a case from 12345, an action the platform takes); the delivery is
    # only read for its id, which does not exist yet at fan-out.
    from grievance.hotline12345.outbound import payload_of

    no_delivery: Any = SimpleNamespace(id=None)
    return payload_of(message, no_delivery) is not None


# Formats that take only some messages: name -> predicate. The others take every message.
TAKES: dict[str, Callable[[OutboxMessage], bool]] = {"hotline12345": _takes_hotline12345}


def takes(name: str, message: OutboxMessage) -> bool:
    """Does a format send this message at all (checked at fan-out, so a message it declines makes no delivery
    and no `skipped` row): the 12345 format only our actions on cases that came from 12345; others every one."""
    check = TAKES.get(name)
    return check is None or check(message)
