"""The 12345 platform's door: it pushes work orders and callback results here, signed with the shared secret
instead of a token (grievance/hotline12345/inbound.py; README, "12345 工单对接 / 12345 work orders")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from grievance.hotline12345 import contract, inbound
from grievance.hotline12345.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER
from web.api.schemas import ErrorResponse, InvalidInputResponse
from web.deps import DbSession, RuntimeDep

SIGNED_HEADERS = [
    {
        "name": TIMESTAMP_HEADER,
        "in": "header",
        "required": True,
        "description": "Unix seconds (UTC) of the push; more than 5 minutes from our clock is refused (replay)",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    {
        "name": SIGNATURE_HEADER,
        "in": "header",
        "required": True,
        "description": 'hex HMAC-SHA256(key = shared secret, message = timestamp + "." + raw body bytes)',
        "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
    },
]


def _nullable_optionals(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every optional property also accepting null: null for a field is the field left out."""
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        if name in required or any(option.get("type") == "null" for option in prop.get("anyOf", [])):
            continue
        keep = {key: prop.pop(key) for key in ("title", "description", "default") if key in prop}
        schema["properties"][name] = {"anyOf": [prop, {"type": "null"}], **keep}
    return schema


def _body(model: type[BaseModel]) -> dict[str, Any]:
    # The route reads the raw body by hand (the signature covers its exact bytes), so its schema is given here.
    return {
        "parameters": SIGNED_HEADERS,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _nullable_optionals(model.model_json_schema(mode="validation"))}
            },
        },
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "请求不合规 (a request the service cannot take)"},
    401: {
        "model": ErrorResponse,
        "description": "签名缺失或不符，或时间戳与本方时钟相差超过 5 分钟 (signature_missing, signature_invalid, "
        "timestamp_out_of_window)",
    },
    403: {
        "model": ErrorResponse,
        "description": "不按角色授权：本接口以签名鉴权，不返回 403 (not sent: these routes authorise by signature)",
    },
    404: {"model": ErrorResponse, "description": "没有这个工单或地址 (no such order, or no such route)"},
    409: {"model": ErrorResponse, "description": "与已有数据冲突 (a clash with the data as it is)"},
    413: {"model": ErrorResponse, "description": "请求体过大 (body too large)"},
    422: {
        "model": InvalidInputResponse,
        "description": "字段有误，逐字段说明，字段名为本契约的字段 (invalid order or callback, each field's problem)",
    },
    503: {
        "model": ErrorResponse,
        "description": "未配置共享密钥，或数据库繁忙 (hotline12345_not_configured: no shared secret; or the database "
        "is busy: retry)",
    },
}

router = APIRouter(prefix="/hotline12345", tags=["12345"], responses=ERRORS)


class OrderWarning(BaseModel):
    field: str = Field(description="the contract's field, e.g. category")
    message: str = Field(description="in Chinese")
    message_en: str = Field(description="in English")


class OrderReceipt(BaseModel):
    """The answer to a pushed order: our case number for it. 201 the first time, 200 for a retry (created false)."""

    order_id: str = Field(description="工单编号: the platform's order number, as pushed")
    case_no: str = Field(description="本方编号: our case number for the order")
    created: bool = Field(description="true: this push took the order in; false: it was already here (a retry)")
    state: str = Field(description="the case's state in our workflow, e.g. received (待派单)")
    warnings: list[OrderWarning] = Field(
        default_factory=list, description="accepted with a caveat, e.g. a category we do not know (taken in unsorted)"
    )


class CallbackReceipt(BaseModel):
    """The answer to a callback result: recorded on the case (201), or already recorded by an earlier push (200)."""

    order_id: str
    case_no: str
    recorded: bool = Field(description="false: the same result was already recorded (a retried push)")
    event_id: int = Field(description="our timeline entry for the callback")


async def signed_body(request: Request) -> bytes:
    """The raw body once its signature is checked (before the route opens its transaction): 503 without a shared
    secret, 401 for a missing or wrong signature or a stale timestamp."""
    body = await request.body()
    inbound.check_signature(request.app.state.runtime.settings, request.headers, body)
    return body


SignedBody = Annotated[bytes, Depends(signed_body)]


def is_hotline12345(path: str) -> bool:
    """Whether `path` is one of the 12345 platform's routes."""
    return path.startswith(f"/api/v1{router.prefix}/")  # web/app.py mounts the API at /api/v1


def guard_message(field: str, message: str) -> str:
    """A message of the input guard (web.input_guard: NUL text, JSON too deep) for a 12345 route, its field named
    as the contract's other messages name it (工单标题：…, not title：…)."""
    label = contract.FIELD_ZH.get(field.split(".")[0])
    if label is None or not message.startswith(f"{field}："):
        return message
    return f"{label}：{message.removeprefix(f'{field}：')}"


# Checked by receive_callback (a 422 saying in words what an order number may hold); documented here.
OrderId = Annotated[
    str,
    Path(
        description="工单编号: 1-64 of A-Z a-z 0-9 _ -",
        json_schema_extra={"pattern": contract.ORDER_ID_PATTERN, "minLength": 1, "maxLength": 64},
    ),
]


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderReceipt,
    summary="12345 派单：接收平台推送的工单 (receive a pushed work order)",
    openapi_extra=_body(contract.OrderIn),
    responses={
        200: {"model": OrderReceipt, "description": "the order was already taken in (a retry): the same case"},
        409: {
            "model": ErrorResponse,
            "description": "order_id_reused: this order id already came with other content (order_id, case_no)",
        },
    },
)
def push_order(body: SignedBody, response: Response, session: DbSession, runtime: RuntimeDep) -> Any:
    outcome = inbound.receive_order(session, runtime, body=body)
    if not outcome.created:
        response.status_code = 200
    case = outcome.case
    return OrderReceipt(
        order_id=case.external_id or "",
        case_no=case.case_no,
        created=outcome.created,
        state=case.state,
        warnings=[OrderWarning(**w) for w in outcome.warnings],
    )


@router.post(
    "/orders/{order_id}/callback",
    status_code=201,
    response_model=CallbackReceipt,
    summary="12345 回访结果：平台回访诉求人的结果 (the platform's callback result)",
    openapi_extra=_body(contract.CallbackIn),
    responses={
        200: {"model": CallbackReceipt, "description": "the same result was already recorded (a retry)"},
        404: {"model": ErrorResponse, "description": "not_found: no order with this id was received here"},
        409: {"model": ErrorResponse, "description": "the case does not take a callback now (not resolved yet)"},
    },
)
def push_callback(
    order_id: OrderId, body: SignedBody, response: Response, session: DbSession, runtime: RuntimeDep
) -> Any:
    outcome = inbound.receive_callback(session, runtime, order_id=order_id, body=body)
    if not outcome.recorded:
        response.status_code = 200
    return CallbackReceipt(
        order_id=order_id, case_no=outcome.case.case_no, recorded=outcome.recorded, event_id=outcome.event.id or 0
    )
