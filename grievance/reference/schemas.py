"""What the API accepts and returns for reference data."""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel, Field, field_validator

from grievance.errors import BilingualValueError
from grievance.schemas import In

CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


class DepartmentIn(In):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    parent: str | int | None = None  # code or id


class DepartmentOut(BaseModel):
    id: int
    code: str
    name: str
    parent_id: int | None


class StationIn(In):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    address: str = Field(default="", max_length=200)
    community: str = Field(default="", max_length=100)
    department: str | int | None = None


class StationOut(BaseModel):
    id: int
    code: str
    name: str
    address: str
    community: str
    department_id: int | None


class MeetingIn(In):
    title: str = Field(min_length=1, max_length=200)
    held_on: date
    venue: str = Field(default="", max_length=200)
    hosts: str = Field(default="", max_length=200)
    attendee_count: int = Field(default=0, ge=0, le=100000)
    station: str | int | None = None


class MeetingOut(BaseModel):
    id: int
    title: str
    held_on: date
    venue: str
    hosts: str
    attendee_count: int
    station_id: int | None


class EnterpriseIn(In):
    name: str = Field(min_length=1, max_length=200)
    credit_code: str = Field(description="统一社会信用代码, 18 characters")
    is_large: bool = False
    liaison: str | int | None = Field(default=None, description="username or id of the liaison cadre")

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, value: str) -> str:
        value = value.upper()
        if not CREDIT_CODE.match(value):
            raise BilingualValueError(
                "统一社会信用代码应为18位数字或大写字母（不含 I、O、S、V、Z）",
                "a unified social credit code is 18 digits or capital letters (not I, O, S, V, Z)",
            )
        return value


class EnterpriseOut(BaseModel):
    id: int
    name: str
    credit_code: str
    is_large: bool
    liaison_user_id: int | None


class LiaisonIn(In):
    liaison: str | int | None


class CategoryOut(BaseModel):
    id: int
    code: str
    name: str
    level: int
    parent_id: int | None
    department_id: int | None
