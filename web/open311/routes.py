"""The Open311 GeoReport v2 endpoints under /open311/v2 (discovery, services, requests, tokens), each in .json
and .xml, and every refusal in the spec's error body, not the rest of the API's: 403 for a bad api_key, 404 for
an unknown service, request, token or address, 400 for anything else the client sent wrong (our 422), 429 when a
key files too fast. The work is in grievance/open311."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from grievance.errors import DomainError, NotFound, field_errors
from grievance.open311 import filing, service
from web.deps import DbSession, RuntimeDep
from web.open311.render import FORMATS, error_response, respond

log = logging.getLogger("grievance.open311")

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-30T00:00:00+08:00"  # when this implementation of the endpoints last changed (discovery)


def format_of(request: Request) -> str:
    """The format the client asked for by the path's suffix (.xml or .json); JSON when there is none."""
    return "xml" if request.url.path.lower().endswith(".xml") else "json"


def _description(message: str, message_en: str) -> str:
    return message if message == message_en else f"{message} ({message_en})"


def spec_error(request: Request, exc: Exception) -> Response | None:
    """The spec's error answer for a refusal raised by an Open311 route, or None for a fault (left to the app's
    handlers: 503 for a busy database, 500 otherwise). Our 422 (and any other 4xx but 403, 404, 405, 413, 429)
    is the spec's 400; the description is "中文 (English)"."""
    fmt = format_of(request)
    if isinstance(exc, RequestValidationError):
        errors = field_errors(list(exc.errors()))
        zh = "；".join(str(e["message"]) for e in errors)
        en = "; ".join(str(e["message_en"]) for e in errors)
        return error_response(fmt, 400, _description(zh, en))
    if isinstance(exc, DomainError) and exc.status_code < 500:
        status = exc.status_code if exc.status_code in (403, 404, 429) else 400
        problems = exc.detail.get("errors") or []
        zh = "；".join(str(e.get("message")) for e in problems) or exc.message
        en = "; ".join(str(e.get("message_en")) for e in problems) or exc.message_en
        retry = exc.detail.get("retry_after")
        log.info("%s %s -> %s: %s", request.method, request.url.path, status, en)
        return error_response(fmt, status, _description(zh, en), {"Retry-After": str(retry)} if retry else None)
    if isinstance(exc, StarletteHTTPException) and exc.status_code < 500:
        status = exc.status_code if exc.status_code in (403, 404, 405, 413, 429) else 400
        return error_response(fmt, status, str(exc.detail), exc.headers)
    return None


class Open311Route(APIRoute):
    """A route whose refusals answer in the spec's error body (spec_error), in the format of the request's path,
    whatever raised them: a service, FastAPI's validation, the framework."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                response = spec_error(request, exc)
                if response is None:
                    raise
                return response

        return answer


# Not in /openapi.json: the contract is the GeoReport v2 specification (its schemas are tested in tests/open311/),
# whose XML twins, suffix formats and error body the API's OpenAPI document does not describe.
router = APIRouter(route_class=Open311Route, include_in_schema=False)


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFound(f"没有格式 {fmt}，可用 json 或 xml", f"no format {fmt!r}; use .json or .xml")
    return fmt


@router.get("/discovery.{fmt}", summary="Discovery: the endpoint, its specification and formats")
def discovery(request: Request, fmt: str) -> Response:
    """The spec's discovery document: where the GeoReport v2 endpoint is and which formats it speaks."""
    url = str(request.base_url).rstrip("/") + "/open311/v2"
    return respond(
        _fmt(fmt),
        "discovery",
        {
            "changeset": CHANGESET,
            "contact": "诉求服务中心系统管理员 (the service centre's administrator)",
            "key_service": "API 密钥由系统管理员在 /admin/open311/keys 签发 (api keys: ask the administrator)",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": url,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["application/json", "text/xml"],
                }
            ],
        },
    )


@router.get("/services.{fmt}", summary="The services (categories) that accept public requests")
def services(fmt: str, session: DbSession, jurisdiction_id: str | None = None) -> Response:
    """grievance.open311.service.services; `jurisdiction_id` is accepted and ignored (one jurisdiction)."""
    return respond(_fmt(fmt), "services", service.services(session))


@router.get("/services/{service_code}.{fmt}", summary="A service's definition: its attributes")
def service_definition(service_code: str, fmt: str, session: DbSession, jurisdiction_id: str | None = None) -> Response:
    """grievance.open311.service.service_definition; 404 for a code that is no public service."""
    return respond(_fmt(fmt), "service_definition", service.service_definition(session, service_code))


@router.post("/requests.{fmt}", summary="File a service request (form-encoded, api_key required)")
async def post_request(request: Request, fmt: str, session: DbSession, runtime: RuntimeDep) -> Response:
    """The form as grievance.open311.filing maps it; answers [{service_request_id, token, service_notice,
    account_id}] with 201. The key is checked and counted before anything else (403, 429)."""
    fmt = _fmt(fmt)
    form = await request.form()
    pairs = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    api_key = next((value for name, value in pairs if name == "api_key"), None)
    filing.authorize_post(request.app.state.sessions, api_key, runtime.now())
    filed = filing.file_request(session, runtime, pairs)
    return respond(fmt, "service_requests", [filed.as_record()], status_code=201)


@router.get("/requests.{fmt}", summary="Service requests filed through Open311, with the spec's filters")
def get_requests(
    fmt: str,
    session: DbSession,
    runtime: RuntimeDep,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
    jurisdiction_id: str | None = None,
) -> Response:
    """grievance.open311.service.find_requests: 90 days at most, 1000 requests at most, newest first."""
    found = service.find_requests(
        session,
        runtime,
        service_request_id=service_request_id,
        service_code=service_code,
        start_date=start_date,
        end_date=end_date,
        status=status,
    )
    return respond(_fmt(fmt), "service_requests", found)


@router.get("/requests/{service_request_id}.{fmt}", summary="One service request")
def get_request(
    service_request_id: str, fmt: str, session: DbSession, runtime: RuntimeDep, jurisdiction_id: str | None = None
) -> Response:
    return respond(_fmt(fmt), "service_requests", service.get_request(session, runtime, service_request_id))


@router.get("/tokens/{token}.{fmt}", summary="The service request id of a token")
def get_token(token: str, fmt: str, session: DbSession, jurisdiction_id: str | None = None) -> Response:
    return respond(_fmt(fmt), "service_requests", service.request_for_token(session, token))


@router.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def not_an_endpoint(request: Request, path: str) -> Response:
    """Any other address under /open311/v2: 405 (with Allow) when the path exists for another method, else 404,
    both in the spec's error body."""
    allowed: set[str] = set()
    for route in router.routes:
        if isinstance(route, APIRoute) and route.endpoint is not not_an_endpoint:
            match, _ = route.matches({**request.scope, "path": "/" + path, "root_path": ""})
            if match == Match.PARTIAL:
                allowed |= route.methods
    if allowed:
        methods = ", ".join(sorted(allowed))
        return error_response(format_of(request), 405, f"该地址只接受 {methods} (use {methods})", {"Allow": methods})
    return error_response(format_of(request), 404, f"没有这个地址 (no Open311 endpoint /{path})")


def is_open311(path: str) -> bool:
    """Whether a request path belongs to Open311, whose refusals take the spec's body (for the app's middlewares:
    web/body_limits.py, web/input_guard.py, web/errors.py)."""
    return path.startswith("/open311/")


def middleware_refusal(path: str, status: int, message: str, message_en: str) -> Response:
    """A refusal made before any Open311 route (a body too large, NUL or invalid UTF-8 in the input) in the spec's
    error body and the path's format: 413 and 404 as they are, any other 4xx as 400."""
    fmt = "xml" if path.lower().endswith(".xml") else "json"
    return error_response(fmt, status if status in (404, 413) else 400, _description(message, message_en))
