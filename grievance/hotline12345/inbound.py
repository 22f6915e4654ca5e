"""Work orders (工单) the city's 12345 platform pushes to us, and its callback (回访) results: checked (signature,
fields), taken in once through the front desk's own intake path, and answered in the contract's terms (README,
"12345 工单对接 / 12345 work orders").

There is no public specification of a 12345 platform's API: this is our own contract, modelled on how Chinese 12345
platforms exchange orders (派单 in; 签收, 退单, 延期申请, 办结 out: grievance/hotline12345/outbound.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from grievance.cases.models import Case, CaseEvent
from grievance.cases.phones import INVALID_EN, INVALID_ZH, normalize_phone
from grievance.cases.schemas import CaseCreate, PetitionerIn
from grievance.cases.service import ExternalOrder, intake_case
from grievance.config import Settings
from grievance.errors import BilingualValueError, Conflict, DomainError, InvalidInput, NotFound, field_errors
from grievance.glossary import CaseType, Channel, Satisfaction, Urgency
from grievance.hotline12345.signature import REPLAY_WINDOW_SECONDS, signature_problem
from grievance.input_bounds import checked_moment
from grievance.reference.models import Category, Department
from grievance.users.models import User
from grievance.users.service import system_account
from grievance.workflow.engine import Runtime

SOURCE = "12345"  # Case.external_source of a 12345 order
ACCOUNT_USERNAME = "hotline12345"  # the system account the platform acts as (timeline: 12345平台)
ACCOUNT_NAME = "12345平台"

# The platform's words, and our codes, for the closed vocabularies of the contract.
ORDER_TYPES = {
    "求助": "help",
    "投诉": "complaint",
    "咨询": "consult",
    "建议": "suggestion",
    "举报": "report",
    "表扬": "praise",
}
URGENCIES = {"一般": "normal", "紧急": "urgent", "特急": "emergency"}
SATISFACTIONS = {"满意": "satisfied", "基本满意": "basically_satisfied", "不满意": "unsatisfied"}
# Separators of a category name path: 城乡建设/市政设施/路灯, 城乡建设>市政设施>路灯.
_PATH_SEPARATORS = ("／", "＞", ">", "/")

# The contract's field names in Chinese, for error messages (the JSON "field" keeps the key).
FIELD_ZH = {
    "order_id": "工单编号",
    "title": "工单标题",
    "content": "诉求内容",
    "petitioner_name": "诉求人姓名",
    "petitioner_phone": "联系电话",
    "address": "事发地址",
    "category": "业务分类",
    "urgency": "紧急程度",
    "order_type": "诉求类型",
    "accused_department": "被举报单位",
    "received_at": "受理时间",
    "due_at": "办结时限",
    "reached": "是否联系到诉求人",
    "solved": "是否解决",
    "satisfaction": "满意度",
    "comment": "回访意见",
    "body": "请求内容",
}


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


def _text(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise BilingualValueError("含有不可见的空字符", "contains a NUL character")
    return value


def _vocabulary(value: str, words: dict[str, str], codes: type[Any], zh: str, en: str) -> str:
    """Our code for a value the platform sends in Chinese (投诉) or as our code (complaint)."""
    code = words.get(value, value)
    if code in {member.value for member in codes} and code in words.values():
        return code
    accepted = "、".join(words)
    raise BilingualValueError(
        f"{zh}「{value}」无法识别，可填写：{accepted}",
        f"{en} {value!r} is not accepted; accepted: {', '.join(words)} (or {', '.join(words.values())})",
    )


def _utc(value: datetime) -> datetime:
    return checked_moment(value).astimezone(UTC)


class _In(BaseModel):
    # Fields this contract does not read are ignored: the platform may send more than we take.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _text(value)


class OrderIn(_In):
    """One work order as the platform pushes it (派单). Times carry their offset (2025-03-05T09:30:00+08:00) and are
    kept in UTC."""

    order_id: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", description="工单编号: the platform's order number"
    )
    title: str = Field(min_length=1, max_length=200, description="工单标题")
    content: str = Field(default="", max_length=5000, description="诉求内容")
    petitioner_name: str = Field(default="", max_length=100, description="诉求人姓名")
    petitioner_phone: str = Field(
        default="", max_length=32, description="联系电话: stored in the form of grievance/cases/phones.py"
    )
    address: str = Field(default="", max_length=200, description="事发地址")
    category: str = Field(
        default="",
        max_length=200,
        description="业务分类: our category code (e.g. CS-01-02) or its name path 城乡建设/市政设施/路灯; "
        "an unknown one is accepted without a category, with a warning",
    )
    urgency: str = Field(default="一般", description="紧急程度: 一般 | 紧急 | 特急 (or normal | urgent | emergency)")
    order_type: str = Field(
        description="诉求类型: 求助 | 投诉 | 咨询 | 建议 | 举报 | 表扬 (or help, complaint, consult, suggestion, "
        "report, praise)"
    )
    accused_department: str = Field(
        default="",
        max_length=100,
        description="被举报单位: our department code or name; required for 举报 (that department never sees the case)",
    )
    received_at: AwareDatetime = Field(description="受理时间: when the platform took the call (来电/受理)")
    due_at: AwareDatetime | None = Field(default=None, description="办结时限: the platform's own due time")

    @field_validator("petitioner_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        phone = normalize_phone(value)
        if phone is None:
            raise BilingualValueError(INVALID_ZH, INVALID_EN)
        return phone

    @field_validator("urgency")
    @classmethod
    def _urgency(cls, value: str) -> str:
        return _vocabulary(value, URGENCIES, Urgency, "紧急程度", "urgency")

    @field_validator("order_type")
    @classmethod
    def _order_type(cls, value: str) -> str:
        return _vocabulary(value, ORDER_TYPES, CaseType, "诉求类型", "order_type")

    @field_validator("received_at", "due_at")
    @classmethod
    def _moment(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _utc(value)

    @model_validator(mode="after")
    def _rules(self) -> OrderIn:
        if self.order_type == CaseType.report and not self.accused_department:
            raise ValueError("accused_department")
        if self.due_at is not None and self.due_at <= self.received_at:
            raise ValueError("due_at")
        return self

    def fingerprint(self) -> str:
        """SHA-256 (hex) of the order as validated (phone normalised, times in UTC, keys sorted): two pushes of
        one order give the same value whatever their JSON layout."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CallbackIn(_In):
    """The platform's callback (回访) result for an order it sent us and we resolved."""

    reached: bool = Field(description="是否联系到诉求人")
    solved: bool | None = Field(default=None, description="是否解决: required when reached")
    satisfaction: str | None = Field(
        default=None,
        description="满意度: 满意 | 基本满意 | 不满意 (or satisfied | basically_satisfied | unsatisfied); required "
        "when reached",
    )
    comment: str = Field(default="", max_length=500, description="回访意见 (at most 500 characters)")

    @field_validator("satisfaction")
    @classmethod
    def _satisfaction(cls, value: str | None) -> str | None:
        return (
            None if value in (None, "") else _vocabulary(value, SATISFACTIONS, Satisfaction, "满意度", "satisfaction")
        )

    @model_validator(mode="after")
    def _rules(self) -> CallbackIn:
        if self.reached and self.solved is None:
            raise ValueError("solved")
        if self.reached and self.satisfaction is None:
            raise ValueError("satisfaction")
        if not self.reached:
            self.solved, self.satisfaction = None, None
        return self


# The rules a model_validator checks, by the field its ValueError names: (中文, English).
_RULES = {
    "accused_department": ("举报件须填写被举报单位，该单位看不到此件", "a 举报 (report) needs accused_department"),
    "due_at": ("办结时限应晚于受理时间", "due_at must be after received_at"),
    "solved": ("联系到诉求人时须填写是否解决", "solved is required when reached is true"),
    "satisfaction": ("联系到诉求人时须填写满意度", "satisfaction is required when reached is true"),
}


def _problems(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors as the contract's field problems, named by the contract's Chinese field names."""
    out = []
    for err, problem in zip(exc.errors(), field_errors(list(exc.errors()), skip_body=False), strict=True):
        cause = (err.get("ctx") or {}).get("error")
        if not err.get("loc") and isinstance(cause, ValueError) and str(cause) in _RULES:
            name = str(cause)
            zh, en = _RULES[name]
            out.append({"field": name, "message": f"{FIELD_ZH[name]}：{zh}", "message_en": f"{name}: {en}"})
            continue
        name = problem["field"]
        zh = problem["message"].split("：", 1)[-1]
        out.append({**problem, "message": f"{FIELD_ZH.get(name.split('.')[0], name)}：{zh}"})
    return out


def parse(model: type[Any], body: bytes, what_zh: str, what_en: str) -> Any:
    """The body as `model`, or InvalidInput (422) listing every field's problem in both languages."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput.field(
            "body", "请求体不是有效的 JSON（UTF-8）", "the body is not valid JSON (UTF-8)"
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput.field("body", "请求体应为 JSON 对象 {...}", "the body must be a JSON object {...}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"{what_zh}有误", f"invalid {what_en}", _problems(exc)) from None


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


def receive_order(session: Session, runtime: Runtime, *, body: bytes, now: datetime | None = None) -> OrderOutcome:
    """Take in one pushed order (the signature already checked: check_signature) through cases.service.intake_case:
    channel hotline, the platform's system account as the actor, ExternalOrder("12345", order_id, due_at UTC).

    Idempotent by order id: a push of an order already taken in returns its case (created=False); one with other
    content raises OrderIdReused (409). Concurrent pushes of one order make one case: the unique index on
    (external_source, external_id) refuses the second insert inside a savepoint, which then reads the first.
    The platform's received time becomes the case's occurred_at; our own clocks start now. Raises InvalidInput
    (422) naming the contract's field: a phone that is no phone, an unknown accused department, a received time
    in the future."""
    order: OrderIn = parse(OrderIn, body, "12345 工单内容", "12345 order")
    fingerprint = order.fingerprint()
    existing = order_case(session, order.order_id)
    if existing is not None:
        return _same_order(session, order, existing, fingerprint)
    now = now or runtime.now()
    if order.received_at > now + timedelta(minutes=5):
        raise InvalidInput.field("received_at", "受理时间：不能晚于现在", "received_at: cannot be in the future")
    accused = None
    if order.accused_department:
        department = _department(session, order.accused_department)
        if department is None:
            raise InvalidInput.field(
                "accused_department",
                f"被举报单位：本方没有单位「{order.accused_department}」，请填写本方单位代码或名称",
                f"accused_department: no department {order.accused_department!r} of ours (give our code or name)",
            )
        accused = department.code
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
    external = ExternalOrder(SOURCE, order.order_id, order.due_at)
    try:
        with session.begin_nested():
            result = intake_case(session, runtime, case_in=case_in, actor=actor, now=now, external=external)
    except IntegrityError:
        twin = order_case(session, order.order_id)
        if twin is None:
            raise
        return _same_order(session, order, twin, fingerprint)
    # The order's fingerprint tells a retry (same content) from a reuse of the id (other content) later on.
    result.case.idempotency_sha256 = fingerprint
    session.flush()
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

    result: CallbackIn = parse(CallbackIn, body, "回访结果", "callback result")
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
