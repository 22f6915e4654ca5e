"""Work orders (工单) the city's 12345 platform pushes to us, and its callback (回访) results: checked (signature,
fields), taken in once through the front desk's own intake path, and answered in the contract's terms (README,
"12345 工单对接 / 12345 work orders"). The bodies and their checks are grievance/hotline12345/contract.py.

There is no public specification of a 12345 platform's API: this is our own contract, modelled on how Chinese 12345
platforms exchange orders (派单 in; 签收, 退单, 延期申请, 办结 out: grievance/hotline12345/outbound.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from grievance.cases.models import Case, CaseEvent
from grievance.cases.schemas import CaseCreate, PetitionerIn
from grievance.cases.service import ExternalOrder, intake_case
from grievance.config import Settings
from grievance.errors import Conflict, DomainError, InvalidInput, NotFound
from grievance.glossary import CaseType, Channel, Urgency
from grievance.hotline12345.contract import (
    CallbackIn,
    Checked,
    OrderIn,
    check,
    order_id_problem,
    parse,
    problem,
    refuse,
)
from grievance.hotline12345.signature import REPLAY_WINDOW_SECONDS, signature_problem
from grievance.reference.models import Category, Department
from grievance.users.models import User
from grievance.users.service import system_account
from grievance.workflow.engine import Runtime

SOURCE = "12345"  # Case.external_source of a 12345 order
ACCOUNT_USERNAME = "hotline12345"  # the system account the platform acts as (timeline: 12345平台)
ACCOUNT_NAME = "12345平台"

# Separators of a category name path: 城乡建设/市政设施/路灯, 城乡建设>市政设施>路灯.
_PATH_SEPARATORS = ("／", "＞", ">", "/")


class NotConfigured(DomainError):
    """503 hotline12345_not_configured: no Settings.hotline12345_secret, so no push can be trusted."""

    status_code = 503
    code = "hotline12345_not_configured"


class BadSignature(DomainError):
    """401: signature_missing, signature_invalid or timestamp_out_of_window (a replay or a wrong clock)."""

    status_code = 401


class OrderIdReused(Conflict):
    """409 order_id_reused: the order id already brought in an order with other content (`order_id`, `case_no`)."""

    code = "order_id_reused"


def check_signature(settings: Settings, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> None:
    """Refuse a push that is not the platform's: NotConfigured (503) without a secret, BadSignature (401) for a
    missing or wrong signature or a timestamp more than 5 minutes from our clock (grievance/hotline12345/signature)."""
    secret = settings.hotline12345_secret
    if not secret:
        raise NotConfigured(
            "12345 工单对接未配置（缺少共享密钥 GRIEVANCE_HOTLINE12345_SECRET），暂不接收推送，请联系管理员",
            "the 12345 link is not configured (GRIEVANCE_HOTLINE12345_SECRET is unset): no push is accepted; "
            "ask the administrator",
        )
    problem = signature_problem(secret, headers, body, now=now)
    if problem == "missing":
        error = BadSignature(
            "缺少签名：请发送 X-12345-Timestamp 和 X-12345-Signature 请求头",
            "unsigned: send the X-12345-Timestamp and X-12345-Signature headers",
        )
        error.code = "signature_missing"
        raise error
    if problem == "stale":
        error = BadSignature(
            f"时间戳无效或与本方时钟相差超过 {REPLAY_WINDOW_SECONDS // 60} 分钟（防重放），请用当前时间重新签名",
            f"the timestamp is not Unix seconds or more than {REPLAY_WINDOW_SECONDS // 60} minutes from our clock "
            "(replay protection); sign again with the current time",
        )
        error.code = "timestamp_out_of_window"
        raise error
    if problem == "mismatch":
        error = BadSignature(
            '签名不符：应为 HMAC-SHA256(共享密钥, 时间戳 + "." + 原始请求体) 的十六进制',
            'the signature does not match: expected hex HMAC-SHA256(shared secret, timestamp + "." + raw body)',
        )
        error.code = "signature_invalid"
        raise error


@dataclass
class OrderOutcome:
    """What receiving an order did: its case, whether this push created it, and warnings (a category not found)."""

    case: Case
    created: bool
    warnings: list[dict[str, str]] = field(default_factory=list)


def platform_account(session: Session) -> User:
    """The 12345 platform's system account, created at its first push; two first pushes at once make one."""
    try:
        with session.begin_nested():
            return system_account(session, username=ACCOUNT_USERNAME, display_name=ACCOUNT_NAME)
    except IntegrityError:  # a concurrent first push created it: read it
        return system_account(session, username=ACCOUNT_USERNAME, display_name=ACCOUNT_NAME)


def order_case(session: Session, order_id: str) -> Case | None:
    """The case a 12345 order brought in, or None."""
    return session.exec(select(Case).where(Case.external_source == SOURCE, Case.external_id == order_id)).first()


def find_category(session: Session, text: str) -> Category | None:
    """Our category for the platform's value: a code (CS-01-02), a name path from the top (城乡建设/市政设施/路灯,
    also with > ／ ＞), or a name that only one category has; None when nothing (or more than one) fits."""
    if not text:
        return None
    found = session.exec(select(Category).where(Category.code == text)).first()
    if found is not None:
        return found
    path = text
    for separator in _PATH_SEPARATORS:
        path = path.replace(separator, "/")
    names = [name.strip() for name in path.split("/") if name.strip()]
    if len(names) == 1:
        same = session.exec(select(Category).where(Category.name == names[0]).limit(2)).all()
        return same[0] if len(same) == 1 else None
    parent_id: int | None = None
    for name in names:
        parent = col(Category.parent_id).is_(None) if parent_id is None else Category.parent_id == parent_id
        node = session.exec(select(Category).where(Category.name == name, parent)).first()
        if node is None:
            return None
        parent_id = node.id
    return node


def _department(session: Session, text: str) -> Department | None:
    return session.exec(select(Department).where((Department.code == text) | (Department.name == text))).first()


def _warnings(session: Session, order: OrderIn, case: Case) -> list[dict[str, str]]:
    if order.category and case.category_id is None:
        return [
            {
                "field": "category",
                "message": f"业务分类「{order.category}」在本方分类中找不到，已受理但未分类，请派单员补充",
                "message_en": f"category {order.category!r} matches none of ours: the order was taken in "
                "without a category for the dispatcher to set",
            }
        ]
    return []


def _same_order(session: Session, order: OrderIn, case: Case, fingerprint: str) -> OrderOutcome:
    """The answer to a push of an order already taken in: the case (a retry), or OrderIdReused (other content)."""
    if case.idempotency_sha256 not in (None, fingerprint):
        raise OrderIdReused(
            f"工单 {order.order_id} 已以不同内容推送过（本方编号 {case.case_no}）：重试须发送相同内容；"
            "工单内容有变更请电话联系承办方",
            f"order {order.order_id} was already pushed with other content (our case {case.case_no}): a retry "
            "must send the same body; a change to an order is not taken by a push",
            order_id=order.order_id,
            case_no=case.case_no,
        )
    return OrderOutcome(case, created=False, warnings=_warnings(session, order, case))


def _accused(session: Session, checked: Checked) -> tuple[str | None, list[dict[str, Any]]]:
    """Our code of the accused department the order names (None: none named), and the problems so far plus an
    unknown department's: the one check that needs the database, reported with the others."""
    problems = list(checked.problems)
    named = checked.values.get("accused_department")
    if not named:
        return None, problems
    department = _department(session, named)
    if department is None:
        problems.append(
            problem(
                "accused_department",
                f"本方没有单位「{named}」，请填写本方单位代码或名称",
                f"no department {named!r} of ours (give our code or name)",
            )
        )
        return None, problems
    return department.code, problems


def receive_order(session: Session, runtime: Runtime, *, body: bytes, now: datetime | None = None) -> OrderOutcome:
    """Take in one pushed order (the signature already checked: check_signature) through cases.service.intake_case:
    channel hotline, the platform's system account as the actor, ExternalOrder("12345", order_id, due_at UTC).

    Idempotent by order id: a push of an order already taken in returns its case (created=False); one with other
    content raises OrderIdReused (409). Concurrent pushes of one order make one case: the unique index on
    (external_source, external_id) refuses the second insert inside a savepoint, which then reads the first.
    The platform's received time becomes the case's occurred_at; our own clocks start now. Raises InvalidInput
    (422) listing every problem at once, each naming the contract's field: a phone that is no phone, an unknown
    accused department, a received time in the future, a due time before it..."""
    now = now or runtime.now()
    checked = check(OrderIn, body, now=now)
    if not checked.problems:
        existing = order_case(session, checked.model.order_id)
        if existing is not None:
            return _same_order(session, checked.model, existing, checked.model.fingerprint())
    accused, problems = _accused(session, checked)
    if problems:
        raise refuse(problems, "12345 工单内容", "12345 order")
    order: OrderIn = checked.model
    fingerprint = order.fingerprint()
    category = find_category(session, order.category)
    case_in = CaseCreate(
        channel=Channel.hotline,
        case_type=CaseType(order.order_type),
        urgency=Urgency(order.urgency),
        title=order.title,
        description=order.content,
        location=order.address,
        petitioner=PetitionerIn(name=order.petitioner_name, phone=order.petitioner_phone),
        category=category.code if category is not None else None,
        accused_department=accused if order.order_type == CaseType.report else None,
        occurred_at=min(order.received_at, now),
    )
    actor = platform_account(session)
    # The order's fingerprint, written with the case (so it starts at version 1 like every other case), tells a
    # retry (same content) from a reuse of the id (other content) later on.
    external = ExternalOrder(SOURCE, order.order_id, order.due_at, content_sha256=fingerprint)
    try:
        with session.begin_nested():
            result = intake_case(session, runtime, case_in=case_in, actor=actor, now=now, external=external)
    except IntegrityError:
        twin = order_case(session, order.order_id)
        if twin is None:
            raise
        return _same_order(session, order, twin, fingerprint)
    return OrderOutcome(result.case, created=True, warnings=_warnings(session, order, result.case))


@dataclass
class CallbackOutcome:
    case: Case
    recorded: bool
    event: CaseEvent


def _latest_callback(session: Session, case: Case) -> CaseEvent | None:
    """The last callback event of the case's current round (since its last resolution)."""
    query = select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "callback")
    if case.resolved_at is not None:
        query = query.where(CaseEvent.at >= case.resolved_at)
    return session.exec(query.order_by(col(CaseEvent.id).desc())).first()


def _repeats(event: CaseEvent | None, result: CallbackIn) -> bool:
    """Whether `event` is a 12345 callback with the same answers: a retried push, not a second call."""
    if event is None:
        return False
    payload = event.payload or {}
    comment = payload.get("comment", payload.get("note", ""))
    return (
        payload.get("source") == SOURCE
        and bool(payload.get("reached")) == result.reached
        and payload.get("solved") == result.solved
        and payload.get("satisfaction") == result.satisfaction
        and (comment or "") == result.comment
    )


def receive_callback(session: Session, runtime: Runtime, *, order_id: str, body: bytes) -> CallbackOutcome:
    """Record the platform's callback (回访) result on the case its order brought in, through
    cases.ratings.record_external_callback(source="12345"): a callback the rates count (回访率, 解决率, 满意率).

    A push that repeats the last callback of the case's current round (same answers, from 12345) is a retry: it is
    answered with that event and nothing is recorded. Raises NotFound (404) for an order we never received,
    InvalidInput (422) for a bad body, and whatever record_external_callback refuses (409: not resolved yet)."""
    from grievance.cases import ratings  # the petitioner's rating (issue 11 section 4) owns the callback rules

    if (bad_id := order_id_problem(order_id)) is not None:
        raise InvalidInput(
            f"工单编号有误：{bad_id[0]}", f"invalid order_id: {bad_id[1]}", [problem("order_id", *bad_id)]
        )
    result: CallbackIn = parse(CallbackIn, body, "回访结果", "callback result", now=runtime.now())
    if not result.reached:  # nobody answered: there is no solved or satisfaction to keep
        result.solved, result.satisfaction = None, None
    case = order_case(session, order_id)
    if case is None:
        raise NotFound(
            f"本方没有收到过 12345 工单 {order_id}", f"no 12345 order {order_id!r} was received here", order_id=order_id
        )
    latest = _latest_callback(session, case)
    if latest is not None and _repeats(latest, result):
        return CallbackOutcome(case, recorded=False, event=latest)
    event = ratings.record_external_callback(
        session,
        runtime,
        case=case,
        source=SOURCE,
        solved=result.solved,
        satisfaction=result.satisfaction,
        comment=result.comment,
        reached=result.reached,
    )
    return CallbackOutcome(case, recorded=True, event=event)
