"""Creating and finding reference data; one function per thing a user does."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from sqlmodel import Session, SQLModel, col, select
from typing_extensions import TypedDict  # pydantic (the API's response model) needs this one before 3.12

from grievance.cases.models import AuditEntry
from grievance.db import find_by_ref, utcnow
from grievance.errors import Duplicate, InvalidInput, NotFound
from grievance.reference.models import Category, Department, Enterprise, LiaisonAssignment, Meeting, Station
from grievance.reference.schemas import DepartmentIn, EnterpriseIn, MeetingIn, StationIn
from grievance.textfiles import read_text_file
from grievance.users.models import User
from grievance.users.service import find_department, get_user

T = TypeVar("T", bound=SQLModel)


def names_by_id(session: Session, model: Any, ids: Iterable[int | None]) -> dict[int, str]:
    """{id: name} of the rows of `model` with these ids (None and repeats ignored), in one query: a user's
    display_name, any other model's `name` (departments, categories, stations...). Missing ids are left out."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    attribute = model.display_name if model is User else model.name
    return dict(session.exec(select(model.id, attribute).where(col(model.id).in_(wanted))).all())  # type: ignore[arg-type]


def get_or_404(session: Session, model: type[T], ref: int | str, label: str) -> T:
    """A record by id, or by code where the table has one."""
    key = "code" if hasattr(model, "code") else "credit_code" if hasattr(model, "credit_code") else "id"
    row: T | None = find_by_ref(session, model, ref, key)
    if row is None:
        raise NotFound(f"{label} {ref} 不存在", f"no {model.__name__.lower()} {ref!r}")
    return row


def _unique(session: Session, model: type[SQLModel], column: str, value: str, label: str) -> None:
    if session.exec(select(model).where(getattr(model, column) == value)).first():
        raise Duplicate(f"{label} {value} 已存在", f"{model.__name__.lower()} {column} {value!r} exists")


def create_department(session: Session, *, department_in: DepartmentIn) -> Department:
    _unique(session, Department, "code", department_in.code, "单位编码")
    parent_id = find_department(session, department_in.parent).id if department_in.parent else None
    dept = Department(code=department_in.code, name=department_in.name, parent_id=parent_id)
    session.add(dept)
    session.flush()
    return dept


def create_station(session: Session, *, station_in: StationIn) -> Station:
    _unique(session, Station, "code", station_in.code, "驿站编码")
    dept_id = find_department(session, station_in.department).id if station_in.department else None
    station = Station(**station_in.model_dump(exclude={"department"}), department_id=dept_id)
    session.add(station)
    session.flush()
    return station


def create_meeting(session: Session, *, meeting_in: MeetingIn) -> Meeting:
    station_id = get_or_404(session, Station, meeting_in.station, "驿站").id if meeting_in.station else None
    meeting = Meeting(**meeting_in.model_dump(exclude={"station"}), station_id=station_id)
    session.add(meeting)
    session.flush()
    return meeting


def update_meeting(
    session: Session, *, meeting: Meeting, meeting_in: MeetingIn, actor: User | None, now: datetime | None = None
) -> list[str]:
    """Correct a meeting's record (title, date, venue, hosts, attendee count, station) with the same rules as
    create_meeting, in the caller's transaction (flushes, never commits).

    Returns the names of the fields that changed, in MeetingIn's order ([] when nothing did: no write at all).
    A change is written to the audit log with each field's old and new value, since the meeting's cases and
    its printed follow-up report quote these facts. Raises NotFound for an unknown station."""
    station_id = get_or_404(session, Station, meeting_in.station, "驿站").id if meeting_in.station else None
    wanted = {**meeting_in.model_dump(exclude={"station"}), "station_id": station_id}
    changed = {
        name: (getattr(meeting, name), value) for name, value in wanted.items() if getattr(meeting, name) != value
    }
    if not changed:
        return []
    for name, (_old, value) in changed.items():
        setattr(meeting, name, value)
    session.add(meeting)
    detail = "; ".join(f"{name}: {old!s} -> {new!s}" for name, (old, new) in changed.items())
    session.add(
        AuditEntry(
            at=now or utcnow(),
            user_id=actor.id if actor else None,
            action="meeting_update",
            detail=f"meeting {meeting.id}: {detail}"[:500],
        )
    )
    session.flush()
    return list(changed)


def create_enterprise(session: Session, *, enterprise_in: EnterpriseIn, now: datetime | None = None) -> Enterprise:
    _unique(session, Enterprise, "credit_code", enterprise_in.credit_code, "统一社会信用代码")
    enterprise = Enterprise(**enterprise_in.model_dump(exclude={"liaison"}), created_at=now or utcnow())
    session.add(enterprise)
    session.flush()
    if enterprise_in.liaison is not None:
        set_liaison(session, enterprise=enterprise, liaison=enterprise_in.liaison, now=now)
    return enterprise


def set_liaison(
    session: Session, *, enterprise: Enterprise, liaison: int | str | None, now: datetime | None = None
) -> Enterprise:
    """Assign (or with None, remove) the enterprise's liaison cadre, keeping the history for coverage."""
    now = now or utcnow()
    user_id = get_user(session, liaison).id if liaison not in (None, "") else None  # type: ignore[arg-type]
    if user_id == enterprise.liaison_user_id:
        return enterprise
    for current in session.exec(
        select(LiaisonAssignment).where(
            LiaisonAssignment.enterprise_id == enterprise.id, col(LiaisonAssignment.ended_at).is_(None)
        )
    ):
        current.ended_at = now
        session.add(current)
    if user_id is not None:
        session.add(LiaisonAssignment(enterprise_id=enterprise.id, user_id=user_id, started_at=now))  # type: ignore[arg-type]
    enterprise.liaison_user_id = user_id
    session.add(enterprise)
    session.flush()
    return enterprise


def liaison_history(session: Session, enterprise: Enterprise) -> list[LiaisonAssignment]:
    """The enterprise's liaison assignments in the order they were made, the latest first."""
    return list(
        session.exec(
            select(LiaisonAssignment)
            .where(LiaisonAssignment.enterprise_id == enterprise.id)
            .order_by(col(LiaisonAssignment.id).desc())
        ).all()
    )


def list_all(session: Session, model: type[T], order: Any) -> list[T]:
    return list(session.exec(select(model).order_by(order)).all())


class UnroutedCategory(TypedDict):
    """A category whose routing department (named in the file by code) does not exist yet."""

    code: str
    name: str
    department: str


class CategoriesLoaded(TypedDict):
    created: int
    updated: int
    unrouted: list[UnroutedCategory]


def load_categories(session: Session, path: Path) -> CategoriesLoaded:
    """Create or update the category tree from the deployment's YAML file (matched by code; UTF-8 or GB18030).

    A `department` code that names no department yet (a fresh database) does not stop the load: the category
    gets no routing and is listed in `unrouted`, to be filled in by loading the file again once the department
    exists. Raises InvalidInput (nothing loaded, the caller rolls back) for a file that cannot be read, is not
    YAML, or breaks the tree's rules (code and name on each item, at most three levels)."""
    text = read_text_file(path, field="file")
    try:
        tree = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput.field(
            "file", f"分类文件不是有效的 YAML：{exc}", f"the categories file is not valid YAML: {exc}"
        ) from None
    if not isinstance(tree, list):
        raise InvalidInput.field("file", "分类文件应为列表", "the categories file must be a list of categories")
    existing = {c.code: c for c in session.exec(select(Category)).all()}
    departments = {d.code: d.id for d in session.exec(select(Department)).all()}
    loaded: CategoriesLoaded = {"created": 0, "updated": 0, "unrouted": []}

    def visit(items: list[Any], parent: Category | None, level: int, trail: str) -> None:
        for i, item in enumerate(items):
            where = f"{trail}[{i}]"
            if not isinstance(item, dict) or not item.get("code") or not item.get("name"):
                raise InvalidInput.field(where, f"{where} 需要 code 和 name", f"{where} needs a code and a name")
            if level > 3:
                raise InvalidInput.field(where, "分类最多三级", "categories are at most three levels deep")
            code = str(item["code"])
            dept_code = item.get("department")
            dept_code = str(dept_code) if dept_code is not None else None
            category = existing.get(code)
            if category is None:
                category = Category(code=code, name="", level=level)
                existing[code] = category
                loaded["created"] += 1
            else:
                loaded["updated"] += 1
            category.name = str(item["name"])
            category.level = level
            category.parent_id = parent.id if parent else None
            category.department_id = departments.get(dept_code) if dept_code else None
            if dept_code and category.department_id is None:
                loaded["unrouted"].append({"code": code, "name": category.name, "department": dept_code})
            session.add(category)
            session.flush()
            visit(item.get("children") or [], category, level + 1, f"{where}.children")

    visit(tree, None, 1, "categories")
    return loaded


def describe_categories_load(loaded: CategoriesLoaded) -> list[str]:
    """What a load did, line by line in Chinese and English (the CLI's output)."""
    lines = [
        f"分类已载入：新建 {loaded['created']} 个，更新 {loaded['updated']} 个 "
        f"(categories loaded: {loaded['created']} created, {loaded['updated']} updated)"
    ]
    if loaded["unrouted"]:
        lines.append(
            f"{len(loaded['unrouted'])} 个分类指定的承办单位尚不存在，暂无派单建议；添加单位后再载入一次 "
            f"({len(loaded['unrouted'])} categories name a department that does not exist yet and suggest none; "
            "add it and load the file again):"
        )
        lines.extend(f"  {c['code']} {c['name']} -> {c['department']}" for c in loaded["unrouted"])
    return lines


def is_liaison(session: Session, user: Any) -> bool:
    """Whether the user is the liaison cadre (包保干部) of some enterprise now."""
    return session.exec(select(Enterprise.id).where(Enterprise.liaison_user_id == user.id).limit(1)).first() is not None


def meetings_at(session: Session, station_id: int) -> list[Meeting]:
    """The meetings held at a station, newest first."""
    return list(
        session.exec(select(Meeting).where(Meeting.station_id == station_id).order_by(col(Meeting.held_on).desc()))
    )
