"""Named guards that a workflow file puts on its actions. Each returns None to allow, or the reason not.

A guard that needs the action's input returns None while the engine only lists possible actions
(payload is None); it is checked for real when the action fires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from grievance.errors import Conflict, NothingToChange
from grievance.glossary import Role
from grievance.workflow.context import ActionContext
from grievance.workflow.definition import RESOLVE_CLOCK

# A reason is "中文 (English)", or (Chinese, English) when it quotes what people typed (a node's name).
Check = Callable[[ActionContext], str | tuple[str, str] | None]


@dataclass(frozen=True)
class Guard:
    """A guard and the names of the workflow file it relies on; the loader refuses an action that uses the
    guard in a workflow lacking one of them, naming the file and line."""

    check: Check
    settings: tuple[str, ...]  # workflow settings the guard reads; the loader insists they exist
    fields: tuple[str, ...] = ()  # input fields it reads; the loader insists the action requires them
    clocks: tuple[str, ...] = ()  # clocks it reads; the loader insists the workflow defines them
    roles: tuple[str, ...] = ()  # roles it lets through; the loader insists the action lists them
    # The case page shows an action this guard refuses as unavailable, with the reason (办结 while nodes are open):
    # the action applies to the case but waits for something. A guard without it means the action does not apply
    # here (not a key case, no request pending): the page leaves the action out (engine.unavailable_actions).
    shown: bool = False
    # The refusal's error (its code) when not the usual RefusedByRule (409 refused_by_rule).
    error: type[Conflict] | None = None


GUARDS: dict[str, Guard] = {}


def guard(
    *settings: str,
    fields: tuple[str, ...] = (),
    clocks: tuple[str, ...] = (),
    roles: tuple[str, ...] = (),
    shown: bool = False,
    error: type[Conflict] | None = None,
) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        GUARDS[fn.__name__] = Guard(fn, settings, fields, clocks, roles, shown, error)
        return fn

    return register


@guard("return_window_working_days", shown=True)
def within_return_window(ctx: ActionContext) -> str | None:
    days = ctx.workflow.setting("return_window_working_days")
    dispatched = ctx.case.dispatched_at
    if dispatched and ctx.now >= ctx.calendar.add(dispatched, days, "working_days"):
        return f"退单须在派单后{days:g}个工作日内提出 (returns are allowed within {days:g} working days of dispatch)"
    return None


@guard("max_dispatches", shown=True)
def below_dispatch_limit(ctx: ActionContext) -> str | None:
    limit = int(ctx.workflow.setting("max_dispatches"))
    if ctx.case.dispatch_count >= limit:
        return (
            f"已派单{ctx.case.dispatch_count}次，不能再退单，由督办员指定承办单位 "
            f"(after {limit} dispatches no return is allowed; the supervisor designates the department)"
        )
    return None


@guard(fields=("department_id",))
def not_accused_department(ctx: ActionContext) -> str | None:
    if ctx.payload is None:
        return None
    target = ctx.payload.get("department_id")
    if target is not None and target == ctx.case.accused_department_id:
        return "举报件不能派给被举报单位 (a report cannot be sent to the department it accuses)"
    return None


@guard(shown=True)
def actor_has_department(ctx: ActionContext) -> str | None:
    if ctx.actor.department_id is None:
        return "您的账号未关联承办单位 (your account belongs to no department)"
    if ctx.actor.department_id == ctx.case.accused_department_id:
        return "被举报单位不能认领该件 (the accused department cannot claim this case)"
    return None


@guard(shown=True)
def no_pending_extension(ctx: ActionContext) -> str | None:
    if ctx.case.pending_extension_days is not None:
        return "已有待审批的延期申请 (an extension request is already pending)"
    return None


@guard()
def has_pending_extension(ctx: ActionContext) -> str | None:
    if ctx.case.pending_extension_days is None:
        return "没有待审批的延期申请 (no extension request is pending)"
    return None


@guard(clocks=(RESOLVE_CLOCK,), shown=True)
def before_resolve_due(ctx: ActionContext) -> str | None:
    """Extensions are asked and approved before the resolve due time (DOMAIN.md, 信访工作条例 Art. 34), whatever
    the clock's state. A clock paused before its due time stands still, its due time still ahead (it moves on
    resume). A clock already past due when the case was suspended is not paused (clocks.apply_clocks) and stays
    overdue; one paused past due by older code is refused too."""
    clock = ctx.clocks.get(RESOLVE_CLOCK)
    if clock is None or clock.stopped_at is not None:
        return "办结时限未在计时 (the resolve clock is not running)"
    passed = clock.paused_at >= clock.due_at if clock.paused_at is not None else ctx.now >= clock.due_at
    if passed:
        return "已超过办结时限，不能再申请或批准延期 (extensions must be asked and approved before the due time)"
    return None


@guard("max_extension_days", fields=("days",), clocks=(RESOLVE_CLOCK,))
def extension_within_limit(ctx: ActionContext) -> str | None:
    """At most max_extension_days in total, counted in the resolve clock's unit (working or calendar days)."""
    if ctx.payload is None:
        return None
    limit = int(ctx.workflow.setting("max_extension_days"))
    clock = ctx.clocks.get(RESOLVE_CLOCK)
    used = clock.extended_days if clock else 0
    if used + int(ctx.payload["days"]) > limit:
        return f"延期合计不能超过{limit}天，已延期{used}天 (extensions total at most {limit} days; {used} used)"
    return None


@guard(shown=True)
def callback_reached_or_answered_on_spot(ctx: ActionContext) -> str | None:
    if ctx.case.callback_reached or ctx.case.outcome == "answered_on_spot":
        return None
    return "归档前须完成回访并联系到诉求人 (close needs a callback that reached the petitioner)"


@guard()
def callback_unsatisfied(ctx: ActionContext) -> str | None:
    c = ctx.case
    if c.callback_reached and (c.callback_solved is False or c.satisfaction == "unsatisfied"):
        return None
    return "只有回访不满意或未解决的件才能重办 (only cases with an unsatisfied callback are reopened)"


@guard(fields=("into",))
def merge_target_valid(ctx: ActionContext) -> str | None:
    """The target is another case that is not itself a duplicate. It reads the target's row as locked by the
    engine (engine._lock_referenced_cases), so two opposite merges at once cannot both pass."""
    target = ctx.refs.get("into")
    if target is None:
        return None
    if target.id == ctx.case.id:
        return "不能合并到自身 (a case cannot be merged into itself)"
    if target.duplicate_of_id is not None:
        return f"{target.case_no} 本身已被合并 (that case is itself a merged duplicate)"
    return None


@guard("review_window_days", shown=True)
def within_review_window(ctx: ActionContext) -> str | None:
    days = ctx.workflow.setting("review_window_days")
    # Like every calendar-day limit: until the end of the Nth day after the opinion was given.
    if ctx.now >= ctx.calendar.add(ctx.case.state_changed_at, days, "days"):
        return f"复查（复核）须在收到意见后{days:g}日内提出 (review must be asked within {days:g} days)"
    return None


@guard("max_dispatches", roles=(Role.supervisor.value,), shown=True)
def supervisor_designates_after_limit(ctx: ActionContext) -> str | None:
    """The last allowed routing (the max_dispatches-th) is the supervisor's designation (指定承办),
    after which the department may not return the case (below_dispatch_limit)."""
    limit = int(ctx.workflow.setting("max_dispatches"))
    if ctx.case.dispatch_count >= limit - 1 and ctx.actor.role != Role.supervisor:
        return (
            f"已派单{ctx.case.dispatch_count}次，第{limit}次须由督办员指定承办单位 "
            f"(dispatch number {limit} is the supervisor's designation; the supervisor designates the department)"
        )
    return None


@guard(fields=("handler_id",))
def handler_takes_for_self(ctx: ActionContext) -> str | None:
    """A head gives a case to any handler of the department, and may give it to another later (改派); a handler
    takes an unassigned case for themselves only (我来办), never a colleague's. Giving a case to whoever already
    has it is refused. Before the input is known (the engine listing what an actor may do) only the first two
    rules apply, so a handler is not offered 我来办 on a case someone has."""
    case = ctx.case
    if ctx.actor.role == Role.handler and case.assignee_id == ctx.actor.id:
        return "该件已由您承办 (the case is already yours)"
    if ctx.actor.role == Role.handler and case.assignee_id is not None:
        return "该件已分派给其他承办人，请由单位负责人改派 (the case is assigned to a colleague; the head reassigns it)"
    if ctx.payload is None:
        return None
    target = ctx.payload.get("handler_id")
    if ctx.actor.role == Role.handler and target != ctx.actor.id:
        return "承办人只能把件分派给自己，分派给他人须由单位负责人操作 (a handler takes a case only for themselves)"
    if target is not None and target == case.assignee_id:
        return "该件已由此承办人办理 (the case is already assigned to this handler)"
    return None


@guard()
def has_assignee(ctx: ActionContext) -> str | None:
    if ctx.case.assignee_id is None:
        return "该件尚未分派给承办人 (the case is not assigned to a handler)"
    return None


# ---------------------------------------------------------------------------------------------------- key cases
# Key cases (重点件) and their plan of nodes: grievance/keycases. The node guards read the database only for a key
# case, so a plain case's page asks nothing more.


@guard()
def not_key_case(ctx: ActionContext) -> str | None:
    if ctx.case.key_reason is not None:
        return "该件已是重点件，如需更换包案领导请用「指定包案领导」 (the case is already key; change its lead leader instead)"
    return None


@guard()
def is_key_case(ctx: ActionContext) -> str | None:
    if ctx.case.key_reason is None:
        return "该件不是重点件 (the case is not a key case)"
    return None


@guard(fields=("lead_leader_id",), error=NothingToChange)
def lead_leader_changes(ctx: ActionContext) -> str | None:
    """Giving a key case the lead leader it already has changes nothing: refused (409 nothing_to_change), no event."""
    if ctx.payload is None:
        return None
    if ctx.payload.get("lead_leader_id") == ctx.case.lead_leader_id:
        return "该件的包案领导已是此人，无需更改 (the case already has this lead leader; nothing to change)"
    return None


@guard()
def no_node_plan_yet(ctx: ActionContext) -> str | None:
    """The department holding the case has set no plan yet: an earlier department's nodes (withdrawn when the case
    left it, or completed then) are history and do not count (keycases.plan.current_plan)."""
    from grievance.keycases.plan import current_plan

    if ctx.session is not None and current_plan(ctx.session, ctx.case):
        return "节点计划已设定，调整须申请并经督办员批准 (the plan is set; a change needs the supervisor's approval)"
    return None


@guard()
def has_node_plan(ctx: ActionContext) -> str | None:
    """The department holding the case has set its plan (keycases.plan.current_plan: history does not count)."""
    from grievance.keycases.plan import current_plan

    if ctx.session is None or not current_plan(ctx.session, ctx.case):
        return "尚未设定节点计划 (no plan of nodes is set yet)"
    return None


@guard()
def has_open_nodes(ctx: ActionContext) -> str | tuple[str, str] | None:
    """A node is open to complete; when the action fires, the node named is open: one already completed is refused
    saying when (409, not a field error), as is one removed or withdrawn."""
    from grievance.keycases.plan import node_not_open, open_nodes

    node = ctx.refs.get("node") if ctx.payload is not None else None
    refused = node_not_open(node, ctx.calendar) if node is not None else None
    if refused is not None:
        return refused
    if ctx.session is None or ctx.case.id is None or not open_nodes(ctx.session, ctx.case.id):
        return "没有进行中的节点 (no open node)"
    return None


@guard()
def own_node(ctx: ActionContext) -> str | tuple[str, str] | None:
    """Whose node it is (`scope: case` has let in the lead and the assisting departments): the lead's people complete
    any node; an assisting department's people the nodes whose responsible department is theirs. Listing actions
    (no payload), an assisting department is offered the action only while one of its own nodes is open."""
    from grievance.keycases.plan import node_owner_problem

    return node_owner_problem(
        ctx.session, ctx.case, ctx.actor, ctx.refs.get("node") if ctx.payload is not None else None
    )


@guard(shown=True)
def no_pending_node_change(ctx: ActionContext) -> str | None:
    from grievance.keycases.plan import pending_change

    if ctx.session is not None and ctx.case.id is not None and pending_change(ctx.session, ctx.case.id):
        return "已有待审批的节点调整申请 (a change to the plan is already waiting for approval)"
    return None


@guard()
def has_pending_node_change(ctx: ActionContext) -> str | None:
    from grievance.keycases.plan import pending_change

    if ctx.session is None or ctx.case.id is None or pending_change(ctx.session, ctx.case.id) is None:
        return "没有待审批的节点调整申请 (no change to the plan is waiting)"
    return None


@guard(shown=True)
def no_open_nodes(ctx: ActionContext) -> tuple[str, str] | None:
    """A key case resolves only once every node of its plan is done; the refusal names the open ones."""
    from grievance.keycases.plan import open_node_problem

    return open_node_problem(ctx.session, ctx.case)


# ------------------------------------------------------------------------------------- lead and assisting departments
# Lead and assisting departments (主办 / 协办): grievance/keycases/parts.py. `scope: part` has already made sure the
# actor's department has an open part; these say which state it must be in.


@guard()
def assisting_departments_allowed(ctx: ActionContext) -> tuple[str, str] | None:
    """The assisting departments named (refs, when the action fires) are neither the accused department of a report,
    nor the lead department, nor one already assisting on the case."""
    from grievance.keycases.parts import assisting_problem

    if ctx.payload is None:
        return None
    return assisting_problem(ctx)


@guard()
def part_to_accept(ctx: ActionContext) -> str | None:
    from grievance.keycases.parts import PartStatus, actor_part

    part = actor_part(ctx)
    if part is None or part.status != PartStatus.dispatched:
        return "协办任务已签收 (your department's part is already accepted)"
    return None


@guard()
def part_accepted(ctx: ActionContext) -> str | None:
    from grievance.keycases.parts import PartStatus, actor_part

    part = actor_part(ctx)
    if part is None or part.status != PartStatus.accepted:
        return "请先签收协办任务 (accept your department's part first)"
    return None


@guard()
def has_open_parts(ctx: ActionContext) -> str | None:
    from grievance.keycases.parts import open_parts

    if ctx.session is None or ctx.case.id is None or not open_parts(ctx.session, ctx.case.id):
        return "没有进行中的协办任务 (no open part of an assisting department)"
    return None


@guard(shown=True)
def no_open_parts(ctx: ActionContext) -> tuple[str, str] | None:
    """The lead resolves only once every assisting department's part is reported (or waived); the refusal names the
    departments still open."""
    from grievance.keycases.parts import open_part_problem

    return open_part_problem(ctx.session, ctx.case)


# The weekly dispatch (每周调度, issue 12): a decision names the ISO week of its meeting (grievance/keycases/dispatch.py).
@guard(fields=("week",))
def dispatch_week_valid(ctx: ActionContext) -> tuple[str, str] | None:
    """The decision's week is an ISO week ("2025-W42"; "2025-w42" and "2025-W5" are read as such) from the week the
    case became key to the current one. A valid week is stored canonical: the guard rewrites the payload's `week`
    to "2025-W42" (the form every sheet reads), so the event keeps that."""
    from grievance.keycases.dispatch import key_since, parse_week, week_problem

    if ctx.payload is None:
        return None
    problem = week_problem(ctx.payload.get("week"), ctx.now, str(ctx.calendar.tz), key_since(ctx.case))
    if problem is None:
        ctx.payload["week"] = parse_week(ctx.payload["week"]).key
    return problem


@guard(fields=("decision_event",))
def dispatch_decision_withdrawable(ctx: ActionContext) -> tuple[str, str] | None:
    """`decision_event` is the event id of a dispatch decision recorded on this case and not withdrawn yet."""
    from sqlmodel import col, select

    from grievance.cases.models import CaseEvent
    from grievance.keycases.dispatch import DECISION_ACTION

    if ctx.payload is None:
        return None
    wanted = ctx.payload.get("decision_event")
    found = ctx.session.get(CaseEvent, wanted) if ctx.session is not None and isinstance(wanted, int) else None
    if found is None or found.case_id != ctx.case.id or found.action != DECISION_ACTION:
        return (
            f"事件 {wanted} 不是该件的调度决定",
            f"event {wanted} is not a dispatch decision of this case",
        )
    earlier = ctx.session.exec(
        select(CaseEvent).where(CaseEvent.case_id == ctx.case.id, col(CaseEvent.action) == ctx.action)
    ).all()
    if any((e.payload or {}).get("decision_event") == wanted for e in earlier):
        return f"调度决定（事件 {wanted}）已撤回", f"the dispatch decision (event {wanted}) is already withdrawn"
    return None
