"""Callbacks that reach us from outside the centre's telephone: the petitioner's own rating on the public tracking
page (诉求人自评) and the 12345 platform's callback result. Both are recorded through the workflow engine as the
workflow's callback action (effect record_callback), so the rates count them exactly like a callback the centre
records (DOMAIN.md, rates), marked in the event's payload as `self_reported: true` with their `source`.

The rules (README, 诉求人自评 / Petitioner rating):
- A rating is taken only after resolution (the case's resolved_at is set) and in a state from which the workflow's
  callback action may be taken (a closed or merged case is not rated).
- Once per resolution and source: a second rating of the same resolution is refused (409 already_rated). A reopened
  case that is resolved again is a new resolution and may be rated again.
- A satisfied (or basically satisfied) and solved rating is the callback: the centre's callback clock stops as it
  does for a reached callback, and the centre need not call.
- A dissatisfied rating, or one saying "not solved", counts in the rates like any reached callback, and the case
  stays on the centre's callback list (待回访) for a call: the callback clock keeps running with its due time, or,
  when the centre had already called (the clock had stopped), starts again. The list shows the rating and comment.
- Ratings are limited per client address and per case (RatingThrottle: 5 a minute and 20 an hour per address, 5 an
  hour per case): a wrong code or a retried form cannot be sent without bound."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from limits import parse_many
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from grievance.cases.models import Case, CaseEvent
from grievance.cases.public import find_by_query_code
from grievance.cases.states import current_state, record_state, state_after
from grievance.db import transaction
from grievance.errors import Conflict, InvalidInput, NotAllowedNow, NotFound, StaleVersion, TooManyAttempts
from grievance.glossary import LABELS, LABELS_EN
from grievance.throttle import address_key, retry_after, take_attempt
from grievance.users.service import system_account
from grievance.workflow.clocks import refresh_next_due, start_clock
from grievance.workflow.context import ActionContext
from grievance.workflow.definition import WorkflowDef
from grievance.workflow.engine import Runtime, apply_action, check_action

CALLBACK_EFFECT = "record_callback"
# The effects that make a resolution (they set resolved_at): a rating belongs to the latest of them.
RESOLUTION_EFFECTS = frozenset({"record_resolution", "record_answer_on_spot"})
COMMENT_MAX = 500
PETITIONER = "petitioner"
HOTLINE = "12345"
# Who the timeline names for each source: a password-less system account (users.service.system_account).
SOURCE_ACCOUNTS = {PETITIONER: ("petitioner", "诉求人（自评）"), HOTLINE: ("hotline12345", "12345平台")}
SATISFIED = frozenset({"satisfied", "basically_satisfied"})
_TRUE = frozenset({"true", "yes", "1", "是", "on"})
_FALSE = frozenset({"false", "no", "0", "否"})


class AlreadyRated(Conflict):
    """409 already_rated: this resolution has been rated by this source already."""

    code = "already_rated"


@dataclass(frozen=True)
class SelfRating:
    """A self-reported callback as recorded: `source` ("petitioner" | "12345"), `at` (UTC), the answers
    (`solved`, `satisfaction` code; None when the callback did not reach the petitioner), the `comment` as given
    ("" for none), and `wants_call`: dissatisfied or not solved, so the centre calls."""

    source: str
    at: datetime
    reached: bool
    solved: bool | None
    satisfaction: str | None
    comment: str

    @property
    def wants_call(self) -> bool:
        return self.reached and (self.solved is False or self.satisfaction == "unsatisfied")

    @classmethod
    def of(cls, event: CaseEvent) -> SelfRating:
        p = event.payload or {}
        return cls(
            source=str(p.get("source", "")),
            at=event.at,
            reached=p.get("reached") is True,
            solved=p.get("solved"),
            satisfaction=p.get("satisfaction"),
            comment=str(p.get("note") or p.get("comment") or ""),
        )


def rating_input(solved: Any, satisfaction: Any, comment: Any) -> tuple[bool, str, str]:
    """The petitioner's three answers checked and in their stored form: solved as a bool (true/false, yes/no, 是/否,
    1/0 are read), satisfaction as its code (satisfied, basically_satisfied, unsatisfied, or the Chinese label),
    the comment stripped (at most COMMENT_MAX characters, "" for none). The page and the API call this, so both
    give the same messages. Raises InvalidInput (422) listing every field's problem."""
    errors: list[dict[str, str]] = []
    solved_value: bool | None = None
    if isinstance(solved, bool):
        solved_value = solved
    elif isinstance(solved, str) and solved.strip().lower() in _TRUE | _FALSE:
        solved_value = solved.strip().lower() in _TRUE
    elif solved is None or solved == "":
        errors.append(_problem("solved", "请选择问题是否已解决", "say whether the problem was solved (true or false)"))
    else:
        errors.append(_problem("solved", "是否解决应为「是」或「否」", "solved must be true or false"))
    labels = LABELS["Satisfaction"]
    code = next((c for c, label in labels.items() if satisfaction in (c, label)), None)
    if code is None:
        accepted, accepted_en = "、".join(labels.values()), ", ".join(labels)
        if satisfaction is None or satisfaction == "":
            errors.append(
                _problem("satisfaction", f"请选择满意度：{accepted}", f"choose a satisfaction: {accepted_en}")
            )
        else:
            errors.append(
                _problem(
                    "satisfaction", f"满意度应为以下之一：{accepted}", f"satisfaction must be one of: {accepted_en}"
                )
            )
    text = _comment(comment, errors)
    if errors:
        raise InvalidInput("评价的内容有误", "the rating is not valid", errors)
    assert solved_value is not None and code is not None
    return solved_value, code, text


def _comment(comment: Any, errors: list[dict[str, str]]) -> str:
    """The comment stripped ("" for none), or "" with its problem added to `errors`."""
    if comment is not None and not isinstance(comment, str):
        errors.append(_problem("comment", "意见应为文本", "comment must be text"))
        return ""
    text = (comment or "").strip()
    if "\x00" in text:
        errors.append(_problem("comment", "意见含有不可见的空字符", "comment contains a NUL character"))
    elif len(text) > COMMENT_MAX:
        errors.append(
            _problem("comment", f"意见不能超过{COMMENT_MAX}字", f"comment must be at most {COMMENT_MAX} characters")
        )
    return text


def _problem(field: str, zh: str, en: str) -> dict[str, str]:
    return {"field": field, "message": zh, "message_en": en}


def _actions_with(workflow: WorkflowDef, effects: Iterable[str]) -> set[str]:
    wanted = set(effects)
    return {name for name, action in workflow.actions.items() if wanted & set(action.effects)}


def _callback_action(workflow: WorkflowDef, case: Case) -> str | None:
    """The workflow's action that records a callback (effect record_callback) from the case's state, if any."""
    return next(
        (
            name
            for name, action in workflow.actions.items()
            if CALLBACK_EFFECT in action.effects and case.state in action.from_
        ),
        None,
    )


def ratings_since_resolution(session: Session, runtime: Runtime, cases: list[Case]) -> dict[int, list[SelfRating]]:
    """For each case (by id), the self-reported callbacks recorded since its latest resolution, oldest first. The
    resolution is the latest event of an action with a resolution effect (never an action name, STYLE.md item 2);
    ordered by event id, so a reopen and a new resolution at the same moment still start a new resolution. One
    query for all the cases."""
    if not cases:
        return {}
    resolving: set[str] = set()
    recording: set[str] = set()
    for case in cases:
        workflow = runtime.workflows.get(case.workflow)
        resolving |= _actions_with(workflow, RESOLUTION_EFFECTS)
        recording |= _actions_with(workflow, [CALLBACK_EFFECT])
    events = session.exec(
        select(CaseEvent)
        .where(col(CaseEvent.case_id).in_([c.id for c in cases]), col(CaseEvent.action).in_(resolving | recording))
        .order_by(col(CaseEvent.case_id), col(CaseEvent.id))
    ).all()
    found: dict[int, list[SelfRating]] = {c.id: [] for c in cases if c.id is not None}
    for event in events:
        if event.action in resolving:
            found[event.case_id] = []
        elif (event.payload or {}).get("self_reported") is True:
            found[event.case_id].append(SelfRating.of(event))
    return found


def petitioner_rating(session: Session, runtime: Runtime, case: Case) -> dict[str, Any]:
    """What the public page and API say of rating `case`: {"can_rate": bool, "rating": None | {"rated_at",
    "solved", "satisfaction", "satisfaction_label", "satisfaction_label_en", "commented", "centre_will_call"}}.
    The rating is the petitioner's own, of the current resolution; its comment is not given back (it may carry
    personal data, and the public page shows none, DOMAIN.md). can_rate: resolved, in a state the workflow's
    callback action is taken from, and not yet rated by the petitioner."""
    if case.resolved_at is None:
        return {"can_rate": False, "rating": None}
    own = [
        r for r in ratings_since_resolution(session, runtime, [case]).get(case.id or 0, []) if r.source == PETITIONER
    ]
    if own:
        last = own[-1]
        return {
            "can_rate": False,
            "rating": {
                "rated_at": last.at,
                "solved": last.solved,
                "satisfaction": last.satisfaction,
                "satisfaction_label": LABELS["Satisfaction"].get(last.satisfaction or "", ""),
                "satisfaction_label_en": LABELS_EN["Satisfaction"].get(last.satisfaction or "", ""),
                "commented": bool(last.comment),
                "centre_will_call": last.wants_call,
            },
        }
    workflow = runtime.workflows.get(case.workflow)
    return {"can_rate": _callback_action(workflow, case) is not None, "rating": None}


def _refuse_unratable(runtime: Runtime, case: Case) -> str:
    """The callback action to record the rating with, or the 409 that says why the case cannot be rated now."""
    if case.duplicate_of_id is not None:
        raise NotAllowedNow(
            "该件已与先前相同的诉求合并办理，不单独评价",
            "this case was merged into an earlier one with the same appeal and is not rated on its own",
        )
    if case.resolved_at is None:
        raise NotAllowedNow(
            "该件尚未办结，办结后才能评价", "the case is not resolved yet; it can be rated once it is resolved"
        )
    workflow = runtime.workflows.get(case.workflow)
    action = _callback_action(workflow, case)
    if action is None:
        state = workflow.states[case.state]
        raise NotAllowedNow(
            f"该件当前状态为「{state.label}」，不能再评价",
            f"the case is {state.label_in('en').lower()}; it can no longer be rated",
            state=case.state,
        )
    return action


def record_external_callback(
    session: Session,
    runtime: Runtime,
    *,
    case: Case,
    source: str,
    solved: bool | None,
    satisfaction: str | None,
    comment: str | None,
    reached: bool = True,
    now: datetime | None = None,
) -> CaseEvent:
    """Record a callback the centre did not make: the petitioner's rating (source "petitioner") or the 12345
    platform's callback result (source "12345"), as the workflow's callback action (effect record_callback) fired
    by the source's system account (petitioner: "诉求人（自评）"; 12345: "hotline12345"), with the payload
    {reached, solved, satisfaction, note: comment, self_reported: true, source}. `now` defaults to the runtime's
    clock (UTC). The rules are the module's: once per resolution and source (for a reached one), a dissatisfied or
    unsolved answer keeps or restarts the centre's callback clock, a satisfied one stops it. `reached` False (the
    platform could not reach the petitioner) takes no answers and is an attempt, as a centre's unreached call.

    The caller's transaction commits it (the event, its outbox message, the case's facts for the reports).
    Raises InvalidInput (422: an unknown source, answers given for an unreached callback, bad values, see
    rating_input), NotAllowedNow (409: not resolved, merged, closed), AlreadyRated (409), StaleVersion (409: the
    case changed at the same moment)."""
    if source not in SOURCE_ACCOUNTS:
        raise InvalidInput.field(
            "source", f"未知的评价来源 {source!r}", f"unknown source {source!r}: petitioner or 12345"
        )
    if reached:
        solved, satisfaction, comment = rating_input(solved, satisfaction, comment)
    else:
        if solved is not None or satisfaction is not None:
            raise InvalidInput.field(
                "reached",
                "未联系到诉求人时不能填写是否解决和满意度",
                "solved and satisfaction cannot be given when the petitioner was not reached",
            )
        errors: list[dict[str, str]] = []
        comment = _comment(comment, errors)
        if errors:
            raise InvalidInput("回访结果的内容有误", "the callback result is not valid", errors)
    now = now or runtime.now()
    action = _refuse_unratable(runtime, case)
    if reached and any(
        r.source == source and r.reached for r in ratings_since_resolution(session, runtime, [case]).get(case.id, [])
    ):
        raise AlreadyRated(
            "本次办理结果已评价过，每次办结只能评价一次",
            "this resolution has already been rated; a resolution is rated once",
        )
    username, display_name = SOURCE_ACCOUNTS[source]
    actor = system_account(session, username=username, display_name=display_name)
    workflow = runtime.workflows.get(case.workflow)
    fields = workflow.actions[action].fields
    payload: dict[str, Any] = {"reached": reached}
    if reached:
        payload.update(solved=solved, satisfaction=satisfaction)
    if comment and "note" in fields:
        payload["note"] = comment
    ctx, definition = check_action(
        session, runtime, case=case, action=action, actor=actor, payload=payload, expected_version=None, now=now
    )
    assert ctx.payload is not None
    ctx.payload.update(self_reported=True, source=source)
    if comment and "note" not in fields:
        ctx.payload["comment"] = comment  # a workflow whose callback takes no note still keeps the words
    running = {name for name, clock in ctx.clocks.items() if clock.stopped_at is None}
    from_state = apply_action(ctx, definition)
    rating = SelfRating(source, now, reached, payload.get("solved"), payload.get("satisfaction"), comment)
    if rating.wants_call:
        _keep_callback_clocks_running(ctx, action, running)
    return _record(session, ctx, action, from_state, definition.effects)


def _keep_callback_clocks_running(ctx: ActionContext, action: str, running: set[str]) -> None:
    """The centre still has to call: each clock the callback action stops (the callback deadlines) runs on with its
    due time if it was running, or starts again (a full limit from now) if the centre's call had stopped it."""
    for name, definition in ctx.workflow.clocks.items():
        if action not in definition.stop:
            continue
        clock = ctx.clocks.get(name)
        if clock is not None and name in running:
            clock.stopped_at = None
        else:
            start_clock(ctx, name, definition)
    refresh_next_due(ctx.case, ctx.clocks.values())


def _record(session: Session, ctx: ActionContext, action: str, from_state: str, effects: list[str]) -> CaseEvent:
    """The event and the case's new facts, as engine.fire writes them after apply_action (version bump, one flush,
    the CaseState row for the reports). Kept in step with engine.fire."""
    case = ctx.case
    event = CaseEvent(
        case_id=case.id,  # type: ignore[arg-type]
        action=action,
        from_state=from_state,
        to_state=case.state,
        actor_id=ctx.actor.id,
        at=ctx.now,
        payload=dict(ctx.payload or {}),
    )
    flag_modified(case, "state")  # the version moves, so a concurrent writer is refused
    case_no = case.case_no
    session.add(case)
    session.add(event)
    try:
        session.flush()
    except StaleDataError:
        raise StaleVersion(
            f"诉求 {case_no} 同时被他人修改，请刷新后重试", "the case was changed concurrently; reload and retry"
        ) from None
    previous = current_state(session, case.id)  # type: ignore[arg-type]
    record_state(session, state_after(case, ctx.clocks.values(), ctx.now, previous=previous, effects=effects), previous)
    return event


# --------------------------------------------------------------------------------------------- the throttle

RATING_LIMITS_PER_ADDRESS = "5/minute;20/hour"
RATING_LIMITS_PER_CASE = "5/hour"


class RatingThrottle:
    """Limits on rating attempts, counted in the database (grievance.throttle) so every worker process sees the
    same counts: per client address (a wrong code is an attempt too, so guessing codes through the rating stays
    hopeless) and per case (a form sent again and again). Every attempt counts, whatever it is answered."""

    def __init__(self, per_address: str = RATING_LIMITS_PER_ADDRESS, per_case: str = RATING_LIMITS_PER_CASE) -> None:
        self.per_address = [(i.amount, timedelta(seconds=i.get_expiry())) for i in parse_many(per_address)]
        self.per_case = [(i.amount, timedelta(seconds=i.get_expiry())) for i in parse_many(per_case)]

    def attempt(
        self, sessions: sessionmaker[Session], *, address: str, query_code: str, now: datetime
    ) -> tuple[TooManyAttempts | None, int | None]:
        """Count one rating attempt from `address` with `query_code` (as typed): (None, the case's id or None when
        the code names no case), or, when a window of the address or of that case is full, count nothing and
        return (the 429, None): `retry_after` (whole seconds, at least 1), `minutes` (rounded up) and a message in
        both languages. Runs its own short transaction before the request's (on SQLite a second writer would wait
        for the first), so the count stays whatever the rating gets."""
        with transaction(sessions) as session:
            case = find_by_query_code(session, query_code)
            case_id = case.id if case is not None else None
            keys = [(f"rating:{int(w.total_seconds())}s:{address_key(address)}", n, w) for n, w in self.per_address]
            if case_id is not None:
                keys += [(f"rating:{int(w.total_seconds())}s:case:{case_id}", n, w) for n, w in self.per_case]
            until = take_attempt(session, keys, now)
        if until is None:
            return None, case_id
        seconds, minutes = retry_after(until, now)
        refusal = TooManyAttempts(
            f"评价提交过于频繁，请{minutes}分钟后再试",
            f"too many rating attempts; try again in {minutes} minute{'s' if minutes > 1 else ''}",
            retry_after=seconds,
            minutes=minutes,
        )
        return refusal, None


RATING_THROTTLE = RatingThrottle()


def _ensure_account(sessions: sessionmaker[Session], source: str) -> None:
    """Create the source's system account in a transaction of its own, before the rating's: the first two ratings
    of a deployment arriving at once would otherwise both insert it, and one would fail on the unique user name
    (PostgreSQL). The loser of that race finds the winner's account on its second try."""
    username, display_name = SOURCE_ACCOUNTS[source]
    for attempt in range(2):
        try:
            with transaction(sessions) as session:
                system_account(session, username=username, display_name=display_name)
            return
        except IntegrityError:
            if attempt:
                raise


def rate_by_query_code(
    session: Session,
    runtime: Runtime,
    sessions: sessionmaker[Session],
    *,
    query_code: str,
    address: str,
    solved: Any,
    satisfaction: Any,
    comment: Any,
    throttle: RatingThrottle = RATING_THROTTLE,
) -> Case:
    """The petitioner's rating with nothing but the receipt's query code (as typed), for the public page and API
    alike: the attempt is counted first (`throttle`, its own transaction, before `session` touches the database),
    then the case is found and rated (record_external_callback, source "petitioner"; the answers as rating_input
    reads them). Returns the rated case. Raises TooManyAttempts (429, `retry_after`), NotFound (404: no case has
    this code), InvalidInput (422), NotAllowedNow or AlreadyRated (409)."""
    _ensure_account(sessions, PETITIONER)
    refusal, case_id = throttle.attempt(sessions, address=address, query_code=query_code, now=runtime.now())
    if refusal is not None:
        raise refusal
    case = session.get(Case, case_id) if case_id is not None else None
    if case is None:
        raise NotFound("查询码无效", "no case has this query code")
    record_external_callback(
        session,
        runtime,
        case=case,
        source=PETITIONER,
        solved=solved,
        satisfaction=satisfaction,
        comment=comment,
    )
    return case
