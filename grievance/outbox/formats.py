"""The body formats a subscription may choose, each a function that turns one outbox message into the HTTP
request its receiver expects (our signed JSON, a DingTalk or WeCom group robot, the city's 12345 platform)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grievance.config import Settings
    from grievance.outbox.models import Delivery, OutboxMessage, Subscription


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
