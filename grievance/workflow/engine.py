"""Runs the workflows: which actions an actor may take now, and firing one as a single transaction.

Firing checks role, department scope, state, input and guards, appends an immutable CaseEvent,
applies the action's effects, moves the clocks and bumps the case's version; a concurrent writer
holding an older version gets a Conflict and nothing is written.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from grievance.cases.access import is_hidden_from
from grievance.cases.models import CalendarOverride, Case, CaseClock, CaseEvent
from grievance.cases.prefetch import CLOCKS, prefetched
from grievance.cases.states import current_state, record_state, state_after
from grievance.config import Settings
from grievance.db import find_by_ref, utcnow
from grievance.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotAllowedNow,
    NotFound,
    RefusedByRule,
    StaleVersion,
)
from grievance.glossary import DEPARTMENT_ROLES, LABELS, label_of, role_label, role_labels
from grievance.reference.models import Department
from grievance.users.models import User
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.clocks import apply_clocks
from grievance.workflow.context import ActionContext
from grievance.workflow.definition import INTAKE, ActionDef, FieldDef, WorkflowDef
from grievance.workflow.effects import EFFECTS
from grievance.workflow.guards import GUARDS
from grievance.workflow.loader import Workflows


@dataclass
class Runtime:
    """What every action needs, loaded once per process. `now` is the clock every action reads;
    tests and the ledger import set it to a fixed moment instead of patching time."""

    settings: Settings
    workflows: Workflows
    now: Callable[[], datetime] = utcnow
    # Overrides change a few times a year; other processes see a change within this many seconds.
    calendar_ttl_seconds: float = 30.0
    # Ids of reference records by (model, key, value); see cases.service._link_id.
    reference_ids: dict[tuple[str, str, int | str], int] = dataclasses.field(default_factory=dict, repr=False)
    _calendar: WorkCalendar | None = dataclasses.field(default=None, repr=False)
    _calendar_loaded_at: float = dataclasses.field(default=0.0, repr=False)

    def calendar(self, session: Session) -> WorkCalendar:
        """The working-day calendar with the local overrides, cached between actions."""
        stale = time.monotonic() - self._calendar_loaded_at > self.calendar_ttl_seconds
        if self._calendar is None or stale:
            self._calendar = load_calendar(session, self.settings)
            self._calendar_loaded_at = time.monotonic()
        return self._calendar

    def forget_calendar(self) -> None:
        """Called after this process changes an override, so its next action sees it at once."""
        self._calendar = None


def load_calendar(session: Session, settings: Settings) -> WorkCalendar:
    overrides = {o.day: o.is_workday for o in session.exec(select(CalendarOverride)).all()}
    return WorkCalendar(overrides, settings.timezone)


def _context(
    session: Session,
    runtime: Runtime,
    case: Case,
    actor: User,
    action: str,
    now: datetime,
    clocks: list[CaseClock] | None = None,
) -> ActionContext:
    if clocks is None:
        clocks = prefetched(session, CLOCKS, case.id)
    if clocks is None:
        clocks = list(session.exec(select(CaseClock).where(CaseClock.case_id == case.id)).all())
    return ActionContext(
        session=session,
        case=case,
        workflow=runtime.workflows.get(case.workflow),
        action=action,
        actor=actor,
        now=now,
        calendar=runtime.calendar(session),
        clocks={c.name: c for c in clocks},
    )


def _scope_problem(session: Session, case: Case, actor: User, action: ActionDef) -> str | None:
    """Why a department role may not take this action on this case, or None. Scope "department": the case's
    (lead) department's people; "open": also anyone's on a case nobody has (the pool); "part": the people of a
    department with an open part (协办) on the case, and no one else (grievance/keycases/parts.py); "case": the
    lead's people and those of a department with a part that is not withdrawn (the departments that can open the
    case; a guard then says which of its items are theirs, e.g. `own_node`). A department that can open the case
    is never told the case is not its department's: an assisting one hears the action is the lead's."""
    if actor.role not in DEPARTMENT_ROLES:
        return None
    from grievance.keycases.parts import assists, department_part

    if action.scope == "part":
        if department_part(session, case.id, actor.department_id) is not None:
            return None
        if case.department_id == actor.department_id and actor.department_id is not None:
            return "该件由您的单位主办，协办任务由协办单位办理 (your department leads this case; parts are the assisting departments')"
        return "您的单位没有该件进行中的协办任务 (your department has no open part of this case)"
    if case.department_id == actor.department_id and actor.department_id is not None:
        return None
    if action.scope == "open" and case.department_id is None:
        return None
    if assists(session, case, actor):
        if action.scope == "case":
            return None
        # Glued "中文 (English)" like the rest; an English label's own parentheses are kept out of it.
        label_en = action.label_in("en").split(" (")[0]
        return (
            f"您的单位是该件的协办单位，「{action.label}」由主办单位办理 "
            f'(your department assists on this case; "{label_en}" is for the lead department)'
        )
    return "该件不属于您的单位 (this case is not your department's)"  # split by Forbidden


def _lock_referenced_cases(ctx: ActionContext) -> StaleVersion | None:
    """Lock the acting case and every case its input names (a merge target), in id order, and re-read those
    others, so that the guards read rows no concurrent action can change before this transaction ends. Two
    opposite merges (A into B, B into A) then run one after the other, never both: the second sees the first's
    result and gets 409. Returns the refusal (StaleVersion) if the acting case itself changed since it was read.

    PostgreSQL: SELECT ... FOR UPDATE (taken in one order, so the two merges wait for each other instead of
    deadlocking). SQLite has no row locks and renders no FOR UPDATE; every write transaction there begins with
    BEGIN IMMEDIATE (grievance/db.py), so whole transactions are already serialised and the re-read sees the
    committed state."""
    others = [ref for ref in ctx.refs.values() if isinstance(ref, Case) and ref.id != ctx.case.id]
    if not others:
        return None
    ids = sorted({ctx.case.id, *(o.id for o in others)})  # type: ignore[type-var]
    versions = dict(
        ctx.session.execute(
            select(Case.id, Case.version).where(col(Case.id).in_(ids)).order_by(col(Case.id)).with_for_update()
        ).all()
    )
    if versions.get(ctx.case.id) != ctx.case.version:
        return StaleVersion(
            f"诉求 {ctx.case.case_no} 同时被他人修改，请刷新后重试",
            "the case was changed concurrently; reload and retry",
        )
    for other in others:
        ctx.session.refresh(other)  # what the guards read is the locked, current row
    return None


def _guard_problem(ctx: ActionContext, action: ActionDef) -> Conflict | None:
    """Why the action may not go ahead now, or None: StaleVersion when the acting case changed since it was
    read, RefusedByRule (or the guard's own error, Guard.error) with the first failing guard's reason (guards.py
    words it "中文 (English)")."""
    locked = _lock_referenced_cases(ctx)
    if locked:
        return locked
    for name in action.guards:
        reason = GUARDS[name].check(ctx)
        if reason:
            return _refusal(name, reason)
    return None


def _refusal(name: str, reason: str | tuple[str, str]) -> Conflict:
    """A guard's reason as its error: RefusedByRule unless the guard declares another (Guard.error). A reason
    naming things people typed (a node's name may be Chinese) comes as (Chinese, English)."""
    error = GUARDS[name].error or RefusedByRule
    return error(*reason, guard=name) if isinstance(reason, tuple) else error(reason, guard=name)


def _field_read(field: FieldDef) -> dict[str, Any]:
    """A field as the API's available_actions describes it: its definition as the workflow file gives it, and for
    a choice field its `options` [{code, label, label_en}] (the codes the action takes, glossary vocabulary)."""
    read = field.model_dump(exclude_defaults=True)
    if field.type == "choice" and field.choices is not None:
        read["options"] = [
            {"code": code, "label": label, "label_en": label_of(field.choices, code, "en")}
            for code, label in LABELS[field.choices].items()
        ]
    return read


def available_actions(
    session: Session,
    runtime: Runtime,
    case: Case,
    actor: User,
    now: datetime | None = None,
    clocks: list[CaseClock] | None = None,
) -> list[dict[str, Any]]:
    """The actions this actor may take on this case now, with the input each one asks for: [{"action", "label",
    "label_en", "to" (the state it leads to), "fields" ({name: definition, a choice field with its `options`})}]."""
    return actions_for(session, runtime, case, actor, now, clocks)[0]


def actions_for(
    session: Session,
    runtime: Runtime,
    case: Case,
    actor: User,
    now: datetime | None = None,
    clocks: list[CaseClock] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(available_actions, unavailable_actions) of the case for this actor, each action's guards asked once."""
    ctx = _context(session, runtime, case, actor, "", now or runtime.now(), clocks)
    available, unavailable = [], []
    for name, action in _open_to(ctx, session, case, actor):
        ctx.action = name
        failing = [(g, reason) for g in action.guards if (reason := GUARDS[g].check(ctx))]
        if not failing:
            available.append(
                {
                    "action": name,
                    "label": action.label,
                    "label_en": action.label_en,
                    "to": action.to or case.state,
                    "fields": {k: _field_read(f) for k, f in action.fields.items()},
                }
            )
        elif all(GUARDS[g].shown for g, _reason in failing):
            reasons = []
            for guard_name, reason in failing:
                error = _refusal(guard_name, reason)
                reasons.append({"guard": guard_name, "message": error.message, "message_en": error.message_en})
            unavailable.append({"action": name, "label": action.label, "label_en": action.label_en, "reasons": reasons})
    return available, unavailable


def _open_to(ctx: ActionContext, session: Session, case: Case, actor: User) -> list[tuple[str, ActionDef]]:
    """The actions the actor's role may take in the case's state, in its department scope (guards not yet asked);
    `ctx.action` is set to each in turn as the caller walks them."""
    found = []
    for name, action in ctx.workflow.actions.items():
        if case.state not in action.from_ or actor.role not in action.roles:
            continue
        if _scope_problem(session, case, actor, action):
            continue
        found.append((name, action))
    return found


def unavailable_actions(
    session: Session,
    runtime: Runtime,
    case: Case,
    actor: User,
    now: datetime | None = None,
    clocks: list[CaseClock] | None = None,
) -> list[dict[str, Any]]:
    """The actions the actor's role could take in this state but that a guard refuses now, for the case page to
    show as unavailable with why (办结 while nodes or assisting parts are open): only those every failing guard of
    which is `shown` (guards.Guard.shown; a guard saying the action does not apply here leaves it out). The same
    guard checks as `available_actions` and `fire`. [{"action", "label", "label_en", "reasons": [{"guard",
    "message", "message_en"}]}], in the workflow's order."""
    return actions_for(session, runtime, case, actor, now, clocks)[1]


def _coerce(
    session: Session,
    name: str,
    field: FieldDef,
    value: Any,
    refs: dict[str, Any],
    case: Case | None = None,
    today: date | None = None,
) -> Any:
    """Turn one input value into its stored form, or raise a clear field error. `case` is the case acted on,
    which a "handler" field needs (a handler of the case's department). Messages name the field by its label
    (its code only when the workflow gives none): "延期工作日数应在 1 到 15 之间"."""
    zh, en = field.label or name, field.label_in("en") or name
    if field.type == "text":
        if not isinstance(value, str):
            raise InvalidInput.field(name, f"{zh} 应为文本", f"{en} must be text")
        value = value.strip()
        if "\x00" in value:
            raise InvalidInput.field(name, f"{zh} 含有不可见的空字符", f"{en} contains a NUL character")
        if len(value) > field.max_length:
            raise InvalidInput.field(
                name, f"{zh} 不能超过{field.max_length}字", f"{en} must be at most {field.max_length} characters"
            )
        return value
    if field.type == "bool":
        if not isinstance(value, bool):
            raise InvalidInput.field(name, f"{zh} 应为 true 或 false", f"{en} must be true or false")
        return value
    if field.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput.field(name, f"{zh} 应为整数", f"{en} must be an integer")
        lo, hi = field.min, field.max
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise InvalidInput.field(name, f"{zh} 应在 {lo} 到 {hi} 之间", f"{en} must be between {lo} and {hi}")
        return value
    if field.type == "choice":
        assert field.choices is not None
        labels = LABELS[field.choices]
        for code, label in labels.items():
            if value in (code, label):
                return code
        accepted = "、".join(labels.values())
        accepted_en = ", ".join(f"{c} ({label_of(field.choices, c, 'en')})" for c in labels)
        raise InvalidInput.field(name, f"{zh} 应为以下之一：{accepted}", f"{en} must be one of: {accepted_en}")
    if field.type == "departments":
        from grievance.keycases.parts import coerce_departments

        refs[name] = coerce_departments(session, value, zh, en)
        return [d.id for d in refs[name]]
    if field.type == "department":
        dept = find_by_ref(session, Department, value, "code") if isinstance(value, int | str) else None
        if dept is None:
            raise InvalidInput.field(
                name, f"承办单位 {value!r} 不存在", f"no department {value!r}: give a department id or code"
            )
        return dept.id
    if field.type == "case":
        target = session.exec(select(Case).where(Case.case_no == str(value))).first()
        if target is None:
            raise InvalidInput.field(name, f"诉求 {value} 不存在", f"no case numbered {value!r}")
        refs[name] = target
        return target.case_no
    if field.type == "handler":
        return _coerce_handler(session, name, field, value, refs, case)
    return _coerce_key_case(session, name, field, value, refs, case, today)


def _coerce_key_case(
    session: Session,
    name: str,
    field: FieldDef,
    value: Any,
    refs: dict[str, Any],
    case: Case | None,
    today: date | None,
) -> Any:
    """The field types of key cases (grievance/keycases/plan.py): a lead leader (its id; the user in refs), the
    rows of a plan of nodes (checked against `today`, the deployment's local date), an open node of the case (its
    number; the node in refs) and files of the case (their ids; the attachments in refs)."""
    from grievance.keycases import plan

    label, label_en = field.label or name, field.label_in("en") or name
    if field.type == "leader":
        refs[name] = plan.coerce_leader(session, value, label, label_en)
        return refs[name].id
    if field.type == "nodes":
        return plan.parse_plan(session, value, case=case, today=today or date.today(), label=label, label_en=label_en)
    if field.type == "node":
        refs[name] = plan.coerce_node(session, value, case, label, label_en)
        return refs[name].seq
    if field.type == "attachments":
        refs[name] = plan.coerce_attachments(session, value, case, label, label_en)
        return [a.id for a in refs[name]]
    raise AssertionError(field.type)


def _coerce_handler(
    session: Session, name: str, field: FieldDef, value: Any, refs: dict[str, Any], case: Case | None
) -> int:
    """A user id or username that names an active handler (or head) of the case's department, as its id; the
    user goes to refs[name]. The error names the field by its label and says who is accepted."""
    label, label_en = field.label or name, field.label_in("en") or name
    user = find_by_ref(session, User, value, "username") if isinstance(value, int | str) else None
    if user is None:
        raise InvalidInput.field(
            name, f"{label}：没有用户 {value}", f"{label_en}: no user {value!r}; give a user id or username"
        )
    if not user.active:
        raise InvalidInput.field(
            name,
            f"{label}：{user.display_name} 的账号已停用，请选择本单位在岗的承办人",
            f"{label_en}: {user.display_name}'s account is deactivated; choose an active handler of the department",
        )
    if user.role not in DEPARTMENT_ROLES or case is None or user.department_id != case.department_id:
        raise InvalidInput.field(
            name,
            f"{label}：{user.display_name} 不是本件承办单位的人员，只能分派给本单位的承办人",
            f"{label_en}: {user.display_name} is not in the case's department; choose a handler of that department",
        )
    refs[name] = user
    return user.id  # type: ignore[return-value]


def validate_input(
    session: Session,
    action_name: str,
    action: ActionDef,
    raw: dict[str, Any],
    case: Case | None = None,
    today: date | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the input of an action on `case` against its declared fields; all problems are reported at once.
    `today` (the deployment's local date) is what a plan's due dates are checked against."""
    errors: list[dict[str, Any]] = []
    unknown = sorted(set(raw) - set(action.fields))
    for key in unknown:
        accepted = ", ".join(action.fields)
        errors.append(
            {
                "field": key,
                "message": f"「{action.label}」不接受字段 {key}；"
                + (f"可用字段：{accepted}" if accepted else "该动作不需要填写任何字段"),
                "message_en": f'"{action.label_in("en")}" takes no field {key!r}; '
                + (f"accepted: {accepted}" if accepted else "it takes no fields at all"),
            }
        )
    payload: dict[str, Any] = {}
    refs: dict[str, Any] = {}
    for name, field in action.fields.items():
        value = raw.get(name)
        if isinstance(value, str) and field.type != "text" and not value.strip():
            value = None  # a blank choice, department, leader...: not given, so "required" if it is
        try:
            value = None if value is None else _coerce(session, name, field, value, refs, case, today)
        except InvalidInput as exc:
            errors.extend(exc.detail["errors"])
            continue
        if value is not None and value != "" and value != []:  # blank text (or no file) counts as not given
            payload[name] = value
    for name, field in action.fields.items():
        when = field.required_when
        if when is not None and when[1] is not None:  # "reason=other": required when the choice is that code
            required = field.required or payload.get(when[0]) == when[1]
        else:
            required = field.required or (when is not None and payload.get(when[0]) is True)
        if required and name not in payload and not any(e["field"] == name for e in errors):
            label, label_en = field.label or name, field.label_in("en") or name
            errors.append({"field": name, "message": f"{label} 为必填项", "message_en": f"{label_en} is required"})
        if when is not None and when[1] is None and payload.get(when[0]) is False and name in payload:
            # A contradiction: a callback that did not reach the petitioner cannot say whether it was solved.
            other = action.fields[when[0]]
            label, label_en = field.label or name, field.label_in("en") or name
            if_zh, if_en = other.label or field.required_if, other.label_in("en") or field.required_if
            errors.append(
                {
                    "field": name,
                    "message": f"{if_zh}选「否」时不能填写{label}",
                    "message_en": f"{label_en} cannot be given when {if_en} is no",
                }
            )
    if errors:
        raise InvalidInput(f"「{action.label}」的输入有误", f'invalid input for "{action.label_in("en")}"', errors)
    return payload, refs


def fire(
    session: Session,
    runtime: Runtime,
    *,
    case: Case,
    action: str,
    actor: User,
    payload: dict[str, Any] | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> CaseEvent:
    """Take one action on a case: `check_action`, then `apply_action`, then the event and the case's new
    facts. The caller's transaction commits it, or nothing at all."""
    now = now or runtime.now()
    ctx, definition = check_action(
        session,
        runtime,
        case=case,
        action=action,
        actor=actor,
        payload=payload,
        expected_version=expected_version,
        now=now,
    )
    from_state = apply_action(ctx, definition)
    values = ctx.payload or {}  # after the effects: an event may record what they looked up (a handler's name)
    event = CaseEvent(
        case_id=case.id,  # type: ignore[arg-type]
        action=action,
        from_state=from_state,
        to_state=case.state,
        actor_id=actor.id,
        at=now,
        payload=values,
    )
    # Every action bumps the version, even one that changes no column (a note), so a writer holding
    # an older version is refused and the timeline stays a chain.
    flag_modified(case, "state")
    case_no = case.case_no  # a failed flush expires the object; keep what the message needs
    session.add(case)
    session.add(event)
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersion(
            f"诉求 {case_no} 同时被他人修改，请刷新后重试", "the case was changed concurrently; reload and retry"
        ) from None
    # Only the writer that won the version check records the case's new facts for reports.
    previous = current_state(session, case.id)  # type: ignore[arg-type]
    record_state(
        session,
        state_after(case, ctx.clocks.values(), now, previous=previous, effects=definition.effects),
        previous,
    )
    return event


def check_action(
    session: Session,
    runtime: Runtime,
    *,
    case: Case,
    action: str,
    actor: User,
    payload: dict[str, Any] | None,
    expected_version: int | None,
    now: datetime,
) -> tuple[ActionContext, ActionDef]:
    """The check half of an action: visibility, the action's existence, the version, role, department scope,
    state, input and guards. Writes nothing; raises NotFound, Forbidden, InvalidInput, or a 409: StaleVersion
    (expected_version is not the case's), NotAllowedNow (not from this state), RefusedByRule (a guard said no).
    Returns the context (validated payload and looked-up records) that `apply_action` takes."""
    workflow: WorkflowDef = runtime.workflows.get(case.workflow)
    if is_hidden_from(case, actor):
        raise NotFound(f"诉求 {case.case_no} 不存在", "no such case")
    definition = workflow.actions.get(action)
    if definition is None:
        raise NotFound(
            f"流程 {workflow.name} 没有动作 {action}",
            f"workflow {workflow.name!r} has no action {action!r}",
            actions=sorted(workflow.actions),
        )
    if expected_version is not None and expected_version != case.version:
        raise StaleVersion(
            # For people, not version numbers; the API's detail keeps both (current_version, your_version).
            "该件已被他人更新（例如刚刚已派单或签收），请查看最新状态后再操作",
            "someone else has just updated this case, e.g. dispatched or accepted it: "
            "look at its current state before you act",
            current_version=case.version,
            your_version=expected_version,
        )
    if actor.role not in definition.roles:
        raise Forbidden(
            f"{role_label(actor.role)}不能执行「{definition.label}」；可执行的角色：{role_labels(definition.roles)}",
            f'the {role_label(actor.role, "en")} role may not do "{definition.label_in("en")}"; '
            f"allowed roles: {role_labels(definition.roles, 'en')}",
            allowed=list(definition.roles),  # the codes, for API clients
        )
    scope = _scope_problem(session, case, actor, definition)
    if scope:
        raise Forbidden(scope)
    if case.state not in definition.from_:
        allowed = [a["action"] for a in available_actions(session, runtime, case, actor, now)]
        raise NotAllowedNow(
            f"当前状态「{workflow.states[case.state].label}」不能执行「{definition.label}」",
            f"cannot {action} in state {case.state!r}",
            state=case.state,
            allowed_actions=allowed,
        )
    today = now.astimezone(ZoneInfo(runtime.settings.timezone)).date()
    values, refs = validate_input(session, action, definition, payload or {}, case, today)
    ctx = _context(session, runtime, case, actor, action, now)
    ctx.payload, ctx.refs = values, refs
    problem = _guard_problem(ctx, definition)
    if problem:
        problem.detail.update(
            state=case.state,
            allowed_actions=[a["action"] for a in available_actions(session, runtime, case, actor, now)],
        )
        raise problem
    return ctx, definition


def apply_action(ctx: ActionContext, definition: ActionDef) -> str:
    """The write half of an action, once it has been checked: run its effects on `ctx.case`, move the case to
    the action's target state and move the clocks. Touches only the objects in `ctx` (no query), so live
    actions (`fire`) and the ledger importer's replay of historical steps share it. Returns the state the case
    was in before."""
    case = ctx.case
    from_state = case.state
    for name in definition.effects:
        EFFECTS[name](ctx)
    if definition.to and definition.to != from_state:
        case.state = definition.to
        case.state_changed_at = ctx.now
    apply_clocks(ctx, final=ctx.workflow.is_final(case.state))
    return from_state


def start_intake_clocks(session: Session, runtime: Runtime, case: Case, actor: User) -> list[CaseClock]:
    """Start the clocks a new case starts on intake and set its due columns, before its first INSERT
    (so intake is one INSERT, not an INSERT and an UPDATE). The caller adds them once the case has an id."""
    ctx = ActionContext(
        session=session,
        case=case,
        workflow=runtime.workflows.get(case.workflow),
        action=INTAKE,
        actor=actor,
        now=case.received_at,
        calendar=runtime.calendar(session),
        clocks={},
    )
    apply_clocks(ctx, final=False)
    return list(ctx.clocks.values())


def record_intake(
    session: Session, case: Case, actor: User, clocks: list[CaseClock], payload: dict[str, Any]
) -> CaseEvent:
    """The first event of a case (it enters its workflow's initial state), and its intake clocks."""
    for clock in clocks:
        clock.case_id = case.id  # type: ignore[assignment]
        session.add(clock)
    session.add(state_after(case, clocks, case.received_at))
    event = CaseEvent(
        case_id=case.id,  # type: ignore[arg-type]
        action=INTAKE,
        from_state=None,
        to_state=case.state,
        actor_id=actor.id,
        at=case.received_at,
        payload=payload,
    )
    session.add(event)
    return event
