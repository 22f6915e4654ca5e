"""What is public: a petitioner tracks their case with its query code (status and replies only) and, once it is
resolved, rates it (cases/ratings.py). The code travels in the body of a POST, never in the URL (access logs,
proxies' logs); lookups are throttled per client address, ratings per address and per case."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, WithJsonSchema

from grievance.cases.public import find_by_query_code, public_status
from grievance.cases.ratings import COMMENT_MAX, petitioner_rating, rate_by_query_code
from grievance.cases.read_models import PublicStatus
from grievance.errors import TooManyAttempts
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


class PublicRating(BaseModel):
    """The petitioner's own rating of the case's current resolution, as recorded (its comment is not given back:
    it may carry personal data)."""

    rated_at: datetime
    solved: bool | None
    satisfaction: str | None = Field(description="satisfied, basically_satisfied or unsatisfied")
    satisfaction_label: str = Field(description="满意 / 基本满意 / 不满意")
    satisfaction_label_en: str
    commented: bool = Field(description="a comment was recorded with it")
    centre_will_call: bool = Field(description="dissatisfied or not solved: the service centre will call back")


class PublicStatusRated(PublicStatus):
    """The case as the petitioner sees it, and whether they may rate it now or how they rated it."""

    can_rate: bool = Field(description="resolved, not closed, and not rated yet by the petitioner")
    rating: PublicRating | None


class RatingIn(Lookup):
    """The petitioner's rating: the query code as on the receipt and the three answers. Wrong values are answered
    422 with the same messages as the tracking page's form (cases/ratings.rating_input)."""

    solved: Annotated[Any, WithJsonSchema({"type": "boolean"})] = Field(
        default=None, description="是否解决: true or false (yes/no also read)", examples=[True]
    )
    satisfaction: Annotated[
        Any, WithJsonSchema({"type": "string", "enum": ["satisfied", "basically_satisfied", "unsatisfied"]})
    ] = Field(default=None, description="满意度: satisfied 满意, basically_satisfied 基本满意, unsatisfied 不满意")
    comment: Annotated[Any, WithJsonSchema({"type": "string", "maxLength": COMMENT_MAX})] = Field(
        default="", description=f"意见, at most {COMMENT_MAX} characters; may be left out"
    )


def _throttled(refusal: Any) -> JSONResponse:
    return JSONResponse(
        status_code=refusal.status_code,
        content=refusal.to_dict(),  # error, message (both languages), retry_after, minutes
        headers={"Retry-After": str(refusal.detail["retry_after"])},
    )


def _lookup(request: Request, session: DbSession, runtime: RuntimeDep, query_code: str) -> Any:
    refusal = lookup_refusal(request)
    if refusal is not None:
        return _throttled(refusal)
    found = public_status(session, runtime, query_code)
    case = find_by_query_code(session, query_code)
    assert case is not None  # public_status found it
    return {**found, **petitioner_rating(session, runtime, case)}


@router.post(
    "/lookup",
    summary="诉求人凭查询码查询进度 (track a case; the code in the body)",
    response_model=PublicStatusRated,
    responses={**NO_CASE, **THROTTLED},
)
def lookup(body: Lookup, request: Request, session: DbSession, runtime: RuntimeDep) -> Any:
    """The case's number, title, state, dates and the replies addressed to the petitioner; for a merged duplicate,
    the case that answers it; whether the petitioner may rate it now (`can_rate`) or their rating. Never personal
    data. 10 lookups a minute and 100 an hour per client address."""
    return _lookup(request, session, runtime, body.query_code)


@router.get(
    "/cases/{query_code}",
    summary="（已弃用）凭查询码查询进度 (deprecated: the code lands in access logs; POST /public/lookup)",
    deprecated=True,
    response_model=PublicStatusRated,
    responses={**NO_CASE, **THROTTLED},
)
def track(query_code: str, request: Request, session: DbSession, runtime: RuntimeDep) -> Any:
    """Kept for clients written against the first API; answers as POST /public/lookup and counts against the same
    throttle."""
    return _lookup(request, session, runtime, query_code)


RATING_REFUSED = {
    409: {
        "model": ErrorResponse,
        "description": "already_rated: this resolution was rated already; not_allowed_now: not resolved yet, "
        "closed, or merged into another case",
    },
    429: {
        "model": ErrorResponse,
        "description": "评价提交过于频繁 (too many rating attempts from this address or on this case): wait "
        "`Retry-After` seconds",
        "headers": {
            "Retry-After": {"description": "seconds until an attempt is let through", "schema": {"type": "integer"}}
        },
    },
}


@router.post(
    "/rating",
    status_code=201,
    summary="诉求人凭查询码评价办理结果 (rate the resolved case; the code in the body)",
    response_model=PublicStatusRated,
    responses={**NO_CASE, **RATING_REFUSED},
)
def rate(body: RatingIn, request: Request, session: DbSession, runtime: RuntimeDep) -> Any:
    """Once per resolution, after it: solved or not, satisfaction, an optional comment. Recorded as a callback that
    the rates count (self-reported); a dissatisfied or unsolved rating puts the case on the centre's callback list
    for a call (README, 诉求人自评). Answers the case as POST /public/lookup does, with the rating. 5 attempts a
    minute and 20 an hour per client address, 5 an hour per case; every attempt counts."""
    try:
        case = rate_by_query_code(
            session,
            runtime,
            request.app.state.sessions,
            query_code=body.query_code,
            address=request.client.host if request.client else "-",
            solved=body.solved,
            satisfaction=body.satisfaction,
            comment=body.comment,
        )
    except TooManyAttempts as refusal:
        return _throttled(refusal)
    found = public_status(session, runtime, body.query_code)
    return {**found, **petitioner_rating(session, runtime, case)}
