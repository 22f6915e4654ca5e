"""The petitioner's page (public, no sign-in): the query code from the receipt shows the case's status and the
replies, never personal data — the same service function as the public API.

The code is posted, never put in the URL, so it stays out of access logs and the browser's history. The receipt's QR
code opens /track#code=... (a fragment is not sent to the server): the page's script fills the form from it, clears
it from the address bar and looks the case up. An old-style link /track?code=... only fills the form in, without
looking anything up (the person presses 查询 once): showing the case on a GET would keep bookmarks and histories of
shared computers opening it, and such links were never printed (receipts name the bare page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from grievance.cases import query_codes
from grievance.cases.public import public_status
from grievance.errors import NotFound
from web.deps import DbSession
from web.lookup_throttle import lookup_refusal
from web.pages.common import render

router = APIRouter(include_in_schema=False)

MAX_TYPED = 64  # what a code field gives back to the page: longer input is no code anyway


@router.api_route("/track", methods=["GET", "HEAD"], response_class=HTMLResponse)
def track_form(request: Request, code: str = "") -> Response:
    """The empty lookup form; a code in an old-style link only pre-fills it when it has the shape of a code."""
    prefill = code.strip() if query_codes.lookup_candidates(code) else ""
    return render(request, "public/track.html", code=prefill[:MAX_TYPED], found=None, error="")


@router.post("/track", response_class=HTMLResponse)
def track(request: Request, session: DbSession, code: Annotated[str, Form()] = "") -> Response:
    """The case of the posted code on this response (no redirect, so the code never reaches a URL). Lookups are
    throttled per client address (web.lookup_throttle): over the limit, 429 with Retry-After and the form."""
    typed = code.strip()[:MAX_TYPED]
    if not typed:
        return render(request, "public/track.html", status_code=422, code="", found=None, error="missing")
    refusal = lookup_refusal(request)
    if refusal is not None:
        page = render(
            request,
            "public/track.html",
            status_code=429,
            code=typed,
            found=None,
            error="throttled",
            minutes=refusal.detail["minutes"],
        )
        page.headers["Retry-After"] = str(refusal.detail["retry_after"])
        return page
    try:
        found = public_status(session, request.app.state.runtime, typed)
    except NotFound:
        return render(request, "public/track.html", status_code=404, code=typed, found=None, error="unknown")
    shown = query_codes.grouped(query_codes.normalise(typed) or typed)
    return render(request, "public/track.html", code=shown, found=found, error="")
