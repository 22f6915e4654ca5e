"""Staff accounts: the list with its filters, a new account with its initial password, and one account's page
(password reset, deactivation and reactivation, API tokens shown once)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col

from grievance.cases import listing
from grievance.errors import DomainError, NotFound
from grievance.glossary import DEPARTMENT_ROLES, Role
from grievance.reference import service as reference
from grievance.reference.models import Department, Enterprise
from grievance.users import service as users
from grievance.users.models import User
from web.deps import DbSession
from web.pages.admin.forms import AdminViewer, department_options, domain_errors, runtime_of, values_of
from web.pages.common import ROLE_NAMES, Viewer, check_csrf, gettext_for, redirect, render
from web.params import DbId

router = APIRouter(prefix="/admin", include_in_schema=False)

USER_FIELDS = ("username", "display_name", "role", "department")


def _role_options(_: Callable[[str], str]) -> list[tuple[str, str]]:
    return [(role.value, _(ROLE_NAMES[role.value])) for role in Role]


def _users_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    _ = gettext_for(viewer)
    q = request.query_params.get("q", "").strip()
    role = request.query_params.get("role", "")
    departments = {d.id: d for d in reference.list_all(session, Department, col(Department.code))}
    accounts = users.list_users(session)
    shown = [
        u
        for u in accounts
        if (not q or q.lower() in u.username.lower() or q in u.display_name) and (not role or u.role == role)
    ]
    shown.sort(key=lambda u: (not u.active, u.username))
    return render(
        request,
        "admin/users.html",
        viewer,
        status_code=status_code,
        accounts=shown,
        total=len(accounts),
        departments=departments,
        q=q,
        role=role,
        role_options=_role_options(_),
        department_options=department_options(session, viewer.locale),
        values=values or {"role": Role.handler.value},
        errors=errors or {},
        department_roles=sorted(DEPARTMENT_ROLES),
        min_password=users.MIN_PASSWORD,
    )


@router.get("/users", response_class=HTMLResponse)
def users_list(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    return _users_page(request, viewer, session)


@router.post("/users", response_class=HTMLResponse)
async def user_create(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    values = values_of(form, *USER_FIELDS)
    password = str(form.get("password") or "")
    errors: dict[str, str] = {}
    if len(values["display_name"]) > 64:
        errors["display_name"] = _("At most 64 characters")
    if not password:
        errors["password"] = _("Give an initial password: the person signs in with it and then changes it")
    if not errors:
        try:
            user = users.create_user(
                session,
                username=values["username"],
                role=values["role"],
                password=password,
                display_name=values["display_name"],
                department=values["department"] or None,
            )
        except DomainError as exc:
            errors = domain_errors(exc, viewer, conflict_field="username")
    if errors:
        return _users_page(request, viewer, session, values, errors, status_code=422)
    return redirect(
        "/admin/users",
        flash=_("Account %(username)s created; give the person the initial password") % {"username": user.username},
    )


def _user_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    user: User,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    department = session.get(Department, user.department_id) if user.department_id else None
    enterprises = [
        e for e in reference.list_all(session, Enterprise, col(Enterprise.name)) if e.liaison_user_id == user.id
    ]
    led, led_url = _key_cases_led(request, viewer, session, user)
    return render(
        request,
        "admin/user.html",
        viewer,
        status_code=status_code,
        account=user,
        key_cases_led=led,
        key_cases_led_url=led_url,
        department=department,
        enterprises=enterprises,
        tokens=users.active_token_count(session, user),
        errors=errors or {},
        min_password=users.MIN_PASSWORD,
    )


def _key_cases_led(request: Request, viewer: Viewer, session: Session, user: User) -> tuple[int, str]:
    """How many open key cases (not in a final state) this account leads as lead leader (包案领导), and the /cases
    link listing them: deactivating a leader leaves them without an active leader until they get another one."""
    if user.role != Role.leader or user.id is None:
        return 0, ""
    runtime = runtime_of(request)
    states = listing.open_states(runtime)
    filters = listing.CaseFilter(key=True, lead_leader_id=user.id, state=states)
    count = listing.count_cases(session, runtime, viewer.user, filters)
    query = {"key": 1, "lead_leader_id": user.id, "state": states, "sort": "due"}
    return count, f"/cases?{urlencode(query, doseq=True)}"


def _account(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if 0 < user_id < 2**63 else None
    if user is None:
        raise NotFound(f"用户 {user_id} 不存在", f"no user {user_id}")
    return user


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_detail(request: Request, user_id: DbId, viewer: AdminViewer, session: DbSession) -> Response:
    return _user_page(request, viewer, session, _account(session, user_id))


@router.post("/users/{user_id}/password", response_class=HTMLResponse)
async def user_password(request: Request, user_id: DbId, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    user = _account(session, user_id)
    new, confirm = str(form.get("password") or ""), str(form.get("confirm") or "")
    if new != confirm:
        return _user_page(request, viewer, session, user, {"confirm": _("The two passwords differ")}, 422)
    try:
        ended = users.reset_password(session, user, new)
    except DomainError as exc:
        return _user_page(request, viewer, session, user, domain_errors(exc, viewer), 422)
    return redirect(
        f"/admin/users/{user.id}",
        flash=_("New password set for %(username)s; %(count)s browser sessions were signed out")
        % {"username": user.username, "count": ended},
    )


@router.post("/users/{user_id}/deactivate", response_class=HTMLResponse)
async def user_deactivate(request: Request, user_id: DbId, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    user = _account(session, user_id)
    try:
        ended = users.deactivate_user(session, user, by=viewer.user, now=runtime_of(request).now())
    except DomainError as exc:
        return _user_page(request, viewer, session, user, {"active": domain_errors(exc, viewer)["_"]}, exc.status_code)
    flash = _("%(username)s deactivated: %(sessions)s browser sessions signed out, %(tokens)s API tokens revoked") % {
        "username": user.username,
        "sessions": ended["sessions"],
        "tokens": ended["tokens"],
    }
    led, _url = _key_cases_led(request, viewer, session, user)
    if led:
        flash += " " + _("They lead %(n)s open key case(s): give them another lead leader.") % {"n": led}
    return redirect(f"/admin/users/{user.id}", flash=flash)


@router.post("/users/{user_id}/reactivate", response_class=HTMLResponse)
async def user_reactivate(request: Request, user_id: DbId, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    user = _account(session, user_id)
    users.reactivate_user(session, user)
    _ = gettext_for(viewer)
    return redirect(f"/admin/users/{user.id}", flash=_("%(username)s may sign in again") % {"username": user.username})


@router.post("/users/{user_id}/tokens", response_class=HTMLResponse)
async def user_token(request: Request, user_id: DbId, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    user = _account(session, user_id)
    name = str(form.get("name") or "").strip()
    if len(name) > 64:
        return _user_page(request, viewer, session, user, {"name": _("At most 64 characters")}, 422)
    if not user.active:
        return _user_page(
            request, viewer, session, user, {"name": _("Reactivate the account before issuing a token")}, 409
        )
    token = users.create_token(session, user, name=name)
    response = render(request, "admin/token.html", viewer, account=user, token=token, purpose=name)
    response.headers["Cache-Control"] = "no-store"  # shown once: not kept by the browser either
    return response
