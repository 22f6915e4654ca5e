"""The API's answers that are not a domain record: the error bodies, the documented statuses of each kind of
route, and the non-JSON media types, so /openapi.json describes every answer a client can get."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from grievance.cases.schemas import CaseCreate


class ErrorResponse(BaseModel):
    """Every refusal of the API (web/errors.py): a specific code and the message in Chinese and English. Some
    refusals add detail: `allowed` (the actions allowed now), `retry_after` (seconds), `limit`..."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})
    error: str = Field(
        description="a specific code, e.g. not_found, stale_version, not_allowed_now", examples=["not_found"]
    )
    message: str = Field(description="what was wrong and what is accepted, in Chinese")
    message_en: str | None = Field(default=None, description="the same in English")


class FieldProblem(BaseModel):
    """One field's problem in a 422."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})
    field: str = Field(description="the field, dotted for nested ones (petitioner.phone), or body")
    message: str = Field(description="in Chinese")
    message_en: str = Field(description="in English")


class InvalidInputResponse(ErrorResponse):
    """422: input that is malformed or wrong for the domain, every problem listed with its field."""

    errors: list[FieldProblem] = Field(default_factory=list)


def _error(description: str, model: type[BaseModel] = ErrorResponse, **extra: Any) -> dict[str, Any]:
    return {"model": model, "description": description, **extra}


RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}},
}
ERRORS: dict[int, dict[str, Any]] = {
    400: _error("请求体无法解析或请求不合规 (a body that cannot be parsed, or a request the domain cannot take)"),
    401: _error("需要登录：Authorization: Bearer <令牌> (no or an unknown token)"),
    403: _error("角色无权进行此操作 (the role may not do this)"),
    404: _error("不存在或不属于您的单位 (no such record that you may see)"),
    409: _error(
        "与当前状态冲突：版本已变、此时不可执行或规则不允许 (stale version, not allowed now, refused by a rule)"
    ),
    413: _error("请求体或文件过大 (the body or a file is larger than accepted)"),
    422: _error("输入有误，逐字段说明 (invalid input, each field's problem listed)", InvalidInputResponse),
    429: _error("过于频繁，请 Retry-After 秒后再试 (too many attempts)", headers=RETRY_AFTER),
    503: _error("数据库繁忙或不可用，请稍后再试 (the database is busy or unreachable)", headers=RETRY_AFTER),
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route or router: these statuses with their error schema."""
    return {status: ERRORS[status] for status in statuses}


# Every API route: a body that cannot be parsed, bad input, an oversized body, a busy database.
ANY_ROUTE = errors(400, 413, 422, 503)
# Routes behind a token; role checks, references by id or code, and writes that a rule or a version may refuse.
SIGNED_IN = errors(401, 403, 404, 409)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINARY = {"schema": {"type": "string", "format": "binary"}}
TEXT = {"schema": {"type": "string"}}


def file_responses(*media: str, description: str) -> dict[int | str, dict[str, Any]]:
    """A 200 documented with the media types it is really sent in (text/csv, XLSX, text/html...); JSON, where a
    route also answers it (`format=json`), comes from the route's own return type."""
    content = {m: BINARY if m.startswith(("application/", "image/", "audio/", "video/")) else TEXT for m in media}
    return {200: {"description": description, "content": content}}


def install_openapi(app: FastAPI, models: tuple[type[BaseModel], ...] = (CaseCreate,)) -> None:
    """Add to /openapi.json's components the input models a route reads by hand (intake's CaseCreate, sent as
    JSON or as the `case` part of a multipart body) and refers to in its `openapi_extra`: FastAPI lists only the
    models in a route's signature, so the reference would point nowhere."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        _, defs = models_json_schema(
            [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in defs.get("$defs", {}).items():
            components.setdefault(name, definition)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
