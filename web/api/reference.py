"""Reference data routes: departments, stations, meetings, enterprises and their liaisons, categories."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col

from grievance.glossary import Role
from grievance.reference import service
from grievance.reference.models import Category, Department, Enterprise, Meeting, Station
from grievance.reference.schemas import (
    CategoryOut,
    DepartmentIn,
    DepartmentOut,
    EnterpriseIn,
    EnterpriseOut,
    LiaisonIn,
    MeetingIn,
    MeetingOut,
    StationIn,
    StationOut,
)
from web.api.schemas import ANY_ROUTE, SIGNED_IN
from web.deps import CurrentUser, DbSession, RuntimeDep, require_roles
from web.params import DbId

router = APIRouter(tags=["reference data"], responses={**SIGNED_IN, **ANY_ROUTE})
ADMIN = require_roles(Role.admin)
FRONT_DESK = require_roles(Role.admin, Role.intake, Role.dispatcher, Role.supervisor)


@router.get("/departments", response_model=list[DepartmentOut])
def list_departments(session: DbSession, _: CurrentUser) -> list[Department]:
    return service.list_all(session, Department, col(Department.code))


@router.post("/departments", response_model=DepartmentOut, status_code=201, dependencies=[ADMIN])
def create_department(department_in: DepartmentIn, session: DbSession) -> Department:
    return service.create_department(session, department_in=department_in)


@router.get("/stations", response_model=list[StationOut])
def list_stations(session: DbSession, _: CurrentUser) -> list[Station]:
    return service.list_all(session, Station, col(Station.code))


@router.post("/stations", response_model=StationOut, status_code=201, dependencies=[ADMIN])
def create_station(station_in: StationIn, session: DbSession) -> Station:
    return service.create_station(session, station_in=station_in)


@router.get("/meetings", response_model=list[MeetingOut])
def list_meetings(session: DbSession, _: CurrentUser) -> list[Meeting]:
    return service.list_all(session, Meeting, col(Meeting.held_on).desc())


@router.post("/meetings", response_model=MeetingOut, status_code=201, dependencies=[FRONT_DESK])
def create_meeting(meeting_in: MeetingIn, session: DbSession) -> Meeting:
    return service.create_meeting(session, meeting_in=meeting_in)


@router.put("/meetings/{meeting_id}", response_model=MeetingOut, dependencies=[FRONT_DESK])
def update_meeting(
    meeting_id: DbId, meeting_in: MeetingIn, session: DbSession, user: CurrentUser, runtime: RuntimeDep
) -> Meeting:
    """Correct a meeting: the whole record as MeetingIn, checked as on create; each change is audited."""
    meeting = service.get_or_404(session, Meeting, meeting_id, "恳谈会")
    service.update_meeting(session, meeting=meeting, meeting_in=meeting_in, actor=user, now=runtime.now())
    return meeting


@router.get("/enterprises", response_model=list[EnterpriseOut])
def list_enterprises(session: DbSession, _: CurrentUser) -> list[Enterprise]:
    return service.list_all(session, Enterprise, col(Enterprise.name))


@router.post("/enterprises", response_model=EnterpriseOut, status_code=201, dependencies=[ADMIN])
def create_enterprise(enterprise_in: EnterpriseIn, session: DbSession, runtime: RuntimeDep) -> Enterprise:
    return service.create_enterprise(session, enterprise_in=enterprise_in, now=runtime.now())


@router.put("/enterprises/{ref}/liaison", response_model=EnterpriseOut, dependencies=[ADMIN])
def set_liaison(ref: str, liaison_in: LiaisonIn, session: DbSession, runtime: RuntimeDep) -> Enterprise:
    enterprise = service.get_or_404(session, Enterprise, ref, "企业")
    return service.set_liaison(session, enterprise=enterprise, liaison=liaison_in.liaison, now=runtime.now())


@router.get("/categories", response_model=list[CategoryOut])
def list_categories(session: DbSession, _: CurrentUser) -> list[Category]:
    return service.list_all(session, Category, col(Category.code))


@router.post("/categories/reload", dependencies=[ADMIN], summary="从部署的分类文件重新载入 (reload the file)")
def reload_categories(session: DbSession, runtime: RuntimeDep) -> service.CategoriesLoaded:
    return service.load_categories(session, runtime.settings.categories_file)
