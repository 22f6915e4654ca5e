"""The rates report of any period with its filters, groups and downloads, and the exact cases behind every
figure (the drill-down)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from grievance.errors import InvalidInput, NotFound
from grievance.glossary import Role
from grievance.reference.models import Department
from grievance.reports import exports, service
from grievance.reports.metrics import METRICS, ZONE_METRICS
from grievance.reports.queries import DIMENSIONS, Filters
from grievance.workflow.engine import Runtime
from web.deps import DbSession
from web.i18n import DEFAULT_LOCALE
from web.pages.common import Viewer, page_roles, render
from web.pages.leader.scope import (
    EXPORT_MEDIA,
    REPORT_ROLES,
    Scope,
    filter_names,
    filter_options,
    resolve_scope,
    typed_values,
)
from web.pages.leader.words import Words, input_moment
from web.params import DbId, Offset

router = APIRouter(include_in_schema=False)

# The columns of a group table and of the department ranking: the figures people compare across groups.
GROUP_COLUMNS = (
    "intake_count",
    "response_rate",
    "on_time_response_rate",
    "resolution_rate",
    "on_time_resolution_rate",
    "callback_rate",
    "satisfaction_rate",
    "mediation_rate",
    "overdue_count",
)
PAGE_SIZE = 50


def _report_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    values: dict[str, Any],
    errors: dict[str, str],
    report: dict[str, Any] | None = None,
    scope: Scope | None = None,
    filters: Filters | None = None,
) -> Response:
    runtime: Runtime = request.app.state.runtime
    words = Words(viewer, runtime)
    shown = dict(values)
    shown["as_of"] = input_moment(values["as_of"], runtime.settings.timezone) if values["as_of"] else ""
    return render(
        request,
        "leader/reports.html",
        viewer,
        status_code=422 if errors else 200,
        values=shown,
        errors=errors,
        options=filter_options(session, viewer),
        dimensions=DIMENSIONS,
        report=report,
        scope=scope,
        w=words,
        group_columns=GROUP_COLUMNS,
        filter_names=filter_names(session, filters, words) if filters else [],
        notes={key: n for n, key in enumerate(METRICS, start=1)},
        own_department=viewer.user.department_id if viewer.user.role == Role.dept_head else None,
    )


@router.get("/reports", response_class=HTMLResponse)
def reports(request: Request, session: DbSession, viewer: Viewer = page_roles(*REPORT_ROLES)) -> Response:
    """The rates of any period with filters and groups; without parameters, this assessment month by
    department."""
    runtime: Runtime = request.app.state.runtime
    values = typed_values(request)
    if not request.query_params:
        values.update(month=service.current_month_key(runtime.settings, runtime.now()), group_by=["department"])
    found = resolve_scope(session, runtime, viewer, values)
    if found.errors or found.period is None or found.filters is None:
        return _report_page(request, session, viewer, values, found.errors)
    report = service.rates(
        session, runtime.settings, period=found.period, filters=found.filters, group_by=found.dimensions
    )
    scope = Scope.of(found.period, found.month_key, found.filters, runtime.settings.report_period_start_day)
    return _report_page(request, session, viewer, values, {}, report, scope, found.filters)


@router.get("/reports/export.{fmt}", response_model=None)
def reports_export(
    fmt: str, request: Request, session: DbSession, viewer: Viewer = page_roles(*REPORT_ROLES)
) -> Response:
    """The same report as a CSV, XLSX or printable HTML file; every download is written to the audit log."""
    if fmt not in EXPORT_MEDIA:
        raise NotFound(f"没有 {fmt} 格式", f"no such format; accepted: {', '.join(EXPORT_MEDIA)}")
    runtime: Runtime = request.app.state.runtime
    values = typed_values(request)
    found = resolve_scope(session, runtime, viewer, values)
    if found.errors or found.period is None or found.filters is None:
        return _report_page(request, session, viewer, values, found.errors)
    report = service.rates(
        session, runtime.settings, period=found.period, filters=found.filters, group_by=found.dimensions
    )
    service.audit_export(session, viewer.user, f"rates {fmt} {report['period']} {report['filters']}")
    body = exports.render_rates(report, fmt)
    name = f"rates-{found.period.start}-{found.period.end}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'} if fmt != "html" else None
    return Response(body, media_type=EXPORT_MEDIA[fmt], headers=headers)


@router.get("/reports/cases", response_class=HTMLResponse)
def report_cases(
    request: Request,
    session: DbSession,
    metric: str = "",
    part: str = "numerator",
    limit: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE,
    offset: Annotated[Offset, Query()] = 0,
    viewer: Viewer = page_roles(*REPORT_ROLES),
) -> Response:
    """The exact cases (or enterprises, for liaison coverage) that a figure counts."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    values = typed_values(request)
    found = resolve_scope(session, runtime, viewer, values)
    if found.errors or found.period is None or found.filters is None:
        message = "；".join(found.errors.values())
        raise InvalidInput(message, [{"field": k, "message": v} for k, v in found.errors.items()])
    body = service.explain(
        session,
        settings,
        period=found.period,
        metric_key=metric,
        part=part,
        filters=found.filters,
        limit=limit,
        offset=offset,
        actor=viewer.user,
    )
    scope = Scope.of(found.period, found.month_key, found.filters, settings.report_period_start_day)
    words = Words(viewer, runtime)
    m = METRICS[metric]
    pages = {
        "previous": scope.cases(metric, part, {"offset": max(offset - limit, 0), "limit": limit}) if offset else None,
        "next": scope.cases(metric, part, {"offset": offset + limit, "limit": limit})
        if body["unit"] == "case" and offset + limit < body["count"]
        else None,
    }
    return render(
        request,
        "leader/cases.html",
        viewer,
        body=body,
        metric=m,
        scope=scope,
        w=words,
        offset=offset,
        pages=pages,
        zone=metric in ZONE_METRICS,
        filter_names=[] if metric in ZONE_METRICS else filter_names(session, found.filters, words),
        month_key=found.month_key,
    )


@router.get("/reports/assisted-parts/cases", response_class=HTMLResponse)
def assisted_part_cases(
    request: Request,
    session: DbSession,
    department_id: DbId,
    fact: str = "assisted",
    viewer: Viewer = page_roles(*REPORT_ROLES),
) -> Response:
    """The exact cases behind one assisted-parts figure (协办) of a department on the dashboard."""
    runtime: Runtime = request.app.state.runtime
    values = typed_values(request)
    found = resolve_scope(session, runtime, viewer, values)
    if found.errors or found.period is None or found.filters is None:
        message = "；".join(found.errors.values())
        raise InvalidInput(message, [{"field": k, "message": v} for k, v in found.errors.items()])
    body = service.assisted_cases(
        session,
        runtime.settings,
        period=found.period,
        department_id=department_id,
        fact=fact,
        filters=found.filters,
        actor=viewer.user,
    )
    scope = Scope.of(found.period, found.month_key, found.filters, runtime.settings.report_period_start_day)
    department = session.get(Department, department_id)
    return render(
        request,
        "leader/assisted_cases.html",
        viewer,
        body=body,
        scope=scope,
        w=Words(viewer, runtime),
        department=department.name if department else str(department_id),
        month_key=found.month_key,
    )


@router.get("/reports/cases.xlsx", response_model=None)
def report_cases_xlsx(
    request: Request,
    session: DbSession,
    metric: str = "",
    part: str = "numerator",
    viewer: Viewer = page_roles(*REPORT_ROLES),
) -> Response:
    """The list of /reports/cases with the same parameters as a workbook: every case (or enterprise) the figure
    counts, in the list's order and columns, in Chinese like the other report workbooks; audited."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    values = typed_values(request)
    found = resolve_scope(session, runtime, viewer, values)
    if found.errors or found.period is None or found.filters is None:
        message = "；".join(found.errors.values())
        raise InvalidInput(message, [{"field": k, "message": v} for k, v in found.errors.items()])
    body = service.explain(
        session,
        settings,
        period=found.period,
        metric_key=metric,
        part=part,
        filters=found.filters,
        actor=viewer.user,
    )
    words = Words(replace(viewer, locale=DEFAULT_LOCALE), runtime)
    for item in body["items"] if body["unit"] == "case" else ():
        item["state_label"] = words.state(item["state"])
    tz = settings.timezone
    zone = metric in ZONE_METRICS
    filters = [] if zone else filter_names(session, found.filters, words)
    part_label = "分子" if part == "numerator" else "分母"
    heading = [
        f"{words.label(metric)} · {part_label}：{words.fact(body['fact'])}",
        f"统计区间：{exports.period_cn(body['period'])}（按受理时间）" if not zone else "规上企业（统计时点）",
        f"数据截至：{exports.moment_cn(body['period']['as_of'], tz)}",
        "筛选条件：" + ("；".join(f"{what}：{which}" for what, which in filters) if filters else "全部诉求"),
        f"共 {body['count']} {'件' if body['unit'] == 'case' else '家'}",
    ]
    service.audit_export(session, viewer.user, f"cases xlsx {metric} {part} {body['period']} {found.filters}")
    name = f"cases-{metric}-{part}-{found.period.start}-{found.period.end}.xlsx"
    return Response(
        exports.case_list_xlsx(body, heading, tz),
        media_type=EXPORT_MEDIA["xlsx"],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
