"""The battle map pages (挂图作战, issue 12): /keycases/map shows every key case's nodes on one time axis with its
filters and a table of the same nodes; /keycases/map.svg is the same chart alone, to print large or put on a wall
screen. The supervisor, the leaders and the dispatcher read them; a leader sees every key case (the map is the
zone's, read at the weekly dispatch) and has a link to their own."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from grievance.cases.listing import lead_leaders
from grievance.errors import InvalidInput
from grievance.glossary import KeyReason, Role, label_of
from grievance.keycases.battlemap import BattleMap, MapFilter, load_map, map_filter
from grievance.keycases.battlemap_svg import map_svg
from web.deps import DbSession
from web.pages.common import Viewer, form_errors, gettext_for, page_roles, render
from web.pages.work.common import all_departments, open_states, runtime_of

router = APIRouter(include_in_schema=False)
MAP_ROLES = page_roles(Role.supervisor, Role.leader, Role.dispatcher)
KEYS = ("lead_leader_id", "department_id", "reason", "state", "from", "to")


def _battle_map(request: Request, session: DbSession, viewer: Viewer, filters: MapFilter) -> tuple[BattleMap, str]:
    runtime = runtime_of(request)
    data = load_map(
        session,
        actor=viewer.user,
        filters=filters,
        workflows=runtime.workflows.definitions,
        calendar=runtime.calendar(session),
        now=runtime.now(),
        timezone=runtime.settings.timezone,
        open_states=open_states(runtime),
    )
    return data, map_svg(data, locale=viewer.locale)


@router.get("/keycases/map", response_class=HTMLResponse)
def battle_map(request: Request, session: DbSession, viewer: Viewer = MAP_ROLES) -> Response:
    params = request.query_params
    values = {key: params.get(key, "").strip() for key in KEYS}
    errors: dict[str, str] = {}
    filters = MapFilter()
    try:
        filters = map_filter(session, values)
        if filters.department_id is not None:  # a code typed in the address: the select shows its department
            values["department_id"] = str(filters.department_id)
    except InvalidInput as exc:
        errors = form_errors(exc, viewer.locale)
    data: BattleMap | None = None
    svg = ""
    if not errors:
        data, svg = _battle_map(request, session, viewer, filters)
    given = {key: value for key, value in values.items() if value}
    _ = gettext_for(viewer)
    return render(
        request,
        "keycases/map.html",
        viewer,
        status_code=422 if errors else 200,
        data=data,
        svg=svg,
        values=values,
        errors=errors,
        svg_url="/keycases/map.svg" + ("?" + urlencode(given) if given else ""),
        mine_url="/keycases/map?" + urlencode({**given, "lead_leader_id": viewer.user.id}),
        # Every leader, a deactivated one marked (as /cases offers them): their key cases are still on the map.
        leader_options=[
            (u.id, u.display_name if u.active else _("%(name)s (deactivated)") % {"name": u.display_name})
            for u in lead_leaders(session)
        ],
        department_options=[(d.id, d.name) for d in all_departments(session)],
        reason_options=[(r.value, label_of("KeyReason", r.value, viewer.locale)) for r in KeyReason],
    )


@router.get("/keycases/map.svg")
def battle_map_svg(request: Request, session: DbSession, viewer: Viewer = MAP_ROLES) -> Response:
    """The chart alone (image/svg+xml), same filters; a filter it cannot use is the 422 page naming it."""
    filters = map_filter(session, {key: request.query_params.get(key, "") for key in KEYS})
    _data, svg = _battle_map(request, session, viewer, filters)
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + svg,
        media_type="image/svg+xml",
        headers={"Content-Disposition": 'inline; filename="battle-map.svg"'},
    )
