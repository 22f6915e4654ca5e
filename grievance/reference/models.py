"""Tables of the reference data: the places, events and organisations a case is linked to."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from grievance.db import UTCDateTime, utcnow


class Department(SQLModel, table=True):
    """A handling unit (承办单位); departments form a tree."""

    __tablename__ = "departments"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    parent_id: int | None = Field(default=None, foreign_key="departments.id", index=True)


class Station(SQLModel, table=True):
    """An urban station (城市驿站) where residents raise appeals."""

    __tablename__ = "stations"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    address: str = Field(default="", max_length=200)
    community: str = Field(default="", max_length=100)
    # The department that handles this station's cases unless a category says otherwise.
    department_id: int | None = Field(default=None, foreign_key="departments.id")


class Meeting(SQLModel, table=True):
    """A public dialogue meeting (阳光恳谈会)."""

    __tablename__ = "meetings"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    held_on: date = Field(index=True)
    venue: str = Field(default="", max_length=200)
    hosts: str = Field(default="", max_length=200)
    attendee_count: int = Field(default=0, ge=0)
    station_id: int | None = Field(default=None, foreign_key="stations.id")


class Enterprise(SQLModel, table=True):
    """An enterprise; large ones (规上企业) each have a liaison cadre (包保干部)."""

    __tablename__ = "enterprises"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    credit_code: str = Field(max_length=18, unique=True)  # 统一社会信用代码
    is_large: bool = Field(default=False)
    liaison_user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    # Since when the zone serves it: liaison coverage as of a moment counts the large enterprises known then.
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LiaisonAssignment(SQLModel, table=True):
    """History of liaison assignments, so coverage can be computed as of any past moment."""

    __tablename__ = "liaison_assignments"

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprises.id", index=True)
    user_id: int = Field(foreign_key="users.id")
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Category(SQLModel, table=True):
    """A business category (业务分类), three levels deep, loaded from the deployment's file."""

    __tablename__ = "categories"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    level: int = Field(ge=1, le=3)
    parent_id: int | None = Field(default=None, foreign_key="categories.id", index=True)
    # Routing rule: cases of this category usually go to this department.
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    # Offered to the public as an Open311 service (a leaf category only); the admin may withdraw one.
    accepts_public_requests: bool = True
