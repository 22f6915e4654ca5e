"""Open311 API keys for the administrator: the list (prefix, last use, revoked or not), a new key shown once, and
revocation confirmed by a tick, through grievance/open311/keys.py as the CLI."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from grievance.errors import DomainError
from grievance.open311 import keys
from web.deps import DbSession
from web.pages.admin.forms import AdminViewer, domain_errors, is_checked, runtime_of, values_of
from web.pages.common import Viewer, check_csrf, gettext_for, redirect, render
from web.params import DbId

router = APIRouter(prefix="/admin/open311", include_in_schema=False)


def _keys_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    *,
    new_key: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    response = render(
        request,
        "admin/open311_keys.html",
        viewer,
        status_code=status_code,
        keys=keys.list_keys(session),
        new_key=new_key,
        values=values or {},
        errors=errors or {},
        services_url=str(request.base_url).rstrip("/") + "/open311/v2",
    )
    if new_key:
        response.headers["Cache-Control"] = "no-store"  # shown once: not kept by the browser either
    return response


@router.get("/keys", response_class=HTMLResponse)
def keys_list(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    return _keys_page(request, viewer, session)


@router.post("/keys", response_class=HTMLResponse)
async def key_create(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    """Issue a key for the named client and show it on this answer only (no redirect: it is never stored)."""
    form = await request.form()
    check_csrf(viewer, form)
    values = values_of(form, "name")
    try:
        _row, key = keys.create_key(session, name=values["name"], created_by_id=viewer.user.id)
    except DomainError as exc:
        errors = domain_errors(exc, viewer, conflict_field="name")  # a name an active key has: at the name
        return _keys_page(request, viewer, session, values=values, errors=errors, status_code=422)
    return _keys_page(request, viewer, session, new_key=key)


@router.post("/keys/{key_id}/revoke", response_class=HTMLResponse)
async def key_revoke(request: Request, key_id: DbId, viewer: AdminViewer, session: DbSession) -> Response:
    """Revoke a key once the administrator ticked the confirmation; without the tick nothing changes (422)."""
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    if not is_checked(form, "confirm"):
        errors = {f"revoke-{key_id}": _("Tick the box to confirm: the client's requests will be refused at once")}
        return _keys_page(request, viewer, session, errors=errors, status_code=422)
    row = keys.revoke_key(session, key_id=key_id, now=runtime_of(request).now())
    return redirect(
        "/admin/open311/keys",
        flash=_("Key %(prefix)s… (%(name)s) revoked")
        % {
            "prefix": row.key_prefix,
            "name": row.name,
        },
    )
