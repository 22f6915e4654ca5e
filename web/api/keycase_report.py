"""The key-case report's routes (issue 12) next to the other report routes: the figures of a period as JSON or XLSX,
and the exact key cases or nodes behind each figure (grievance/reports/keycases.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from grievance.reports import keycases, keycases_xlsx, service
from web.api.schemas import ANY_ROUTE, SIGNED_IN, XLSX, file_responses
from web.deps import CurrentUser, DbSession, RuntimeDep
from web.params import Offset

router = APIRouter(prefix="/reports", tags=["reports"], responses={**SIGNED_IN, **ANY_ROUTE})


@dataclass
class KeyScope:
    query: keycases.KeyQuery


def key_scope(
    session: DbSession,
    runtime: RuntimeDep,
    actor: CurrentUser,
    from_: Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD (local time)")] = None,
    to: Annotated[str | None, Query(description="day after the last, YYYY-MM-DD")] = None,
    month: Annotated[str | None, Query(description="an assessment month YYYY-MM instead of from/to")] = None,
    quarter: Annotated[str | None, Query(description="a quarter YYYY-Qn (three assessment months)")] = None,
    year: Annotated[str | None, Query(description="a year YYYY (twelve assessment months)")] = None,
    as_of: Annotated[str | None, Query(description="ISO 8601; events after it are ignored (default now)")] = None,
    leader: Annotated[
        str | None, Query(description="lead leader as of as_of: user id or username; none: no leader")
    ] = None,
    reason: Annotated[str | None, Query(description="key reason code (inspection, backlog...)")] = None,
    department: Annotated[str | None, Query(description="department holding the case as of as_of: id or code")] = None,
) -> KeyScope:
    """The period (one of month, quarter, year or from/to), moment and filters, checked (and scoped for a
    department head) the way every report route checks them."""
    period = keycases.make_period(
        runtime.settings,
        start=from_,
        end=to,
        month_key=month,
        quarter=quarter,
        year=year,
        as_of=as_of,
        now=runtime.now(),
    )
    filters = keycases.make_filters(session, leader=leader, reason=reason, department=department)
    return KeyScope(keycases.key_query(runtime.workflows, period, keycases.scoped(actor, filters)))


KeyScopeDep = Annotated[KeyScope, Depends(key_scope)]


class FigureOut(BaseModel):
    """A figure: a count carries its value; a rate its numerator, denominator and value (null when the
    denominator is 0)."""

    value: float | int | None
    numerator: float | int | None = None
    denominator: float | int | None = None


class FormulaOut(BaseModel):
    label: str
    label_en: str
    kind: Literal["rate", "count", "score"]
    unit: Literal["case", "node"] = Field(description="what the figure counts: key cases or nodes")
    formula: str
    formula_en: str
    snapshot: bool = Field(description="a figure of the as_of moment (open cases, late nodes), not of the period")


class PeriodOut(BaseModel):
    from_: str = Field(alias="from")
    to: str
    as_of: str
    timezone: str


class GroupRowOut(BaseModel):
    key: int | str | None = Field(description="a lead leader's user id or a reason code; null: no leader yet")
    label: str
    metrics: dict[str, FigureOut]


class KeyReportOut(BaseModel):
    """The key-case report of a period as of a moment (docs/key-cases.md, "Key-case report")."""

    period: PeriodOut
    filters: dict[str, int | str]
    metrics: dict[str, FigureOut]
    groups: dict[str, list[GroupRowOut]]
    formulas: dict[str, FormulaOut]


class KeyItemOut(BaseModel):
    """A key case a figure counts; for a node figure, one node with its case."""

    case_id: int
    case_no: str
    title: str
    reason: str
    reason_label: str
    lead_leader: int | None
    lead_leader_name: str
    state: str
    department: int | None
    department_name: str
    confidential: bool
    received_at: datetime | None = None
    key_marked_at: datetime | None = None
    resolved_at: datetime | None = None
    seq: int | None = None
    node_name: str | None = None
    node_department: int | None = None
    node_department_name: str | None = None
    due_at: datetime | None = None
    completed_at: datetime | None = Field(default=None, description="null when not completed by as_of")


class KeyItemsOut(BaseModel):
    metric: str
    label: str
    label_en: str
    part: Literal["numerator", "denominator"]
    fact: str
    fact_label: str
    fact_label_en: str
    formula: str
    unit: Literal["case", "node"]
    period: PeriodOut
    filters: dict[str, int | str]
    count: int
    items: list[KeyItemOut]


@router.get(
    "/keycases",
    response_model=KeyReportOut,
    responses=file_responses(XLSX, description="the key-case report: JSON, or a workbook (format=xlsx)"),
)
def keycase_report(
    session: DbSession,
    actor: CurrentUser,
    scope: KeyScopeDep,
    group_by: Annotated[
        list[str] | None, Query(description="lead_leader and/or reason; repeat or comma-separate")
    ] = None,
    format: Literal["json", "xlsx"] = "json",
) -> Any:
    """Key cases received, resolved, resolved on time, backlog cases cleared, nodes met on time, open key cases and
    late nodes of a period as of a moment; each figure's cases are at /reports/keycases/{figure}/items."""
    groups = [g.strip() for item in group_by or [] for g in item.split(",") if g.strip()]
    doc = keycases.report(session, scope.query, groups)
    if format == "json":
        return doc
    period = scope.query.period
    service.audit_export(session, actor, f"keycases xlsx {doc['period']} {doc['filters']}")
    return Response(
        keycases_xlsx.report_xlsx(doc),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="keycases-{period.start}-{period.end}.xlsx"'},
    )


@router.get("/keycases/{figure}/items", response_model=KeyItemsOut)
def keycase_items(
    figure: str,
    session: DbSession,
    actor: CurrentUser,
    scope: KeyScopeDep,
    part: Literal["numerator", "denominator"] = "numerator",
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    offset: Annotated[Offset, Query()] = 0,
) -> dict[str, Any]:
    """The exact key cases (or nodes, for a node figure) that a figure's numerator or denominator counts."""
    return keycases.explain(session, scope.query, figure, part, limit=limit, offset=offset, actor=actor)
