"""The administration overview: how many accounts, departments, stations, enterprises, categories, calendar
adjustments and workflows there are, each a tile linking to its page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col

from grievance.reference import service as reference
from grievance.reference.models import Category, Department, Enterprise, Station
from grievance.users import service as users
from grievance.workflow import calendar_service
from web.deps import DbSession
from web.pages.admin.forms import AdminViewer, local_today, runtime_of
from web.pages.common import render

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def index(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    runtime = runtime_of(request)
    accounts = users.list_users(session)
    enterprises = reference.list_all(session, Enterprise, col(Enterprise.name))
    categories = reference.list_all(session, Category, col(Category.code))
    year = local_today(runtime).year
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
