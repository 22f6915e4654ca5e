"""Report routes: the rates of a period (JSON, CSV, XLSX, HTML), the cases behind a figure, the monthly report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from grievance.reports import exports, service
from grievance.reports.metrics import METRICS
from web.api.schemas import ANY_ROUTE, SIGNED_IN, XLSX, file_responses
from web.deps import CurrentUser, DbSession, RuntimeDep
from web.params import Offset

router = APIRouter(prefix="/reports", tags=["reports"], responses={**SIGNED_IN, **ANY_ROUTE})

Format = Literal["json", "csv", "xlsx", "html"]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}


@dataclass
class Scope:
    period: service.Period
    filters: service.Filters


def report_scope(
    session: DbSession,
    runtime: RuntimeDep,
    actor: CurrentUser,
    from_: Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD (local time)")] = None,
    to: Annotated[str | None, Query(description="day after the last, YYYY-MM-DD")] = None,
    month: Annotated[str | None, Query(description="an assessment month YYYY-MM instead of from/to")] = None,
    as_of: Annotated[str | None, Query(description="ISO 8601; events after it are ignored (default now)")] = None,
    channel: str | None = None,
    case_type: str | None = None,
    petitioner_kind: str | None = None,
    department: str | None = None,
    station: str | None = None,
    meeting: str | None = None,
    enterprise: str | None = None,
    category: str | None = None,
) -> Scope:
    """The period and filters every rates route takes, checked the same way (and scoped for a dept_head)."""
    period = service.make_period(runtime.settings, start=from_, end=to, as_of=as_of, month_key=month, now=runtime.now())
    filters = service.make_filters(
        session,
        channel=channel,
        case_type=case_type,
        petitioner_kind=petitioner_kind,
        department=department,
        station=station,
        meeting=meeting,
        enterprise=enterprise,
        category=category,
    )
    return Scope(period, service.scoped_filters(actor, filters))


ReportScope = Annotated[Scope, Depends(report_scope)]


def _file(body: str | bytes, fmt: str, name: str) -> Response:
    return Response(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'} if fmt != "html" else None,
    )


class MetricOut(BaseModel):
    """A metric of the registry (grievance/reports/metrics.py)."""

    key: str
    label: str
    label_en: str
    kind: Literal["rate", "count", "score"]
    unit: Literal["case", "enterprise"] = Field(description="what it counts")
    numerator: str = Field(description="the fact counted above the line")
    denominator: str | None = Field(description="the fact below the line; none for a count")
    formula: str
    formula_en: str


@router.get("/metrics", response_model=list[MetricOut])
def list_metrics(_: CurrentUser) -> list[dict[str, Any]]:
    """The registry: every metric with its labels, what it counts and its formula."""
    return [
        {
            "key": m.key,
            "label": m.label,
            "label_en": m.label_en,
            "kind": m.kind,
            "unit": m.unit,
            "numerator": m.numerator,
            "denominator": m.denominator,
            "formula": m.formula,
            "formula_en": m.formula_en,
        }
        for m in METRICS.values()
    ]


@router.get(
    "/rates",
    response_model=dict[str, Any],
    responses=file_responses("text/csv", XLSX, "text/html", description="the rates: JSON, or the file of `format`"),
)
def rates(
    session: DbSession,
    runtime: RuntimeDep,
    actor: CurrentUser,
    scope: ReportScope,
    group_by: Annotated[list[str] | None, Query(description="dimension(s); repeat or comma-separate")] = None,
    format: Format = "json",
) -> Any:
    period = scope.period
    dimensions = [d.strip() for item in group_by or [] for d in item.split(",") if d.strip()]
    report = service.rates(session, runtime.settings, period=period, filters=scope.filters, group_by=dimensions)
    if format == "json":
        return report
    service.audit_export(session, actor, f"rates {format} {report['period']} {report['filters']}")
    name = f"rates-{period.start}-{period.end}"
    return _file(exports.render_rates(report, format), format, name)


@router.get("/rates/{metric}/cases")
def metric_cases(
    metric: str,
    session: DbSession,
    runtime: RuntimeDep,
    actor: CurrentUser,
    scope: ReportScope,
    part: Literal["numerator", "denominator"] = "numerator",
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    offset: Annotated[Offset, Query()] = 0,
) -> dict[str, Any]:
    """The exact cases counted by a metric's numerator or denominator (enterprises for liaison coverage)."""
    return service.explain(
        session,
        runtime.settings,
        period=scope.period,
        metric_key=metric,
        part=part,
        filters=scope.filters,
        limit=limit,
        offset=offset,
        actor=actor,
    )


@router.get("/assisted-parts")
def assisted_parts(session: DbSession, runtime: RuntimeDep, scope: ReportScope) -> dict[str, Any]:
    """Per department, the assisting parts (协办) of the period's cases as of the moment: assisted, reported by
    then, reported on time. A department's rates count the cases it led; this counts what it assisted on."""
    return {
        "departments": service.assisted_parts(session, runtime.settings, period=scope.period, filters=scope.filters)
    }


@router.get("/assisted-parts/{department_id}/cases")
def assisted_part_cases(
    department_id: int,
    session: DbSession,
    runtime: RuntimeDep,
    actor: CurrentUser,
    scope: ReportScope,
    fact: Literal["assisted", "reported", "on_time"] = "assisted",
) -> dict[str, Any]:
    """The exact cases behind one assisted-parts figure of a department (one row per counted part)."""
    return service.assisted_cases(
        session,
        runtime.settings,
        period=scope.period,
        department_id=department_id,
        fact=fact,
        filters=scope.filters,
        actor=actor,
    )


@router.get(
    "/monthly/{month}",
    response_model=dict[str, Any],
    responses=file_responses(
        "text/html", XLSX, description="the report: JSON, a printable A4 page (html) or a workbook (xlsx)"
    ),
)
def monthly(
    month: str,
    session: DbSession,
    runtime: RuntimeDep,
    actor: CurrentUser,
    as_of: str | None = None,
    format: Literal["json", "html", "xlsx"] = "json",
) -> Any:
    """The monthly report (月报) of an assessment month: JSON, a printable A4 page, or a workbook."""
    service.check_monthly_reader(actor)
    settings = runtime.settings
    period = service.make_period(settings, start=None, end=None, as_of=as_of, month_key=month, now=runtime.now())
    doc = service.monthly_report(session, settings, month_key=month, as_of=period.as_of)
    if format == "json":
        return doc
    service.audit_export(session, actor, f"monthly {month} {format} as of {period.as_of.isoformat()}")
    return _file(exports.render_monthly(doc, format), format, f"monthly-{month}")
