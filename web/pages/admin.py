"""Administration: staff accounts, departments, stations, enterprises and their liaisons, the category tree,
the local calendar overrides, each workflow drawn from its file, and the ledger (台账) import.

Every page is for administrators only (the ledger import also for the roles the API lets import), and
every change goes through the same service functions as the JSON API.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col
from starlette.datastructures import FormData, UploadFile

from grievance.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, field_errors
from grievance.glossary import DEPARTMENT_ROLES, Role
from grievance.ledger.columns import COLUMNS
from grievance.ledger.importer import import_ledger as run_ledger_import
from grievance.ledger.importer import read_ledger
from grievance.reference import service as reference
from grievance.reference.models import Category, Department, Enterprise, Station
from grievance.reference.schemas import DepartmentIn, EnterpriseIn, StationIn
from grievance.users import service as users
from grievance.users.models import User
from grievance.workflow import calendar_service
from grievance.workflow.calendar import UNITS, statutory_workday
from grievance.workflow.definition import INTAKE, WorkflowDef
from grievance.workflow.diagram import workflow_svg
from grievance.workflow.engine import Runtime
from web.api.ledger import IMPORT_ROLES, MAX_BYTES
from web.deps import DbSession
from web.pages.common import (
    ROLE_NAMES,
    LoginRequired,
    Viewer,
    check_csrf,
    form_errors,
    gettext_for,
    optional_viewer,
    page_roles,
    redirect,
    render,
)

router = APIRouter(prefix="/admin", include_in_schema=False)

AdminViewer = Annotated[Viewer, page_roles(Role.admin.value)]
_BILINGUAL = re.compile(r"^(?P<zh>.*?[\u4e00-\u9fff].*?)\s*\((?P<en>[^()]+)\)\s*$")
UPLOAD_NAME = re.compile(r"^(?P<user>\d+)-(?P<token>[A-Za-z0-9_-]{20,64})(?P<suffix>\.csv|\.xlsx)$")
UPLOAD_HOURS = 24  # a dry-run file waits this long for its confirmation


# --- form helpers ----------------------------------------------------------------------------------------


def _in_locale(message: str, locale: str) -> str:
    """The reader's half of a domain message written "中文 (English)"."""
    found = _BILINGUAL.match(message)
    if not found:
        return message
    return found["en"] if locale == "en" else found["zh"]


def _errors(exc: DomainError, viewer: Viewer, conflict_field: str = "_") -> dict[str, str]:
    """A refused form's messages by field; a conflict (a code already taken) is shown at its field."""
    if isinstance(exc, Conflict):
        return {conflict_field: _in_locale(exc.message, viewer.locale)}
    errors = form_errors(exc, viewer.locale)
    if "_" in errors and not exc.detail.get("errors"):
        errors["_"] = _in_locale(errors["_"], viewer.locale)
    return errors


def _invalid(exc: ValidationError, viewer: Viewer) -> dict[str, str]:
    """Pydantic's complaints about a form, by field, without the field name (the message sits beside it)."""
    errors: dict[str, str] = {}
    for err in field_errors(list(exc.errors()), skip_body=False):
        name = err["field"] if err["field"] != "body" else "_"
        text = str(err["message_en"] if viewer.locale == "en" else err["message"])
        text = text.removeprefix(f"{name}: ").removeprefix(f"{name} ")
        errors.setdefault(name, _in_locale(text, viewer.locale))
    return errors


def _values(form: FormData, *names: str) -> dict[str, str]:
    return {name: str(form.get(name) or "").strip() for name in names}


def _checked(form: FormData, name: str) -> bool:
    return str(form.get(name) or "") in ("1", "on", "true", "yes")


def _local(runtime: Runtime) -> date:
    """Today in the deployment's time zone."""
    return runtime.now().astimezone(ZoneInfo(runtime.settings.timezone)).date()


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def _role_options(_: Callable[[str], str]) -> list[tuple[str, str]]:
    return [(role.value, _(ROLE_NAMES[role.value])) for role in Role]


def _department_options(session: Session) -> list[tuple[str, str]]:
    return [(d.code, f"{d.name}（{d.code}）") for d in _department_tree(session)[0]]


def _department_tree(session: Session) -> tuple[list[Department], dict[int, int]]:
    """Departments in tree order (each after its parent) and each one's depth."""
    departments = reference.list_all(session, Department, col(Department.code))
    children: dict[int | None, list[Department]] = {}
    for dept in departments:
        children.setdefault(dept.parent_id, []).append(dept)
    ordered: list[Department] = []
    depth: dict[int, int] = {}

    def visit(parent: int | None, level: int) -> None:
        for dept in children.get(parent, []):
            if dept.id in depth:
                continue
            depth[dept.id] = level  # type: ignore[index]
            ordered.append(dept)
            visit(dept.id, level + 1)

    visit(None, 0)
    # A parent that is missing (never in practice) must not hide its children.
    for dept in departments:
        if dept.id not in depth:
            depth[dept.id] = 0  # type: ignore[index]
            ordered.append(dept)
    return ordered, depth


def _user_options(session: Session) -> list[tuple[str, str]]:
    """Active staff for the liaison choice: name, account and department."""
    names = {d.id: d.name for d in reference.list_all(session, Department, col(Department.code))}
    people = [u for u in users.list_users(session) if u.active]
    people.sort(key=lambda u: (names.get(u.department_id, "~"), u.display_name))
    return [
        (u.username, f"{u.display_name}（{u.username}）" + (f" · {names[u.department_id]}" if u.department_id else ""))
        for u in people
    ]


# --- overview --------------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def index(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    runtime = _runtime(request)
    accounts = users.list_users(session)
    enterprises = reference.list_all(session, Enterprise, col(Enterprise.name))
    categories = reference.list_all(session, Category, col(Category.code))
    year = _local(runtime).year
    counts = {
        "users": len(accounts),
        "active_users": sum(1 for u in accounts if u.active),
        "departments": len(reference.list_all(session, Department, col(Department.code))),
        "stations": len(reference.list_all(session, Station, col(Station.code))),
        "enterprises": len(enterprises),
        "large": sum(1 for e in enterprises if e.is_large),
        "covered": sum(1 for e in enterprises if e.is_large and e.liaison_user_id),
        "categories": len(categories),
        "leaves": sum(1 for c in categories if c.level == 3),
        "overrides": len(calendar_service.list_overrides(session, year)),
        "workflows": len(runtime.workflows.definitions),
    }
    return render(request, "admin/index.html", viewer, counts=counts, year=year)


# --- users -----------------------------------------------------------------------------------------------

USER_FIELDS = ("username", "display_name", "role", "department")


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
        department_options=_department_options(session),
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
    values = _values(form, *USER_FIELDS)
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
            errors = _errors(exc, viewer, conflict_field="username")
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
    return render(
        request,
        "admin/user.html",
        viewer,
        status_code=status_code,
        account=user,
        department=department,
        enterprises=enterprises,
        tokens=users.active_token_count(session, user),
        errors=errors or {},
        min_password=users.MIN_PASSWORD,
    )


def _account(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if 0 < user_id < 2**63 else None
    if user is None:
        raise NotFound(f"用户 {user_id} 不存在 (no user {user_id})")
    return user


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_detail(request: Request, user_id: int, viewer: AdminViewer, session: DbSession) -> Response:
    return _user_page(request, viewer, session, _account(session, user_id))


@router.post("/users/{user_id}/password", response_class=HTMLResponse)
async def user_password(request: Request, user_id: int, viewer: AdminViewer, session: DbSession) -> Response:
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
        return _user_page(request, viewer, session, user, _errors(exc, viewer), 422)
    return redirect(
        f"/admin/users/{user.id}",
        flash=_("New password set for %(username)s; %(count)s browser sessions were signed out")
        % {"username": user.username, "count": ended},
    )


@router.post("/users/{user_id}/deactivate", response_class=HTMLResponse)
async def user_deactivate(request: Request, user_id: int, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    user = _account(session, user_id)
    try:
        ended = users.deactivate_user(session, user, by=viewer.user, now=_runtime(request).now())
    except DomainError as exc:
        return _user_page(request, viewer, session, user, {"active": _errors(exc, viewer)["_"]}, exc.status_code)
    return redirect(
        f"/admin/users/{user.id}",
        flash=_("%(username)s deactivated: %(sessions)s browser sessions signed out, %(tokens)s API tokens revoked")
        % {"username": user.username, "sessions": ended["sessions"], "tokens": ended["tokens"]},
    )


@router.post("/users/{user_id}/reactivate", response_class=HTMLResponse)
async def user_reactivate(request: Request, user_id: int, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    user = _account(session, user_id)
    users.reactivate_user(session, user)
    _ = gettext_for(viewer)
    return redirect(f"/admin/users/{user.id}", flash=_("%(username)s may sign in again") % {"username": user.username})


@router.post("/users/{user_id}/tokens", response_class=HTMLResponse)
async def user_token(request: Request, user_id: int, viewer: AdminViewer, session: DbSession) -> Response:
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


# --- departments and stations ----------------------------------------------------------------------------


def _departments_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ordered, depth = _department_tree(session)
    people: dict[int | None, int] = {}
    for user in users.list_users(session):
        if user.active:
            people[user.department_id] = people.get(user.department_id, 0) + 1
    return render(
        request,
        "admin/departments.html",
        viewer,
        status_code=status_code,
        departments=ordered,
        depth=depth,
        people=people,
        department_options=_department_options(session),
        values=values or {},
        errors=errors or {},
    )


def _create(
    viewer: Viewer, schema: type[BaseModel], data: dict[str, Any], action: Callable[[Any], Any], conflict: str
) -> tuple[Any, dict[str, str]]:
    """Validate a form with the API's own input model, then call the service: (record, {}) or (None, errors)."""
    try:
        item = schema.model_validate(data)
    except ValidationError as exc:
        return None, _invalid(exc, viewer)
    try:
        return action(item), {}
    except DomainError as exc:
        return None, _errors(exc, viewer, conflict_field=conflict)


@router.get("/departments", response_class=HTMLResponse)
def departments_list(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    return _departments_page(request, viewer, session)


@router.post("/departments", response_class=HTMLResponse)
async def department_create(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    values = _values(form, "code", "name", "parent")
    dept, errors = _create(
        viewer,
        DepartmentIn,
        {**values, "parent": values["parent"] or None},
        lambda item: reference.create_department(session, department_in=item),
        "code",
    )
    if errors:
        return _departments_page(request, viewer, session, values, errors, 422)
    _ = gettext_for(viewer)
    return redirect("/admin/departments", flash=_("Department %(name)s created") % {"name": dept.name})


def _stations_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/stations.html",
        viewer,
        status_code=status_code,
        stations=reference.list_all(session, Station, col(Station.code)),
        departments={d.id: d for d in reference.list_all(session, Department, col(Department.code))},
        department_options=_department_options(session),
        values=values or {},
        errors=errors or {},
    )


@router.get("/stations", response_class=HTMLResponse)
def stations_list(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    return _stations_page(request, viewer, session)


@router.post("/stations", response_class=HTMLResponse)
async def station_create(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    values = _values(form, "code", "name", "address", "community", "department")
    station, errors = _create(
        viewer,
        StationIn,
        {**values, "department": values["department"] or None},
        lambda item: reference.create_station(session, station_in=item),
        "code",
    )
    if errors:
        return _stations_page(request, viewer, session, values, errors, 422)
    _ = gettext_for(viewer)
    return redirect("/admin/stations", flash=_("Station %(name)s created") % {"name": station.name})


# --- enterprises and liaisons ----------------------------------------------------------------------------


def _enterprises_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    q = request.query_params.get("q", "").strip()
    only_large = request.query_params.get("large") == "1"
    everything = reference.list_all(session, Enterprise, col(Enterprise.name))
    shown = [
        e for e in everything if (not q or q in e.name or q.upper() in e.credit_code) and (not only_large or e.is_large)
    ]
    large = [e for e in everything if e.is_large]
    return render(
        request,
        "admin/enterprises.html",
        viewer,
        status_code=status_code,
        enterprises=shown,
        total=len(everything),
        large=len(large),
        covered=sum(1 for e in large if e.liaison_user_id),
        people={u.id: u for u in users.list_users(session)},
        q=q,
        only_large=only_large,
        user_options=_user_options(session),
        values=values or {},
        errors=errors or {},
    )


@router.get("/enterprises", response_class=HTMLResponse)
def enterprises_list(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    return _enterprises_page(request, viewer, session)


@router.post("/enterprises", response_class=HTMLResponse)
async def enterprise_create(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    values = _values(form, "name", "credit_code", "liaison")
    is_large = _checked(form, "is_large")
    now = _runtime(request).now()
    enterprise, errors = _create(
        viewer,
        EnterpriseIn,
        {**values, "is_large": is_large, "liaison": values["liaison"] or None},
        lambda item: reference.create_enterprise(session, enterprise_in=item, now=now),
        "credit_code",
    )
    if errors:
        return _enterprises_page(request, viewer, session, {**values, "is_large": "1" if is_large else ""}, errors, 422)
    _ = gettext_for(viewer)
    return redirect(
        f"/admin/enterprises/{enterprise.id}", flash=_("Enterprise %(name)s added") % {"name": enterprise.name}
    )


def _enterprise(session: Session, enterprise_id: int) -> Enterprise:
    enterprise = session.get(Enterprise, enterprise_id) if 0 < enterprise_id < 2**63 else None
    if enterprise is None:
        raise NotFound(f"企业 {enterprise_id} 不存在 (no enterprise {enterprise_id})")
    return enterprise


def _enterprise_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    enterprise: Enterprise,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/enterprise.html",
        viewer,
        status_code=status_code,
        enterprise=enterprise,
        history=reference.liaison_history(session, enterprise),
        people={u.id: u for u in users.list_users(session)},
        user_options=_user_options(session),
        errors=errors or {},
    )


@router.get("/enterprises/{enterprise_id}", response_class=HTMLResponse)
def enterprise_detail(request: Request, enterprise_id: int, viewer: AdminViewer, session: DbSession) -> Response:
    return _enterprise_page(request, viewer, session, _enterprise(session, enterprise_id))


@router.post("/enterprises/{enterprise_id}/liaison", response_class=HTMLResponse)
async def enterprise_liaison(request: Request, enterprise_id: int, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    enterprise = _enterprise(session, enterprise_id)
    liaison = str(form.get("liaison") or "").strip() or None
    try:
        reference.set_liaison(session, enterprise=enterprise, liaison=liaison, now=_runtime(request).now())
    except DomainError as exc:
        errors = _errors(exc, viewer)
        return _enterprise_page(request, viewer, session, enterprise, {"liaison": errors.popitem()[1]}, 422)
    flash = _("Liaison changed") if liaison else _("Liaison removed")
    return redirect(f"/admin/enterprises/{enterprise.id}", flash=flash)


# --- categories ------------------------------------------------------------------------------------------

UNROUTED_SHOWN = 10  # categories named in the flash message (a cookie) after a reload; the rest as "…"


def _categories_page(
    request: Request, viewer: Viewer, session: Session, errors: list[str] | None = None, status_code: int = 200
) -> Response:
    categories = reference.list_all(session, Category, col(Category.code))
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    ordered: list[Category] = []

    def visit(parent: int | None) -> None:
        for category in children.get(parent, []):
            ordered.append(category)
            visit(category.id)

    visit(None)
    departments = {d.id: d for d in reference.list_all(session, Department, col(Department.code))}
    by_id = {c.id: c for c in categories}
    # The routing rule of each category: its own department, or the nearest ancestor's (inherited).
    routing: dict[int | None, tuple[Department | None, bool]] = {}
    for category in ordered:
        if category.department_id in departments:
            routing[category.id] = (departments[category.department_id], False)
        else:
            parent = routing.get(category.parent_id, (None, False))[0] if category.parent_id in by_id else None
            routing[category.id] = (parent, True)
    return render(
        request,
        "admin/categories.html",
        viewer,
        status_code=status_code,
        categories=ordered,
        routing=routing,
        levels=[sum(1 for c in categories if c.level == n) for n in (1, 2, 3)],
        file=_runtime(request).settings.categories_file,
        errors=errors or [],
    )


@router.get("/categories", response_class=HTMLResponse)
def categories_list(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    return _categories_page(request, viewer, session)


@router.post("/categories/reload", response_class=HTMLResponse)
async def categories_reload(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    try:
        loaded = reference.load_categories(session, _runtime(request).settings.categories_file)
    except InvalidInput as exc:
        session.rollback()  # a file that fails half-way leaves the tree as it was
        key = "message_en" if viewer.locale == "en" else "message"
        messages = [str(e.get(key) or e.get("message")) for e in exc.detail.get("errors", [])] or [exc.message]
        return _categories_page(request, viewer, session, messages, 422)
    flash = _("Categories reloaded from the file: %(created)s new, %(updated)s updated") % loaded
    if loaded["unrouted"]:
        # A fresh database: the file's departments come later; the tree loads, routing waits for them.
        shown = [f"{c['name']} ({c['department']})" for c in loaded["unrouted"][:UNROUTED_SHOWN]]
        more = "…" if len(loaded["unrouted"]) > UNROUTED_SHOWN else ""
        flash += " " + _(
            "%(count)s categories name a department that does not exist yet and suggest none: %(categories)s. "
            "Add the departments, then reload."
        ) % {"count": len(loaded["unrouted"]), "categories": "、".join(shown) + more}
    return redirect("/admin/categories", flash=flash)


# --- calendar --------------------------------------------------------------------------------------------

UNIT_NAMES = {"working_days": "Working days", "days": "Calendar days", "hours": "Hours"}


@dataclass
class _Helper:
    """One of the calendar's question forms: what was asked, the answer, or what to fix."""

    values: dict[str, str]
    errors: dict[str, str]
    answer: Any = None


def _calendar_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    runtime = _runtime(request)
    calendar = runtime.calendar(session)
    today = _local(runtime)
    try:
        year = int(request.query_params.get("year", today.year))
    except ValueError:
        year = today.year
    year = year if 2000 <= year <= 2100 else today.year
    overrides = calendar_service.list_overrides(session, year)
    rows = [
        {
            "override": o,
            "statutory": statutory_workday(o.day) if statutory_workday(o.day) is not None else o.day.weekday() < 5,
        }
        for o in overrides
    ]
    params = request.query_params
    check = _Helper({"check_day": params.get("check_day", "")}, {})
    if check.values["check_day"]:
        try:
            day = calendar_service.parse_day(check.values["check_day"], "check_day")
            row = next((o for o in calendar_service.list_overrides(session, day.year) if o.day == day), None)
            check.answer = calendar_service.describe_day(calendar, day, row.note if row else "")
        except DomainError as exc:
            check.errors = _errors(exc, viewer)
    local_now = runtime.now().astimezone(calendar.tz)
    due = _Helper(
        {
            "start": params.get("start", ""),
            "amount": params.get("amount", ""),
            "unit": params.get("unit", "working_days"),
        },
        {},
    )
    if due.values["start"] or due.values["amount"]:
        due.answer = _due_answer(due, calendar, viewer.locale)
    if not due.values["start"]:
        due.values["start"] = local_now.strftime("%Y-%m-%dT%H:%M")
    if check.errors or due.errors:
        status_code = max(status_code, 422)
    return render(
        request,
        "admin/calendar.html",
        viewer,
        status_code=status_code,
        year=year,
        today=today,
        known=calendar.knows_year(year),
        rows=rows,
        values=values or {"kind": "holiday"},
        errors=errors or {},
        check=check,
        due=due,
        unit_options=[(u, gettext_for(viewer)(UNIT_NAMES[u])) for u in UNITS],
        last_day=_last_day(due.answer, calendar.tz) if due.answer else None,
        weekday=lambda day: format_date(day, "EEEE", locale=viewer.locale),
    )


def _last_day(due: datetime, tz: Any) -> date | None:
    """A due time at midnight means "by the end of the day before": the day people read."""
    local = due.astimezone(tz)
    return (local - timedelta(days=1)).date() if (local.hour, local.minute) == (0, 0) else None


def _due_answer(due: _Helper, calendar: Any, locale: str) -> datetime | None:
    """The due time of the helper form's limit, or None with the fields to fix in due.errors."""
    values = due.values
    start: datetime | None = None
    amount = 0.0
    try:
        start = calendar_service.parse_moment(values["start"], calendar.tz, "start")
    except InvalidInput as exc:
        due.errors.update(form_errors(exc, locale))
    if values["unit"] not in UNITS:
        due.errors["unit"] = _in_locale(f"可选：{', '.join(UNITS)} (accepted: {', '.join(UNITS)})", locale)
    try:
        amount = float(values["amount"])
        if values["unit"] in UNITS:
            calendar_service.check_amount(amount, values["unit"])
    except ValueError:
        due.errors["amount"] = _in_locale("应为数字，如 15 或 0.5 (a number such as 15 or 0.5)", locale)
    except InvalidInput as exc:
        due.errors.update(form_errors(exc, locale))
    if due.errors or start is None:
        return None
    return calendar.add(start, amount, values["unit"])  # type: ignore[no-any-return]


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    return _calendar_page(request, viewer, session)


@router.post("/calendar", response_class=HTMLResponse)
async def calendar_set(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    runtime = _runtime(request)
    values = _values(form, "day", "kind", "note")
    errors: dict[str, str] = {}
    day: date | None = None
    is_workday = False
    try:
        day = calendar_service.parse_day(values["day"], "day")
    except InvalidInput as exc:
        errors.update(form_errors(exc, viewer.locale))
    try:
        is_workday = calendar_service.parse_kind(values["kind"], "kind")
    except InvalidInput as exc:
        errors.update(form_errors(exc, viewer.locale))
    if len(values["note"]) > 200:
        errors["note"] = _("At most 200 characters")
    if errors or day is None:
        return _calendar_page(request, viewer, session, values=values, errors=errors, status_code=422)
    moved = calendar_service.change_overrides(
        session, [(day, is_workday, values["note"])], timezone=runtime.settings.timezone, now=runtime.now()
    )
    runtime.forget_calendar()
    kind = _("a working day") if is_workday else _("a day off")
    return redirect(
        f"/admin/calendar?year={day.year}",
        flash=_("%(day)s is now %(kind)s; the due times of %(count)s open cases moved")
        % {"day": day.isoformat(), "kind": kind, "count": moved},
    )


@router.post("/calendar/remove", response_class=HTMLResponse)
async def calendar_remove(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    runtime = _runtime(request)
    day = calendar_service.parse_day(str(form.get("day") or ""), "day")
    moved = calendar_service.change_overrides(
        session, [(day, None, "")], timezone=runtime.settings.timezone, now=runtime.now()
    )
    runtime.forget_calendar()
    return redirect(
        f"/admin/calendar?year={day.year}",
        flash=_("The adjustment of %(day)s was removed; the due times of %(count)s open cases moved")
        % {"day": day.isoformat(), "count": moved},
    )


# --- workflows -------------------------------------------------------------------------------------------


def _workflow(request: Request, name: str) -> WorkflowDef:
    found = _runtime(request).workflows.definitions.get(name)
    if found is None:
        raise NotFound(f"流程 {name} 不存在 (no workflow {name!r})")
    return found


def _amount(value: float) -> str:
    return f"{value:g}"


@router.get("/workflows", response_class=HTMLResponse)
def workflows_list(request: Request, viewer: AdminViewer) -> Response:
    runtime = _runtime(request)
    workflows = sorted(runtime.workflows.definitions.values(), key=lambda w: (-w.priority, w.name))
    return render(request, "admin/workflows.html", viewer, workflows=workflows, folder=runtime.settings.workflows_dir)


@router.get("/workflows/{name}", response_class=HTMLResponse)
def workflow_detail(request: Request, name: str, viewer: AdminViewer) -> Response:
    wf = _workflow(request, name)
    action_labels = {key: action.label for key, action in wf.actions.items()}
    in_state: dict[str, list[str]] = {state: [] for state in wf.states}
    for action in wf.actions.values():
        for state in action.from_:
            if action.to in (None, state):
                in_state[state].append(action.label)
    return render(
        request,
        "admin/workflow.html",
        viewer,
        wf=wf,
        svg=workflow_svg(wf),
        file=_runtime(request).settings.workflows_dir / f"{wf.name}.yaml",
        action_labels=action_labels,
        intake=INTAKE,
        in_state=in_state,
        amount=_amount,
    )


# --- ledger import ---------------------------------------------------------------------------------------


def _import_viewer(request: Request) -> Viewer:
    """Signed in with a role that may import, checked in a short transaction of its own before the upload is
    read (as the API does), so no transaction is open while a large file arrives."""
    viewer = optional_viewer(request)
    if viewer is None:
        raise LoginRequired()
    if viewer.user.role not in IMPORT_ROLES:
        raise Forbidden(
            f"角色 {viewer.user.role} 无权打开此页面 (role {viewer.user.role!r} may not open this page; "
            f"allowed: {', '.join(IMPORT_ROLES)})",
            allowed=list(IMPORT_ROLES),
        )
    return viewer


ImportViewer = Annotated[Viewer, Depends(_import_viewer)]


async def _import_form(request: Request, viewer: ImportViewer) -> FormData:
    form = await request.form()
    check_csrf(viewer, form)
    return form


def _uploads(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / "ledger-uploads"


def _keep_upload(runtime: Runtime, user: User, filename: str, data: bytes) -> str:
    """Keep a dry-run file until its confirmation (a day at most), so the person need not choose it again."""
    folder = _uploads(runtime)
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - UPLOAD_HOURS * 3600
    for old in folder.iterdir():
        if UPLOAD_NAME.match(old.name) and old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    name = f"{user.id}-{secrets.token_urlsafe(24)}{Path(filename).suffix.lower()}"
    (folder / name).write_bytes(data)
    return name


def _kept_upload(runtime: Runtime, user: User, name: str) -> Path:
    found = UPLOAD_NAME.match(name)
    path = _uploads(runtime) / name
    # The name is checked before the file system sees it (a 300-character name is an OSError there).
    mine = found is not None and found["user"] == str(user.id)
    fresh = mine and path.is_file() and path.stat().st_mtime >= time.time() - UPLOAD_HOURS * 3600
    if not fresh:
        raise InvalidInput.field(
            "file",
            "待确认的文件已过期或不存在，请重新选择文件 (the checked file has expired; choose the file again)",
            "the checked file has expired; choose the file again",
        )
    return path


def _import_page(
    request: Request,
    viewer: Viewer,
    *,
    summary: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problems: list[dict[str, Any]] | None = None,
    kept: str = "",
    filename: str = "",
    dry_run: bool = True,
    create_categories: bool = False,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/import.html",
        viewer,
        status_code=status_code,
        summary=summary,
        errors=errors or {},
        problems=problems or [],
        kept=kept,
        filename=filename,
        dry_run=dry_run,
        create_categories=create_categories,
        columns=COLUMNS,
        max_mb=MAX_BYTES // (1024 * 1024),
    )


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, viewer: ImportViewer) -> Response:
    return _import_page(request, viewer)


@router.post("/import", response_class=HTMLResponse)
def import_ledger(
    # In this order: sign-in and role, the upload, then the transaction.
    request: Request,
    viewer: ImportViewer,
    form: Annotated[FormData, Depends(_import_form)],
) -> Response:
    _ = gettext_for(viewer)
    runtime = _runtime(request)
    dry_run = _checked(form, "dry_run")
    create_categories = _checked(form, "create_categories")
    item = form.get("file")
    kept = str(form.get("kept") or "")
    try:
        if isinstance(item, UploadFile) and item.filename:
            filename = item.filename
            if item.size is not None and item.size > MAX_BYTES:
                raise InvalidInput.field(
                    "file",
                    f"文件超过 {MAX_BYTES // 1048576} MB (the file is larger than {MAX_BYTES // 1048576} MB)",
                )
            source, data = filename, item.file.read()
            kept = ""
        elif kept:
            path = _kept_upload(runtime, viewer.user, kept)
            # The kept file's own name says its type; the name the person chose is only shown.
            source, data = path.name, path.read_bytes()
            filename = str(form.get("filename") or path.name)
        else:
            raise InvalidInput.field("file", "请选择台账文件（.csv 或 .xlsx）", "choose a ledger file (.csv or .xlsx)")
        ledger = read_ledger(source, data)
        # Checked in a read-only transaction, written in a short one of its own: nothing of a refused ledger is kept.
        summary = run_ledger_import(
            request.app.state.sessions,
            runtime,
            ledger,
            actor=viewer.user,
            dry_run=dry_run,
            create_categories=create_categories,
        )
    except InvalidInput as exc:
        found = exc.detail.get("errors", [])
        problems = [e for e in found if "row" in e]
        errors = {
            str(e.get("field")): _in_locale(
                str(e.get("message_en" if viewer.locale == "en" else "message")), viewer.locale
            )
            for e in found
            if "row" not in e
        }
        if problems or not errors:
            errors["_"] = _in_locale(exc.message, viewer.locale)
        return _import_page(
            request,
            viewer,
            errors=errors,
            problems=problems,
            dry_run=dry_run,
            create_categories=create_categories,
            status_code=422,
        )
    if dry_run:
        kept = _keep_upload(runtime, viewer.user, filename, data) if summary["created"] else ""
    elif kept:
        _uploads(runtime).joinpath(kept).unlink(missing_ok=True)
        kept = ""
    # The next upload is checked first again, whatever this one was.
    return _import_page(
        request,
        viewer,
        summary=summary,
        kept=kept,
        filename=filename,
        dry_run=True,
        create_categories=create_categories,
    )
