"""Reference data: departments (a tree), urban stations, enterprises with their liaison cadres (and the
history of who held the post), and the category tree loaded from its file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col

from grievance.errors import DomainError, InvalidInput, NotFound
from grievance.open311 import service as open311
from grievance.reference import service as reference
from grievance.reference.models import Category, Department, Enterprise, Station
from grievance.reference.schemas import DepartmentIn, EnterpriseIn, StationIn
from grievance.users import service as users
from web.deps import DbSession
from web.pages.admin.forms import (
    AdminViewer,
    department_options,
    department_tree,
    domain_errors,
    invalid_fields,
    is_checked,
    runtime_of,
    values_of,
)
from web.pages.common import PUNCTUATION, Viewer, check_csrf, gettext_for, redirect, render
from web.params import DbId

router = APIRouter(prefix="/admin", include_in_schema=False)


def _user_options(session: Session, locale: str = "zh_CN") -> list[tuple[str, str]]:
    """Active staff for the liaison choice: name, account (in brackets of the reader's language) and department."""
    p = PUNCTUATION["en" if locale == "en" else "zh_CN"]
    names = {d.id: d.name for d in reference.list_all(session, Department, col(Department.code))}
    people = [u for u in users.list_users(session) if u.active]
    people.sort(key=lambda u: (names.get(u.department_id, "~"), u.display_name))
    return [
        (
            u.username,
            f"{u.display_name}{p['open']}{u.username}{p['close']}"
            + (f" · {names[u.department_id]}" if u.department_id else ""),
        )
        for u in people
    ]


def _departments_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ordered, depth = department_tree(session)
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
        department_options=department_options(session, viewer.locale),
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
        return None, invalid_fields(exc, viewer)
    try:
        return action(item), {}
    except DomainError as exc:
        return None, domain_errors(exc, viewer, conflict_field=conflict)


@router.get("/departments", response_class=HTMLResponse)
def departments_list(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    return _departments_page(request, viewer, session)


@router.post("/departments", response_class=HTMLResponse)
async def department_create(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    values = values_of(form, "code", "name", "parent")
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
        department_options=department_options(session, viewer.locale),
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
    values = values_of(form, "code", "name", "address", "community", "department")
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
        user_options=_user_options(session, viewer.locale),
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
    values = values_of(form, "name", "credit_code", "liaison")
    is_large = is_checked(form, "is_large")
    now = runtime_of(request).now()
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
        raise NotFound(f"企业 {enterprise_id} 不存在", f"no enterprise {enterprise_id}")
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
        user_options=_user_options(session, viewer.locale),
        errors=errors or {},
    )


@router.get("/enterprises/{enterprise_id}", response_class=HTMLResponse)
def enterprise_detail(request: Request, enterprise_id: DbId, viewer: AdminViewer, session: DbSession) -> Response:
    return _enterprise_page(request, viewer, session, _enterprise(session, enterprise_id))


@router.post("/enterprises/{enterprise_id}/liaison", response_class=HTMLResponse)
async def enterprise_liaison(
    request: Request, enterprise_id: DbId, viewer: AdminViewer, session: DbSession
) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    enterprise = _enterprise(session, enterprise_id)
    liaison = str(form.get("liaison") or "").strip() or None
    try:
        reference.set_liaison(session, enterprise=enterprise, liaison=liaison, now=runtime_of(request).now())
    except DomainError as exc:
        errors = domain_errors(exc, viewer)
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
    parents = {c.parent_id for c in categories}
    return render(
        request,
        "admin/categories.html",
        viewer,
        status_code=status_code,
        categories=ordered,
        leaves={c.id for c in categories if c.id not in parents},  # only leaves can be Open311 services
        routing=routing,
        levels=[sum(1 for c in categories if c.level == n) for n in (1, 2, 3)],
        file=runtime_of(request).settings.categories_file,
        errors=errors or [],
    )


@router.get("/categories", response_class=HTMLResponse)
def categories_list(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    return _categories_page(request, viewer, session)


@router.post("/categories/open311", response_class=HTMLResponse)
async def categories_open311(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    """Which leaf categories Open311 clients may file requests in (the ticked `public` boxes, category ids)."""
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    offered = {
        int(v) for v in form.getlist("public") if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) < 19
    }
    count = open311.set_public_categories(session, offered)
    return redirect(
        "/admin/categories", flash=_("Open311 services saved: %(count)s categories offered") % {"count": count}
    )


@router.post("/categories/reload", response_class=HTMLResponse)
async def categories_reload(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    try:
        loaded = reference.load_categories(session, runtime_of(request).settings.categories_file)
    except InvalidInput as exc:
        session.rollback()  # a file that fails half-way leaves the tree as it was
        key = "message_en" if viewer.locale == "en" else "message"
        found = exc.detail.get("errors", [])
        messages = [str(e.get(key) or e.get("message")) for e in found] or [exc.text(viewer.locale)]
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
