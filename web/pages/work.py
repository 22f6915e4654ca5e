"""The daily work on cases: the list and search every role has, the case page (fields, clocks, timeline,
attachments and exactly the actions the engine allows now), the dispatcher's pool, a department's queue and
the supervisor's board.

Every page reads and writes through the same service functions as the JSON API (web/api/cases.py); a form
only turns its strings into the typed input an action declares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlmodel import Session, col
from starlette.datastructures import FormData, UploadFile

from grievance.cases import service
from grievance.cases.access import in_scope
from grievance.cases.models import Case
from grievance.cases.routing import suggest_departments
from grievance.cases.schemas import CaseSummary
from grievance.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from grievance.glossary import DEPARTMENT_ROLES, LABELS, Role
from grievance.reference import service as reference
from grievance.reference.models import Category, Department, Enterprise, Meeting, Station
from grievance.workflow import engine
from grievance.workflow.definition import INTAKE, MERGE_EFFECT, ActionDef, WorkflowDef
from grievance.workflow.effects import MERGED_IN
from grievance.workflow.engine import Runtime
from web.deps import DbSession
from web.pages.common import (
    CurrentViewer,
    LoginRequired,
    Viewer,
    check_csrf,
    form_errors,
    gettext_for,
    optional_viewer,
    page_roles,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
BOARD_SIZE = 20  # each list of the board; the full list is a link to /cases with the same filter
POOL_STATES = ["received", "returned", "pool"]
# The step that moves a case on, in order of preference: shown first, open, on the case page.
PRIMARY = (
    "accept",
    "claim",
    "respond",
    "resolve",
    "accept_petition",
    "dispatch",
    "callback",
    "close",
    "approve_extension",
    "answer_review",
    "answer_re_review",
    "resume",
)
CENTRE_BOARD = page_roles(Role.supervisor, Role.dispatcher)
POOL_ROLES = page_roles(Role.dispatcher, Role.supervisor)
QUEUE_ROLES = page_roles(Role.handler, Role.dept_head)


async def read_form(request: Request) -> FormData:
    return await request.form()


def viewer_before_body(request: Request) -> Viewer:
    """The signed-in viewer read in a short transaction of its own, for the upload form: the file arrives
    before the page's transaction starts, so no lock is held while a slow phone sends it."""
    viewer = optional_viewer(request)
    if viewer is None:
        raise LoginRequired()
    return viewer


PostedForm = Annotated[FormData, Depends(read_form)]
ViewerBeforeBody = Annotated[Viewer, Depends(viewer_before_body)]


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def _departments(session: Session) -> list[Department]:
    return reference.list_all(session, Department, col(Department.code))


def _workflows(runtime: Runtime) -> list[WorkflowDef]:
    return sorted(runtime.workflows.definitions.values(), key=lambda w: w.priority)


def _state_labels(runtime: Runtime) -> dict[str, str]:
    """Each state code with its label(s): 待派单 / 待受理 when two workflows name it differently."""
    labels: dict[str, list[str]] = {}
    for workflow in _workflows(runtime):
        for code, state in workflow.states.items():
            if state.label not in labels.setdefault(code, []):
                labels[code].append(state.label)
    return {code: " / ".join(names) for code, names in labels.items()}


def _department_states(runtime: Runtime) -> list[str]:
    """The states in which a department has something to do on its own cases: its queue."""
    states: set[str] = set()
    for workflow in _workflows(runtime):
        for action in workflow.actions.values():
            if set(action.roles) & DEPARTMENT_ROLES and action.scope == "department":
                states.update(action.from_)
    return sorted(states)


def _open_states(runtime: Runtime) -> list[str]:
    return sorted({code for w in _workflows(runtime) for code, s in w.states.items() if not s.final})


def light_of(item: CaseSummary) -> str:
    if item.overdue:
        return "overdue"
    if item.due_soon:
        return "due_soon"
    return "running" if item.next_due_at else "none"


def _back_to(target: Any) -> str | None:
    """An inline form's way back (the queue, the pool, the board): a path on this site only."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return None
    return target if not urlsplit(target).netloc else None


@dataclass
class Row:
    """One case in a work list, with what the viewer may do on it now."""

    item: CaseSummary
    case: Case
    light: str
    actions: list[dict[str, Any]]
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    returned: dict[str, Any] | None = None

    @property
    def names(self) -> set[str]:
        return {a["action"] for a in self.actions}

    @property
    def quick(self) -> list[dict[str, Any]]:
        """Actions that ask for nothing (accept, claim): one button each, right in the list."""
        return [a for a in self.actions if not a["fields"]]


def _last_return(session: Session, case: Case) -> dict[str, Any] | None:
    for event, actor in reversed(service.load_parts(session, case).events):
        if event.action == "return":
            return {"reason": event.payload.get("reason", ""), "actor": actor, "at": event.at}
    return None


def _rows(
    session: Session,
    runtime: Runtime,
    viewer: Viewer,
    items: list[CaseSummary],
    *,
    suggestions: bool = False,
) -> list[Row]:
    now = runtime.now()
    rows = []
    for item in items:
        # The row itself (by primary key) for what a summary leaves out: the actions, routing, a return.
        case = session.get(Case, item.id)
        assert case is not None
        row = Row(item, case, light_of(item), engine.available_actions(session, runtime, case, viewer.user, now))
        if suggestions:
            row.suggestions = suggest_departments(session, case)
        if case.state == "returned":
            row.returned = _last_return(session, case)
        rows.append(row)
    return rows


def _department_options(departments: list[Department], accused_id: int | None = None) -> list[tuple[int, str]]:
    # A report is never sent to the department it accuses: that department is not offered at all.
    return [(d.id, d.name) for d in departments if d.id is not None and d.id != accused_id]


# ---------------------------------------------------------------------------------------------- case list


LIST_KEYS = (
    "q",
    "state",
    "channel",
    "case_type",
    "urgency",
    "department_id",
    "overdue",
    "due_soon",
    "pending_extension",
    "supervised",
    "received_from",
    "received_to",
    "phone",
    "mine",
    "sort",
)


def _local_midnight(runtime: Runtime, day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(runtime.settings.timezone))


def _list_filter(
    request: Request, viewer: Viewer, runtime: Runtime
) -> tuple[service.CaseFilter, dict[str, str], dict[str, str]]:
    """The search form's values as a CaseFilter, with a message next to each field it cannot use."""
    _ = gettext_for(viewer)
    params = request.query_params
    values = {key: params.get(key, "").strip() for key in LIST_KEYS}
    errors: dict[str, str] = {}
    filters = service.CaseFilter(limit=PAGE_SIZE, cursor=params.get("cursor") or None)
    filters.q = values["q"][:100] or None
    if values["state"]:
        if values["state"] in _state_labels(runtime):
            filters.state = [values["state"]]
        else:
            errors["state"] = _("Choose a state from the list")
    for key, vocabulary in (("channel", "Channel"), ("case_type", "CaseType"), ("urgency", "Urgency")):
        if values[key]:
            if values[key] in LABELS[vocabulary]:
                setattr(filters, key, values[key])
            else:
                errors[key] = _("Choose a value from the list")
    if values["department_id"]:
        if values["department_id"].isdigit():
            filters.department_id = int(values["department_id"])
        else:
            errors["department_id"] = _("Choose a department from the list")
    for flag in ("overdue", "due_soon", "pending_extension", "supervised", "mine"):
        if values[flag]:
            setattr(filters, flag, True)
    for key in ("received_from", "received_to"):
        if values[key]:
            try:
                day = date.fromisoformat(values[key])
            except ValueError:
                errors[key] = _("Enter a date like 2025-03-05")
                continue
            # "to" includes its whole day.
            moment = _local_midnight(runtime, day + timedelta(days=1 if key == "received_to" else 0))
            setattr(filters, key, moment)
    if values["phone"]:
        if viewer.user.role in runtime.settings.personal_data_roles:
            filters.phone = values["phone"]  # any written form: list_cases normalises it, or names the forms
        else:
            errors["phone"] = _("Your role may not search by phone number")
    filters.sort = "due" if values["sort"] == "due" else "received"
    return filters, values, errors


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, viewer: CurrentViewer, session: DbSession) -> Response:
    runtime = _runtime(request)
    filters, values, errors = _list_filter(request, viewer, runtime)
    items: list[CaseSummary] = []
    next_cursor = None
    if not errors:
        try:
            items, next_cursor = service.list_cases(session, runtime, viewer.user, filters)
        except InvalidInput as exc:
            errors = form_errors(exc, viewer.locale)
            if "cursor" in errors:  # not a field of the form: the whole list
                errors["_"] = errors.pop("cursor")
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor" and v]
    more_url = "/cases?" + urlencode([*kept, ("cursor", next_cursor)]) if next_cursor else None
    departments = _departments(session)
    return render(
        request,
        "work/cases.html",
        viewer,
        status_code=422 if errors else 200,
        items=items,
        light_of=light_of,
        values=values,
        errors=errors,
        more_url=more_url,
        first_url="/cases?" + urlencode(kept),
        paged=bool(filters.cursor),
        departments={d.id: d.name for d in departments},
        department_options=_department_options(departments),
        state_labels=_state_labels(runtime),
        department_role=viewer.user.role in DEPARTMENT_ROLES,
        may_search_phone=viewer.user.role in runtime.settings.personal_data_roles,
        filtered=any(values.values()),
    )


# ---------------------------------------------------------------------------------------------- case page


def _name(session: Session, model: type[Any], ref: int | None, attribute: str) -> str | None:
    if ref is None:
        return None
    try:
        return str(getattr(reference.get_or_404(session, model, ref, model.__name__), attribute))
    except NotFound:
        return str(ref)


# What the timeline says of a step the ledger import inferred, by the column whose time it took.
INFERRED_FROM = {
    "received_at": "Not in the ledger; inferred from the received time",
    "dispatched_at": "Not in the ledger; inferred from the dispatch time",
    "accepted_at": "Not in the ledger; inferred from the accept time",
    "responded_at": "Not in the ledger; inferred from the response time",
    "resolved_at": "Not in the ledger; inferred from the resolve time",
    "callback_at": "Not in the ledger; inferred from the callback time",
    "reopened_at": "Not in the ledger; inferred from the reopen time",
    "closed_at": "Not in the ledger; inferred from the close time",
    "extended_due_at": "Not in the ledger; inferred from the extended due time",
    "other": "Not in the ledger; inferred from another time of the row",
}


def _payload_lines(
    _: Any, workflow: WorkflowDef, action: str, payload: dict[str, Any], departments: dict[int | None, str]
) -> list[tuple[str, str]]:
    """An event's input as a person reads it: field labels, department names, vocabulary labels, yes/no."""
    declared = workflow.actions[action].fields if action in workflow.actions else {}
    known = {
        "channel": (_("Channel"), "Channel"),
        "case_type": (_("Case type"), "CaseType"),
        "filename": (_("File"), None),
        "ledger_note": (_("Ledger remark"), None),
        "case_no": (_("Duplicate case"), None),  # of a MERGED_IN event
        "size": (_("Size (bytes)"), None),
    }
    lines = []
    for key, value in payload.items():
        if key == "inferred_from":  # a step the ledger did not record, at the time of another column
            lines.append((_("Time"), _(INFERRED_FROM.get(value, INFERRED_FROM["other"]))))
            continue
        spec = declared.get(key)
        label, vocabulary = known.get(key, (key, None))
        if spec is not None:
            label, vocabulary = spec.label or key, spec.choices
        if isinstance(value, bool):
            text = _("Yes") if value else _("No")
        elif (spec is not None and spec.type == "department") or key == "department_id":
            text = departments.get(value, str(value))
        elif vocabulary:
            text = LABELS[vocabulary].get(str(value), str(value))
        else:
            text = str(value)
        lines.append((label, text))
    return lines


def _may_attach(runtime: Runtime, case: Case, viewer: Viewer) -> bool:
    """Whether to offer the upload form; add_attachment decides for real."""
    user = viewer.user
    if user.role in (Role.leader, Role.admin) or runtime.workflows.get(case.workflow).is_final(case.state):
        return False
    return user.role not in DEPARTMENT_ROLES or case.department_id == user.department_id


def _ordered(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The primary step first, the rest in the workflow's order."""
    rank = {name: i for i, name in enumerate(PRIMARY)}
    first = min(actions, key=lambda a: rank.get(a["action"], len(PRIMARY)), default=None)
    if first is None or first["action"] not in rank:
        return actions
    return [first, *[a for a in actions if a is not first]]


def _case_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    case_no: str,
    *,
    status_code: int = 200,
    action: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    upload_errors: dict[str, str] | None = None,
) -> HTMLResponse:
    runtime = _runtime(request)
    _ = gettext_for(viewer)
    user = viewer.user
    # The same path as GET /api/v1/cases/{ref}: scope check (404 for another department), audit of a
    # confidential view, masking of personal data, the actions the engine allows now.
    case = service.get_case(session, case_no, user)
    detail = service.case_detail(session, runtime, case, user)
    workflow = runtime.workflows.get(case.workflow)
    suggestions = suggest_departments(session, case) if user.role in (Role.dispatcher, Role.supervisor) else []
    departments = _departments(session)
    names = {d.id: d.name for d in departments}
    actions = _ordered(detail["available_actions"])
    available = {a["action"] for a in actions}
    # The actions that merge this case (effect merge_into, whatever the workflow calls them) offer the hints.
    merges = {a for a in available if MERGE_EFFECT in workflow.actions[a].effects}
    duplicates = service.possible_duplicates(session, runtime, case, user) if merges else []
    # The events that are not workflow actions get a name of their own.
    own_labels = {INTAKE: _("Case logged"), "attach": _("File attached"), MERGED_IN: _("Duplicate merged in")}
    timeline = [
        {
            **event,
            "label": own_labels.get(event["action"], event["label"]),
            "lines": _payload_lines(_, workflow, event["action"], event["payload"], names),
        }
        for event in reversed(detail["timeline"])  # newest first: what happened last matters most
    ]
    return render(
        request,
        "work/case.html",
        viewer,
        status_code=status_code,
        case=detail,
        workflow=workflow,
        actions=actions,
        primary=actions[0]["action"] if actions and actions[0]["action"] in PRIMARY else None,
        open_action=action,
        values={action: values or {}} if action else {},
        errors={action: errors or {}} if action else {},
        problem=problem,
        upload_errors=upload_errors or {},
        timeline=timeline,
        suggestions=suggestions,
        department_options=_department_options(departments, case.accused_department_id),
        accused_department=names.get(case.accused_department_id) if case.accused_department_id else None,
        meeting=_name(session, Meeting, case.meeting_id, "title"),
        station=_name(session, Station, case.station_id, "name"),
        enterprise=_name(session, Enterprise, case.enterprise_id, "name"),
        category=_name(session, Category, case.category_id, "name"),
        duplicates=duplicates,
        merge_actions=merges,
        may_attach=_may_attach(runtime, case, viewer),
        state_labels={code: s.label for code, s in workflow.states.items()},
    )


@router.get("/cases/{case_no}", response_class=HTMLResponse)
def case_page(request: Request, case_no: str, viewer: CurrentViewer, session: DbSession) -> Response:
    return _case_page(request, viewer, session, case_no)


def _raw_input(definition: ActionDef, form: FormData) -> dict[str, str]:
    """What the person typed in the action's declared fields, to show again if the action is refused."""
    return {name: value for name in definition.fields if isinstance(value := form.get(name), str)}


def _action_input(definition: ActionDef, raw: dict[str, str]) -> dict[str, Any]:
    """The action's declared fields typed as the engine expects; blank means not given."""
    typed: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for name, spec in definition.fields.items():
        value = raw.get(name, "").strip()
        if not value:
            continue
        label = spec.label or name
        if spec.type == "int":
            try:
                typed[name] = int(value)
            except ValueError:
                errors.append(
                    {"field": name, "message": f"{label}应为整数", "message_en": f"{name} must be a whole number"}
                )
        elif spec.type == "bool":
            if value not in ("true", "false"):
                errors.append(
                    {"field": name, "message": f"请选择{label}", "message_en": f"choose yes or no for {name}"}
                )
            else:
                typed[name] = value == "true"
        elif spec.type == "department":
            typed[name] = int(value) if value.isdigit() else value
        else:
            typed[name] = raw[name] if spec.type == "text" else value
    if errors:
        raise InvalidInput("输入有误 (invalid input)", errors)
    return typed


def _version(form: FormData) -> int | None:
    value = form.get("expected_version")
    return int(value) if isinstance(value, str) and value.isdigit() else None


@router.post("/cases/{case_no}/actions/{action}", response_class=HTMLResponse)
def fire_action(
    request: Request, case_no: str, action: str, form: PostedForm, viewer: CurrentViewer, session: DbSession
) -> Response:
    check_csrf(viewer, form)
    runtime = _runtime(request)
    _ = gettext_for(viewer)
    case = service.get_case(session, case_no, viewer.user)
    definition = runtime.workflows.get(case.workflow).actions.get(action)
    if definition is None:
        raise NotFound(f"该流程没有动作 {action} (the case's workflow has no action {action!r})")
    raw = _raw_input(definition, form)
    try:
        payload = _action_input(definition, raw)
        engine.fire(
            session,
            runtime,
            case=case,
            action=action,
            actor=viewer.user,
            payload=payload,
            expected_version=_version(form),
        )
    except InvalidInput as exc:
        session.rollback()  # nothing of a refused action is kept
        return _case_page(
            request,
            viewer,
            session,
            case_no,
            status_code=422,
            action=action,
            values=raw,
            errors=form_errors(exc, viewer.locale),
        )
    except (Conflict, Forbidden) as exc:
        session.rollback()
        return _case_page(
            request,
            viewer,
            session,
            case_no,
            status_code=exc.status_code,
            action=action,
            values=raw,
            problem=exc.message,
        )
    message = _("%(case_no)s: %(action)s done") % {"case_no": case.case_no, "action": definition.label}
    back = _back_to(form.get("next"))
    if back is None:
        # After a return the case leaves the department: its page would now answer 404.
        back = f"/cases/{case.case_no}" if in_scope(case, viewer.user) else "/"
    return redirect(back, flash=message)


def _read_upload(item: UploadFile, runtime: Runtime) -> service.Upload:
    """One uploaded file, refused before it is read into memory when it is too large."""
    limit = runtime.settings.attachment_max_bytes
    if item.size is not None and item.size > limit:
        raise InvalidInput.field(
            "files",
            f"附件 {item.filename} 超过 {limit // 1048576} MB",
            f"attachment {item.filename!r} is larger than {limit} bytes",
        )
    return service.Upload(item.filename or "attachment", item.content_type or "", item.file.read())


@router.post("/cases/{case_no}/attachments", response_class=HTMLResponse)
def upload_attachment(
    request: Request, case_no: str, viewer: ViewerBeforeBody, form: PostedForm, session: DbSession
) -> Response:
    # In this order: the viewer (own short transaction), the body with its files, then the transaction.
    check_csrf(viewer, form)
    runtime = _runtime(request)
    _ = gettext_for(viewer)
    case = service.get_case(session, case_no, viewer.user)
    try:
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        if not files:
            raise InvalidInput.field("files", "请选择要上传的文件", "choose a file to upload")
        for upload in [_read_upload(f, runtime) for f in files]:
            service.add_attachment(session, runtime, case=case, actor=viewer.user, upload=upload)
    except InvalidInput as exc:
        session.rollback()
        return _case_page(
            request, viewer, session, case_no, status_code=422, upload_errors=form_errors(exc, viewer.locale)
        )
    except Forbidden as exc:
        session.rollback()
        return _case_page(request, viewer, session, case_no, status_code=403, problem=exc.message)
    count = len(files)
    return redirect(f"/cases/{case.case_no}", flash=_("%(n)d file(s) attached") % {"n": count})


@router.get("/cases/{case_no}/attachments/{attachment_id}")
def download_attachment(
    request: Request, case_no: str, attachment_id: int, viewer: CurrentViewer, session: DbSession
) -> FileResponse:
    case = service.get_case(session, case_no, viewer.user)
    found = next((a for a in service.load_parts(session, case).attachments if a.id == attachment_id), None)
    if found is None:
        raise NotFound(f"附件 {attachment_id} 不存在 (no attachment {attachment_id} on this case)")
    return FileResponse(
        service.attachment_path(_runtime(request), found), media_type=found.content_type, filename=found.filename
    )


# ---------------------------------------------------------------------------------------------- the pool


def _pool_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    *,
    cursor: str | None = None,
    status_code: int = 200,
    bulk: dict[str, Any] | None = None,
) -> HTMLResponse:
    runtime = _runtime(request)
    # Earliest due first: oldest first among cases of one urgency, and an emergency before them all.
    filters = service.CaseFilter(state=POOL_STATES, sort="due", cursor=cursor, limit=PAGE_SIZE)
    items, next_cursor = service.list_cases(session, runtime, viewer.user, filters)
    departments = _departments(session)
    return render(
        request,
        "work/pool.html",
        viewer,
        status_code=status_code,
        rows=_rows(session, runtime, viewer, items, suggestions=True),
        department_options=_department_options(departments),
        more_url=f"/pool?{urlencode({'cursor': next_cursor})}" if next_cursor else None,
        paged=bool(cursor),
        bulk=bulk or {"checked": set(), "department_id": "", "note": "", "failures": {}, "errors": {}},
    )


@router.get("/pool", response_class=HTMLResponse)
def pool(request: Request, session: DbSession, viewer: Viewer = POOL_ROLES, cursor: str | None = None) -> Response:
    return _pool_page(request, viewer, session, cursor=cursor)


@router.post("/pool/dispatch", response_class=HTMLResponse)
def bulk_dispatch(request: Request, form: PostedForm, session: DbSession, viewer: Viewer = POOL_ROLES) -> Response:
    """Send the ticked cases to one department, all in this one transaction: if any of them cannot go,
    none goes, and the page says which and why (a half-done batch would leave the dispatcher guessing)."""
    check_csrf(viewer, form)
    runtime = _runtime(request)
    _ = gettext_for(viewer)
    case_nos = [c for c in form.getlist("case_no") if isinstance(c, str) and c]
    department = str(form.get("department_id") or "").strip()
    note = str(form.get("note") or "").strip()
    bulk: dict[str, Any] = {
        "checked": set(case_nos),
        "department_id": department,
        "note": note,
        "failures": {},
        "errors": {},
    }
    if not case_nos:
        bulk["errors"]["_"] = _("Tick the cases to dispatch first")
    if not department.isdigit():
        bulk["errors"]["department_id"] = _("Choose the department to send them to")
    if bulk["errors"]:
        return _pool_page(request, viewer, session, status_code=422, bulk=bulk)
    payload: dict[str, Any] = {"department_id": int(department), **({"note": note} if note else {})}
    status = 200
    for case_no in case_nos:
        version = form.get(f"version-{case_no}")
        try:
            with session.begin_nested():  # a failure undoes this case only, so every problem is found
                case = service.get_case(session, case_no, viewer.user)
                engine.fire(
                    session,
                    runtime,
                    case=case,
                    action="dispatch",
                    actor=viewer.user,
                    payload=payload,
                    expected_version=int(version) if isinstance(version, str) and version.isdigit() else None,
                )
        except DomainError as exc:
            messages = form_errors(exc, viewer.locale)
            bulk["failures"][case_no] = "；".join(dict.fromkeys(messages.values()))
            status = 409 if isinstance(exc, Conflict) or status == 409 else 422
    if bulk["failures"]:
        session.rollback()  # all or nothing
        bulk["errors"]["_"] = _("Nothing was dispatched: untick or fix the cases marked below, then try again")
        return _pool_page(request, viewer, session, status_code=status, bulk=bulk)
    name = next((d.name for d in _departments(session) if d.id == int(department)), department)
    return redirect(
        "/pool", flash=_("%(n)d case(s) dispatched to %(department)s") % {"n": len(case_nos), "department": name}
    )


# ---------------------------------------------------------------------------------------------- the queue


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, session: DbSession, viewer: Viewer = QUEUE_ROLES, cursor: str | None = None) -> Response:
    runtime = _runtime(request)
    filters = service.CaseFilter(state=_department_states(runtime), sort="due", cursor=cursor, limit=PAGE_SIZE)
    items, next_cursor = service.list_cases(session, runtime, viewer.user, filters)
    rows = _rows(session, runtime, viewer, items)
    open_pool: list[Row] = []
    if not cursor:  # the open pool (揭榜) this department may claim from, under the first page
        pool_items, _more = service.list_cases(
            session, runtime, viewer.user, service.CaseFilter(state=["pool"], sort="due", limit=BOARD_SIZE)
        )
        open_pool = _rows(session, runtime, viewer, pool_items)
    departments = {d.id: d.name for d in _departments(session)}
    return render(
        request,
        "work/queue.html",
        viewer,
        rows=rows,
        open_pool=open_pool,
        department=departments.get(viewer.user.department_id, ""),
        tally={s: sum(1 for r in rows if r.light == s) for s in ("overdue", "due_soon", "running")},
        more_url=f"/queue?{urlencode({'cursor': next_cursor})}" if next_cursor else None,
        paged=bool(cursor),
    )


# ---------------------------------------------------------------------------------------------- the board


@router.get("/board", response_class=HTMLResponse)
def board(request: Request, session: DbSession, viewer: Viewer = CENTRE_BOARD) -> Response:
    runtime = _runtime(request)

    def section(suggestions: bool = False, **criteria: Any) -> tuple[list[Row], bool]:
        filters = service.CaseFilter(sort="due", limit=BOARD_SIZE, **criteria)
        items, more = service.list_cases(session, runtime, viewer.user, filters)
        return _rows(session, runtime, viewer, items, suggestions=suggestions), more is not None

    open_states = _open_states(runtime)
    departments = _departments(session)
    return render(
        request,
        "work/board.html",
        viewer,
        overdue=section(overdue=True),
        due_soon=section(due_soon=True),
        extensions=section(pending_extension=True),
        returned=section(suggestions=True, state=["returned"]),
        key_cases=section(supervised=True, state=open_states),
        departments={d.id: d.name for d in departments},
        department_options=_department_options(departments),
        read_only=viewer.user.role != Role.supervisor,
        workflows=runtime.workflows.definitions,
    )
