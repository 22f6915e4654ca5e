"""Each workflow a deployment runs, as its file defines it: states, actions, clocks, and a diagram."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from grievance.errors import NotFound
from grievance.workflow.definition import INTAKE, WorkflowDef
from grievance.workflow.diagram import workflow_svg
from web.pages.admin.forms import AdminViewer, runtime_of
from web.pages.common import render

router = APIRouter(prefix="/admin", include_in_schema=False)


def _workflow(request: Request, name: str) -> WorkflowDef:
    found = runtime_of(request).workflows.definitions.get(name)
    if found is None:
        raise NotFound(f"流程 {name} 不存在", f"no workflow {name!r}")
    return found


def _amount(value: float) -> str:
    return f"{value:g}"


@router.get("/workflows", response_class=HTMLResponse)
def workflows_list(request: Request, viewer: AdminViewer) -> Response:
    runtime = runtime_of(request)
    workflows = sorted(runtime.workflows.definitions.values(), key=lambda w: (-w.priority, w.name))
    return render(request, "admin/workflows.html", viewer, workflows=workflows, folder=runtime.settings.workflows_dir)


@router.get("/workflows/{name}", response_class=HTMLResponse)
def workflow_detail(request: Request, name: str, viewer: AdminViewer) -> Response:
    wf = _workflow(request, name)
    action_labels = {key: action.label_in(viewer.locale) for key, action in wf.actions.items()}
    in_state: dict[str, list[str]] = {state: [] for state in wf.states}
    for action in wf.actions.values():
        for state in action.from_:
            if action.to in (None, state):
                in_state[state].append(action.label_in(viewer.locale))
    return render(
        request,
        "admin/workflow.html",
        viewer,
        wf=wf,
        svg=workflow_svg(wf, locale=viewer.locale),
        file=runtime_of(request).settings.workflows_dir / f"{wf.name}.yaml",
        action_labels=action_labels,
        intake=INTAKE,
        in_state=in_state,
        amount=_amount,
    )
