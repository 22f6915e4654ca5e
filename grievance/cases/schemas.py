"""What the API accepts and returns for cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from grievance.cases.phones import INVALID_EN, INVALID_ZH, normalize_phone
from grievance.errors import BilingualValueError
from grievance.glossary import CaseType, Channel, PetitionerKind, Urgency
from grievance.schemas import In


class PetitionerIn(In):
    name: str = Field(default="", max_length=100)
    phone: str = Field(
        default="",
        max_length=32,
        description="as typed (138-1234-5678, +86 138 1234 5678, 0710-1234567...); stored in the one form of "
        "grievance/cases/phones.py: 13812345678, 0710-1234567, 0710-1234567转123",
    )
    id_no: str = Field(default="", max_length=32)
    kind: PetitionerKind | None = None  # defaults to enterprise when an enterprise is given

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        """The canonical form, so the same phone matches itself in hints, lookups and filters."""
        phone = normalize_phone(value)
        if phone is None:
            raise BilingualValueError(INVALID_ZH, INVALID_EN)
        return phone


class CaseCreate(In):
    channel: Channel
    case_type: CaseType
    urgency: Urgency = Urgency.normal
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    location: str = Field(default="", max_length=200)
    petitioner: PetitionerIn = Field(default_factory=PetitionerIn)
    meeting: int | None = Field(default=None, description="the meeting (阳光恳谈会) id; required for channel meeting")
    station: int | str | None = Field(default=None, description="station id or code; required for channel station")
    enterprise: int | str | None = Field(
        default=None, description="enterprise id or credit code; required for channel enterprise"
    )
    category: int | str | None = Field(default=None, description="category id or code")
    accused_department: int | str | None = Field(
        default=None, description="for reports (举报): the department accused, which will never see the case"
    )
    occurred_at: AwareDatetime | None = Field(default=None, description="when it was raised; defaults to now")


class ActionIn(BaseModel):
    """Fire an action: `version` guards against lost updates, the other keys are the action's fields."""

    model_config = ConfigDict(extra="allow")
    version: int | None = Field(default=None, description="the case version you read; a stale one gets 409")

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
    received_at: datetime
    next_due_at: datetime | None
    overdue: bool
    due_soon: bool
    confidential: bool
    version: int


class CaseList(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None
