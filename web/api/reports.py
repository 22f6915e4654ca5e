"""Report routes: the rates of a period (JSON, CSV, XLSX, HTML), the cases behind a figure, the monthly report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from grievance.reports import exports, published, service
from grievance.reports.metrics import METRICS
from web.api.schemas import ANY_ROUTE, SIGNED_IN, XLSX, file_responses
from web.deps import CurrentUser, DbSession, RuntimeDep
from web.params import DbId, Offset

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
    """Per department, the assisting parts (协办) of the period's cases as of the moment: assisted (every part sent),
    reported by then, reported on time, waived by the supervisor (免除), and on_time_rate = on_time ÷ reported
    (null when none was reported). A department's rates count the cases it led; this counts what it assisted on."""
    return {
        "departments": service.assisted_parts(session, runtime.settings, period=scope.period, filters=scope.filters)
    }


@router.get("/assisted-parts/{department_id}/cases")
def assisted_part_cases(
    department_id: DbId,
    session: DbSession,
    runtime: RuntimeDep,
    actor: CurrentUser,
    scope: ReportScope,
    fact: Literal["assisted", "reported", "on_time", "waived"] = "assisted",
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
    live: Annotated[
        bool, Query(description="a published month computed again now instead of its frozen report")
    ] = False,
    version: Annotated[
        int | None, Query(ge=1, le=10000, description="a published version (default the official one)")
    ] = None,
) -> Any:
    """The monthly report (月报) of an assessment month: JSON, a printable A4 page, or a workbook. A published month
    is its frozen official report (the files are the stored document, byte for byte) unless `live` or `as_of` asks
    for the figures computed again; the JSON adds `published` (the publication, or null) and `source`
    (published or live)."""
    service.check_monthly_reader(actor)
    settings = runtime.settings
    period = service.make_period(settings, start=None, end=None, as_of=as_of, month_key=month, now=runtime.now())
    doc, shown, source = published.monthly_for_reader(
        session,
        settings,
        month,
        now=runtime.now(),
        as_of=period.as_of if as_of else None,
        live=live,
        version=version,
    )
    if format == "json":
        return {**doc, "published": shown, "source": source}
    frozen = f" published v{shown['shown_version']}" if shown and source == "published" else ""
    service.audit_export(session, actor, f"monthly {month} {format}{frozen} as of {period.as_of.isoformat()}")
    return _file(exports.render_monthly(doc, format), format, f"monthly-{doc['month']}")


class PublishIn(BaseModel):
    """A publication of a month's report; a month already published is published again (corrected) only with a
    reason."""

    reason: str | None = Field(default=None, max_length=published.REASON_LENGTH, description="why it is corrected")


class PublisherOut(BaseModel):
    id: int
    username: str
    display_name: str


class VersionOut(BaseModel):
    """One published version of a month (moments in local ISO text)."""

    version: int
    published_at: str
    published_by: PublisherOut
    as_of: str = Field(description="the moment the figures were computed")
    reason: str = Field(description="why it was published again (empty for version 1)")
    content_hash: str = Field(description="SHA-256 of the stored document's JSON text")
    intact: bool = Field(description="the stored text still has that hash")


class PublishedOut(VersionOut):
    """A month's publication: the version shown (the official one unless asked) and every version."""

    month: str
    official_version: int
    shown_version: int
    official: bool
    period: dict[str, str]
    versions: list[VersionOut]


class PublishedMonthOut(BaseModel):
    month: str
    version: int = Field(description="the official version")
    versions: int = Field(description="how many versions were published")
    published_at: str
    published_by: str
    as_of: str
    reason: str


class ChangedCaseOut(BaseModel):
    case_id: int
    case_no: str
    title: str
    received_at: datetime
    confidential: bool
    counted_then: bool = Field(description="the case was in the month's cohort at publication")
    state_then: str | None
    state_now: str
    department_then: int | None
    department_now: int | None
    department_then_name: str
    department_now_name: str
    facts: dict[str, dict[str, float | int | None]] = Field(description="each fact that changed: then and now")
    metrics: list[str] = Field(description="the metrics those facts count in")


class MetricChangeOut(BaseModel):
    key: str
    label: str
    label_en: str
    kind: Literal["rate", "count", "score"]
    published: dict[str, float | int | None]
    live: dict[str, float | int | None]
    change: float | int | None
    numerator_change: float | int | None
    denominator_change: float | int | None
    cases: list[str] = Field(description="case numbers of the listed changed cases behind this metric")


class ChangesOut(BaseModel):
    """What changed since a month was published, for the cases received in the month."""

    month: str
    version: int
    published_as_of: str
    as_of: str
    metrics: list[MetricChangeOut]
    count: int = Field(description="changed cases (all of them; `cases` lists the first `limit`)")
    cases: list[ChangedCaseOut]
    reproduced: bool = Field(description="the history as of the published moment still gives the frozen figures")


@router.post("/monthly/{month}/publish", response_model=PublishedOut, status_code=201)
def publish_monthly(
    month: str, body: PublishIn, session: DbSession, runtime: RuntimeDep, actor: CurrentUser
) -> dict[str, Any]:
    """Publish a complete month's report (发布月报, supervisors): its figures are frozen as the official record.
    Again with a reason: a corrected version, the earlier ones kept. 409 when already published and no reason;
    422 for a month not yet over."""
    published.check_publisher(actor)
    row = published.publish_month(session, runtime.settings, month, actor, reason=body.reason, now=runtime.now())
    found = published.info(session, runtime.settings, row.month, row.version)
    assert found is not None
    return found


@router.get("/published", response_model=list[PublishedMonthOut])
def published_months(session: DbSession, runtime: RuntimeDep, actor: CurrentUser) -> list[dict[str, Any]]:
    """Every published month with its official version, newest month first."""
    service.check_monthly_reader(actor)
    return published.list_published(session, runtime.settings)


@router.get("/monthly/{month}/changes", response_model=ChangesOut)
def monthly_changes(
    month: str,
    session: DbSession,
    runtime: RuntimeDep,
    actor: CurrentUser,
    version: Annotated[int | None, Query(ge=1, le=10000, description="default the official version")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = published.CHANGES_LIMIT,
) -> dict[str, Any]:
    """What changed since publication for the month's own cases (received in it): each metric frozen and live,
    and the cases whose facts, state or department changed. 404 when the month was never published."""
    service.check_monthly_reader(actor)
    return published.what_changed(
        session, runtime.settings, month, now=runtime.now(), version=version, actor=actor, limit=limit
    )
