"""推送订阅 (the outbox, for administrators): who receives which case events where (subscriptions: add, pause,
resume), the latest deliveries with their status, and the dead letters, sent again one by one or all at once."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from grievance.errors import DomainError, NotFound
from grievance.outbox import subscriptions as service
from grievance.outbox.formats import FORMATS
from grievance.outbox.models import Subscription
from grievance.outbox.worker import status_counts
from web.deps import DbSession
from web.i18n import Labels
from web.pages.admin.forms import AdminViewer, department_options, domain_errors, runtime_of, values_of
from web.pages.common import Viewer, check_csrf, gettext_for, redirect, render
from web.params import DbId

router = APIRouter(prefix="/admin", include_in_schema=False)

FIELDS = ("name", "url", "format", "secret")
STATUSES = ("pending", "delivered", "dead", "skipped")
FORMAT_NAMES = {
    "json": "JSON (signed)",
    "dingtalk": "DingTalk group robot",
    "wecom": "WeCom group robot",
    "hotline12345": "12345 platform",
}
SHOWN = 50
# Events no workflow file labels (the others take their action's label in the reader's language).
SYSTEM_EVENT_NAMES = {
    "intake": "Logged",
    "auto_urge": "Due soon (automatic urge)",
    "overdue": "Overdue",
    "merged_in": "Duplicate merged in",
    "attach": "File attached",
}


def event_names(viewer: Viewer, request: Request, events: list[str]) -> dict[str, str]:
    """Each event's name in the reader's language: the workflows' label of the action, else SYSTEM_EVENT_NAMES."""
    _ = gettext_for(viewer)
    labels = Labels(viewer.locale, runtime_of(request).workflows.definitions)
    return {e: _(SYSTEM_EVENT_NAMES[e]) if e in SYSTEM_EVENT_NAMES else labels("action", e) for e in events}


def _page(
    request: Request,
    viewer: Viewer,
    session: Session,
    *,
    values: dict[str, str] | None = None,
    chosen_events: list[str] | None = None,
    chosen_departments: list[str] | None = None,
    errors: dict[str, str] | None = None,
    created: Subscription | None = None,
    status_code: int = 200,
) -> Response:
    _ = gettext_for(viewer)
    status = request.query_params.get("status", "")
    status = status if status in STATUSES else ""
    subscriptions = service.list_subscriptions(session)
    events = service.known_events(runtime_of(request).workflows)
    response = render(
        request,
        "admin/outbox.html",
        viewer,
        status_code=status_code,
        counts=status_counts(session),
        subscriptions=subscriptions,
        departments_of={s.id: service.department_names(session, s.department_ids) for s in subscriptions},
        urls={s.id: service.shown_url(s.url) for s in subscriptions},
        # "All" leaves out skipped rows (a format declining a message; fan-out makes none now): counted apart.
        deliveries=service.list_deliveries(session, status=status or None, limit=SHOWN, include_skipped=False),
        dead=service.list_deliveries(session, status="dead", limit=SHOWN),
        status=status,
        statuses=STATUSES,
        format_options=[(name, _(FORMAT_NAMES.get(name, name))) for name in FORMATS],
        format_names=FORMAT_NAMES,
        events=events,
        event_names=event_names(viewer, request, events),
        department_options=department_options(session, viewer.locale),
        values=values or {"format": "json"},
        chosen_events=chosen_events or [],
        chosen_departments=chosen_departments or [],
        errors=errors or {},
        created=created,
    )
    if created is not None:
        response.headers["Cache-Control"] = "no-store"  # the generated secret is shown once
    return response


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    return _page(request, viewer, session)


@router.post("/outbox/subscriptions", response_class=HTMLResponse)
async def subscription_create(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    values = values_of(form, *FIELDS)
    events = [str(v) for v in form.getlist("events")]
    departments = [str(v) for v in form.getlist("departments")]
    try:
        made = service.create_subscription(
            session,
            workflows=runtime_of(request).workflows,
            name=values["name"],
            url=values["url"],
            format=values["format"],
            secret=str(form.get("secret") or ""),  # unstripped: a secret of spaces is refused, not made empty
            events=events,
            departments=departments,
            created_by_id=viewer.user.id,
        )
    except DomainError as exc:
        errors = domain_errors(exc, viewer, conflict_field="name")
        return _page(
            request,
            viewer,
            session,
            values=values,
            chosen_events=events,
            chosen_departments=departments,
            errors=errors,
            status_code=exc.status_code,
        )
    if made.format == "json" and not values["secret"]:
        return _page(request, viewer, session, created=made)
    _ = gettext_for(viewer)
    return redirect("/admin/outbox", flash=_("Subscription %(name)s added") % {"name": made.name})


def _subscription(session: Session, subscription_id: int) -> Subscription:
    found = session.get(Subscription, subscription_id)
    if found is None:
        raise NotFound(f"订阅 {subscription_id} 不存在", f"no subscription {subscription_id}")
    return found


@router.post("/outbox/subscriptions/{subscription_id}/active", response_class=HTMLResponse)
async def subscription_active(
    request: Request, subscription_id: DbId, viewer: AdminViewer, session: DbSession
) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    subscription = service.set_active(session, _subscription(session, subscription_id), form.get("active") == "1")
    text = (
        _("Subscription %(name)s resumed: what was held goes out now")
        if subscription.active
        else _("Subscription %(name)s paused: its messages are held until it is resumed")
    )
    return redirect("/admin/outbox", flash=text % {"name": subscription.name})


@router.post("/outbox/deliveries/{delivery_id}/resend", response_class=HTMLResponse)
async def delivery_resend(request: Request, delivery_id: DbId, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    service.resend(session, [delivery_id])
    return redirect("/admin/outbox", flash=_("Delivery %(id)s queued again") % {"id": delivery_id})


@router.post("/outbox/resend-all", response_class=HTMLResponse)
async def delivery_resend_all(request: Request, viewer: AdminViewer, session: DbSession) -> Response:
    form = await request.form()
    check_csrf(viewer, form)
    _ = gettext_for(viewer)
    count = service.resend(session, None)
    return redirect("/admin/outbox", flash=_("%(count)s dead deliveries queued again") % {"count": count})
