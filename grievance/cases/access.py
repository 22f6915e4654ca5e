"""Who may see a case and its petitioner's personal data (DOMAIN.md, privacy rules)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlmodel import col

from grievance.cases.models import Case
from grievance.errors import Forbidden
from grievance.glossary import DEPARTMENT_ROLES, role_label
from grievance.users.models import User

POOL_STATE = "pool"


def visibility_filter(user: User, pool: bool = False, mine: bool = False) -> ColumnElement[bool]:
    """The SQL condition for the cases a user may list: everything for the centre and leaders; for a
    department its own cases, or with `pool` the open pool it may claim from, or with `mine` the cases
    the user logged (a liaison's). Kept apart (not one OR) so each uses its index at a million cases; a
    department's own cases include those it assists on (an IN over ix_case_parts_department).
    Nobody ever lists a case that accuses their own department."""
    not_accused = (
        true()
        if user.department_id is None
        else or_(col(Case.accused_department_id).is_(None), Case.accused_department_id != user.department_id)
    )
    if mine:
        return and_(not_accused, Case.created_by_id == user.id)
    if user.role not in DEPARTMENT_ROLES:
        return not_accused
    if user.department_id is None:
        return false()
    if pool:
        return and_(not_accused, Case.state == POOL_STATE)
    # The department's own (lead) cases and those it assists on (协办: a part not withdrawn, keycases/parts.py).
    from grievance.keycases.parts import assisting_condition

    own = or_(Case.department_id == user.department_id, assisting_condition(user.department_id))
    return and_(not_accused, own)


def is_hidden_from(case: Case, user: User) -> bool:
    """A report is never shown to anyone of the department it accuses, whatever their role."""
    return user.department_id is not None and case.accused_department_id == user.department_id


def in_scope(case: Case, user: User) -> bool:
    """May this user open the case: their department's, the open pool, or one they logged themselves
    (a liaison follows the enterprise's requests)."""
    if is_hidden_from(case, user):
        return False
    if user.role not in DEPARTMENT_ROLES or case.created_by_id == user.id:
        return True
    return user.department_id is not None and (case.department_id == user.department_id or case.state == POOL_STATE)


def handles(case: Case, user: User) -> bool:
    """Is the user working on this case: the centre, their department's case, or one they logged."""
    if user.role not in DEPARTMENT_ROLES or case.created_by_id == user.id:
        return True
    return user.department_id is not None and case.department_id == user.department_id


def mask_phone(phone: str) -> str:
    """138****5678, 071****4567; an extension (0710-1234567转123, see cases/phones.py) is hidden too."""
    number, mark, extension = phone.partition("转")
    if len(number) >= 7:
        return f"{number[:3]}****{number[-4:]}{mark}{'*' * len(extension)}"
    return "*" * len(phone)


def mask_id_no(id_no: str) -> str:
    if len(id_no) >= 8:
        return f"{id_no[:3]}{'*' * (len(id_no) - 7)}{id_no[-4:]}"
    return "*" * len(id_no)


def may_read_personal_data(user: User, settings: Any) -> bool:
    """Whether the user's role may see full phone and ID numbers and search by phone: the roles in
    Settings.personal_data_roles (DOMAIN.md, privacy). Masking on a case also needs `handles`."""
    return user.role in settings.personal_data_roles


def check_phone_search(user: User, settings: Any) -> None:
    """The one rule on searching cases by the petitioner's phone (the API's and the pages' lists, the intake
    form's earlier-cases hint): only the roles that may read personal data (may_read_personal_data).

    Raises Forbidden (403) naming the user's role by its label, with detail `field` "phone" and `allowed`, the
    role codes that may (Settings.personal_data_roles)."""
    if not may_read_personal_data(user, settings):
        raise Forbidden(
            f"{role_label(user.role)}不能按电话号码查询",
            f"the {role_label(user.role, 'en')} role may not search by phone",
            field="phone",
            allowed=list(settings.personal_data_roles),
        )


def masked_petitioner(case: Case, user: User, personal_data_roles: list[str]) -> dict[str, Any]:
    # A department sees who to contact only once the case is its own, not while it sits in the pool.
    full = user.role in personal_data_roles and handles(case, user)
    return {
        "name": case.petitioner_name,
        "phone": case.petitioner_phone if full else mask_phone(case.petitioner_phone),
        "id_no": case.petitioner_id_no if full else mask_id_no(case.petitioner_id_no),
        "kind": case.petitioner_kind,
        "enterprise_id": case.enterprise_id,
        "masked": not full,
    }
