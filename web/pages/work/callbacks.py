"""The centre's callback list (待回访): resolved cases whose callback clock runs, earliest due first, each with the
department's reply, the petitioner to call and the callback form right in the row."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from grievance.cases.access import masked_petitioner, may_read_personal_data
from grievance.cases.callbacks import callback_actions, list_callbacks
from web.deps import DbSession
from web.pages.common import Viewer, render
from web.pages.work.common import CALLBACK_ROLES, PAGE_SIZE, all_departments, rows_of, runtime_of

router = APIRouter(include_in_schema=False)


@router.get("/callbacks", response_class=HTMLResponse)
def callbacks(
    request: Request, session: DbSession, viewer: Viewer = CALLBACK_ROLES, cursor: str | None = None
) -> Response:
    runtime = runtime_of(request)
    page = list_callbacks(session, runtime, viewer.user, cursor=cursor, limit=PAGE_SIZE)
    rows = rows_of(session, runtime, viewer, page.items)
    recording = callback_actions(runtime.workflows)
    settings = runtime.settings
    return render(
        request,
        "work/callbacks.html",
        viewer,
        rows=[
            {
                "row": row,
                # The action that records the callback (effect record_callback), if the engine allows it now.
                "callback": next((a for a in row.actions if a["action"] in recording[row.case.workflow]), None),
                "petitioner": masked_petitioner(row.case, viewer.user, settings.personal_data_roles),
            }
            for row in rows
        ],
        may_call=may_read_personal_data(viewer.user, settings),
        total=page.total,
        departments={d.id: d.name for d in all_departments(session)},
        workflows=runtime.workflows.definitions,
        more_url=f"/callbacks?{urlencode({'cursor': page.next_cursor})}" if page.next_cursor else None,
        paged=bool(cursor),
    )
