"""The `dingtalk` and `wecom` formats: a short Chinese markdown message for a department's work-chat group
(case number, title, department, due time, what happened, a link), in the body each platform's group robot
documents, so that a department learns of a case where it already talks.

DingTalk custom robot (钉钉自定义机器人): POST {"msgtype": "markdown", "markdown": {"title", "text"}} to the
webhook URL (…/robot/send?access_token=…); with 加签 (a secret starting "SEC"), the URL gets
&timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret)))>.
WeCom group robot (企业微信群机器人): POST {"msgtype": "markdown", "markdown": {"content"}} to the webhook URL
(…/webhook/send?key=…), content at most 4096 bytes. Both answer HTTP 200 with {"errcode": 0, "errmsg": "ok"};
any other errcode is a failure (a bad signature, a rate limit) and the delivery is retried."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from babel.dates import format_date

from grievance.outbox.formats import USER_AGENT, OutgoingRequest
from grievance.outbox.privacy import withheld

if TYPE_CHECKING:
    from grievance.config import Settings
    from grievance.outbox.models import Delivery, OutboxMessage, Subscription

# Events no workflow file names (the case's first event, the sweeper's, a merge, an attachment).
EVENT_LABELS = {
    "intake": "受理登记",
    "auto_urge": "即将超期（自动催办）",
    "overdue": "已超期",
    "merged_in": "并入重复件",
    "attach": "补充附件",
}
WECOM_MAX_BYTES = 4096  # the documented limit of a markdown content
TITLE_MAX = 60
NOTE_MAX = 200  # characters of a reason, note or reply shown
SWEEPER_EVENTS = ("auto_urge", "overdue")  # their input names the clock: {"clock", "due_at", "node_name"?}
HEADERS = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}


def accepted(status: int, body: bytes) -> bool:
    """A robot's answer means delivered: HTTP 2xx and a JSON body whose errcode is 0."""
    if not 200 <= status < 300:
        return False
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(answer, dict) and answer.get("errcode") == 0


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64(HMAC-SHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


@cache
def _labels(workflows_dir: Path) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """({(workflow, action): label}, {(workflow, clock): label}) of the workflow files."""
    from grievance.workflow.loader import load_workflows

    try:
        definitions = load_workflows(workflows_dir).definitions
    except Exception:  # a label is a nicety: a message still goes out with the action's code
        return {}, {}
    actions = {(wf.name, key): action.label for wf in definitions.values() for key, action in wf.actions.items()}
    clocks = {(wf.name, key): clock.label for wf in definitions.values() for key, clock in wf.clocks.items()}
    return actions, clocks


def event_label(body: dict[str, Any], settings: Settings) -> str:
    """The event in Chinese: the workflow's label of the action (派单, 签收…), else EVENT_LABELS, else the code."""
    event = str(body.get("event") or "")
    workflow = str((body.get("case") or {}).get("workflow") or "")
    return _labels(settings.workflows_dir)[0].get((workflow, event)) or EVENT_LABELS.get(event, event)


def clock_label(body: dict[str, Any], settings: Settings) -> str:
    """The label of the clock a sweeper's event is about (input.clock: 签收时限, 办结时限…; a node's clock
    "<clock>:<seq>" by its clock's label), else "办理时限"."""
    name = str((body.get("input") or {}).get("clock") or "")
    workflow = str((body.get("case") or {}).get("workflow") or "")
    base = name.split(":", 1)[0]
    return _labels(settings.workflows_dir)[1].get((workflow, base)) or "办理时限"


def due_text(value: str | None, timezone: str) -> str:
    """A due time (ISO UTC) the house way, in Chinese and local time: "2025年12月1日 24:00" for a limit ending at
    midnight (the end of the day before, as the receipt and lists write it); "—" when there is none."""
    if not value:
        return "—"
    local = datetime.fromisoformat(value).astimezone(ZoneInfo(timezone))
    clock = f"{local:%H:%M}"
    if (local.hour, local.minute) == (0, 0):
        local, clock = local - timedelta(days=1), "24:00"
    return f"{format_date(local.date(), format='long', locale='zh_CN')} {clock}"


def case_link(body: dict[str, Any], settings: Settings) -> str | None:
    """settings.public_base_url + the case page's path; None without a public base URL (no link is sent)."""
    path = str((body.get("case") or {}).get("path") or "")
    if not settings.public_base_url or not path:
        return None
    return settings.public_base_url.rstrip("/") + path


def _escape(text: str) -> str:
    # Keep a title from turning into markdown (a heading, a link, a list).
    return "".join("\\" + ch if ch in "\\`*_[]<>#" else ch for ch in text).replace("\n", " ")


def _short(text: str) -> str:
    """A note cut to NOTE_MAX characters, ending "…" when cut, then escaped."""
    text = text.strip()
    return _escape(text if len(text) <= NOTE_MAX else text[: NOTE_MAX - 1] + "…")


def message_lines(message: OutboxMessage, settings: Settings) -> tuple[str, list[str]]:
    """(title, markdown lines) both robots show: what happened, then case number, title, department, the due
    time (for the sweeper's auto_urge and overdue: the urged clock's own label and due time, and the node's name
    for a node's clock), what the actor wrote (a reason, a note), and the link when there is one. A confidential
    case shows "【保密件】" for its title and no text (grievance/outbox/privacy.py)."""
    body = withheld(message.body)
    case = body.get("case") or {}
    inputs = body.get("input") or {}
    label = event_label(body, settings)
    automatic = "（系统自动）" if body.get("automatic") and "自动" not in label else ""
    title = f"{label}：{case.get('case_no', '')}"[:TITLE_MAX]
    department = case.get("department") or {}
    lines = [
        f"#### 【{_escape(label)}】{automatic}{_escape(str(case.get('case_no', '')))}",
        f"- 标题：{_escape(str(case.get('title', '')))}",
        f"- 承办单位：{_escape(str(department.get('name') or '—'))}",
    ]
    if inputs.get("clock") and body.get("event") in SWEEPER_EVENTS:
        if isinstance(inputs.get("node_name"), str) and inputs["node_name"].strip():
            lines.append(f"- 节点：{_short(inputs['node_name'])}")
        lines.append(f"- {clock_label(body, settings)}：{due_text(inputs.get('due_at'), settings.timezone)}")
    else:
        due = case.get("due_at") or (case.get("external") or {}).get("due_at")
        lines.append(f"- 办理时限：{due_text(due, settings.timezone)}")
    for key, name in (("reason", "理由"), ("note", "说明"), ("reply", "答复")):
        if isinstance(inputs.get(key), str) and inputs[key].strip():
            lines.append(f"- {name}：{_short(inputs[key])}")
    link = case_link(body, settings)
    if link:
        lines.append(f"\n[查看诉求]({link})")
    return title, lines


def render_dingtalk(
    subscription: Subscription, message: OutboxMessage, delivery: Delivery, settings: Settings
) -> OutgoingRequest:
    """A DingTalk custom robot markdown message; signed (timestamp and sign query parameters) when the
    subscription has a secret."""
    title, lines = message_lines(message, settings)
    payload = {"msgtype": "markdown", "markdown": {"title": title, "text": "\n".join(lines)}}
    url = subscription.url
    if subscription.secret:
        timestamp = int(time.time() * 1000)
        joiner = "&" if "?" in url else "?"
        url = f"{url}{joiner}timestamp={timestamp}&sign={dingtalk_sign(subscription.secret, timestamp)}"
    return OutgoingRequest(
        url=url,
        headers=dict(HEADERS),
        body=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        accepted=accepted,
    )


def render_wecom(
    subscription: Subscription, message: OutboxMessage, delivery: Delivery, settings: Settings
) -> OutgoingRequest:
    """A WeCom group robot markdown message (the key is in the webhook URL; WeCom has no signature)."""
    _title, lines = message_lines(message, settings)
    content = "\n".join(lines)
    while len(content.encode("utf-8")) > WECOM_MAX_BYTES:
        content = content[: len(content) - 64]
    payload = {"msgtype": "markdown", "markdown": {"content": content}}
    return OutgoingRequest(
        url=subscription.url,
        headers=dict(HEADERS),
        body=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        accepted=accepted,
    )
