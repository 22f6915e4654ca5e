"""What the API accepts and returns for cases."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from grievance.glossary import CaseType, Channel, PetitionerKind, Urgency
from grievance.schemas import In

PHONE = re.compile(r"^\+?[0-9][0-9\- ]{4,18}[0-9]$")


class PetitionerIn(In):
    name: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=32)
    id_no: str = Field(default="", max_length=32)
    kind: PetitionerKind | None = None  # defaults to enterprise when an enterprise is given

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if value and not PHONE.match(value):
            raise ValueError(
                "电话号码应为5至20位数字，可含 - 和空格 (a phone number: 5-20 digits, '-' and spaces allowed)"
            )
        return value.replace(" ", "")


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
