"""The tables of a key case's plan: its nodes (节点) and the changes to the plan a department proposes and the
supervisor decides. Whether a case is key, why and under which leader are columns of the case (cases/models.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from grievance.db import UTCDateTime, utcnow


class CaseNode(SQLModel, table=True):
    """One node of a key case's plan: a named step with a responsible department and a due time, run by its own
    clock (CaseClock `<per-node clock>:<seq>`, workflow/definition.node_clock_name). `status` is a NodeStatus code:
    open, done (completed with a note and files) or removed (dropped by an approved plan change)."""

    __tablename__ = "case_nodes"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_case_nodes_case_seq"),
        Index("ix_case_nodes_open", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    seq: int  # 1, 2, 3... in the order the plan set them; never reused on the case
    name: str = Field(max_length=200)
    department_id: int | None = Field(default=None, foreign_key="departments.id")  # responsible (责任单位)
    # How the due time was given: "5 working_days" (N working days from when it was set) or "2025-10-31" (a day).
    due_text: str = Field(max_length=32)
    due_at: datetime = Field(sa_type=UTCDateTime)
    evidence_required: bool = False
    status: str = Field(default="open", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_by_id: int | None = Field(default=None, foreign_key="users.id")
    completion_note: str = Field(default="", sa_type=Text)
    attachment_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class NodePlanChange(SQLModel, table=True):
    """A change to a key case's plan, proposed with a reason by the department and approved or rejected by the
    supervisor (status pending, approved, rejected). `plan` is the proposed rows as keycases.plan.parse_plan
    returns them; at most one change of a case is pending."""

    __tablename__ = "node_plan_changes"
    __table_args__ = (Index("ix_node_plan_changes_case", "case_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    status: str = Field(default="pending", max_length=16)
    reason: str = Field(default="", sa_type=Text)
    plan: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    proposed_at: datetime = Field(sa_type=UTCDateTime)
    proposed_by_id: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by_id: int | None = Field(default=None, foreign_key="users.id")
    decision_note: str = Field(default="", sa_type=Text)


class CasePart(SQLModel, table=True):
    """One assisting department's part (协办) of a case whose lead department (主办) is `cases.department_id`.
    `status` is a PartStatus code (keycases/parts.py): dispatched (sent, not yet accepted), accepted (签收, being
    worked), reported (反馈: done, with a note and files), waived (the supervisor let the lead resolve without it)
    or withdrawn (the case went back to the centre or the department was taken off). Each part runs its own clock,
    CaseClock `<per-part clock>:<seq>` (workflow/definition.part_clock_name). `on_time` is fixed when the part is
    reported: whether its clock was not yet past due (NULL until reported)."""

    __tablename__ = "case_parts"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_case_parts_case_seq"),
        Index("ix_case_parts_department", "department_id", "status", "case_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    seq: int  # 1, 2, 3... in the order the parts were sent; never reused on the case
    department_id: int = Field(foreign_key="departments.id")
    status: str = Field(default="dispatched", max_length=16)
    dispatched_at: datetime = Field(sa_type=UTCDateTime)
    dispatched_by_id: int | None = Field(default=None, foreign_key="users.id")
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted_by_id: int | None = Field(default=None, foreign_key="users.id")
    reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reported_by_id: int | None = Field(default=None, foreign_key="users.id")
    report_note: str = Field(default="", sa_type=Text)
    attachment_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    on_time: bool | None = None
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # waived or withdrawn at
    close_note: str = Field(default="", sa_type=Text)  # the override's reason, or why it was withdrawn
