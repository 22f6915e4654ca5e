"""The petitioner's page (public, no sign-in): the query code from the receipt shows the case's status and the
replies, never personal data — the same service function as the public API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from grievance.cases.public import public_status
from grievance.errors import NotFound
from web.deps import DbSession
from web.pages.common import render

router = APIRouter(include_in_schema=False)


@router.get("/track", response_class=HTMLResponse)
def track(request: Request, session: DbSession, code: str = "") -> Response:
    code = code.strip()
    if not code:
        return render(request, "public/track.html", code="", found=None, error="")
    try:
        found = public_status(session, request.app.state.runtime, code)
    except NotFound:
        return render(request, "public/track.html", status_code=404, code=code, found=None, error="unknown")
    return render(request, "public/track.html", code=code, found=found, error="")
