"""The petitioner's page (public, no sign-in): the query code from the receipt shows the case's status and the
replies, never personal data — the same service function as the public API.

The code is posted, never put in the URL, so it stays out of access logs and the browser's history. The receipt's QR
code opens /track#code=... (a fragment is not sent to the server): the page's script fills the form from it, clears
it from the address bar and looks the case up. An old-style link /track?code=... only fills the form in, without
looking anything up (the person presses 查询 once): showing the case on a GET would keep bookmarks and histories of
shared computers opening it, and such links were never printed (receipts name the bare page).

Once the case is resolved the page offers the rating form (cases/ratings.py): it posts to /track as well, with the
code in a hidden field and intent=rate, so the receipt's code is all a petitioner needs and the code stays out of
URLs. After rating, the page shows the recorded rating and no form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from grievance.cases import query_codes
from grievance.cases.public import find_by_query_code, public_status
from grievance.cases.ratings import COMMENT_MAX, petitioner_rating, rate_by_query_code
from grievance.errors import DomainError, InvalidInput, NotFound, TooManyAttempts, in_english
from web.deps import DbSession
from web.lookup_throttle import lookup_refusal
from web.pages.common import locale_of, render

router = APIRouter(include_in_schema=False)

MAX_TYPED = 64  # what a code field gives back to the page: longer input is no code anyway


@router.api_route("/track", methods=["GET", "HEAD"], response_class=HTMLResponse)
def track_form(request: Request, code: str = "") -> Response:
    """The empty lookup form; a code in an old-style link only pre-fills it when it has the shape of a code."""
    prefill = code.strip() if query_codes.lookup_candidates(code) else ""
    return render(request, "public/track.html", code=prefill[:MAX_TYPED], found=None, error="")


@router.post("/track", response_class=HTMLResponse)
def track(
    request: Request,
    session: DbSession,
    code: Annotated[str, Form()] = "",
    intent: Annotated[str, Form()] = "",
    solved: Annotated[str, Form()] = "",
    satisfaction: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    """The case of the posted code on this response (no redirect, so the code never reaches a URL). Lookups are
    throttled per client address (web.lookup_throttle): over the limit, 429 with Retry-After and the form. With
    intent=rate the posted answers rate the case first (_rate)."""
    typed = code.strip()[:MAX_TYPED]
    if not typed:
        return render(request, "public/track.html", status_code=422, code="", found=None, error="missing")
    if intent == "rate":
        return _rate(request, session, typed, {"solved": solved, "satisfaction": satisfaction, "comment": comment})
    refusal = lookup_refusal(request)
    if refusal is not None:
        return _throttled(request, typed, refusal, "throttled")
    try:
        found = public_status(session, request.app.state.runtime, typed)
    except NotFound:
        return render(request, "public/track.html", status_code=404, code=typed, found=None, error="unknown")
    return _case_page(request, session, typed, found)


def _throttled(request: Request, typed: str, refusal: TooManyAttempts, error: str) -> Response:
    page = render(
        request,
        "public/track.html",
        status_code=429,
        code=typed,
        found=None,
        error=error,
        minutes=refusal.detail["minutes"],
    )
    page.headers["Retry-After"] = str(refusal.detail["retry_after"])
    return page


def _case_page(
    request: Request,
    session: Session,
    typed: str,
    found: dict[str, Any],
    *,
    status_code: int = 200,
    rated: bool = False,
    rating_problem: str = "",
    rating_errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    runtime = request.app.state.runtime
    case = find_by_query_code(session, typed)
    rating = petitioner_rating(session, runtime, case) if case is not None else {"can_rate": False, "rating": None}
    return render(
        request,
        "public/track.html",
        status_code=status_code,
        code=query_codes.grouped(query_codes.normalise(typed) or typed),
        found=found,
        error="",
        can_rate=rating["can_rate"],
        rating=rating["rating"],
        rated=rated,
        rating_problem=rating_problem,
        rating_errors=rating_errors or {},
        values=values or {},
        comment_max=COMMENT_MAX,
    )


def _rate(request: Request, session: Session, typed: str, values: dict[str, str]) -> Response:
    """Rate the case of the code with the posted answers (cases/ratings.rate_by_query_code: counted per address and
    per case), then show the case with the recorded rating. A refusal shows the case and the form again with the
    reason in the reader's language: 422 under each field, 409 above the form; 404 and 429 as a lookup's."""
    runtime = request.app.state.runtime
    locale = locale_of(request)
    address = request.client.host if request.client else "-"
    try:
        with session.begin_nested():  # nothing of a refused rating is kept
            rate_by_query_code(
                session,
                runtime,
                request.app.state.sessions,
                query_code=typed,
                address=address,
                solved=values["solved"],
                satisfaction=values["satisfaction"],
                comment=values["comment"],
            )
    except TooManyAttempts as refusal:
        return _throttled(request, typed, refusal, "rating_throttled")
    except NotFound:
        return render(request, "public/track.html", status_code=404, code=typed, found=None, error="unknown")
    except InvalidInput as problem:
        errors = {
            e["field"]: in_english(e["message_en"]) if locale == "en" else e["message"]
            for e in problem.detail["errors"]
        }
        found = public_status(session, runtime, typed)
        return _case_page(request, session, typed, found, status_code=422, rating_errors=errors, values=values)
    except DomainError as problem:  # 409: already rated, not resolved, closed, changed at the same moment
        found = public_status(session, runtime, typed)
        return _case_page(
            request,
            session,
            typed,
            found,
            status_code=problem.status_code,
            rating_problem=problem.text(locale),
            values=values,
        )
    return _case_page(request, session, typed, public_status(session, runtime, typed), rated=True)
