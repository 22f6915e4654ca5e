"""Named effects that a workflow file attaches to its actions: what an action writes on the case.

The engine has already validated the input and checked the guards; an effect only records.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm.attributes import flag_modified

from grievance.cases.models import Case, CaseEvent
from grievance.users.models import User
from grievance.workflow.context import ActionContext

Effect = Callable[[ActionContext], None]
EFFECTS: dict[str, Effect] = {}
# The input fields each effect reads; the loader insists that an action using it declares them required.
EFFECT_FIELDS: dict[str, tuple[str, ...]] = {}
# The event a merge writes on the target's timeline (not a workflow action: nobody fires it).
MERGED_IN = "merged_in"


def effect(*fields: str) -> Callable[[Effect], Effect]:
    def register(fn: Effect) -> Effect:
        EFFECTS[fn.__name__] = fn
        EFFECT_FIELDS[fn.__name__] = fields
        return fn

    return register


def _payload(ctx: ActionContext) -> dict:
    assert ctx.payload is not None
    return ctx.payload


def _leaves_department(case: Case) -> None:
    # A handler works a case for their department: whenever the case changes department (dispatched, claimed,
    # returned), nobody there has it yet. A resolved or closed case keeps its handler: who did the work.
    case.assignee_id = None


@effect("department_id")
def assign_department(ctx: ActionContext) -> None:
    case = ctx.case
    _leaves_department(case)
    case.department_id = _payload(ctx)["department_id"]
    case.dispatched_at = ctx.now
    case.accepted_at = None
    case.dispatch_count += 1


@effect()
def claim_for_department(ctx: ActionContext) -> None:
    case = ctx.case
    _leaves_department(case)
    case.department_id = ctx.actor.department_id
    case.dispatched_at = ctx.now
    case.accepted_at = ctx.now
    case.dispatch_count += 1


@effect()
def record_accept(ctx: ActionContext) -> None:
    ctx.case.accepted_at = ctx.now


@effect()
def record_return(ctx: ActionContext) -> None:
    # The case leaves the department's queue and goes back to the dispatch centre.
    ctx.case.department_id = None
    ctx.case.accepted_at = None
    _leaves_department(ctx.case)


@effect("handler_id")
def assign_handler(ctx: ActionContext) -> None:
    """The case goes to one person of its department (承办人). The engine has checked that `handler_id` names an
    active handler of the case's department (a field of type "handler"); the event keeps the handler's name as
    it was (payload `handler`), so the timeline reads who without a lookup."""
    handler: User = ctx.refs["handler_id"]
    ctx.case.assignee_id = handler.id
    _payload(ctx)["handler"] = handler.display_name


@effect()
def clear_handler(ctx: ActionContext) -> None:
    """The case goes back to its department as a whole (未分配); the event names whom it was taken from."""
    previous = ctx.session.get(User, ctx.case.assignee_id) if ctx.session and ctx.case.assignee_id else None
    if previous is not None and ctx.payload is not None:
        ctx.payload["handler"] = previous.display_name
    ctx.case.assignee_id = None


@effect()
def record_response(ctx: ActionContext) -> None:
    if ctx.case.responded_at is None:
        ctx.case.responded_at = ctx.now


@effect("outcome", "reply")
def record_resolution(ctx: ActionContext) -> None:
    p = _payload(ctx)
    case = ctx.case
    case.resolved_at = ctx.now
    case.outcome = p["outcome"]
    case.reply = p["reply"]
    # A request still pending at resolve is moot: the clock it would extend has stopped.
    case.pending_extension_days = None
    case.pending_extension_reason = ""
    case.callback_at = case.callback_reached = case.callback_solved = case.satisfaction = None


@effect("reply")
def record_answer_on_spot(ctx: ActionContext) -> None:
    case = ctx.case
    case.responded_at = case.resolved_at = ctx.now
    case.outcome = "answered_on_spot"
    case.reply = _payload(ctx)["reply"]


@effect("days", "reason")
def request_extension(ctx: ActionContext) -> None:
    p = _payload(ctx)
    ctx.case.pending_extension_days = p["days"]
    ctx.case.pending_extension_reason = p["reason"]


@effect()
def approve_extension(ctx: ActionContext) -> None:
    ctx.extension_days = ctx.case.pending_extension_days or 0
    ctx.case.pending_extension_days = None
    ctx.case.pending_extension_reason = ""


@effect()
def reject_extension(ctx: ActionContext) -> None:
    ctx.case.pending_extension_days = None
    ctx.case.pending_extension_reason = ""


@effect("reached")
def record_callback(ctx: ActionContext) -> None:
    """A callback's answers on the case. One that did not reach the petitioner is an attempt: its event is the
    record, the callback clock runs on (the workflow's `stop_if`), and it never overwrites the answers of a callback
    that reached them since the last resolution (those are what closing and the rates read, DOMAIN.md)."""
    p = _payload(ctx)
    case = ctx.case
    if not p["reached"] and case.callback_reached:
        return
    case.callback_at = ctx.now
    case.callback_reached = p["reached"]
    case.callback_solved = p.get("solved") if p["reached"] else None
    case.satisfaction = p.get("satisfaction") if p["reached"] else None


@effect()
def record_reopen(ctx: ActionContext) -> None:
    case = ctx.case
    case.reopened_at = ctx.now
    case.resolved_at = None
    case.outcome = None


@effect()
def mark_supervised(ctx: ActionContext) -> None:
    ctx.case.supervised = True


@effect()
def count_urge(ctx: ActionContext) -> None:
    ctx.case.urge_count += 1


@effect("into")
def merge_into(ctx: ActionContext) -> None:
    """The case becomes a duplicate of the target (reports count it apart). Live, the target's timeline records it
    in the same transaction (a MERGED_IN event naming this case, at the target's current state) and the target's
    version moves like with any event. A replay without a session (the ledger importer, whose target may not
    have an id yet) links the target and writes that event itself once the cases are inserted."""
    target = ctx.refs["into"]
    ctx.case.duplicate_of_id = target.id
    if ctx.session is None:
        return
    flag_modified(target, "state")
    ctx.session.add(
        CaseEvent(
            case_id=target.id,
            action=MERGED_IN,
            from_state=target.state,
            to_state=target.state,
            actor_id=ctx.actor.id,
            at=ctx.now,
            payload={"case_no": ctx.case.case_no},
        )
    )


@effect()
def record_close(ctx: ActionContext) -> None:
    ctx.case.closed_at = ctx.now
