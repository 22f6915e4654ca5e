"""The dispatcher's pool: new, returned and open-pool cases, each with its own dispatch and a bulk dispatch."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from grievance.cases import listing, service
from grievance.cases.duplicates import flagged_pairs, pairs_among
from grievance.errors import Conflict, DomainError, in_english
from grievance.workflow import engine
from web.deps import DbSession
from web.pages.common import (
    Viewer,
    check_csrf,
    form_errors,
    gettext_for,
    redirect,
    render,
)
from web.pages.work.common import (
    PAGE_SIZE,
    POOL_ROLES,
    POOL_STATES,
    PostedForm,
    Row,
    all_departments,
    department_options,
    rows_of,
    runtime_of,
)

router = APIRouter(include_in_schema=False)


def _pool_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    *,
    cursor: str | None = None,
    status_code: int = 200,
    bulk: dict[str, Any] | None = None,
) -> HTMLResponse:
    runtime = runtime_of(request)
    # Earliest due first: oldest first among cases of one urgency, and an emergency before them all.
    filters = listing.CaseFilter(state=POOL_STATES, sort="due", cursor=cursor, limit=PAGE_SIZE)
    items, next_cursor = listing.list_cases(session, runtime, viewer.user, filters)
    departments = all_departments(session)
    rows = rows_of(session, runtime, viewer, items, suggestions=True, duplicates=True)
    return render(
        request,
        "work/pool.html",
        viewer,
        status_code=status_code,
        rows=rows,
        total=listing.count_cases(session, runtime, viewer.user, filters),
        # Cases of this page that may duplicate each other: a bulk dispatch of both asks first.
        pairs=flagged_pairs(
            {r.item.id: r.duplicates for r in rows},
            {r.item.id: r.item.case_no for r in rows},
            {r.item.case_no for r in rows},
        ),
        department_options=department_options(departments),
        dispatch_refused={row.item.case_no: dispatch_refusal(row, viewer.locale) for row in rows},
        more_url=f"/pool?{urlencode({'cursor': next_cursor})}" if next_cursor else None,
        paged=bool(cursor),
        bulk=bulk or {"checked": set(), "department_id": "", "note": "", "failures": {}, "errors": {}, "pairs": []},
    )


def dispatch_refusal(row: Row, locale: str) -> list[str]:
    """Why the viewer may not dispatch this case now, in the reader's language: the reasons of the workflow's
    guards that refuse the dispatch action (engine.actions_for, e.g. "已派单2次，第3次须由督办员指定承办单位");
    empty when dispatch is available or not an action of the viewer's role here."""
    for refused in row.unavailable:
        if refused["action"] == "dispatch":
            return [in_english(r["message_en"]) if locale == "en" else r["message"] for r in refused["reasons"]]
    return []


@router.get("/pool", response_class=HTMLResponse)
def pool(request: Request, session: DbSession, viewer: Viewer = POOL_ROLES, cursor: str | None = None) -> Response:
    return _pool_page(request, viewer, session, cursor=cursor)


@router.post("/pool/dispatch", response_class=HTMLResponse)
def bulk_dispatch(request: Request, form: PostedForm, session: DbSession, viewer: Viewer = POOL_ROLES) -> Response:
    """Send the ticked cases to one department, all in this one transaction: if any of them cannot go,
    none goes, and the page says which and why (a half-done batch would leave the dispatcher guessing)."""
    check_csrf(viewer, form)
    runtime = runtime_of(request)
    _ = gettext_for(viewer)
    case_nos = [c for c in form.getlist("case_no") if isinstance(c, str) and c]
    department = str(form.get("department_id") or "").strip()
    note = str(form.get("note") or "").strip()
    bulk: dict[str, Any] = {
        "checked": set(case_nos),
        "department_id": department,
        "note": note,
        "failures": {},
        "errors": {},
        "pairs": [],
    }
    if not case_nos:
        bulk["errors"]["_"] = _("Tick the cases to dispatch first")
    if not department.isdigit():
        bulk["errors"]["department_id"] = _("Choose the department to send them to")
    if not bulk["errors"] and form.get("duplicates_checked") != "1":
        bulk["pairs"] = pairs_among(session, runtime, case_nos, viewer.user)
        if bulk["pairs"]:
            bulk["errors"]["_"] = _(
                "Some ticked cases may be duplicates of each other: merge them first, or tick "
                '"Not duplicates, dispatch them all" and send again'
            )
    if bulk["errors"]:
        return _pool_page(request, viewer, session, status_code=422, bulk=bulk)
    payload: dict[str, Any] = {"department_id": int(department), **({"note": note} if note else {})}
    status = 200
    for case_no in case_nos:
        version = form.get(f"version-{case_no}")
        try:
            with session.begin_nested():  # a failure undoes this case only, so every problem is found
                case = service.get_case(session, case_no, viewer.user, seen_in="bulk_dispatch")
                engine.fire(
                    session,
                    runtime,
                    case=case,
                    action="dispatch",
                    actor=viewer.user,
                    payload=payload,
                    expected_version=int(version) if isinstance(version, str) and version.isdigit() else None,
                )
        except DomainError as exc:
            messages = form_errors(exc, viewer.locale)
            bulk["failures"][case_no] = "；".join(dict.fromkeys(messages.values()))
            status = 409 if isinstance(exc, Conflict) or status == 409 else 422
    if bulk["failures"]:
        session.rollback()  # all or nothing
        bulk["errors"]["_"] = _("Nothing was dispatched: untick or fix the cases marked below, then try again")
        return _pool_page(request, viewer, session, status_code=status, bulk=bulk)
    name = next((d.name for d in all_departments(session) if d.id == int(department)), department)
    return redirect(
        "/pool", flash=_("%(n)d case(s) dispatched to %(department)s") % {"n": len(case_nos), "department": name}
    )
