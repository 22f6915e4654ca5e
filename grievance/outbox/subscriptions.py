"""Subscriptions (who receives which events, where, in which format) and dead letters (deliveries that ran
out of attempts), managed the same way from the admin page and the CLI."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from grievance.db import find_by_ref, utcnow
from grievance.errors import Conflict, InvalidInput, NotFound
from grievance.outbox.formats import FORMATS
from grievance.outbox.models import Delivery, OutboxMessage, Subscription
from grievance.reference.models import Department
from grievance.workflow.definition import INTAKE
from grievance.workflow.effects import MERGED_IN

# Events that are not a workflow action: the sweeper's (automatic=True in the payload), a merge, an attachment.
SYSTEM_EVENTS = ("auto_urge", "overdue", MERGED_IN, "attach")
# Names people use for the sweeper's events (the issue says due_soon): stored as the event's own name.
EVENT_ALIASES = {"due_soon": "auto_urge"}
URL_PATTERN = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)
URL_MAX = 2000
NAME_MAX = 100
SECRET_MAX = 200


def known_events(workflows: Any) -> list[str]:
    """Every event name a subscription may choose: intake, every workflow's actions, SYSTEM_EVENTS (sorted)."""
    names = {INTAKE, *SYSTEM_EVENTS}
    for definition in workflows.definitions.values():
        names.update(definition.actions)
    return sorted(names)


def _clean_events(events: Iterable[str], workflows: Any) -> list[str]:
    known = set(known_events(workflows))
    chosen: list[str] = []
    for raw in events:
        name = EVENT_ALIASES.get(raw.strip(), raw.strip())
        if not name:
            continue
        if name not in known:
            raise InvalidInput.field(
                "events",
                f"未知事件 {name}，可选：{'、'.join(sorted(known))}（due_soon 即 auto_urge）",
                f"unknown event {name!r}; choose from {', '.join(sorted(known))} (due_soon means auto_urge)",
            )
        if name not in chosen:
            chosen.append(name)
    return chosen


def _department_ids(session: Session, departments: Iterable[str | int]) -> list[int]:
    ids: list[int] = []
    for ref in departments:
        if isinstance(ref, str) and not ref.strip():
            continue
        found = find_by_ref(session, Department, ref.strip() if isinstance(ref, str) else ref, "code")
        if found is None:
            raise InvalidInput.field("departments", f"单位 {ref} 不存在", f"no department {ref!r}")
        if found.id not in ids:
            ids.append(found.id)
    return ids


def _check_url(url: str) -> None:
    if len(url) > URL_MAX or not URL_PATTERN.match(url):
        raise InvalidInput.field(
            "url",
            "推送地址须以 http:// 或 https:// 开头，且不含空格",
            "the URL must start with http:// or https:// and contain no spaces",
        )
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (port is not None and not 1 <= port <= 65535) or not parts.hostname:
        raise InvalidInput.field(
            "url",
            "推送地址的主机名或端口无效（端口须为 1 至 65535）",
            "the URL's host or port is not valid (a port is 1 to 65535)",
        )
    if "@" in parts.netloc:
        raise InvalidInput.field(
            "url",
            "推送地址不能包含用户名或密码（user:password@）；请用签名密钥",
            "the URL may not carry a user name or password (user:password@); use the signing secret",
        )


def _check_secret(format_: str, secret: str) -> None:
    """The secret each format can use: a 12345 subscription needs the key shared with the platform; a DingTalk
    加签 secret starts with SEC; a WeCom robot has none (its key is in the URL)."""
    if len(secret) > SECRET_MAX:
        raise InvalidInput.field(
            "secret", f"密钥至多 {SECRET_MAX} 个字符", f"the secret is at most {SECRET_MAX} characters"
        )
    if secret and not secret.strip():
        raise InvalidInput.field(
            "secret", "密钥不能只有空格；不用密钥请留空", "the secret cannot be only spaces; leave it empty for none"
        )
    secret = secret.strip()
    if format_ == "hotline12345" and not secret:
        raise InvalidInput.field(
            "secret",
            "12345平台订阅须填写与平台约定的签名密钥",
            "a 12345 subscription needs the signing key agreed with the 12345 platform",
        )
    if format_ == "dingtalk" and secret and not (secret.startswith("SEC") and len(secret) > 3):
        raise InvalidInput.field(
            "secret",
            "钉钉机器人的加签密钥以 SEC 开头，请从机器人安全设置中复制；不加签请留空",
            "a DingTalk robot's signing secret starts with SEC (copy it from the robot's security settings); "
            "leave it empty for none",
        )
    if format_ == "wecom" and secret:
        raise InvalidInput.field(
            "secret",
            "企业微信群机器人没有密钥（凭据是地址中的 key），请留空",
            "a WeCom group robot has no secret (the key in its URL is the credential); leave it empty",
        )


def _check(name: str, url: str, format_: str, secret: str) -> None:
    if not name or len(name) > NAME_MAX:
        raise InvalidInput.field(
            "name", f"名称须为 1 至 {NAME_MAX} 个字", f"the name must be 1 to {NAME_MAX} characters"
        )
    _check_url(url)
    if format_ not in FORMATS:
        raise InvalidInput.field(
            "format",
            f"格式须为 {'、'.join(FORMATS)} 之一",
            f"the format must be one of {', '.join(FORMATS)}",
        )
    _check_secret(format_, secret)


def shown_url(url: str) -> str:
    """A subscription's URL as the page and `subscriptions list` show it: the query's values masked (robot
    webhooks carry their access_token or key there) and any user:password@ left out."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = "&".join(f"{pair.split('=', 1)[0]}=…" if "=" in pair else "…" for pair in parts.query.split("&") if pair)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def create_subscription(
    session: Session,
    *,
    workflows: Any,
    name: str,
    url: str,
    format: str,
    secret: str = "",
    events: Sequence[str] = (),
    departments: Sequence[str | int] = (),
    created_by_id: int | None = None,
    now: datetime | None = None,
) -> Subscription:
    """A new active subscription. `events`: event names (known_events; "due_soon" means auto_urge), empty for
    all; `departments`: department codes or ids, empty for all. A `json` subscription without a secret gets a
    random one (read it back from the returned object, show it once): every JSON and 12345 delivery is signed.
    Refused (InvalidInput, 422, naming the field): a URL not http(s), with a port outside 1-65535 or with
    user:password@; a secret of spaces only; a 12345 subscription without its secret, a DingTalk secret not
    starting SEC, any WeCom secret. Conflict (409): a name already taken. Flushes."""
    name, url = name.strip(), url.strip()
    _check(name, url, format, secret)
    secret = secret.strip()
    if session.exec(select(Subscription).where(Subscription.name == name)).first() is not None:
        raise Conflict(f"订阅名称 {name} 已被使用", f"the subscription name {name!r} is taken", field="name")
    if format == "json" and not secret:  # every JSON delivery is signed
        secret = secrets.token_urlsafe(32)
    subscription = Subscription(
        name=name,
        url=url,
        secret=secret,
        format=format,
        events=_clean_events(events, workflows),
        department_ids=_department_ids(session, departments),
        active=True,
        created_at=now or utcnow(),
        created_by_id=created_by_id,
    )
    session.add(subscription)
    session.flush()
    return subscription


def update_subscription(
    session: Session, subscription: Subscription, *, workflows: Any, **changes: Any
) -> Subscription:
    """Change a subscription's name, url, format, secret, events or departments (the keys given; same rules as
    create_subscription). Deliveries already made keep going to the new URL in the new format. Flushes."""
    name = str(changes.get("name", subscription.name)).strip()
    url = str(changes.get("url", subscription.url)).strip()
    format_ = str(changes.get("format", subscription.format))
    secret = str(changes.get("secret", subscription.secret))
    _check(name, url, format_, secret)
    secret = secret.strip()
    if name != subscription.name and session.exec(select(Subscription).where(Subscription.name == name)).first():
        raise Conflict(f"订阅名称 {name} 已被使用", f"the subscription name {name!r} is taken", field="name")
    subscription.name, subscription.url, subscription.format = name, url, format_
    subscription.secret = secret or (secrets.token_urlsafe(32) if format_ == "json" else "")
    if "events" in changes:
        subscription.events = _clean_events(changes["events"], workflows)
    if "departments" in changes:
        subscription.department_ids = _department_ids(session, changes["departments"])
    session.add(subscription)
    session.flush()
    return subscription


def get_subscription(session: Session, ref: int | str) -> Subscription:
    """A subscription by id or name; NotFound (404) otherwise."""
    found = find_by_ref(session, Subscription, ref, "name")
    if found is None:
        raise NotFound(f"订阅 {ref} 不存在", f"no subscription {ref!r}")
    return found  # type: ignore[no-any-return]


def list_subscriptions(session: Session) -> list[Subscription]:
    """Every subscription, active first, then by name."""
    rows = session.exec(select(Subscription)).all()
    return sorted(rows, key=lambda s: (not s.active, s.name))


def set_active(session: Session, subscription: Subscription, active: bool) -> Subscription:
    """Pause (False) or resume (True) a subscription. While paused it is held, not skipped: the messages written
    meanwhile still get their deliveries (worker.fan_out), and they and the ones pending before wait; all go
    out, in order per case, when it is resumed. Flushes."""
    subscription.active = active
    session.add(subscription)
    session.flush()
    return subscription


def remove_subscription(session: Session, subscription: Subscription) -> int:
    """Delete a subscription with all its deliveries (their history too); returns how many deliveries went.
    To stop sending and keep the history, pause it instead (set_active). Flushes."""
    removed = session.execute(delete(Delivery).where(col(Delivery.subscription_id) == subscription.id))
    session.delete(subscription)
    session.flush()
    return int(removed.rowcount or 0)  # type: ignore[attr-defined]


def department_codes(session: Session, ids: Iterable[int]) -> list[str]:
    """The codes of department ids (a subscription's department_ids), for display."""
    wanted = list(ids)
    if not wanted:
        return []
    found = dict(session.exec(select(Department.id, Department.code).where(col(Department.id).in_(wanted))).all())
    return [found.get(i, str(i)) for i in wanted]


def department_names(session: Session, ids: Iterable[int]) -> list[tuple[str, str]]:
    """(code, name) of department ids (a subscription's department_ids), for display; an id that is gone shows
    as (id, id)."""
    wanted = list(ids)
    if not wanted:
        return []
    rows = session.exec(select(Department.id, Department.code, Department.name).where(col(Department.id).in_(wanted)))
    found = {i: (code, name) for i, code, name in rows.all()}
    return [found.get(i, (str(i), str(i))) for i in wanted]


def list_deliveries(
    session: Session, *, status: str | None = None, limit: int = 50, include_skipped: bool = True
) -> list[tuple[Delivery, OutboxMessage, Subscription]]:
    """The latest deliveries (newest first), optionally of one status ("pending", "delivered", "dead",
    "skipped"), each with its message and subscription; without `include_skipped`, no skipped one (a format
    that declined the message at sending time, as before fan-out asked it: formats.takes)."""
    query = (
        select(Delivery, OutboxMessage, Subscription)
        .join(OutboxMessage, col(OutboxMessage.id) == Delivery.message_id)
        .join(Subscription, col(Subscription.id) == Delivery.subscription_id)
        .order_by(col(Delivery.id).desc())
        .limit(limit)
    )
    if status:
        query = query.where(Delivery.status == status)
    elif not include_skipped:
        query = query.where(Delivery.status != "skipped")
    return list(session.exec(query).all())  # type: ignore[arg-type]


def resend(session: Session, ids: Iterable[int] | None = None, *, now: datetime | None = None) -> int:
    """Send dead deliveries again: status back to pending, attempts 0, due now. `ids` None: every dead
    delivery. Returns how many were revived; an id that is not a dead delivery raises NotFound (404) and
    nothing is changed. A revived delivery goes out before the later pending ones of its case, but after
    any later ones already delivered while it was dead (the receiver sees it late: compare message_id)."""
    query = update(Delivery).where(col(Delivery.status) == "dead")
    if ids is not None:
        wanted = sorted(set(ids))
        dead = set(
            session.exec(select(Delivery.id).where(col(Delivery.id).in_(wanted), Delivery.status == "dead")).all()
        )
        missing = [i for i in wanted if i not in dead]
        if missing:
            shown = ", ".join(str(i) for i in missing)
            raise NotFound(f"没有编号为 {shown} 的失败投递", f"no dead delivery {shown}")
        query = query.where(col(Delivery.id).in_(wanted))
    result = session.execute(query.values(status="pending", attempts=0, next_attempt_at=now or utcnow()))
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
