"""The key-case report page (重点件报表, issue 12): the figures of a month, quarter, year or date range as of a
moment, grouped by lead leader and reason, each figure a link to the exact key cases or nodes it counts with the
same period, filters and `as_of`, and the same report as a workbook. Figures come from grievance/reports/keycases.py,
as the API's do (web/api/keycase_report.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from grievance.cases.listing import lead_leaders
from grievance.errors import InvalidInput
from grievance.glossary import KeyReason, Role, label_of
from grievance.reports import keycases, keycases_xlsx, service
from grievance.reports.periods import Period
from grievance.users.models import User
from grievance.workflow.engine import Runtime
from web.deps import DbSession
from web.i18n import DEFAULT_LOCALE
from web.pages.common import Viewer, form_errors, gettext_for, page_roles, render
from web.pages.leader.scope import REPORT_ROLES, now_text
from web.pages.leader.words import Words, as_moment, input_moment, local_iso
from web.pages.work.common import all_departments
from web.params import Offset

router = APIRouter(include_in_schema=False)
PERIOD_KINDS = ("month", "quarter", "year", "range")
FILTERS = ("leader", "reason", "department")
PAGE_SIZE = 50
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class KeyScope:
    """The period, `as_of` and filters of the page as URL parameters: a link with them counts what the page did."""

    params: dict[str, str]

    @classmethod
    def of(cls, values: dict[str, Any], period: Period) -> KeyScope:
        kind = values["period"]
        params = {"period": kind}
        if kind == "range":
            params.update({"from": period.start.isoformat(), "to": period.end.isoformat()})
        else:
            params[kind] = values[kind]
        params["as_of"] = local_iso(period.as_of, period.timezone)
        params.update({name: values[name] for name in FILTERS if values[name]})
        return cls(params)

    def query(self, extra: dict[str, Any] | None = None) -> str:
        merged: dict[str, Any] = {**self.params, **(extra or {})}
        return urlencode({k: str(v) for k, v in merged.items() if v is not None and v != ""})

    def items(self, metric: str, part: str = "numerator", extra: dict[str, Any] | None = None) -> str:
        """The key cases (or nodes) behind a figure."""
        return "/keycases/report/items?" + self.query({"metric": metric, "part": part, **(extra or {})})


def group_filter(dimension: str, key: Any) -> dict[str, Any]:
    """The filter narrowing the scope to one group: a leader's id ("none": no leader yet) or a reason."""
    if dimension == "lead_leader":
        return {"leader": "none" if key is None else key}
    return {"reason": key}


def typed_values(request: Request) -> dict[str, Any]:
    """What the person typed (kept as typed for the form shown again)."""
    q = request.query_params
    names = ("period", "month", "quarter", "year", "from", "to", "as_of", *FILTERS)
    values: dict[str, Any] = {name: q.get(name, "").strip() for name in names}
    values["group_by"] = [g.strip() for item in q.getlist("group_by") for g in item.split(",") if g.strip()]
    if values["period"] not in PERIOD_KINDS:
        given = [k for k in ("month", "quarter", "year") if values[k]]
        values["period"] = given[0] if given else ("range" if values["from"] or values["to"] else "month")
    return values


@dataclass
class Resolved:
    query: keycases.KeyQuery | None
    errors: dict[str, str]


def resolve(session: Session, runtime: Runtime, viewer: Viewer, values: dict[str, Any]) -> Resolved:
    """The period of the chosen kind, the filters (scoped for a department head) and the groups; each wrong field
    gets its own message."""
    _ = gettext_for(viewer)
    errors: dict[str, str] = {}
    period, filters = None, None
    kind = values["period"]
    if kind != "range" and not values[kind]:
        errors[kind] = _("Choose a period, or switch to a date range")
    else:
        try:
            period = keycases.make_period(
                runtime.settings,
                start=values["from"] or None if kind == "range" else None,
                end=values["to"] or None if kind == "range" else None,
                month_key=values["month"] if kind == "month" else None,
                quarter=values["quarter"] if kind == "quarter" else None,
                year=values["year"] if kind == "year" else None,
                as_of=values["as_of"] or now_text(runtime),
                now=runtime.now(),
            )
        except InvalidInput as exc:
            errors.update(form_errors(exc, viewer.locale))
    try:
        typed = {name: values[name] or None for name in FILTERS}
        filters = keycases.scoped(viewer.user, keycases.make_filters(session, **typed))
    except InvalidInput as exc:
        errors.update(form_errors(exc, viewer.locale))
    try:
        keycases.check_groups(values["group_by"])
    except InvalidInput as exc:
        errors.update(form_errors(exc, viewer.locale))
    if errors or period is None or filters is None:
        return Resolved(None, errors)
    return Resolved(keycases.key_query(runtime.workflows, period, filters), {})


class KeyWords(Words):
    """The report's figures in the reader's language: the key-case metrics have their own labels."""

    def label(self, key: str) -> str:
        m = keycases.KEY_METRICS.get(key)
        return (m.label_en[:1].upper() + m.label_en[1:] if self.en else m.label) if m else super().label(key)

    def formula(self, key: str) -> str:
        m = keycases.KEY_METRICS.get(key)
        return (m.formula_en if self.en else m.formula) if m else super().formula(key)

    def fact(self, key: str) -> str:
        f = keycases.KEY_FACTS.get(key)
        return (f.label_en if self.en else f.label) if f else super().fact(key)

    def kind(self, key: str) -> str:
        m = keycases.KEY_METRICS.get(key)
        return m.kind if m else super().kind(key)

    def group(self, dimension: str, key: object, label: str) -> str:
        """A group's name: a reason's label, a leader's name, or "no lead leader yet"."""
        if dimension == "reason":
            return label_of("KeyReason", str(key), self.locale)
        return label if key is not None else str(self._("No lead leader yet"))

    def group_by(self, dimension: str) -> str:
        return str(self._("By lead leader") if dimension == "lead_leader" else self._("By reason"))

    def due(self, value: str | datetime) -> str:
        """A node's due time as the case page writes it: a limit ending at local midnight is the day before's
        24:00 ("2026年11月30日 24:00", never "12月1日 00:00"), the day whose period counts it."""
        local = as_moment(value).astimezone(ZoneInfo(self.tz))
        if (local.hour, local.minute, local.second) == (0, 0, 0):
            return f"{self.day((local - timedelta(days=1)).date())} 24:00"
        return f"{self.day(local.date())} {local:%H:%M}"

    def leader(self, name: str, active: bool) -> str:
        """A lead leader's name, marked 「（已停用）」 when the account is deactivated, as on /cases."""
        return name if active else str(self._("%(name)s (deactivated)") % {"name": name})


def _options(
    session: Session, viewer: Viewer, words: KeyWords, leaders: list[User]
) -> dict[str, list[tuple[Any, str]]]:
    """The filters' choices; the lead leaders are every user of role leader, a deactivated one marked (as on
    /cases), so the key cases still under them can be found."""
    _ = gettext_for(viewer)
    departments = all_departments(session)
    if viewer.user.role == Role.dept_head:
        departments = [d for d in departments if d.id == viewer.user.department_id]
    return {
        "leader": [("none", _("No lead leader yet"))]
        + [(u.id, words.leader(u.display_name, u.active)) for u in leaders],
        "reason": [(r.value, label_of("KeyReason", r.value, viewer.locale)) for r in KeyReason],
        "department": [(d.id, d.name) for d in departments],
    }


def _page(
    request: Request,
    session: Session,
    viewer: Viewer,
    values: dict[str, Any],
    errors: dict[str, str],
    doc: dict[str, Any] | None = None,
    scope: KeyScope | None = None,
    doc_filters: keycases.KeyFilters | None = None,
) -> Response:
    runtime: Runtime = request.app.state.runtime
    shown = dict(values)
    shown["as_of"] = input_moment(values["as_of"], runtime.settings.timezone) if values["as_of"] else ""
    words = KeyWords(viewer, runtime)
    leaders = lead_leaders(session)
    return render(
        request,
        "keycases/report.html",
        viewer,
        status_code=422 if errors else 200,
        values=shown,
        errors=errors,
        options=_options(session, viewer, words, leaders),
        deactivated={u.id for u in leaders if not u.active},
        groups=keycases.GROUPS,
        doc=doc,
        scope=scope,
        w=words,
        group_filter=group_filter,
        snapshot=keycases.SNAPSHOT,
        filter_names=filter_names(session, doc_filters, words) if doc_filters else [],
    )


@router.get("/keycases/report", response_class=HTMLResponse)
def key_report(request: Request, session: DbSession, viewer: Viewer = page_roles(*REPORT_ROLES)) -> Response:
    """The key-case report; without parameters, the month the dashboard opens on (the last complete assessment month
    during the first working days of a month, service.opening_month) by lead leader, as of now."""
    runtime: Runtime = request.app.state.runtime
    values = typed_values(request)
    if not request.query_params:
        opening = service.opening_month(runtime.settings, runtime.calendar(session), runtime.now())
        values.update(month=opening, group_by=["lead_leader"])
    found = resolve(session, runtime, viewer, values)
    if found.query is None:
        return _page(request, session, viewer, values, found.errors)
    doc = keycases.report(session, found.query, values["group_by"])
    scope = KeyScope.of(values, found.query.period)
    return _page(request, session, viewer, values, {}, doc, scope, found.query.filters)


@router.get("/keycases/report/export.xlsx", response_model=None)
def key_report_xlsx(request: Request, session: DbSession, viewer: Viewer = page_roles(*REPORT_ROLES)) -> Response:
    """The same report as a workbook (Chinese, like every report workbook); the download is written to the audit log."""
    runtime: Runtime = request.app.state.runtime
    values = typed_values(request)
    found = resolve(session, runtime, viewer, values)
    if found.query is None:
        return _page(request, session, viewer, values, found.errors)
    doc = keycases.report(session, found.query, values["group_by"])
    words = KeyWords(replace(viewer, locale=DEFAULT_LOCALE), runtime)
    service.audit_export(session, viewer.user, f"keycases xlsx {doc['period']} {doc['filters']}")
    period = found.query.period
    return Response(
        keycases_xlsx.report_xlsx(doc, filter_names(session, found.query.filters, words)),
        media_type=XLSX_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="keycases-{period.start}-{period.end}.xlsx"'},
    )


def filter_names(session: Session, filters: keycases.KeyFilters, words: KeyWords) -> list[tuple[str, str]]:
    """The filters as (what, which) names in the reader's language."""
    _ = words._
    found: list[tuple[str, str]] = []
    if filters.lead_leader_id is not None:
        leader = session.get(User, filters.lead_leader_id) if filters.lead_leader_id else None
        found.append(
            (_("Lead leader"), words.leader(leader.display_name, leader.active) if leader else _("No lead leader yet"))
        )
    if filters.reason is not None:
        found.append((_("Reason"), label_of("KeyReason", filters.reason, words.locale)))
    if filters.department_id is not None:
        names = service.group_labels(session, "department", [filters.department_id])
        found.append((_("Handling department"), names.get(filters.department_id, "")))
    return found


@router.get("/keycases/report/items", response_class=HTMLResponse)
def key_report_items(
    request: Request,
    session: DbSession,
    metric: str = "",
    part: str = "numerator",
    limit: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE,
    offset: Annotated[Offset, Query()] = 0,
    viewer: Viewer = page_roles(*REPORT_ROLES),
) -> Response:
    """The exact key cases (or nodes) that a figure counts, a page at a time."""
    runtime: Runtime = request.app.state.runtime
    values = typed_values(request)
    found = resolve(session, runtime, viewer, values)
    if found.query is None:
        message = "；".join(found.errors.values())
        raise InvalidInput(message, [{"field": k, "message": v} for k, v in found.errors.items()])
    body = keycases.explain(session, found.query, metric, part, limit=limit, offset=offset, actor=viewer.user)
    scope = KeyScope.of(values, found.query.period)
    words = KeyWords(viewer, runtime)
    m = keycases.KEY_METRICS[metric]
    pages = {
        "previous": scope.items(metric, part, {"offset": max(offset - limit, 0), "limit": limit}) if offset else None,
        "next": scope.items(metric, part, {"offset": offset + limit, "limit": limit})
        if offset + limit < body["count"]
        else None,
    }
    return render(
        request,
        "keycases/report_items.html",
        viewer,
        body=body,
        metric=m,
        scope=scope,
        w=words,
        offset=offset,
        pages=pages,
        filter_names=filter_names(session, found.query.filters, words),
        snapshot=metric in keycases.SNAPSHOT,
        deactivated={u.id for u in lead_leaders(session) if not u.active},
    )
