"""Named effects that a workflow file attaches to its actions: what an action writes on the case.

The engine has already validated the input and checked the guards; an effect only records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


def _withdraw_nodes(ctx: ActionContext, note: str) -> None:
    """A key case leaving its department (return, re-dispatch, claim): that department's open nodes are withdrawn,
    their clocks stopped, and a pending change to its plan too (keycases.plan.withdraw_open); the new department
    sets a plan of its own. The event lists them (payload `withdrawn_nodes`)."""
    if ctx.case.key_reason is None or ctx.case.id is None or ctx.session is None:
        return
    from grievance.keycases import plan

    withdrawn = plan.withdraw_open(ctx, note)
    if withdrawn and ctx.payload is not None:
        ctx.payload["withdrawn_nodes"] = withdrawn


@effect("department_id")
def assign_department(ctx: ActionContext) -> None:
    case = ctx.case
    _leaves_department(case)
    if case.department_id is not None and case.department_id != _payload(ctx)["department_id"]:
        _withdraw_nodes(ctx, "改派撤回 (withdrawn on re-dispatch)")
    case.department_id = _payload(ctx)["department_id"]
    case.dispatched_at = ctx.now
    case.accepted_at = None
    case.dispatch_count += 1


@effect()
def claim_for_department(ctx: ActionContext) -> None:
    case = ctx.case
    _leaves_department(case)
    if case.department_id is not None and case.department_id != ctx.actor.department_id:
        _withdraw_nodes(ctx, "认领撤回 (withdrawn on claim)")
    case.department_id = ctx.actor.department_id
    case.dispatched_at = ctx.now
    case.accepted_at = ctx.now
    case.dispatch_count += 1


@effect()
def record_accept(ctx: ActionContext) -> None:
    ctx.case.accepted_at = ctx.now


@effect()
def record_return(ctx: ActionContext) -> None:
    # The case leaves the department's queue and goes back to the dispatch centre. Its open assisting parts (协办,
    # keycases/parts.py) are withdrawn: the next dispatch names its assisting departments afresh.
    ctx.case.department_id = None
    ctx.case.accepted_at = None
    _leaves_department(ctx.case)
    if ctx.case.id is not None and ctx.session is not None:
        from grievance.keycases import parts

        # No autoflush: the case's changes above are flushed once, by the engine (one version bump per action).
        with ctx.session.no_autoflush:
            withdrawn = parts.close_open(ctx, parts.PartStatus.withdrawn, "退单撤回 (withdrawn on return)")
        if withdrawn and ctx.payload is not None:
            ctx.payload["withdrawn_parts"] = withdrawn
    _withdraw_nodes(ctx, "退单撤回 (withdrawn on return)")


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
    merged_in: dict[str, Any] = {"case_no": ctx.case.case_no, **_merge_key_case(ctx, target)}
    ctx.session.add(
        CaseEvent(
            case_id=target.id,
            action=MERGED_IN,
            from_state=target.state,
            to_state=target.state,
            actor_id=ctx.actor.id,
            at=ctx.now,
            payload=merged_in,
        )
    )


def _merge_key_case(ctx: ActionContext, target: Case) -> dict[str, Any]:
    """A case merged as a duplicate, its key-case side (issue 12). A key case's target that is not key becomes key
    with the same reason, note and lead leader (key from now); a key target keeps its own (the merge form warned).
    The merged case's open nodes (and a pending plan change: keycases.plan.withdraw_open) and open assisting parts
    are withdrawn, their clocks stopped. The merge's event says what was carried (`key_carried`: reason and lead leader) and withdrawn
    (`withdrawn_nodes`, `withdrawn_parts`); the returned fields go into the target's MERGED_IN event."""
    from grievance.keycases import parts, plan

    case, p = ctx.case, _payload(ctx)
    carried: dict[str, Any] = {}
    if case.key_reason is not None and target.key_reason is None:
        target.key_reason, target.key_note = case.key_reason, case.key_note
        target.lead_leader_id, target.key_marked_at = case.lead_leader_id, ctx.now
        leader = ctx.session.get(User, case.lead_leader_id) if case.lead_leader_id else None
        carried = {"reason": case.key_reason, "lead_leader_id": case.lead_leader_id}
        if leader is not None:
            carried["lead_leader"] = leader.display_name
        p["key_carried"] = carried
    withdrawn = plan.withdraw_open(ctx, "合并撤回 (withdrawn on merge)")  # a pending plan change too
    if withdrawn:
        p["withdrawn_nodes"] = withdrawn
    with ctx.session.no_autoflush:  # the case's own changes are flushed once, by the engine
        closed = parts.close_open(ctx, parts.PartStatus.withdrawn, "合并撤回 (withdrawn on merge)")
        if closed:
            p["withdrawn_parts"] = closed
    return {"key_carried": carried} if carried else {}


@effect()
def record_close(ctx: ActionContext) -> None:
    ctx.case.closed_at = ctx.now


# ---------------------------------------------------------------------------------------------------- key cases
# Key cases (重点件) and their plan of nodes (节点): grievance/keycases. The engine has checked the lead leader (a
# "leader" field), the plan rows ("nodes"), the node ("node") and the files ("attachments"); refs hold them.


@effect("reason", "lead_leader_id")
def mark_key(ctx: ActionContext) -> None:
    """The case becomes key for `reason` (KeyReason; `note` says why when the reason is other), under the lead
    leader; the event keeps the leader's name as it was (payload `lead_leader`)."""
    p = _payload(ctx)
    leader: User = ctx.refs["lead_leader_id"]
    case = ctx.case
    case.key_reason = p["reason"]
    case.key_note = (p.get("note") or "")[:500] or None  # the column holds 500
    case.lead_leader_id = leader.id
    case.key_marked_at = ctx.now
    p["lead_leader"] = leader.display_name


@effect("lead_leader_id")
def set_lead_leader(ctx: ActionContext) -> None:
    """A key case gets its lead leader (an inspection referral, key from intake) or another one; the event names
    both (payload `lead_leader`, `previous_leader`)."""
    leader: User = ctx.refs["lead_leader_id"]
    previous = ctx.session.get(User, ctx.case.lead_leader_id) if ctx.case.lead_leader_id else None
    p = _payload(ctx)
    p["lead_leader"] = leader.display_name
    if previous is not None:
        p["previous_leader"] = previous.display_name
    ctx.case.lead_leader_id = leader.id


@effect("nodes")
def set_node_plan(ctx: ActionContext) -> None:
    """The first plan of nodes takes effect at once: nodes 1..n, each with its clock (keycases.plan)."""
    from grievance.keycases import plan

    p = _payload(ctx)
    p["nodes"] = plan.set_first_plan(ctx, p["nodes"])
    _plan_warnings(ctx, p["nodes"])


def _plan_warnings(ctx: ActionContext, rows: list[dict]) -> None:
    """A plan accepted with a caveat (a node due in a year the calendar does not know, or after the case's resolve
    due time): the event's `warnings` ([{field, message, message_en}]), which the API's answer and the page's
    notice show (keycases.plan.plan_warnings)."""
    from grievance.keycases import plan

    warnings = plan.plan_warnings(ctx.session, ctx.clocks, ctx.calendar, rows)
    if warnings:
        _payload(ctx).setdefault("warnings", []).extend(warnings)


@effect("nodes", "reason")
def propose_node_plan(ctx: ActionContext) -> None:
    """A later plan waits for the supervisor (NodePlanChange, pending); the current plan stays in force."""
    from grievance.keycases import plan
    from grievance.keycases.models import NodePlanChange

    p = _payload(ctx)
    change = NodePlanChange(
        case_id=ctx.case.id,  # type: ignore[arg-type]
        reason=p["reason"],
        plan=p["nodes"],
        proposed_at=ctx.now,
        proposed_by_id=ctx.actor.id,
    )
    ctx.session.add(change)
    ctx.session.flush()
    p["change_id"] = change.id
    _plan_warnings(ctx, plan.proposed_dues(ctx, p["nodes"]))


@effect()
def approve_node_plan(ctx: ActionContext) -> None:
    """The pending change becomes the plan (keycases.plan.apply_change); the event lists the plan now in force."""
    from grievance.keycases import plan

    change = plan.pending_change(ctx.session, ctx.case.id)  # type: ignore[arg-type]
    assert change is not None  # guard has_pending_node_change
    written, ignored = plan.apply_change(ctx, change)
    change.status, change.decided_at, change.decided_by_id = "approved", ctx.now, ctx.actor.id
    change.decision_note = (ctx.payload or {}).get("note", "")
    ctx.session.add(change)
    p = _payload(ctx)
    p["change_id"], p["nodes"] = change.id, written
    if ignored:
        # Completed while the change waited: they stay completed, their proposed rows are ignored (docs M2).
        p["kept_completed"] = ignored
        p.setdefault("warnings", []).append(plan.kept_completed_warning(ignored))
    _plan_warnings(ctx, written)


@effect()
def reject_node_plan(ctx: ActionContext) -> None:
    from grievance.keycases import plan

    change = plan.pending_change(ctx.session, ctx.case.id)  # type: ignore[arg-type]
    assert change is not None  # guard has_pending_node_change
    change.status, change.decided_at, change.decided_by_id = "rejected", ctx.now, ctx.actor.id
    change.decision_note = (ctx.payload or {}).get("note", "")
    ctx.session.add(change)
    _payload(ctx)["change_id"] = change.id


@effect("node", "note")
def complete_node(ctx: ActionContext) -> None:
    """A node is done with a note and files (required when the node says so); its clock stops. The event keeps the
    node's number and name (payload `node`, `node_name`) and the file names."""
    from grievance.keycases import plan

    p = _payload(ctx)
    node = ctx.refs["node"]
    files = ctx.refs.get("attachment_ids", [])
    plan.complete(ctx, node, p["note"], files)
    p["node"], p["node_name"] = node.seq, node.name
    if files:
        p["files"] = [a.filename for a in files]


# ------------------------------------------------------------------------------------- lead and assisting departments
# Lead and assisting departments (主办 / 协办): grievance/keycases/parts.py. The engine has checked the departments
# ("departments" field: refs hold them), the actor's open part (`scope: part`) and the guards.


@effect()
def dispatch_parts(ctx: ActionContext) -> None:
    """The assisting departments of the input (optional on dispatch) each get a part with its clock; the event lists
    them (payload `parts`: [{seq, department}])."""
    from grievance.keycases import parts

    departments = ctx.refs.get("assisting_department_ids") or []
    if departments:
        with ctx.session.no_autoflush:  # the case's new department is flushed once, by the engine
            _payload(ctx)["parts"] = parts.dispatch(ctx, departments)


@effect()
def accept_part(ctx: ActionContext) -> None:
    """The actor's department accepts its part (签收); the event names it (payload `part`, `part_department`)."""
    from grievance.keycases import parts

    with ctx.session.no_autoflush:
        part = parts.actor_part(ctx)
        assert part is not None  # scope: part and guard part_to_accept
        _payload(ctx).update(parts.accept(ctx, part))


@effect("note")
def record_part_note(ctx: ActionContext) -> None:
    """A progress note on the actor's part: the event names the part (the note is the event's own input)."""
    from grievance.keycases import parts

    with ctx.session.no_autoflush:
        part = parts.actor_part(ctx)
        assert part is not None  # scope: part
        _payload(ctx).update(parts.describe(ctx, part))


@effect("note")
def report_part(ctx: ActionContext) -> None:
    """The actor's department reports its part (反馈) with the note and files; its clock stops. The event names the
    part, says whether it was on time (`on_time`) and keeps the file names (`files`)."""
    from grievance.keycases import parts

    files = ctx.refs.get("attachment_ids", [])
    p = _payload(ctx)
    with ctx.session.no_autoflush:
        part = parts.actor_part(ctx)
        assert part is not None  # scope: part and guard part_accepted
        p.update(parts.report(ctx, part, p["note"], files))
    if files:
        p["files"] = [a.filename for a in files]


@effect("reason")
def waive_parts(ctx: ActionContext) -> None:
    """The supervisor's override: every open part is waived with the reason, so the lead may resolve; the event
    lists them (payload `parts`: [{seq, department}])."""
    from grievance.keycases import parts

    p = _payload(ctx)
    with ctx.session.no_autoflush:
        p["parts"] = parts.close_open(ctx, parts.PartStatus.waived, p["reason"])
