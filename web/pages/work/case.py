"""The case page: fields, clocks, timeline, attachments and exactly the actions the engine allows now;
the forms that fire those actions and upload files."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from grievance.cases import service
from grievance.cases.access import in_scope
from grievance.cases.assignment import department_handlers
from grievance.cases.models import Case
from grievance.cases.routing import suggest_departments
from grievance.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleVersion, in_english
from grievance.glossary import DEPARTMENT_ROLES, Role, label_of
from grievance.keycases.plan import MAX_NODES, active_leaders, node_departments, open_nodes
from grievance.reference import service as reference
from grievance.reference.models import Category, Enterprise, Meeting, Station
from grievance.users.models import User
from grievance.workflow import engine
from grievance.workflow.definition import INTAKE, MERGE_EFFECT, ActionDef, WorkflowDef
from grievance.workflow.effects import MERGED_IN
from grievance.workflow.engine import Runtime
from web.deps import DbSession
from web.pages.common import (
    CurrentViewer,
    ViewedCase,
    Viewer,
    check_csrf,
    form_errors,
    gettext_for,
    redirect,
    render,
)
from web.pages.work.common import (
    PostedForm,
    ViewerBeforeBody,
    all_departments,
    back_to,
    department_options,
    runtime_of,
)
from web.params import DbId
from web.uploads import read_upload

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

router = APIRouter(include_in_schema=False)


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
    _: Any,
    workflow: WorkflowDef,
    action: str,
    payload: dict[str, Any],
    departments: dict[int | None, str],
    locale: str = "zh_CN",
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
        "handler": (_("Handler"), None),  # of an unassign: whom the case was taken from
    }
    lines = []
    for key, value in payload.items():
        if key == "handler" and "handler_id" in payload:  # shown on the handler_id line
            continue
        key_line = _key_case_line(_, key, value, payload, declared, locale)
        if key_line is None:
            key_line = _part_line(_, key, value, payload, departments, locale)
        if key_line is not None:
            if key_line:
                lines.append(key_line)
            continue
        if key == "self_reported":  # a rating the centre did not take (cases/ratings.py): `source` says whose
            continue
        if key == "source" and payload.get("self_reported"):
            lines.append(
                (_("Source"), _("Petitioner (self-rated)") if value == "petitioner" else _("12345 platform callback"))
            )
            continue
        if key == "inferred_from":  # a step the ledger did not record, at the time of another column
            lines.append((_("Time"), _(INFERRED_FROM.get(value, INFERRED_FROM["other"]))))
            continue
        spec = declared.get(key)
        label, vocabulary = known.get(key, (key, None))
        if spec is not None:
            label, vocabulary = spec.label_in(locale) or key, spec.choices
        if isinstance(value, bool):
            text = _("Yes") if value else _("No")
        elif spec is not None and spec.type == "handler":
            text = str(payload.get("handler", value))  # the name the event kept (effect assign_handler)
        elif (spec is not None and spec.type == "department") or key == "department_id":
            text = departments.get(value, str(value))
        elif vocabulary:
            text = label_of(vocabulary, str(value), locale)
        else:
            text = str(value)
        lines.append((label, text))
    return lines


def _key_case_line(
    _: Any, key: str, value: Any, payload: dict[str, Any], declared: dict[str, Any], locale: str
) -> tuple[str, str] | tuple[()] | None:
    """A key-case event's input as a person reads it (issue 12): the lead leader's name, the plan's rows, the node
    by number and name, the files. () to leave a key out (shown on another line), None when it is no such key."""
    if key in ("lead_leader", "node_name", "change_id", "attachment_ids"):
        return ()
    if key == "warnings" and isinstance(value, list):
        texts = [w.get("message_en" if locale == "en" else "message", "") for w in value if isinstance(w, dict)]
        return (_("Warnings"), "；".join(texts) if locale != "en" else "; ".join(texts))
    if key in ("withdrawn_nodes", "kept_completed") and isinstance(value, list):
        listed = [f"{n.get('seq')}. {n.get('name', '')}" for n in value if isinstance(n, dict)]
        title = _("Nodes withdrawn") if key == "withdrawn_nodes" else _("Nodes kept completed")
        return (title, "、".join(listed) if locale != "en" else ", ".join(listed))
    if key == "lead_leader_id":
        return (_("Lead leader"), str(payload.get("lead_leader", value)))
    if key == "previous_leader":
        return (_("Previous lead leader"), str(value))
    if key == "key_carried" and isinstance(value, dict):  # a merge made the surviving case key (effect merge_into)
        reason = label_of("KeyReason", str(value.get("reason", "")), locale)
        leader = value.get("lead_leader") or (
            _("none") if not value.get("lead_leader_id") else str(value["lead_leader_id"])
        )
        return (
            _("Key case carried over"),
            _("reason %(reason)s, lead leader %(leader)s") % {"reason": reason, "leader": leader},
        )
    if key == "node":
        return (_("Node"), f"{value}. {payload.get('node_name', '')}".strip())
    if key == "files":
        return (_("Files"), "、".join(map(str, value)) if locale != "en" else ", ".join(map(str, value)))
    if key == "nodes" and isinstance(value, list):
        rows = []
        for number, row in enumerate(value, start=1):
            if not isinstance(row, dict):
                continue
            if row.get("working_days"):
                due = _("%(n)s working day(s)") % {"n": row["working_days"]}
            else:
                due = _("by %(day)s") % {"day": row.get("due_date", "")}
            where = row.get("department") or ""
            evidence = _("evidence required") if row.get("evidence_required") else ""
            details = (
                "，".join(p for p in (where, due, evidence) if p)
                if locale != "en"
                else ", ".join(p for p in (where, due, evidence) if p)
            )
            rows.append(f"{row.get('seq') or number}. {row.get('name', '')} ({details})")
        return (_("Nodes"), "；".join(rows) if locale != "en" else "; ".join(rows))
    return None


def _part_line(
    _: Any, key: str, value: Any, payload: dict[str, Any], departments: dict[int | None, str], locale: str
) -> tuple[str, str] | tuple[()] | None:
    """An assisting-department event's input as a person reads it (协办, keycases/parts.py): the departments sent,
    the part by number and department, whether it was reported on time, the parts waived or withdrawn. () to leave
    a key out, None when it is no such key."""
    sep = "、" if locale != "en" else ", "
    if key in ("part_department", "part_department_id"):
        return ()
    if key == "assisting_department_ids" and isinstance(value, list):
        return ()  # the `parts` line names them, with their numbers
    if key == "part":
        return (_("Assisting part"), f"{value}. {payload.get('part_department', '')}".strip())
    if key == "on_time":
        return (_("Reported on time"), _("Yes") if value else _("No"))
    if key in ("parts", "withdrawn_parts") and isinstance(value, list):
        listed = sep.join(f"{p.get('seq')}. {p.get('department', '')}" for p in value if isinstance(p, dict))
        return (_("Assisting departments") if key == "parts" else _("Parts withdrawn"), listed)
    return None


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
    case: Case,
    *,
    status_code: int = 200,
    action: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    stale: bool = False,
    upload_errors: dict[str, str] | None = None,
) -> HTMLResponse:
    runtime = runtime_of(request)
    _ = gettext_for(viewer)
    user = viewer.user
    # The same path as GET /api/v1/cases/{ref}: the case came through the same scope check (404 for another
    # department) and audit of a confidential view; masking of personal data, the actions the engine allows now.
    detail = service.case_detail(session, runtime, case, user)
    _mark_inactive_leader(_, session, detail)
    if action is None and request.method == "GET":
        # ?open=set_lead_leader (the board's link, with #action-set_lead_leader): that form open, focused.
        wanted = request.query_params.get("open")
        action = wanted if wanted in {a["action"] for a in detail["available_actions"]} else None
    workflow = runtime.workflows.get(case.workflow)
    suggestions = suggest_departments(session, case) if user.role in (Role.dispatcher, Role.supervisor) else []
    departments = all_departments(session)
    names = {d.id: d.name for d in departments}
    actions = _ordered(detail["available_actions"])
    available = {a["action"] for a in actions}
    # The actions that merge this case (effect merge_into, whatever the workflow calls them) offer the hints.
    merges = {a for a in available if MERGE_EFFECT in workflow.actions[a].effects}
    # The actions that send the case to a department (effect assign_department) say what it may duplicate.
    dispatches = {a for a in available if "assign_department" in workflow.actions[a].effects}
    duplicates = service.possible_duplicates(session, runtime, case, user) if merges or dispatches else []
    # The events that are not workflow actions get a name of their own.
    own_labels = {INTAKE: _("Case logged"), "attach": _("File attached"), MERGED_IN: _("Duplicate merged in")}
    waiting = open_nodes(session, case.id) if case.key_reason is not None and case.id is not None else []
    timeline = [
        {
            **event,
            # The petitioner's self-rating is fired by a system account named in Chinese; English is in rating.po.
            "actor": _("Petitioner (self-rated)")
            if event["payload"].get("self_reported") and event["payload"].get("source") == "petitioner"
            else event["actor"],
            "label": own_labels.get(event["action"])
            or (
                workflow.actions[event["action"]].label_in(viewer.locale)
                if event["action"] in workflow.actions
                else event["label"]
            ),
            "lines": _payload_lines(_, workflow, event["action"], event["payload"], names, viewer.locale),
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
        unavailable=_unavailable(detail, viewer),
        merge_key_warning=bool(merges) and case.key_reason is not None,
        plan_hint=_plan_hint(_, viewer.locale, workflow, case, detail, available),
        primary=actions[0]["action"] if actions and actions[0]["action"] in PRIMARY else None,
        open_action=action,
        values={action: values or {}} if action else {},
        errors={action: errors or {}} if action else {},
        problem=problem,
        stale=stale,
        upload_errors=upload_errors or {},
        timeline=timeline,
        suggestions=suggestions,
        department_options=department_options(departments, case.accused_department_id),
        # A head assigns to anyone of the department; a handler takes a case for themselves only.
        handler_options=[
            (h.id, h.display_name)
            for h in department_handlers(session, case.department_id)
            if user.role != Role.handler or h.id == user.id
        ],
        accused_department=names.get(case.accused_department_id) if case.accused_department_id else None,
        meeting=_name(session, Meeting, case.meeting_id, "title"),
        station=_name(session, Station, case.station_id, "name"),
        enterprise=_name(session, Enterprise, case.enterprise_id, "name"),
        category=_name(session, Category, case.category_id, "name"),
        duplicates=duplicates,
        merge_actions=merges,
        dispatch_actions=dispatches,
        may_attach=_may_attach(runtime, case, viewer),
        # Key cases (issue 12): whom a lead leader is chosen from, the open nodes, and the rows a change starts from.
        leader_options=[(u.id, u.display_name) for u in active_leaders(session)]
        if {"mark_key", "set_lead_leader"} & available or any(a["fields"].get("lead_leader_id") for a in actions)
        else [],
        # An assisting department completes only the nodes given to it; the lead's people any (guard own_node).
        node_options=[
            (n.seq, f"{n.seq}. {n.name}")
            for n in waiting
            if user.department_id in (None, case.department_id) or n.department_id == user.department_id
        ],
        # A node goes to the lead or an assisting department (plan.node_departments): the plan forms offer those.
        node_department_options=[
            (i, name) for i, name in node_departments(session, case).items() if i != case.accused_department_id
        ],
        default_node_rows=[
            {
                "seq": n.seq,
                "name": n.name,
                "department_id": n.department_id,
                "working_days": n.due_text.split(" ")[0] if n.due_text.endswith(" working_days") else "",
                "due_date": "" if n.due_text.endswith(" working_days") else n.due_text,
                "evidence_required": n.evidence_required,
            }
            for n in waiting
        ],
        attachments_by_id={a["id"]: a for a in detail["attachments"]},
        state_labels={code: s.label_in(viewer.locale) for code, s in workflow.states.items()},
    )


def _mark_inactive_leader(_: Any, session: Session, detail: dict[str, Any]) -> None:
    """A key case whose lead leader's account is deactivated says so beside the name (「（已停用）」): the case needs
    another leader (the board's 重点件未定包案领导 lists it)."""
    leader = detail.get("lead_leader")
    if not leader:
        return
    user = session.get(User, leader["id"])
    if user is not None and not user.active:
        detail["lead_leader"] = {**leader, "name": _("%(name)s (deactivated)") % {"name": leader["name"]}}


def _unavailable(detail: dict[str, Any], viewer: Viewer) -> list[dict[str, Any]]:
    """The actions the viewer's role could take in this state that a rule refuses now (the detail's
    `unavailable_actions`: engine.unavailable_actions, the engine's own guards, e.g. 办结 while nodes are open), each
    with its reasons in the reader's language."""
    en = viewer.locale == "en"
    return [
        {**found, "reasons": [in_english(r["message_en"]) if en else r["message"] for r in found["reasons"]]}
        for found in detail["unavailable_actions"]
    ]


def _plan_hint(
    _: Any, locale: str, workflow: WorkflowDef, case: Case, detail: dict[str, Any], available: set[str]
) -> str | None:
    """What the key panel says while a key case has no plan of nodes: who sets it, and whether now (the action
    that sets the plan is the one with effect set_node_plan)."""
    if case.key_reason is None or detail.get("nodes"):
        return None
    setting = [name for name, a in workflow.actions.items() if "set_node_plan" in a.effects]
    if set(setting) & available:
        return _("No plan of nodes yet: you set it now with the form %(action)s.") % {
            "action": workflow.actions[setting[0]].label_in(locale)
        }
    department = detail.get("department")
    if department and setting and case.state in workflow.actions[setting[0]].from_:
        return _("No plan of nodes yet: %(department)s, the handling department, sets it now.") % {
            "department": department
        }
    if department:
        return _("No plan of nodes yet: %(department)s sets it once it has accepted the case.") % {
            "department": department
        }
    return _("No plan of nodes yet: the handling department sets it once the case is dispatched and accepted.")


@router.get("/cases/{case_no}", response_class=HTMLResponse)
def case_page(request: Request, case: ViewedCase, viewer: CurrentViewer, session: DbSession) -> Response:
    return _case_page(request, viewer, session, case)


def _raw_input(definition: ActionDef, form: FormData) -> dict[str, Any]:
    """What the person typed in the action's declared fields, to show again if the action is refused: text, and for
    a plan of nodes its rows (nodes-<i>-<column>, blank rows left out)."""
    raw: dict[str, Any] = {name: value for name in definition.fields if isinstance(value := form.get(name), str)}
    for name, spec in definition.fields.items():
        if spec.type == "nodes":
            raw[name] = _node_rows(form)
        elif spec.type == "departments":  # several departments: a multiple select or checkboxes
            raw[name] = [v for v in form.getlist(name) if isinstance(v, str) and v.strip()]
    return raw


NODE_COLUMNS = ("seq", "name", "department_id", "working_days", "due_date", "evidence_required")


def _node_rows(form: FormData) -> list[dict[str, str]]:
    """The rows of a plan form as typed: nodes-0-name, nodes-0-working_days... in index order (rows removed in the
    browser leave gaps); a row without name, days and date is blank and left out (a kept node's row cleared is
    left out of a change: the node is removed)."""
    indexes = sorted(
        {int(key.split("-")[1]) for key in form if key.startswith("nodes-") and key.split("-")[1].isdigit()}
    )
    rows = []
    for i in indexes[: MAX_NODES * 3]:
        row = {column: str(form.get(f"nodes-{i}-{column}") or "").strip() for column in NODE_COLUMNS}
        if row["name"] or row["working_days"] or row["due_date"]:
            rows.append(row)
    return rows


def _typed_rows(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """A plan form's rows as the API takes them (keycases.plan.parse_plan checks them): numbers as numbers, the
    checkbox as a bool; a number that is not one is passed on as text for parse_plan to name."""
    typed = []
    for row in rows:
        item: dict[str, Any] = {"name": row["name"], "evidence_required": row["evidence_required"] == "true"}
        if row["seq"].isdigit():
            item["seq"] = int(row["seq"])
        if row["department_id"]:
            item["department_id"] = (
                int(row["department_id"]) if row["department_id"].isdigit() else row["department_id"]
            )
        if row["working_days"]:
            item["working_days"] = int(row["working_days"]) if row["working_days"].isdigit() else row["working_days"]
        if row["due_date"]:
            item["due_date"] = row["due_date"]
        typed.append(item)
    return typed


def _action_input(definition: ActionDef, raw: dict[str, Any]) -> dict[str, Any]:
    """The action's declared fields typed as the engine expects; blank means not given. Files (an "attachments"
    field) are not here: fire_action stores them in the action's own transaction."""
    typed: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for name, spec in definition.fields.items():
        if spec.type == "nodes":
            if raw.get(name):
                typed[name] = _typed_rows(raw[name])
            continue
        if spec.type == "attachments":
            continue
        if spec.type == "departments":
            chosen = raw.get(name) or []
            if chosen:
                typed[name] = [int(v) if v.isdigit() else v for v in chosen]
            continue
        value = raw.get(name, "").strip()
        if not value:
            continue
        label, label_en = spec.label or name, spec.label_in("en") or name
        if spec.type == "int":
            try:
                typed[name] = int(value)
            except ValueError:
                errors.append(
                    {"field": name, "message": f"{label}应为整数", "message_en": f"{label_en} must be a whole number"}
                )
        elif spec.type == "bool":
            if value not in ("true", "false"):
                errors.append(
                    {"field": name, "message": f"请选择{label}", "message_en": f"Choose yes or no for {label_en}"}
                )
            else:
                typed[name] = value == "true"
        elif spec.type in ("department", "handler", "leader", "node"):
            typed[name] = int(value) if value.isdigit() else value
        else:
            typed[name] = raw[name] if spec.type == "text" else value
    if errors:
        raise InvalidInput("输入有误", "invalid input", errors)
    return typed


def _version(form: FormData) -> int | None:
    value = form.get("expected_version")
    return int(value) if isinstance(value, str) and value.isdigit() else None


@router.post("/cases/{case_no}/actions/{action}", response_class=HTMLResponse)
def fire_action(
    request: Request, case: ViewedCase, action: str, form: PostedForm, viewer: CurrentViewer, session: DbSession
) -> Response:
    check_csrf(viewer, form)
    runtime = runtime_of(request)
    _ = gettext_for(viewer)
    definition = runtime.workflows.get(case.workflow).actions.get(action)
    if definition is None:
        raise NotFound(f"该流程没有动作 {action}", f"the case's workflow has no action {action!r}")
    raw = _raw_input(definition, form)
    back = back_to(form.get("next"))  # a row of a list: a refusal goes back there, not to the case page
    action_label = definition.label_in(viewer.locale)
    try:
        payload = _action_input(definition, raw)
        with session.begin_nested():  # nothing of a refused action is kept (the view's audit entry is)
            payload.update(_stored_files(runtime, session, case, viewer, definition, form))
            event = engine.fire(
                session,
                runtime,
                case=case,
                action=action,
                actor=viewer.user,
                payload=payload,
                expected_version=_version(form),
            )
    except (InvalidInput, Conflict, Forbidden) as exc:
        if back is None:
            return _refused_on_case_page(request, viewer, session, case, action, raw, exc)
        messages = "；".join(dict.fromkeys(form_errors(exc, viewer.locale).values()))
        flash = _("%(case_no)s: %(action)s was not done: %(problem)s") % {
            "case_no": case.case_no,
            "action": action_label,
            "problem": messages,
        }
        return redirect(f"{back}#row-{case.case_no}", flash=flash)
    if "assign_handler" in definition.effects and payload.get("handler_id") == viewer.user.id:
        message = _("%(case_no)s: you now handle this case") % {"case_no": case.case_no}  # 我来办
    else:
        message = _("%(case_no)s: %(action)s done") % {"case_no": case.case_no, "action": action_label}
    # Done with a caveat (a node due beyond the known calendar, after the case's due...): the event's warnings.
    warnings = [
        w.get("message_en" if viewer.locale == "en" else "message", "") for w in event.payload.get("warnings", [])
    ]
    if warnings:
        message = "；".join([message, *warnings]) if viewer.locale != "en" else "; ".join([message, *warnings])
    if back is None:
        # After a return the case leaves the department: its page would now answer 404.
        back = f"/cases/{case.case_no}" if in_scope(case, viewer.user) else "/"
    return redirect(back, flash=message)


def _stored_files(
    runtime: Runtime, session: Session, case: Case, viewer: Viewer, definition: ActionDef, form: FormData
) -> dict[str, list[int]]:
    """The files sent with an action's "attachments" field (a node's evidence), stored on the case as any upload
    (service.add_attachment: checked type and size) inside the action's transaction, by their new ids."""
    stored: dict[str, list[int]] = {}
    for name, spec in definition.fields.items():
        if spec.type != "attachments":
            continue
        files = [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]
        ids = []
        try:
            for item in files:
                attachment = service.add_attachment(
                    session, runtime, case=case, actor=viewer.user, upload=_read_upload(item, runtime)
                )
                ids.append(attachment.id)
        except InvalidInput as exc:  # shown next to this field of the form, not the case's upload form
            for error in exc.detail.get("errors", []):
                error["field"] = name
            raise
        if ids:
            stored[name] = [i for i in ids if i is not None]
    return stored


def _refused_on_case_page(
    request: Request,
    viewer: Viewer,
    session: Session,
    case: Case,
    action: str,
    raw: dict[str, Any],
    exc: InvalidInput | Conflict | Forbidden,
) -> HTMLResponse:
    """The case page again with the refused form open and what was typed in it: field messages for bad input
    (422); for a stale or forbidden action the case as it is now, with the problem in the reader's language."""
    if isinstance(exc, InvalidInput):
        return _case_page(
            request,
            viewer,
            session,
            case,
            status_code=422,
            action=action,
            values=raw,
            errors=form_errors(exc, viewer.locale),
        )
    session.refresh(case)  # a stale form: show the case as it is now
    return _case_page(
        request,
        viewer,
        session,
        case,
        status_code=exc.status_code,
        action=action,
        values=raw,
        problem=exc.text(viewer.locale),
        # "The case may have changed since you opened it" only when it did: a rule's refusal (409 refused_by_rule)
        # or a forbidden action is about the case as it stands.
        stale=isinstance(exc, StaleVersion),
    )


def _read_upload(item: UploadFile, runtime: Runtime) -> service.Upload:
    """One uploaded file, refused before it is read into memory when it is too large."""
    return read_upload(item, runtime.settings)


@router.post("/cases/{case_no}/attachments", response_class=HTMLResponse)
def upload_attachment(
    request: Request, viewer: ViewerBeforeBody, form: PostedForm, case: ViewedCase, session: DbSession
) -> Response:
    # In this order: the viewer (own short transaction), the body with its files, then the transaction.
    check_csrf(viewer, form)
    runtime = runtime_of(request)
    _ = gettext_for(viewer)
    try:
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        if not files:
            raise InvalidInput.field("files", "请选择要上传的文件", "choose a file to upload")
        with session.begin_nested():  # all the files or none
            for upload in [_read_upload(f, runtime) for f in files]:
                service.add_attachment(session, runtime, case=case, actor=viewer.user, upload=upload)
    except InvalidInput as exc:
        return _case_page(
            request, viewer, session, case, status_code=422, upload_errors=form_errors(exc, viewer.locale)
        )
    except Forbidden as exc:
        return _case_page(request, viewer, session, case, status_code=403, problem=exc.text(viewer.locale))
    count = len(files)
    return redirect(f"/cases/{case.case_no}", flash=_("%(n)d file(s) attached") % {"n": count})


@router.get("/cases/{case_no}/attachments/{attachment_id}")
def download_attachment(request: Request, case: ViewedCase, attachment_id: DbId, session: DbSession) -> FileResponse:
    found = next((a for a in service.load_parts(session, case).attachments if a.id == attachment_id), None)
    if found is None:
        raise NotFound(f"附件 {attachment_id} 不存在", f"no attachment {attachment_id} on this case")
    path, media_type, filename = service.attachment_download(runtime_of(request), found)
    return FileResponse(path, media_type=media_type, filename=filename)  # Content-Disposition: attachment
