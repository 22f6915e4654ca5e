"""What the API accepts and returns for cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, ValidationInfo, field_validator

from grievance.cases.phones import INVALID_EN, INVALID_ZH, normalize_phone
from grievance.errors import BilingualValueError
from grievance.glossary import CaseType, Channel, PetitionerKind, Urgency
from grievance.identifiers import normalize_resident_id
from grievance.input_bounds import checked_moment
from grievance.schemas import In, Number, Ref

ACCUSED_REQUIRED_ZH = "举报件须填写被举报单位，该单位看不到此件"
ACCUSED_REQUIRED_EN = "a report needs the accused department, which will never see it"


class PetitionerIn(In):
    name: str = Field(default="", max_length=100)
    phone: str = Field(
        default="",
        max_length=32,
        description="as typed (138-1234-5678, +86 138 1234 5678, 0710-1234567...); stored in the one form of "
        "grievance/cases/phones.py: 13812345678, 0710-1234567, 0710-1234567转123",
    )
    id_no: str = Field(
        default="",
        max_length=32,
        description="resident ID number (居民身份证号码): 18 characters with a valid GB 11643 check digit, the last "
        "may be X; spaces are dropped and x is stored as X",
    )
    kind: PetitionerKind | None = None  # defaults to enterprise when an enterprise is given

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        """The canonical form, so the same phone matches itself in hints, lookups and filters."""
        phone = normalize_phone(value)
        if phone is None:
            raise BilingualValueError(INVALID_ZH, INVALID_EN)
        return phone

    @field_validator("id_no")
    @classmethod
    def _id_no(cls, value: str) -> str:
        return normalize_resident_id(value)


class CaseCreate(In):
    channel: Channel
    case_type: CaseType
    urgency: Urgency = Urgency.normal
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    location: str = Field(default="", max_length=200)
    petitioner: PetitionerIn = Field(default_factory=PetitionerIn)
    meeting: Number | None = Field(
        default=None, description="the meeting (阳光恳谈会) id; required for channel meeting (digits as text are read)"
    )
    station: Ref | None = Field(default=None, description="station id or code; required for channel station")
    enterprise: Ref | None = Field(
        default=None, description="enterprise id or credit code; required for channel enterprise"
    )
    category: Ref | None = Field(default=None, description="category id or code")
    accused_department: Ref | None = Field(
        default=None,
        validate_default=True,
        description="department id or code; required for reports (举报): the department accused, which will never "
        "see the case",
    )
    occurred_at: AwareDatetime | None = Field(default=None, description="when it was raised; defaults to now")

    @field_validator("occurred_at")
    @classmethod
    def _occurred_in_range(cls, value: datetime | None) -> datetime | None:
        """1900..2200 (grievance.input_bounds): year 1 at +14:00 would overflow when stored in UTC."""
        return None if value is None else checked_moment(value)

    @field_validator("accused_department")
    @classmethod
    def _accused_department(cls, value: int | str | None, info: ValidationInfo) -> int | str | None:
        """A report (举报) names the department it accuses, so that department never sees it (信访工作条例:
        an accusation is never shown to the accused); without one the report would be visible to everyone."""
        if isinstance(value, str):
            value = value.strip() or None
        if value is None and info.data.get("case_type") == CaseType.report:
            raise BilingualValueError(ACCUSED_REQUIRED_ZH, ACCUSED_REQUIRED_EN)
        return value


class ActionIn(BaseModel):
    """Fire an action: `version` guards against lost updates, the other keys are the action's fields."""

    model_config = ConfigDict(extra="allow")
    version: StrictInt | None = Field(default=None, description="the case version you read; a stale one gets 409")

    def fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class CaseSummary(BaseModel):
    id: int
    case_no: str
    title: str
    state: str
    state_label: str
    workflow: str
    channel: str
    case_type: str
    urgency: str
    department_id: int | None
    assignee_id: int | None = Field(default=None, description="the handler (承办人) of the department who has it")
    assignee: str | None = Field(default=None, description="that handler's name")
    received_at: datetime
    next_due_at: datetime | None = Field(
        description="the earliest due time (UTC) of the running clocks that count for the reader: a department's "
        "own clocks for department roles, every clock (the centre's callback included) for the others"
    )
    due_clock: str | None = Field(default=None, description="the clock due at next_due_at, e.g. resolve, callback")
    due_clock_label: str | None = Field(default=None, description="that clock's label in its workflow, e.g. 回访时限")
    overdue: bool
    due_soon: bool
    paused: bool = Field(default=False, description="every clock that counts is paused (中止): no due time runs")
    overdue_by: int | None = Field(
        default=None,
        description="when overdue: whole units past next_due_at, rounded up, in overdue_unit (working days on the "
        "working-day calendar for working-day limits); 0 while none of that unit has passed (a weekend after the due)",
    )
    overdue_unit: str | None = Field(default=None, description="working_days, days or hours: the late clock's unit")
    final: bool = Field(default=False, description="the case is in a final state of its workflow (closed, merged)")
    light: str = Field(
        default="none",
        description="the traffic light every list shows: overdue, due_soon, running, paused (every clock that counts "
        "is paused), finished (a final state) or none (open, no clock runs for the reader); cases/deadlines.py",
    )
    confidential: bool
    version: int
    key: bool = Field(default=False, description="a key case (重点件)")
    key_reason: str | None = Field(default=None, description="why it is key (KeyReason code, docs/key-cases.md)")
    lead_leader_id: int | None = Field(default=None, description="the key case's lead leader (包案领导)")
    lead_leader: str | None = Field(default=None, description="that leader's name")
    lead_leader_active: bool | None = Field(
        default=None, description="false: the lead leader's account is deactivated (the case needs another leader)"
    )


class CaseList(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None
