"""The one construction of a new case, shared by live intake (cases.service.intake_case) and the ledger
importer, so the rules a new case is born with (its workflow and first state, confidentiality, supervision,
search terms, query code) cannot drift between the two."""

from __future__ import annotations

from datetime import datetime

from grievance.cases import query_codes, search
from grievance.cases.models import Case
from grievance.glossary import CONFIDENTIAL_TYPES, Channel, KeyReason
from grievance.workflow.definition import WorkflowDef


def new_case(
    *,
    workflow: WorkflowDef,
    case_no: str,
    received_at: datetime,
    channel: str,
    case_type: str,
    urgency: str,
    title: str,
    description: str = "",
    location: str = "",
    petitioner_name: str = "",
    petitioner_phone: str = "",
    petitioner_id_no: str = "",
    petitioner_kind: str = "resident",
    enterprise_id: int | None = None,
    meeting_id: int | None = None,
    station_id: int | None = None,
    category_id: int | None = None,
    accused_department_id: int | None = None,
    occurred_at: datetime | None = None,
    created_by_id: int | None = None,
    idempotency_key: str | None = None,
) -> Case:
    """A case in its workflow's initial state at `received_at` (aware UTC), not yet added to a session.

    Codes are the glossary's (channel, case_type, urgency, petitioner_kind). Reports (举报) are confidential
    (DOMAIN.md, privacy rules); inspection referrals are always supervised and always key cases (重点件, reason
    inspection, marked at `received_at`; their lead leader is assigned later: issue 12, DOMAIN.md 巡视交办); the
    search terms cover title, description and location (cases.search). The caller validates the input and
    starts the intake clocks (workflow.engine.start_intake_clocks, or the importer's replay).
    """
    inspection = channel == Channel.inspection
    return Case(
        case_no=case_no,
        query_code=query_codes.new_query_code(),  # short, unambiguous, unguessable: cases.query_codes
        workflow=workflow.name,
        state=workflow.initial_state,
        state_changed_at=received_at,
        channel=channel,
        case_type=case_type,
        urgency=urgency,
        title=title,
        description=description,
        location=location,
        petitioner_name=petitioner_name,
        petitioner_phone=petitioner_phone,
        petitioner_id_no=petitioner_id_no,
        petitioner_kind=petitioner_kind,
        enterprise_id=enterprise_id,
        meeting_id=meeting_id,
        station_id=station_id,
        category_id=category_id,
        accused_department_id=accused_department_id,
        confidential=case_type in CONFIDENTIAL_TYPES,
        supervised=inspection,
        key_reason=KeyReason.inspection.value if inspection else None,
        key_marked_at=received_at if inspection else None,
        received_at=received_at,
        occurred_at=occurred_at or received_at,
        created_by_id=created_by_id,
        idempotency_key=idempotency_key,
        search_terms=search.search_terms(title, description, location),
    )
