"""What the administration pages share: the administrator's role check, a refused form's messages by field in the
reader's language, a form's values, and the department choices several forms offer."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import ValidationError
from sqlmodel import Session, col
from starlette.datastructures import FormData

from grievance.errors import Conflict, DomainError, field_errors, field_label
from grievance.glossary import Role
from grievance.reference import service as reference
from grievance.reference.models import Department
from grievance.workflow.engine import Runtime
from web.i18n import in_locale
from web.pages.common import PUNCTUATION, Viewer, form_errors, page_roles

AdminViewer = Annotated[Viewer, page_roles(Role.admin.value)]


def domain_errors(exc: DomainError, viewer: Viewer, conflict_field: str = "_") -> dict[str, str]:
    """A refused form's messages by field; a conflict (a code already taken) is shown at its field."""
    if isinstance(exc, Conflict):
        return {conflict_field: exc.text(viewer.locale)}
    return form_errors(exc, viewer.locale)


def invalid_fields(exc: ValidationError, viewer: Viewer) -> dict[str, str]:
    """Pydantic's complaints about a form, by field, without the field name (the message sits beside it)."""
    errors: dict[str, str] = {}
    for err in field_errors(list(exc.errors()), skip_body=False):
        name = err["field"] if err["field"] != "body" else "_"
        text = str(err["message_en"] if viewer.locale == "en" else err["message"])
        text = text.removeprefix(f"{name}: ").removeprefix(f"{field_label(name)}：")
        errors.setdefault(name, in_locale(text, viewer.locale))
    return errors


def values_of(form: FormData, *names: str) -> dict[str, str]:
    """The named fields of a form as stripped strings ("" for a missing one), to validate and to show again."""
    return {name: str(form.get(name) or "").strip() for name in names}


def is_checked(form: FormData, name: str) -> bool:
    """Whether a checkbox was ticked (browsers send "on" or the box's value; tests send "1")."""
    return str(form.get(name) or "") in ("1", "on", "true", "yes")


def local_today(runtime: Runtime) -> date:
    """Today in the deployment's time zone."""
    return runtime.now().astimezone(ZoneInfo(runtime.settings.timezone)).date()


def runtime_of(request: Request) -> Runtime:
    """The app's runtime: settings, workflows, the calendar and the clock."""
    return request.app.state.runtime  # type: ignore[no-any-return]


def department_options(session: Session, locale: str = "zh_CN") -> list[tuple[str, str]]:
    """(code, "name（code）") of every department in tree order, for a form's department choice ("name (code)" on
    an English page)."""
    p = PUNCTUATION["en" if locale == "en" else "zh_CN"]
    return [(d.code, f"{d.name}{p['open']}{d.code}{p['close']}") for d in department_tree(session)[0]]


def department_tree(session: Session) -> tuple[list[Department], dict[int, int]]:
    """Departments in tree order (each after its parent) and each one's depth."""
    departments = reference.list_all(session, Department, col(Department.code))
    children: dict[int | None, list[Department]] = {}
    for dept in departments:
        children.setdefault(dept.parent_id, []).append(dept)
    ordered: list[Department] = []
    depth: dict[int, int] = {}

    def visit(parent: int | None, level: int) -> None:
        for dept in children.get(parent, []):
            if dept.id in depth:
                continue
            depth[dept.id] = level  # type: ignore[index]
            ordered.append(dept)
            visit(dept.id, level + 1)

    visit(None, 0)
    # A parent that is missing (never in practice) must not hide its children.
    for dept in departments:
        if dept.id not in depth:
            depth[dept.id] = 0  # type: ignore[index]
            ordered.append(dept)
    return ordered, depth
