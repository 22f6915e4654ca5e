"""Administration routes: who am I, users and tokens, calendar overrides, the loaded workflows, the audit log."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlmodel import select

from grievance import audit
from grievance.errors import InvalidInput
from grievance.glossary import Role
from grievance.schemas import Ref
from grievance.users import service as users
from grievance.users.models import User
from grievance.workflow import calendar_service
from grievance.workflow.calendar import UNITS
from web.api.schemas import ANY_ROUTE, SIGNED_IN
from web.deps import CurrentUser, DbSession, RuntimeDep, require_roles
from web.params import Day, Moment, Year

router = APIRouter(tags=["administration"], responses={**SIGNED_IN, **ANY_ROUTE})
ADMIN = require_roles(Role.admin)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    department_id: int | None
    active: bool


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    display_name: str = ""
    role: Role
    department: Ref | None = Field(default=None, description="department code, or its id; never true/false")
    password: str | None = Field(default=None, description="for the web login; at least 10 characters")


class TokenOut(BaseModel):
    token: str = Field(description="the bearer token; shown this once, stored hashed")
    username: str


class OverrideOut(BaseModel):
    day: date
    is_workday: bool = Field(description="true: a working day (上班/补班); false: a day off (休息/放假)")
    note: str


class OverrideSet(OverrideOut):
    cases_rescheduled: int = Field(description="open cases whose due times moved")


class DuePreview(BaseModel):
    start: AwareDatetime
    amount: float
    unit: str
    due_at: AwareDatetime = Field(description="in the deployment's time zone")


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date
    kind: str = Field(description="workday (上班/补班) or holiday (休息/放假)")
    note: str = ""


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> Any:
    return user


@router.get("/users", response_model=list[UserOut], dependencies=[ADMIN])
def list_users(session: DbSession) -> Any:
    return session.exec(select(User).order_by(User.username)).all()


@router.post("/users", response_model=UserOut, status_code=201, dependencies=[ADMIN])
def create_user(user_in: UserIn, session: DbSession) -> Any:
    return users.create_user(
        session,
        username=user_in.username,
        role=user_in.role.value,
        password=user_in.password,
        display_name=user_in.display_name,
        department=user_in.department,
    )


@router.post(
    "/users/{ref}/tokens",
    status_code=201,
    response_model=TokenOut,
    dependencies=[ADMIN],
    summary="签发 API 令牌（只显示一次）",
)
def create_token(ref: str, session: DbSession) -> Any:
    user = users.get_user(session, ref)
    return {"token": users.create_token(session, user), "username": user.username}


@router.get("/calendar/overrides", response_model=list[OverrideOut], summary="本地节假日/调班调整")
def list_overrides(session: DbSession, _: CurrentUser, year: Year | None = None) -> list[dict[str, Any]]:
    return [o.model_dump() for o in calendar_service.list_overrides(session, year)]


@router.put("/calendar/overrides", response_model=OverrideSet, dependencies=[ADMIN])
def set_override(override_in: OverrideIn, session: DbSession, runtime: RuntimeDep) -> dict[str, Any]:
    is_workday = calendar_service.parse_kind(override_in.kind)
    moved = calendar_service.change_overrides(
        session,
        [(override_in.day, is_workday, override_in.note)],
        timezone=runtime.settings.timezone,
        now=runtime.now(),
        workflows=runtime.workflows,
    )
    runtime.forget_calendar()
    return {"day": override_in.day, "is_workday": is_workday, "note": override_in.note, "cases_rescheduled": moved}


@router.delete("/calendar/overrides/{day}", status_code=204, dependencies=[ADMIN])
def remove_override(day: Day, session: DbSession, runtime: RuntimeDep) -> None:
    calendar_service.change_overrides(
        session, [(day, None, "")], timezone=runtime.settings.timezone, now=runtime.now(), workflows=runtime.workflows
    )
    runtime.forget_calendar()


@router.get("/calendar/due", response_model=DuePreview, summary="计算时限：从某时刻起若干（工作）日/小时的到期时间")
def due_preview(
    start: Moment,
    amount: float,
    session: DbSession,
    runtime: RuntimeDep,
    _: CurrentUser,
    unit: str = "working_days",
) -> dict[str, Any]:
    if unit not in UNITS:
        raise InvalidInput.field("unit", f"unit 应为 {', '.join(UNITS)}", f"unit must be one of {', '.join(UNITS)}")
    calendar = runtime.calendar(session)
    due = calendar_service.preview_due(calendar, start, amount, unit)
    return {"start": start, "amount": amount, "unit": unit, "due_at": due.astimezone(calendar.tz)}


@router.get("/workflows", summary="已载入的流程 (the loaded workflows)")
def list_workflows(runtime: RuntimeDep, _: CurrentUser) -> list[dict[str, Any]]:
    return [wf.model_dump(by_alias=True) for wf in runtime.workflows.definitions.values()]


@router.get(
    "/admin/audit",
    response_model=audit.AuditPage,
    dependencies=[ADMIN],
    summary="审计日志：查看保密件与导出的记录 (the audit log)",
)
def audit_log(session: DbSession, runtime: RuntimeDep, query: Annotated[audit.AuditQuery, Query()]) -> Any:
    """Who viewed a confidential case (and where: page, API, download, a merged duplicate's page ...), who saw one
    in a list or a duplicate hint, who exported data, newest first; administrators only (信访工作条例
    confidentiality). Filters: `user` (account name or id), `action`, `case_no`, `date_from` / `date_to` (local days
    in the deployment's time zone, `date_to` included). Keyset pages: pass `next_cursor` back as `cursor`. An
    unknown account, action or case number, or a range ending before it starts, is a 422 naming the field."""
    filters = query.to_filter(session, runtime.settings.timezone)
    return audit.list_entries(session, filters, timezone=runtime.settings.timezone)
