"""What a case read says, as allow-lists: the API answers with these models, so a column added to `Case` later
reaches nobody until it is listed here on purpose (STYLE.md item 3; Dispatch's CaseRead)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator


def _absent(value: object) -> bool:
    return value is None


class PetitionerRead(BaseModel):
    """The petitioner as the reader may see them: phone and ID number masked (138****1234) for a role without
    personal-data rights or a department that does not have the case yet (cases/access.masked_petitioner)."""

    name: str
    phone: str
    id_no: str
    kind: str
    enterprise_id: int | None
    masked: bool = Field(description="phone and ID number are masked for this reader")


class AssigneeRead(BaseModel):
    id: int
    name: str


class LeaderRead(AssigneeRead):
    """A key case's lead leader (包案领导); `active` false once the account is deactivated: the case then waits for
    another leader (board: 重点件未定包案领导, filter no_lead_leader)."""

    active: bool = True


class ClockRead(BaseModel):
    """One SLA clock (workflow/clocks.clock_status): times in UTC, seconds left in working seconds for a
    working-day limit."""

    name: str
    label: str
    owner: str = Field(description="department or centre")
    limit: str = Field(description="as written in the workflow, e.g. 15 working_days")
    unit: str = Field(description="working_days, days or hours")
    started_at: datetime
    due_at: datetime
    base_due_at: datetime = Field(description="before extensions and pauses")
    extended_days: int
    stopped_at: datetime | None
    paused_at: datetime | None
    status: str = Field(description="running, due_soon, overdue, paused, met or met_late")
    remaining_seconds: float | None
    late_by: int | None = Field(description="when overdue: whole units of the limit past due_at")
    remaining_working_days: float | None


class AvailableAction(BaseModel):
    """An action the reader may fire now, with the input it asks for (the workflow's field definitions)."""

    action: str
    label: str
    label_en: str | None = None
    to: str = Field(description="the state it leads to")
    fields: dict[str, dict[str, Any]]


class RefusalReason(BaseModel):
    guard: str = Field(description="the workflow guard that refuses it now (workflows/*.yaml)")
    message: str
    message_en: str


class UnavailableAction(BaseModel):
    """An action the reader's role could take in this state but that a rule refuses now, with why (办结 while a
    node or an assisting part is open): engine.unavailable_actions."""

    action: str
    label: str
    label_en: str | None = None
    reasons: list[RefusalReason]


class TimelineEntry(BaseModel):
    id: int
    action: str
    label: str
    from_state: str | None
    to_state: str
    actor: str | None = Field(description="who fired it (display name); none for the system")
    at: datetime
    payload: dict[str, Any]


class AttachmentRead(BaseModel):
    id: int
    case_id: int
    event_id: int | None
    filename: str
    content_type: str
    size: int = Field(description="bytes")
    uploaded_by_id: int | None
    uploaded_at: datetime


class MergeTarget(BaseModel):
    """Where a merged duplicate went (cases/merges.merge_target); the answering case's fields are none when the
    reader may not see it."""

    case_no: str | None
    answering_case_no: str | None
    state: str | None
    state_label: str | None
    resolved_at: datetime | None
    reply: str | None


class MergedCase(BaseModel):
    case_no: str
    title: str
    received_at: datetime
    merged_at: datetime


class DuplicateHint(BaseModel):
    """A recent case that may be the same appeal (cases/service.possible_duplicates)."""

    case_no: str
    title: str
    state: str
    received_at: datetime
    reason: str = Field(description="same_phone or similar_text")
    score: float = Field(description="0..1, shared words over all words of the two texts")


class RoutingSuggestion(BaseModel):
    department_id: int
    code: str
    name: str
    reason: str
    reason_kind: str = Field(description="category or station")
    reason_name: str


# The columns of `Case` a reader gets, as stored. Never the petitioner's columns (masked in `petitioner`), the
# query code (only to whoever logged the case), search terms, the idempotency key or the due-time caches.
CASE_COLUMNS = frozenset(
    {
        "id",
        "case_no",
        "workflow",
        "state",
        "version",
        "state_changed_at",
        "channel",
        "case_type",
        "urgency",
        "title",
        "description",
        "location",
        "enterprise_id",
        "meeting_id",
        "station_id",
        "category_id",
        "department_id",
        "assignee_id",
        "accused_department_id",
        "confidential",
        "received_at",
        "occurred_at",
        "dispatched_at",
        "accepted_at",
        "responded_at",
        "resolved_at",
        "reopened_at",
        "closed_at",
        "dispatch_count",
        "urge_count",
        "supervised",
        "outcome",
        "reply",
        "callback_at",
        "callback_reached",
        "callback_solved",
        "satisfaction",
        "pending_extension_days",
        "pending_extension_reason",
        "duplicate_of_id",
        "created_by_id",
        "external_source",  # read as CaseDetail.external
        "external_id",
        "external_due_at",
        # Key cases (issue 12): not personal data, read by every reader of the case.
        "key_reason",
        "key_note",
        "lead_leader_id",
        "key_marked_at",
    }
)


class NodeRead(BaseModel):
    """One node (节点) of a key case's plan (grievance/keycases). Times UTC."""

    seq: int = Field(description="the node's number on the case (1, 2...); complete_node names it")
    name: str
    department_id: int | None = Field(description="the responsible department (责任单位)")
    department: str | None
    due_text: str = Field(description="how the due was set: '5 working_days' or a day '2025-10-31'")
    due_at: datetime
    evidence_required: bool = Field(description="completing it needs at least one file of the case")
    status: str = Field(
        description="open, done, removed (dropped by an approved change) or withdrawn (the case left the department "
        "that planned it)"
    )
    light: str = Field(description="running, due_soon, overdue, paused, met, met_late, removed or withdrawn")
    late_by: int | None = Field(description="when overdue: whole working days past due_at (a begun one counts)")
    completed_at: datetime | None
    completed_by: str | None
    completion_note: str
    attachment_ids: list[int] = Field(description="the files given as its evidence")


class PartRead(BaseModel):
    """One assisting department's part (协办) of a case (grievance/keycases/parts.py). Times UTC."""

    seq: int = Field(description="the part's number on the case (1, 2...)")
    department_id: int
    department: str | None
    status: str = Field(
        description="dispatched, accepted, reported, waived (by the supervisor) or withdrawn (on return)"
    )
    light: str = Field(description="running, due_soon, overdue, paused, met, met_late, waived or withdrawn")
    due_at: datetime | None = Field(description="the part's own clock's due time")
    late_by: int | None = Field(description="when overdue: whole working days past due_at (a begun one counts)")
    dispatched_at: datetime
    accepted_at: datetime | None
    accepted_by: str | None
    reported_at: datetime | None
    reported_by: str | None
    report_note: str
    attachment_ids: list[int] = Field(description="the files given with the report")
    on_time: bool | None = Field(description="reported by its due time; null until reported")
    closed_at: datetime | None = Field(description="when it was waived or withdrawn")
    close_note: str = Field(description="the waiver's reason, or why it was withdrawn")


class NodeChangeRead(BaseModel):
    """A change to the plan waiting for the supervisor: the rows proposed (as the action `propose_node_change`
    took them; a row with `seq` keeps that node, one without is new, an open node left out would be removed)."""

    id: int
    reason: str
    proposed_at: datetime
    proposed_by: str | None
    nodes: list[dict[str, Any]] = Field(
        description="the proposed rows, each with `change`: new, unchanged, changed (`changes` names the fields, "
        "`was` the node as it is), completed (a completed node kept) or completed_since (completed after the "
        "proposal: it stays completed, the row is ignored on approval)"
    )
    removes: list[dict[str, Any]] = Field(
        default_factory=list, description="the open nodes the change leaves out: removed on approval"
    )
    completed_since: list[int] = Field(
        default_factory=list, description="the nodes completed since the proposal (their rows are ignored)"
    )


class ExternalRead(BaseModel):
    """Where a case came from when another system sent it (a 12345 order, an Open311 request)."""

    source: str = Field(description="12345 or open311")
    id: str = Field(description="that system's id: the 12345 order number (工单编号), the Open311 token")
    due_at: datetime | None = Field(description="the due time that system set (UTC): the 12345 platform's 办结时限")


class CaseDetail(BaseModel):
    """A case as its page shows it (cases/service.case_detail): its fields, clocks, the actions the reader may
    take now and the timeline. Times are UTC."""

    id: int
    case_no: str
    workflow: str
    workflow_label: str
    state: str
    state_label: str
    version: int = Field(description="send it back when firing an action; a stale one gets 409")
    state_changed_at: datetime
    channel: str
    case_type: str
    urgency: str
    title: str
    description: str
    location: str
    enterprise_id: int | None
    meeting_id: int | None
    station_id: int | None
    category_id: int | None
    department_id: int | None
    department: str | None = Field(description="the department's name")
    assignee_id: int | None
    assignee: AssigneeRead | None
    accused_department_id: int | None
    confidential: bool
    received_at: datetime
    occurred_at: datetime
    dispatched_at: datetime | None
    accepted_at: datetime | None
    responded_at: datetime | None
    resolved_at: datetime | None
    reopened_at: datetime | None
    closed_at: datetime | None
    next_due_at: datetime | None = Field(description="the earliest due time of the running clocks")
    dispatch_count: int
    urge_count: int
    supervised: bool
    outcome: str | None
    reply: str
    callback_at: datetime | None
    callback_reached: bool | None
    callback_solved: bool | None
    satisfaction: str | None
    pending_extension_days: int | None
    pending_extension_reason: str
    duplicate_of_id: int | None
    duplicate_of: str | None = Field(description="the number of the case this one was merged into")
    merged_into: MergeTarget | None
    merged_cases: list[MergedCase]
    created_by_id: int | None
    external: ExternalRead | None = Field(
        default=None, description="the order of another system this case came from; none for a case logged here"
    )
    key: bool = Field(default=False, description="a key case (重点件): key_reason is set")
    key_reason: str | None = Field(
        default=None, description="why it is key: inspection, backlog, group_appeal, leader_instruction or other"
    )
    key_note: str | None = Field(default=None, description="why, in words (required for the reason other)")
    lead_leader_id: int | None = None
    lead_leader: LeaderRead | None = Field(default=None, description="the lead leader (包案领导)")
    key_marked_at: datetime | None = None
    nodes: list[NodeRead] = Field(default_factory=list, description="the plan of nodes of a key case, in order")
    pending_node_change: NodeChangeRead | None = None
    parts: list[PartRead] = Field(
        default_factory=list, description="the assisting departments' parts (协办); the lead is `department`"
    )
    petitioner: PetitionerRead
    clocks: list[ClockRead]
    available_actions: list[AvailableAction]
    unavailable_actions: list[UnavailableAction] = Field(
        default_factory=list, description="what the reader could do in this state but a rule refuses now, and why"
    )
    timeline: list[TimelineEntry]
    attachments: list[AttachmentRead]
    query_code: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="查询码 for the petitioner's receipt: only to the front desk and whoever logged the case",
    )
    routing_suggestions: list[RoutingSuggestion] | None = Field(
        default=None, exclude_if=_absent, description="where to send the case: to dispatchers and supervisors"
    )

    @model_validator(mode="before")
    @classmethod
    def _external(cls, data: Any) -> Any:
        """`external` from the case's external_* columns (CASE_COLUMNS), which are read under this one name."""
        if isinstance(data, dict) and "external" not in data and data.get("external_source"):
            external = {
                "source": data["external_source"],
                "id": data.get("external_id") or "",
                "due_at": data.get("external_due_at"),
            }
            return {**data, "external": external}
        return data


class ActionResult(CaseDetail):
    """The case after an action, and the event the action appended."""

    event_id: int
    warnings: list[dict[str, str]] = Field(
        default_factory=list,
        description="done, with a caveat the person should know ({field, message, message_en}), e.g. a node due "
        "after the case's own resolve due time; the event keeps them too",
    )


class IntakeResponse(CaseDetail):
    """The case just logged (or, with an Idempotency-Key sent again, the case that key logged), and the recent
    cases it may duplicate."""

    possible_duplicates: list[DuplicateHint]


class PublicReply(BaseModel):
    at: datetime
    reply: str


class PublicMergeTarget(BaseModel):
    """The case that answers a merged duplicate: never its title nor anything of its petitioner."""

    case_no: str
    state: str
    state_label: str
    resolved_at: datetime | None
    replies: list[PublicReply] = Field(description="empty for a confidential case")


class PublicStatus(BaseModel):
    """What a petitioner sees with their query code (cases/public.public_status): status and replies only."""

    case_no: str
    title: str
    state: str
    state_label: str
    received_at: datetime
    resolved_at: datetime | None
    replies: list[PublicReply]
    merged_into: PublicMergeTarget | None
