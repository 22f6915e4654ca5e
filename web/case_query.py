"""The one input layer of case lists and of "the case in the URL": GET /api/v1/cases and the /cases page parse
their query string with the same model into the domain's CaseFilter, and every route that names a case gets
it (or the same 404) from one dependency."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from grievance.cases import listing, service
from grievance.cases.access import check_phone_search
from grievance.cases.models import Case
from grievance.errors import InvalidInput, field_errors
from grievance.glossary import CaseType, Channel, Urgency
from grievance.reference.schemas import day_or_moment
from grievance.users.models import User
from grievance.workflow.engine import Runtime
from web.deps import CurrentUser, DbSession
from web.params import DbId, refuse_impossible_id


class CaseQuery(BaseModel):
    """The filters of a case list as a query string carries them (API and pages alike).

    `received_from` / `received_to` take a local day (2025-03-05, also 2025/3/5 or 2025年3月5日 as the meeting
    form reads it (grievance.reference.schemas.written_day): from its start; "to" includes the whole day, in
    Settings.timezone) or an aware moment (2025-03-05T08:00:00+08:00, taken as is; "to" is exclusive), between
    1900-01-01 and 2200-01-01; ids are 1..2,147,483,647 (web.params.DbId). Out of range: 422 naming the field."""

    model_config = ConfigDict(extra="forbid")

    state: list[str] | None = None
    department_id: DbId | None = None
    channel: Channel | None = None
    station_id: DbId | None = None
    meeting_id: DbId | None = None
    enterprise_id: DbId | None = None
    category_id: DbId | None = None
    case_type: CaseType | None = None
    urgency: Urgency | None = None
    overdue: bool | None = None
    due_soon: bool | None = None
    pending_extension: bool | None = Field(None, description="an extension request awaits the supervisor")
    supervised: bool | None = Field(None, description="key cases: supervised (督办), inspection referrals included")
    assignee_id: DbId | None = Field(None, description="the cases of this handler (承办人), by user id")
    unassigned: bool | None = Field(None, description="true: no handler of the department has it yet (未分配)")
    key: bool | None = Field(None, description="key cases (重点件), whatever their reason")
    lead_leader_id: DbId | None = Field(None, description="the key cases of this lead leader (包案领导), by user id")
    no_lead_leader: bool | None = Field(
        None,
        description="true: key cases without an active lead leader (none yet, or deactivated); among open cases "
        "unless `state` is given",
    )
    pending_node_change: bool | None = Field(None, description="a change to the plan of nodes awaits the supervisor")
    assisting_department_id: DbId | None = Field(
        None, description="cases where this department's assisting part (协办) is still open (not yet reported)"
    )
    received_from: datetime | date | None = Field(
        None, description="2025-03-05 (a local day) or an aware time, 1900-01-01 to 2200-01-01"
    )
    received_to: datetime | date | None = Field(
        None, description="2025-03-05 (the whole day) or an aware time, 1900-01-01 to 2200-01-01"
    )
    q: str | None = Field(None, max_length=100, description="free text, Chinese included")
    phone: str | None = Field(
        None, max_length=32, description="petitioner phone in any written form, e.g. 138-1234-5678 (front desk roles)"
    )
    mine: bool = Field(False, description="only the cases I logged")
    sort: Literal["received", "due"] = "received"
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)

    @field_validator("received_from", "received_to", mode="plain")
    @classmethod
    def _day_or_moment(cls, value: Any) -> datetime | date | None:
        return day_or_moment(value)

    @classmethod
    def from_form(cls, params: dict[str, Any]) -> CaseQuery:
        """A page's search form: blank fields are not given; InvalidInput names each field it cannot use."""
        given = {k: v for k, v in params.items() if v not in ("", None, [])}
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            raise InvalidInput("检索条件有误", "invalid search", field_errors(list(exc.errors()))) from None

    def to_filter(self, runtime: Runtime, user: User) -> listing.CaseFilter:
        """The domain's CaseFilter for this user. Raises InvalidInput for a state no workflow has and Forbidden
        (field `phone`) when the user's role may not search by phone (Settings.personal_data_roles)."""
        if self.phone is not None:
            check_phone_search(user, runtime.settings)
        known = {code for w in runtime.workflows.definitions.values() for code in w.states}
        unknown = [s for s in self.state or [] if s not in known]
        if unknown:
            raise InvalidInput.field(
                "state",
                f"没有状态 {', '.join(unknown)}",
                f"no state {', '.join(unknown)}; accepted: {', '.join(sorted(known))}",
            )
        values = self.model_dump(exclude={"received_from", "received_to"})
        return listing.CaseFilter(
            **values,
            received_from=_moment(runtime, self.received_from, end_of_day=False),
            received_to=_moment(runtime, self.received_to, end_of_day=True),
        )


def _moment(runtime: Runtime, value: datetime | date | None, *, end_of_day: bool) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    day = value + timedelta(days=1) if end_of_day else value
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(runtime.settings.timezone))


def view_channel(request: Request, *, api: bool) -> str:
    """Where a case named in the URL is being seen, for the audit entry of a confidential one (a code of
    grievance.audit.VIEW_CHANNELS): a write (an action, an upload) is "page_action" / "api_action"; a GET of an
    attachment "download" / "api_download"; the receipt "receipt"; any other read "page" / "api". Read from the
    route's path template, so every route that takes the case from CurrentCase or ViewedCase is covered."""
    route = request.scope.get("route")
    path = str(getattr(route, "path", request.url.path))
    if request.method not in ("GET", "HEAD"):
        return "api_action" if api else "page_action"
    if "/attachments/" in path:
        return "api_download" if api else "download"
    if not api and path.endswith("/receipt"):
        return "receipt"
    return "api" if api else "page"


def case_in_url(ref: str, request: Request, session: DbSession, user: CurrentUser) -> Case:
    """The case a route's path names, by number or id, as this user may see it: one 404 for a missing case and
    for another department's (grievance.cases.service.get_case; a confidential view is audited with the API
    channel it came through, view_channel). A number larger than any id column holds
    (grievance.input_bounds.MAX_ID) is no possible case: InvalidInput (422) naming `ref`."""
    refuse_impossible_id(ref, "ref")
    return service.get_case(session, ref, user, seen_in=view_channel(request, api=True))


CurrentCase = Annotated[Case, Depends(case_in_url)]
