"""The weekly dispatch sheet (每周调度, issue 12) in the site frame: a week picker, the sheet (printable on A4), its
workbook, and the supervisor's form on each case that records the meeting's decision through the workflow action
record_dispatch_decision. The sheet's data and its rules: grievance/keycases/dispatch.py.

Who: the supervisor (reads, records decisions) and leaders (read). Every key case is listed by default, with a
filter by lead leader; a leader's own cases are one click away ("My cases"). The dispatcher and the departments do
not open it: a department follows its cases on its queue and the case page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from grievance.cases.models import Case
from grievance.cases.service import get_case
from grievance.errors import Conflict, Forbidden, InvalidInput
from grievance.glossary import Role
from grievance.keycases.dispatch import (
    DECISION_ACTION,
    WITHDRAW_ACTION,
    DispatchSheet,
    Week,
    check_sheet_week,
    dispatch_sheet,
    key_since,
    leaders_on_sheets,
    parse_week,
    week_problem,
)
from grievance.keycases.dispatch_xlsx import sheet_xlsx
from grievance.reports.service import audit_export
from grievance.workflow import engine
from grievance.workflow.engine import Runtime
from web.deps import DbSession
from web.pages.common import Viewer, check_csrf, form_errors, gettext_for, page_roles, redirect, render
from web.pages.work.common import PostedForm, runtime_of
from web.params import refuse_impossible_id

router = APIRouter(include_in_schema=False)
READERS = (Role.supervisor, Role.leader)
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _leader_filter(raw: str) -> int | None:
    """The `leader` query parameter: blank for every key case, or a lead leader's user id."""
    value = raw.strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 2**31:
        raise InvalidInput.field(
            "leader",
            f"包案领导「{value}」无效，应为领导的用户编号，留空表示全部",
            f"the lead leader {value!r} is not valid: give a leader's user id, or leave it blank for all",
        )
    return int(value)


def _query(week: Week, leader_id: int | None) -> str:
    return urlencode({"week": week.key, **({"leader": leader_id} if leader_id else {})})


def _sheet(session: Session, runtime: Runtime, viewer: Viewer, week: Week, leader_id: int | None) -> DispatchSheet:
    return dispatch_sheet(
        session,
        user=viewer.user,
        workflows=runtime.workflows.definitions,
        calendar=runtime.calendar(session),
        week=week,
        now=runtime.now(),
        timezone=runtime.settings.timezone,
        lead_leader_id=leader_id,
    )


def _page(
    request: Request,
    session: Session,
    viewer: Viewer,
    week: Week,
    leader_id: int | None,
    *,
    status_code: int = 200,
    errors: dict[str, dict[str, str]] | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    runtime = runtime_of(request)
    sheet = _sheet(session, runtime, viewer, week, leader_id)
    workflows = runtime.workflows.definitions
    may_decide = viewer.user.role == Role.supervisor and any(DECISION_ACTION in w.actions for w in workflows.values())
    _ = gettext_for(viewer)
    current = Week.of_moment(runtime.now(), runtime.settings.timezone)
    return render(
        request,
        "keycases/dispatch.html",
        viewer,
        status_code=status_code,
        sheet=sheet,
        week=week,
        current=current,
        previous_url=f"/keycases/dispatch?{_query(week.previous, leader_id)}",
        next_url=f"/keycases/dispatch?{_query(week.next, leader_id)}" if week < current.next else None,
        current_url=f"/keycases/dispatch?{_query(current, leader_id)}",
        xlsx_url=f"/keycases/dispatch.xlsx?{_query(week, leader_id)}",
        query=_query(week, leader_id),
        leader_id=leader_id,
        leader_options=[
            (i, name if active else _("%(name)s (deactivated)") % {"name": name})
            for i, name, active in leaders_on_sheets(session)
        ],
        # The decision form: the supervisor's, on a case whose workflow still allows the action in its state.
        decidable={
            i.case_no
            for i in sheet.items
            if may_decide
            and DECISION_ACTION in workflows[i.workflow].actions
            and i.state in workflows[i.workflow].actions[DECISION_ACTION].from_
        },
        # The withdraw button beside each decision: the supervisor's, where the workflow has the action.
        withdrawable={
            i.case_no
            for i in sheet.items
            if viewer.user.role == Role.supervisor
            and WITHDRAW_ACTION in workflows[i.workflow].actions
            and i.state in workflows[i.workflow].actions[WITHDRAW_ACTION].from_
        },
        errors=errors or {},
        typed=typed or {},
        week_error=None,
    )


def _bad_week(request: Request, viewer: Viewer, exc: InvalidInput, typed_week: str) -> HTMLResponse:
    """The page without a sheet: the week picker with what was typed and what is accepted (422)."""
    runtime = runtime_of(request)
    current = Week.of_moment(runtime.now(), runtime.settings.timezone)
    return render(
        request,
        "keycases/dispatch.html",
        viewer,
        status_code=422,
        sheet=None,
        week=None,
        typed_week=typed_week,
        current=current,
        current_url=f"/keycases/dispatch?{urlencode({'week': current.key})}",
        leader_id=None,
        leader_options=[],
        week_error=form_errors(exc, viewer.locale),
        errors={},
        typed={},
        decidable=set(),
        withdrawable=set(),
    )


@router.get("/keycases", response_class=HTMLResponse)
def key_cases_home(viewer: Viewer = page_roles(*READERS)) -> Response:
    """The "Key cases" entry of the navigation: this week's dispatch sheet."""
    return RedirectResponse("/keycases/dispatch", status_code=303)


@router.get("/keycases/dispatch", response_class=HTMLResponse)
def dispatch_page(
    request: Request,
    session: DbSession,
    week: str = "",
    leader: str = "",
    viewer: Viewer = page_roles(*READERS),
) -> Response:
    """The sheet of `week` ("2025-W42"; default: the current week), optionally of one lead leader's cases."""
    runtime = runtime_of(request)
    try:
        chosen = check_sheet_week(week, runtime.now(), runtime.settings.timezone)
        leader_id = _leader_filter(leader)
    except InvalidInput as exc:
        return _bad_week(request, viewer, exc, week)
    return _page(request, session, viewer, chosen, leader_id)


@router.get("/keycases/dispatch.xlsx", response_model=None)
def dispatch_xlsx(
    request: Request,
    session: DbSession,
    week: str = "",
    leader: str = "",
    viewer: Viewer = page_roles(*READERS),
) -> Response:
    """The sheet as a workbook (audited like every export)."""
    runtime = runtime_of(request)
    chosen = check_sheet_week(week, runtime.now(), runtime.settings.timezone)
    sheet = _sheet(session, runtime, viewer, chosen, _leader_filter(leader))
    audit_export(session, viewer.user, f"dispatch sheet {chosen.key} xlsx ({len(sheet.items)} key cases)")
    return Response(
        sheet_xlsx(sheet, runtime.workflows.definitions),
        media_type=XLSX_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="dispatch-{chosen.key}.xlsx"'},
    )


@dataclass(frozen=True)
class SheetPost:
    """What a form on the sheet posts besides its action's fields: the case, the sheet's week and leader filter."""

    case: Case
    week: Week
    leader_id: int | None

    @property
    def back(self) -> str:
        return f"/keycases/dispatch?{_query(self.week, self.leader_id)}#row-{self.case.case_no}"


def _sheet_post(session: Session, viewer: Viewer, form: dict[str, Any]) -> SheetPost:
    check_csrf(viewer, form)
    case_no = str(form.get("case_no") or "").strip()
    refuse_impossible_id(case_no, "case_no")
    case = get_case(session, case_no, viewer.user, seen_in="dispatch_sheet")
    week = parse_week(str(form.get("week") or ""))  # the sheet's own hidden field: a bad one is the error page
    return SheetPost(case, week, _leader_filter(str(form.get("leader") or "")))


def _fire_from_sheet(
    request: Request,
    session: Session,
    viewer: Viewer,
    post: SheetPost,
    action: str,
    payload: dict[str, Any],
    done: str,
    check: Callable[[], None] = lambda: None,
    typed: dict[str, str] | None = None,
) -> Response:
    """Fire a workflow action from a form of the sheet (one transaction with its event), then back to the sheet at
    that case with `done` flashed; a refusal (`check` may raise first) shows the sheet again with the message beside
    the case and what was typed."""
    runtime = runtime_of(request)
    try:
        check()
        with session.begin_nested():  # nothing of a refused action is kept
            engine.fire(session, runtime, case=post.case, action=action, actor=viewer.user, payload=payload)
    except (InvalidInput, Conflict, Forbidden) as exc:
        session.refresh(post.case)
        messages = form_errors(exc, viewer.locale) if isinstance(exc, InvalidInput) else {"_": exc.text(viewer.locale)}
        return _page(
            request,
            session,
            viewer,
            post.week,
            post.leader_id,
            status_code=exc.status_code,
            errors={post.case.case_no: messages},
            typed=typed,
        )
    return redirect(post.back, flash=done)


@router.post("/keycases/dispatch/decisions", response_class=HTMLResponse)
def record_decision(
    request: Request,
    session: DbSession,
    form: PostedForm,
    viewer: Viewer = page_roles(Role.supervisor),
) -> Response:
    """Record the meeting's decision on one case (the workflow action), then back to the sheet at that case; a
    refusal shows the sheet again with the message and the text typed."""
    post = _sheet_post(session, viewer, form)
    runtime = runtime_of(request)
    _ = gettext_for(viewer)
    decision = str(form.get("decision") or "")

    def check() -> None:
        problem = week_problem(post.week.key, runtime.now(), runtime.settings.timezone, key_since(post.case))
        if problem:
            raise InvalidInput.field("week", *problem)

    return _fire_from_sheet(
        request,
        session,
        viewer,
        post,
        DECISION_ACTION,
        {"decision": decision, "week": post.week.key},
        _("%(case_no)s: decision recorded") % {"case_no": post.case.case_no},
        check,
        typed={post.case.case_no: decision},
    )


@router.post("/keycases/dispatch/withdrawals", response_class=HTMLResponse)
def withdraw_decision(
    request: Request,
    session: DbSession,
    form: PostedForm,
    viewer: Viewer = page_roles(Role.supervisor),
) -> Response:
    """Withdraw one decision shown on the sheet (the workflow action withdraw_dispatch_decision with the decision's
    event id and the reason typed), then back to the sheet at that case; a refusal shows the sheet with the
    message beside the case."""
    post = _sheet_post(session, viewer, form)
    _ = gettext_for(viewer)
    raw_event = str(form.get("decision_event") or "").strip()

    def check() -> None:
        if not raw_event.isdigit() or not 0 < int(raw_event) < 2**31:
            raise InvalidInput.field(
                "decision_event", f"调度决定「{raw_event}」无效", f"the decision {raw_event!r} is not valid"
            )

    return _fire_from_sheet(
        request,
        session,
        viewer,
        post,
        WITHDRAW_ACTION,
        {"decision_event": int(raw_event) if raw_event.isdigit() else 0, "reason": str(form.get("reason") or "")},
        _("%(case_no)s: decision withdrawn") % {"case_no": post.case.case_no},
        check,
    )
