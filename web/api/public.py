"""What is public: a petitioner tracks their case with its query code (status and replies only). The code travels
in the body of a POST, never in the URL (access logs, proxies' logs); lookups are throttled per client address."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from grievance.cases.public import public_status
from grievance.cases.read_models import PublicStatus
from web.api.schemas import ANY_ROUTE, ErrorResponse
from web.deps import DbSession, RuntimeDep
from web.lookup_throttle import lookup_refusal

router = APIRouter(prefix="/public", tags=["public"], responses=ANY_ROUTE)

NO_CASE = {404: {"model": ErrorResponse, "description": "查询码无效 (no case has this query code)"}}
THROTTLED = {
    429: {
        "model": ErrorResponse,
        "description": "查询过于频繁 (too many lookups from this address): wait `Retry-After` seconds",
        "headers": {
            "Retry-After": {"description": "seconds until a lookup is let through", "schema": {"type": "integer"}}
        },
    }
}


class Lookup(BaseModel):
    query_code: str = Field(
        min_length=1,
        max_length=64,
        description="查询码, as on the receipt: K7QM-3XHD-9TPR, k7qm3xhd9tpr… (case, blanks and dashes do not "
        "matter; O, I, L read as 0, 1, 1); a code of the old format (16 characters) exactly as printed",
        examples=["K7QM-3XHD-9TPR"],
    )


def _lookup(request: Request, session: DbSession, runtime: RuntimeDep, query_code: str) -> Any:
    refusal = lookup_refusal(request)
    if refusal is not None:
        return JSONResponse(
            status_code=refusal.status_code,
            content=refusal.to_dict(),  # error, message (both languages), retry_after, minutes
            headers={"Retry-After": str(refusal.detail["retry_after"])},
        )
    return public_status(session, runtime, query_code)


@router.post(
    "/lookup",
    summary="诉求人凭查询码查询进度 (track a case; the code in the body)",
    response_model=PublicStatus,
    responses={**NO_CASE, **THROTTLED},
)
def lookup(body: Lookup, request: Request, session: DbSession, runtime: RuntimeDep) -> Any:
    """The case's number, title, state, dates and the replies addressed to the petitioner; for a merged duplicate,
    the case that answers it. Never personal data. 10 lookups a minute and 100 an hour per client address."""
    return _lookup(request, session, runtime, body.query_code)


@router.get(
    "/cases/{query_code}",
    summary="（已弃用）凭查询码查询进度 (deprecated: the code lands in access logs; POST /public/lookup)",
    deprecated=True,
    response_model=PublicStatus,
    responses={**NO_CASE, **THROTTLED},
)
def track(query_code: str, request: Request, session: DbSession, runtime: RuntimeDep) -> Any:
    """Kept for clients written against the first API; answers as POST /public/lookup and counts against the same
    throttle."""
    return _lookup(request, session, runtime, query_code)
