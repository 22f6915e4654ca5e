"""One place that turns errors into responses: domain errors keep their status, bad input gets 422
with a message per field in Chinese and English."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from grievance.errors import DomainError, NotAuthenticated, field_errors

log = logging.getLogger("grievance.web")


def invalid_response(errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(
        status_code=422,
        content={"error": "invalid_input", "message": "输入有误 (invalid input)", "errors": errors},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
        if exc.status_code >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.message)
        else:
            log.info("%s %s -> %s: %s", request.method, request.url.path, exc.status_code, exc.message)
        return JSONResponse(status_code=exc.status_code, content=exc.to_dict(), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(list(exc.errors()))
        log.info("%s %s -> 422: %s", request.method, request.url.path, errors)
        return invalid_response(errors)

    @app.exception_handler(ValidationError)
    async def model_invalid(request: Request, exc: ValidationError) -> JSONResponse:
        return invalid_response(field_errors(list(exc.errors()), skip_body=False))
