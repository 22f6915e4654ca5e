"""One place that turns errors into responses, so every refusal has one shape: JSON
{"error": <specific code>, "message": 中文, "message_en": English, ...detail} for the API (422 adds "errors",
one entry per field), and for pages the error page in the reader's language, taken from those fields."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from grievance.errors import DomainError, NotAuthenticated, field_errors, split_glued
from web.i18n import in_locale
from web.pages.common import LoginRequired, Viewer, locale_of, optional_viewer, render

log = logging.getLogger("grievance.web")


def invalid_response(errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(
        status_code=422,
        content={"error": "invalid_input", "message": "输入有误", "message_en": "invalid input", "errors": errors},
    )


def _is_page(request: Request) -> bool:
    """HTML pages get error pages; the JSON API (and the static files) get JSON."""
    return not request.url.path.startswith(("/api/", "/static/", "/healthz", "/open311/"))


def _reader_locale(request: Request, viewer: Viewer | None) -> str:
    return viewer.locale if viewer else locale_of(request)


def _http_message(detail: Any, status: int, locale: str) -> str:
    """An HTTPException's detail for the page: Starlette's stock English phrase ("Not Found") is left to the
    page's own heading; our own bilingual details show the reader's half."""
    try:
        if str(detail) == HTTPStatus(status).phrase:
            return ""
    except ValueError:
        pass
    return in_locale(str(detail), locale)


def _http_body(exc: StarletteHTTPException) -> dict[str, Any]:
    """An HTTPException (a route or method that does not exist, a framework refusal) in the API's error shape:
    a code by status ("not_found", "method_not_allowed", ...), Chinese and English messages."""
    status = exc.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    detail = str(exc.detail)
    if detail != phrase:
        zh, en = split_glued(detail) or (detail, detail)
    else:
        zh, en = HTTP_ZH.get(status, "请求未能完成"), phrase
    return {"error": phrase.lower().replace(" ", "_").replace("-", "_"), "message": zh, "message_en": en}


# Chinese for the HTTP refusals the framework itself makes (no route, wrong method, ...).
HTTP_ZH = {
    400: "请求有误",
    401: "需要登录",
    403: "无权进行此操作",
    404: "没有这个地址",
    405: "该地址不接受此请求方法",
    406: "无法提供所要求的格式",
    413: "请求内容过大",
    415: "不支持的内容类型",
    429: "请求过于频繁，请稍后再试",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_page(request):
            viewer = optional_viewer(request)
            return render(
                request,
                "error.html",
                viewer,
                status_code=exc.status_code,
                status=exc.status_code,
                message=_http_message(exc.detail, exc.status_code, _reader_locale(request, viewer)),
                allowed=[],
            )
        return JSONResponse(status_code=exc.status_code, content=_http_body(exc), headers=exc.headers)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if _is_page(request):
            log.info("%s %s -> %s: %s", request.method, request.url.path, exc.status_code, exc.message)
            viewer = optional_viewer(request)
            return render(
                request,
                "error.html",
                viewer,
                status_code=exc.status_code,
                status=exc.status_code,
                message=exc.text(_reader_locale(request, viewer)),
                allowed=exc.detail.get("allowed", []),
            )
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
        if exc.status_code >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.message)
        else:
            log.info("%s %s -> %s: %s", request.method, request.url.path, exc.status_code, exc.message)
        return JSONResponse(status_code=exc.status_code, content=exc.to_dict(), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = field_errors(list(exc.errors()))
        if _is_page(request):
            viewer = optional_viewer(request)
            key = "message_en" if _reader_locale(request, viewer) == "en" else "message"
            message = "；".join(str(e.get(key) or e["message"]) for e in errors)
            return render(
                request,
                "error.html",
                viewer,
                status_code=422,
                status=422,
                message=message,
                allowed=[],
            )
        log.info("%s %s -> 422: %s", request.method, request.url.path, errors)
        return invalid_response(errors)

    @app.exception_handler(ValidationError)
    async def model_invalid(request: Request, exc: ValidationError) -> JSONResponse:
        return invalid_response(field_errors(list(exc.errors()), skip_body=False))
