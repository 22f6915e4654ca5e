"""Who may see a case and its petitioner's personal data (DOMAIN.md, privacy rules)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlmodel import col

from grievance.cases.models import Case
from grievance.glossary import DEPARTMENT_ROLES
from grievance.users.models import User

POOL_STATE = "pool"


def visibility_filter(user: User, pool: bool = False) -> ColumnElement[bool]:
    """The SQL condition for the cases a user may list: a department's own cases, or with `pool`, the
    open pool it may claim from. Kept apart (not one OR) so each uses its index at a million cases."""
    if user.role not in DEPARTMENT_ROLES:
        return true()
    if user.department_id is None:
        return false()
    not_accused = or_(col(Case.accused_department_id).is_(None), Case.accused_department_id != user.department_id)
    mine = Case.state == POOL_STATE if pool else Case.department_id == user.department_id
    return and_(not_accused, mine)


def is_hidden_from(case: Case, user: User) -> bool:
    """A confidential case is never shown to the department it accuses: to them it does not exist."""
    return user.role in DEPARTMENT_ROLES and case.accused_department_id == user.department_id


def in_scope(case: Case, user: User) -> bool:
    """May this user open the case: their department's, the open pool, or one they logged themselves
    (a liaison follows the enterprise's requests)."""
    if user.role not in DEPARTMENT_ROLES:
        return True
    if is_hidden_from(case, user):
        return False
    if case.created_by_id == user.id:
        return True
    return user.department_id is not None and (case.department_id == user.department_id or case.state == POOL_STATE)


def mask_phone(phone: str) -> str:
    if len(phone) >= 7:
        return f"{phone[:3]}****{phone[-4:]}"
    return "*" * len(phone)


def mask_id_no(id_no: str) -> str:
    if len(id_no) >= 8:
        return f"{id_no[:3]}{'*' * (len(id_no) - 7)}{id_no[-4:]}"
    return "*" * len(id_no)


def masked_petitioner(case: Case, user: User, personal_data_roles: list[str]) -> dict[str, Any]:
    full = user.role in personal_data_roles
    return {
        "name": case.petitioner_name,
        "phone": case.petitioner_phone if full else mask_phone(case.petitioner_phone),
        "id_no": case.petitioner_id_no if full else mask_id_no(case.petitioner_id_no),
        "kind": case.petitioner_kind,
        "enterprise_id": case.enterprise_id,
        "masked": not full,
    }
