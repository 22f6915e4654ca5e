"""Replay a ledger row as the actions that happened, at their historical times, through the workflow engine's
own `apply_action` (effects, state, clocks) and `state_after` (the facts reports read): the same events, clocks
and case states the live API would have written.

A stage the row skipped (签收 and 响应 of a resolved case; the first resolution of a reopened one) is filled in at
the time of the step that moved past it, marked in the event as inferred, so no clock is left running behind
the case. No text is invented: an empty reply stays empty.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from grievance.cases.intake import new_case
from grievance.cases.models import Case, CaseState
from grievance.cases.states import state_after
from grievance.ledger.planning import LedgerCase
from grievance.users.models import User
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.clocks import apply_clocks, refresh_next_due
from grievance.workflow.context import ActionContext
from grievance.workflow.definition import INTAKE, RESOLVE_CLOCK, RESPOND_CLOCK, WorkflowDef
from grievance.workflow.engine import Runtime, apply_action

# Each ledger step is done by the workflow action that has this effect (dispatch is 受理并告知 for 信访).
STEP_EFFECTS = {
    "dispatch": "assign_department",
    "accept": "record_accept",
    "respond": "record_response",
    "request_extension": "request_extension",
    "approve_extension": "approve_extension",
    "resolve": "record_resolution",
    "answer_on_spot": "record_answer_on_spot",
    "callback": "record_callback",
    "reopen": "record_reopen",
    "merge": "merge_into",
    "close": "record_close",
}
ORDER = list(STEP_EFFECTS)
# Stages filled in when a later step cannot follow from the case's state (in this order of preference).
FILLS = ("accept", "respond", "resolve")
# Steps that do not move the case along its stages: applied as they are, never preceded by fills.
NO_FILL = {"dispatch", "request_extension", "approve_extension", "merge"}


@dataclass
class Step:
    at: datetime
    step: str
    payload: dict[str, Any]
    column: str  # the column that gives it
    inferred_from: str | None = None  # the column whose time it takes, when the ledger did not record it

    @property
    def key(self) -> tuple[datetime, int]:
        return (self.at, ORDER.index(self.step))


def action_for(workflow: WorkflowDef, step: str, state: str | None = None) -> str | None:
    """The workflow's action for a ledger step: the one with the step's effect, preferring one allowed from
    `state` (a petition's first routing from `received` is accept_petition; its `dispatch` re-routes)."""
    effect = STEP_EFFECTS[step]
    names = [name for name, action in workflow.actions.items() if effect in action.effects]
    if state is not None:
        allowed = [name for name in names if state in workflow.actions[name].from_]
        if not allowed:
            return None
        names = allowed
    if step in names:
        return step
    return names[0] if names else None


def steps_of(item: LedgerCase, department_id: int | None) -> list[Step]:
    """The actions the row records (or implies: item.inferred), in time order."""
    t, v = item.times, item.values
    steps: list[Step] = []

    def add(at: datetime | None, step: str, payload: dict[str, Any], column: str) -> None:
        if at is not None:
            steps.append(Step(at, step, payload, column, item.inferred.get(column)))

    if v["outcome"] == "answered_on_spot":
        add(t["resolved_at"] or t["received_at"], "answer_on_spot", {"reply": v["reply"]}, "outcome")
    else:
        add(t["dispatched_at"], "dispatch", {"department_id": department_id}, "dispatched_at")
        add(t["accepted_at"], "accept", {}, "accepted_at")
        add(t["responded_at"], "respond", {}, "responded_at")
        add(t["resolved_at"], "resolve", {"outcome": v["outcome"], "reply": v["reply"]}, "resolved_at")
    if t["callback_at"]:
        payload: dict[str, Any] = {"reached": v["callback_reached"]}
        if v["callback_reached"]:
            payload.update({k: v[k] for k in ("solved", "satisfaction") if v[k] is not None})
        add(t["callback_at"], "callback", payload, "callback_at")
    add(t["reopened_at"], "reopen", {}, "reopened_at")
    if t["closed_at"] and not v["duplicate_of"]:
        add(t["closed_at"], "close", {}, "closed_at")
    if v["duplicate_of"]:
        add(t["closed_at"] or t["received_at"], "merge", {"into": v["duplicate_of"]}, "duplicate_of")
    return sorted(steps, key=lambda s: s.key)


def _fill_path(workflow: WorkflowDef, state: str, target: str) -> list[tuple[str, str]] | None:
    """The shortest run of skipped stages (step, action) that leads from `state` to one where `target`
    (a step) is allowed; [] when it already is; None when no run of FILLS reaches one."""
    if action_for(workflow, target, state):
        return []
    queue: deque[tuple[str, list[tuple[str, str]]]] = deque([(state, [])])
    seen = {state}
    while queue:
        current, path = queue.popleft()
        for fill in FILLS:
            if fill == target:
                continue
            name = action_for(workflow, fill, current)
            if name is None:
                continue
            after = workflow.actions[name].to or current
            if after in seen:
                continue
            route = [*path, (fill, name)]
            if action_for(workflow, target, after):
                return route
            seen.add(after)
            queue.append((after, route))
    return None


@dataclass
class Replayed:
    """A row replayed: the case's columns, its events, clocks and case states (ids of the case not yet known),
    the number of the case it was merged into, and the stages filled in by column."""

    case: dict[str, Any]
    events: list[dict[str, Any]]
    # Column values, not model objects: a batch of them waits in memory, then on disk (ledger.spill), until the
    # insert; a model object costs several times its values and pickles worse (issue 13, bench/ledger_memory.py).
    clocks: list[dict[str, Any]]
    states: list[dict[str, Any]]
    duplicate_of: str | None
    filled: dict[str, int] = field(default_factory=dict)


class _DueTimes:
    """The due times a ledger gives are historical facts: they replace the computed ones when their clock
    starts (respond: its first start; resolve: the start of the round that the last resolution ended)
    and when an extension is approved."""

    def __init__(self, item: LedgerCase) -> None:
        t = item.times
        self.respond, self.resolve, self.extended = t["respond_due_at"], t["resolve_due_at"], t["extended_due_at"]
        reopened, resolved = t["reopened_at"], t["resolved_at"]
        # Reopened, then resolved again: the due time given is that of the second round.
        self.resolve_round_at = reopened if reopened and resolved and reopened < resolved else None
        self.respond_done = False

    def last_round_starts(self, ctx: ActionContext) -> bool:
        """Whether this action starts the resolve round the ledger's due times and extension belong to."""
        if self.resolve_round_at is None:
            return ctx.action == INTAKE
        return ctx.action != INTAKE and ctx.now == self.resolve_round_at

    def keep(self, ctx: ActionContext, extension: bool = False) -> None:
        for name, clock in ctx.clocks.items():
            if clock.stopped_at is not None:
                continue
            due = None
            if extension and name == RESOLVE_CLOCK:
                due = self.extended
            elif clock.started_at == ctx.now and name == RESPOND_CLOCK and not self.respond_done:
                due, self.respond_done = self.respond, True
            elif clock.started_at == ctx.now and name == RESOLVE_CLOCK and self.last_round_starts(ctx):
                due = self.resolve
            if due is None:
                continue
            if not extension:
                clock.base_due_at = due
            clock.due_at = due
            clock.warn_at = min(clock.warn_at, due)
        refresh_next_due(ctx.case, ctx.clocks.values())


def _extension_steps(item: LedgerCase, ctx: ActionContext, calendar: WorkCalendar, after: datetime) -> list[Step]:
    """An approved extension of the last resolve round is asked and approved just before that round's due time
    (or its resolution, if earlier): the latest moment the rules allow, so no report counts it before it could
    have existed."""
    extended = item.times["extended_due_at"]
    clock = ctx.clocks.get(RESOLVE_CLOCK)
    if extended is None or clock is None or clock.stopped_at is not None:
        return []
    unit = clock.limit_text.split(" ", 1)[1]
    if unit == "working_days":
        days = max(1, round(calendar.working_seconds_between(clock.due_at, extended) / 86400))
    else:
        days = max(1, (extended - clock.due_at).days)
    resolved = item.times["resolved_at"]
    approve = (min(clock.due_at, resolved) if resolved else clock.due_at) - timedelta(seconds=1)
    request_at = max(after, approve - timedelta(seconds=1))
    approve = max(approve, request_at)
    return [
        # Their times are not in the ledger: marked as inferred from the extended due time.
        Step(request_at, "request_extension", {"days": days, "reason": ""}, "extended_due_at", "extended_due_at"),
        Step(approve, "approve_extension", {}, "extended_due_at", "extended_due_at"),
    ]


def _event(action: str, from_state: str | None, case: Case, actor: User, step: Step) -> dict[str, Any]:
    payload = {k: v for k, v in step.payload.items() if v not in (None, "")}
    if step.inferred_from:
        payload["inferred_from"] = step.inferred_from
    return {
        "action": action,
        "from_state": from_state,
        "to_state": case.state,
        "actor_id": actor.id,
        "at": step.at,
        "payload": payload,
    }


def replay(
    item: LedgerCase,
    runtime: Runtime,
    calendar: WorkCalendar,
    refs: dict[str, dict[Any, int]],
    actor: User,
) -> Replayed:
    """The row as the case it became: built by `new_case`, then each step applied with `apply_action` at its
    time. `refs` gives the ids of the departments (承办单位, 被举报单位), station, meeting and enterprise each row
    names."""
    v, t = item.values, item.times
    received = t["received_at"]
    assert received is not None
    workflow = runtime.workflows.select(channel=v["channel"], case_type=v["case_type"])
    case = new_case(
        workflow=workflow,
        case_no=item.case_no,
        received_at=received,
        channel=v["channel"],
        case_type=v["case_type"],
        urgency=v["urgency"],
        title=v["title"],
        description=v["description"],
        petitioner_name=v["petitioner_name"],
        petitioner_phone=v["petitioner_phone"],
        petitioner_kind="enterprise" if item.enterprise else "resident",
        enterprise_id=refs["enterprise"].get(item.enterprise) if item.enterprise else None,
        meeting_id=refs["meeting"].get(item.meeting) if item.meeting else None,
        station_id=refs["station"].get(item.station) if item.station else None,
        category_id=item.category_id if item.category_path is None else refs["category"].get(item.category_path),
        accused_department_id=refs["department"].get(item.accused_department) if item.accused_department else None,
        created_by_id=actor.id,
    )
    ctx = ActionContext(
        session=None,  # type: ignore[arg-type]  # effects and clocks work on the objects only
        case=case,
        workflow=workflow,
        action=INTAKE,
        actor=actor,
        now=received,
        calendar=calendar,
        clocks={},
    )
    apply_clocks(ctx, final=False)
    due_times = _DueTimes(item)
    due_times.keep(ctx)
    intake_payload: dict[str, Any] = {"channel": case.channel, "case_type": case.case_type}
    if item.remarks:
        intake_payload["ledger_note"] = "\n".join(item.remarks)
    events = [
        {"action": INTAKE, "from_state": None, "to_state": case.state, "actor_id": actor.id, "at": received}
        | {"payload": intake_payload}
    ]
    states = [state_after(case, ctx.clocks.values(), received)]
    department_id = refs["department"].get(item.department) if item.department else None
    pending = steps_of(item, department_id)
    # The extension belongs to the last resolve round: scheduled once, when that round starts.
    extension_planned = due_times.last_round_starts(ctx)
    if extension_planned:
        pending = sorted(pending + _extension_steps(item, ctx, calendar, received), key=lambda s: s.key)
    filled: dict[str, int] = {}
    while pending:
        step = pending.pop(0)
        path = [] if step.step in NO_FILL else _fill_path(workflow, case.state, step.step)
        for fill, name in path or []:
            filled[fill] = filled.get(fill, 0) + 1
            payload = {"outcome": None, "reply": ""} if fill == "resolve" else {}
            _apply(
                ctx, workflow, name, Step(step.at, fill, payload, step.column, step.column), due_times, events, states
            )
        name = action_for(workflow, step.step, case.state) or action_for(workflow, step.step)
        assert name is not None  # checked by prepare_import
        if step.step == "dispatch" and name != "dispatch":
            step.payload = {"department_id": department_id}  # 信访's 受理并告知 routes as well
        _apply(ctx, workflow, name, step, due_times, events, states)
        if not extension_planned and step.step == "reopen" and due_times.last_round_starts(ctx):
            extension_planned = True
            pending = sorted(pending + _extension_steps(item, ctx, calendar, step.at), key=lambda s: s.key)
    row = _values(case)
    row["version"] = len(events)  # every action bumps the version, as live
    clocks = [_values(clock) for clock in ctx.clocks.values()]
    return Replayed(row, events, clocks, [_values(state) for state in states], v["duplicate_of"] or None, filled)


def _values(row: Any) -> dict[str, Any]:
    """A model object's column values without its id (the insert assigns it)."""
    return {c.name: getattr(row, c.name) for c in type(row).__table__.columns if c.name != "id"}


def _apply(
    ctx: ActionContext,
    workflow: WorkflowDef,
    name: str,
    step: Step,
    due_times: _DueTimes,
    events: list[dict[str, Any]],
    states: list[CaseState],
) -> None:
    ctx.action, ctx.now, ctx.payload, ctx.extension_days = name, step.at, dict(step.payload), 0
    # A merge's target may be in this same file: linked once every case has its id.
    ctx.refs = {"into": SimpleNamespace(id=None, case_no=step.payload.get("into"))} if step.step == "merge" else {}
    from_state = apply_action(ctx, workflow.actions[name])
    due_times.keep(ctx, extension=step.step == "approve_extension")
    events.append(_event(name, from_state, ctx.case, ctx.actor, step))
    previous = states[-1]
    previous.valid_to = step.at
    states.append(
        state_after(ctx.case, ctx.clocks.values(), step.at, previous=previous, effects=workflow.actions[name].effects)
    )
