"""Cases: intake, reading one with its timeline and clocks, attachments (lists and search: cases/listing.py).

Every function works inside the caller's transaction and never commits.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from grievance.audit import view_detail
from grievance.cases import search
from grievance.cases.access import in_scope, masked_petitioner, visibility_filter
from grievance.cases.attachment_content import (
    SNIFF_BYTES,
    checked_content_type,
    content_type_of,
    name_matching,
    safe_filename,
)
from grievance.cases.intake import new_case
from grievance.cases.merges import merge_target, merged_cases
from grievance.cases.models import NO_DUE, Attachment, AuditEntry, Case, CaseClock, CaseEvent, CaseNumberCounter
from grievance.cases.phones import normalize_phone
from grievance.cases.read_models import CASE_COLUMNS
from grievance.cases.schemas import CaseCreate
from grievance.cases.upload_limits import too_large
from grievance.db import find_by_ref
from grievance.errors import Forbidden, InvalidInput, NotFound
from grievance.glossary import (
    DEPARTMENT_ROLES,
    LABELS,
    CaseType,
    Channel,
    PetitionerKind,
    Role,
    role_label,
    role_labels,
)
from grievance.keycases.parts import assists, department_part, part_detail
from grievance.keycases.service import key_detail
from grievance.reference.models import Category, Department, Enterprise, Meeting, Station
from grievance.users.models import User
from grievance.workflow.clocks import clock_status
from grievance.workflow.definition import INTAKE, is_node_clock
from grievance.workflow.effects import MERGED_IN
from grievance.workflow.engine import Runtime, actions_for, record_intake, start_intake_clocks

INTAKE_ROLES = frozenset({Role.intake, Role.dispatcher, Role.supervisor})


@dataclass
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class CaseParts:
    """What a case page shows besides the case row; intake already holds them, so its response
    needs no further query."""

    clocks: list[CaseClock]
    events: list[tuple[CaseEvent, str | None]]  # with the actor's display name
    attachments: list[Attachment]
    # Logged by this very request: nothing can point at it yet (no merged duplicates, no assisting parts).
    new: bool = False


@dataclass
class IntakeResult:
    case: Case
    created: bool
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    parts: CaseParts | None = None


def _error(errors: list[dict[str, Any]], field_name: str, zh: str, en: str) -> None:
    errors.append({"field": field_name, "message": zh, "message_en": en})


def next_case_no(session: Session, prefix: str, year: int) -> str:
    """Issue the next number of the year atomically, safe across processes (one row per year)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(CaseNumberCounter).values(year=year, last=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["year"],
        set_={"last": CaseNumberCounter.__table__.c.last + 1},  # type: ignore[attr-defined]
    ).returning(CaseNumberCounter.__table__.c.last)  # type: ignore[attr-defined]
    number = session.execute(stmt).scalar_one()
    return f"{prefix}-{year}-{number:06d}"


# Reference records a case can point at by id or natural key: (field, model, key, Chinese name).
LINKS = (
    ("meeting", Meeting, "id", "恳谈会"),
    ("station", Station, "code", "驿站"),
    ("enterprise", Enterprise, "credit_code", "企业"),
    ("category", Category, "code", "业务分类"),
    ("accused_department", Department, "code", "被举报单位"),
)


def _link_id(session: Session, runtime: Runtime, model: type, ref: int | str, key: str) -> int | None:
    """The id a reference points at. Reference rows are never deleted or re-keyed, so a found id is
    remembered by the process (a miss is not: the record may be created a moment later)."""
    cache_key = (model.__name__, key, ref)
    if cache_key in runtime.reference_ids:
        return runtime.reference_ids[cache_key]
    row = find_by_ref(session, model, ref, key)
    if row is None:
        return None
    runtime.reference_ids[cache_key] = row.id
    return row.id  # type: ignore[no-any-return]


def _may_not_log(actor: User) -> Forbidden:
    """The refusal of a role that may not log cases, naming roles by their labels (detail `allowed`: codes)."""
    allowed = sorted(INTAKE_ROLES)
    return Forbidden(
        f"{role_label(actor.role)}不能登记诉求；可登记的角色：{role_labels(allowed)}，包保干部可登记所包保企业的诉求",
        f"the {role_label(actor.role, 'en')} role may not log cases; {role_labels(allowed, 'en')} may, "
        "and a liaison cadre for their own enterprise",
        allowed=allowed,  # the codes, for API clients
    )


def _validate_links(
    session: Session, runtime: Runtime, case_in: CaseCreate, actor: User, now: datetime
) -> dict[str, int | None]:
    """Resolve the records a new case points at to their ids; collect every problem before raising."""
    errors: list[dict[str, Any]] = []
    links: dict[str, int | None] = {}
    for name, model, key, zh in LINKS:
        ref = getattr(case_in, name)
        links[name] = None if ref is None else _link_id(session, runtime, model, ref, key)
        if ref is not None and links[name] is None:
            _error(errors, name, f"{zh} {ref} 不存在", f"no {name.replace('_', ' ')} {ref!r}")
    required = {Channel.meeting: "meeting", Channel.station: "station", Channel.enterprise: "enterprise"}
    needed = required.get(case_in.channel)
    if needed and getattr(case_in, needed) is None:
        _error(
            errors,
            needed,
            f"渠道「{case_in.channel.label}」须填写{needed}",
            f"channel {case_in.channel.value!r} needs {needed!r}",
        )
    if case_in.accused_department is not None and case_in.case_type not in (CaseType.report, CaseType.complaint):
        _error(
            errors,
            "accused_department",
            "只有举报或投诉件可以填写被举报单位",
            "accused_department is only for reports and complaints",
        )
    if case_in.occurred_at is not None and case_in.occurred_at > now + timedelta(minutes=5):
        _error(errors, "occurred_at", "发生时间不能晚于现在", "occurred_at cannot be in the future")
    if errors:
        raise InvalidInput("诉求信息有误", "invalid case", errors)
    if actor.role not in INTAKE_ROLES:
        # The liaison is read fresh: it changes, unlike the id.
        enterprise = session.get(Enterprise, links["enterprise"]) if links["enterprise"] else None
        is_liaison = enterprise is not None and enterprise.liaison_user_id == actor.id
        if not (case_in.channel == Channel.enterprise and is_liaison):
            raise _may_not_log(actor)
    return links


@dataclass(frozen=True)
class ExternalOrder:
    """Where a case came from when another system sent it: source "12345" or "open311", that system's id (the
    order number, the Open311 token: unique per source) and the due time that system set (UTC), if any;
    `content_sha256`, the order's content hashed, is written with the case (idempotency_sha256) so that a later push
    of the same id tells a retry from other content without a second write (the case starts at version 1)."""

    source: str
    id: str
    due_at: datetime | None = None
    content_sha256: str | None = None


def intake_case(
    session: Session,
    runtime: Runtime,
    *,
    case_in: CaseCreate,
    actor: User,
    idempotency_key: str | None = None,
    uploads: list[Upload] | None = None,
    now: datetime | None = None,
    external: ExternalOrder | None = None,
) -> IntakeResult:
    """Record a new case: number, query code, workflow, first event, clocks; and hint duplicates.

    `external` marks a case that came from another system (a 12345 order, an Open311 request): its source, id and
    due time are stored on the case before its first event, so every outbox message of the case carries them.

    With an `idempotency_key` already used by this actor, the case it logged is returned (created=False) when
    the request is the same (request_sha256), and IdempotencyKeyReused (422) is raised when it is not.
    Attachments are checked first (accepted_upload: content type, safe name)."""
    uploads = [accepted_upload(runtime, upload) for upload in uploads or []]
    fingerprint = request_sha256(case_in, uploads) if idempotency_key else None
    if idempotency_key:
        existing = _by_idempotency_key(session, actor, idempotency_key)
        if existing:
            return IntakeResult(_same_request(existing, fingerprint), created=False)
    now = now or runtime.now()
    if actor.role not in INTAKE_ROLES and case_in.channel != Channel.enterprise:
        raise _may_not_log(actor)
    links = _validate_links(session, runtime, case_in, actor, now)
    workflow = runtime.workflows.select(channel=case_in.channel.value, case_type=case_in.case_type.value)
    year = now.astimezone(ZoneInfo(runtime.settings.timezone)).year
    petitioner = case_in.petitioner
    kind = petitioner.kind or (PetitionerKind.enterprise if links["enterprise"] else PetitionerKind.resident)
    case = new_case(
        workflow=workflow,
        case_no="",  # numbered below, as late as possible (the counter row stays locked until commit)
        received_at=now,
        channel=case_in.channel.value,
        case_type=case_in.case_type.value,
        urgency=case_in.urgency.value,
        title=case_in.title,
        description=case_in.description,
        location=case_in.location,
        petitioner_name=petitioner.name,
        petitioner_phone=petitioner.phone,
        petitioner_id_no=petitioner.id_no,
        petitioner_kind=kind.value,
        enterprise_id=links["enterprise"],
        meeting_id=links["meeting"],
        station_id=links["station"],
        category_id=links["category"],
        accused_department_id=links["accused_department"],
        occurred_at=case_in.occurred_at,
        created_by_id=actor.id,
        idempotency_key=idempotency_key,
    )
    case.idempotency_sha256 = fingerprint
    if external is not None:
        case.external_source, case.external_id, case.external_due_at = external.source, external.id, external.due_at
        case.idempotency_sha256 = external.content_sha256 or case.idempotency_sha256
    clocks = start_intake_clocks(session, runtime, case, actor)
    # Before the case number: the counter row stays locked until commit, so keep that stretch short.
    duplicates = possible_duplicates(session, runtime, case, actor)
    if idempotency_key:
        try:
            # A savepoint only where a race is possible: if a twin request committed the same key
            # first, the number, the row and the counter roll back together and its case is returned.
            with session.begin_nested():
                case.case_no = next_case_no(session, runtime.settings.case_no_prefix, year)
                session.add(case)
                session.flush()
        except IntegrityError:
            existing = _by_idempotency_key(session, actor, idempotency_key)
            if existing is None:
                raise
            return IntakeResult(_same_request(existing, fingerprint), created=False)
    else:
        case.case_no = next_case_no(session, runtime.settings.case_no_prefix, year)
        session.add(case)
        session.flush()
    event = record_intake(session, case, actor, clocks, {"channel": case.channel, "case_type": case.case_type})
    attachments = [
        store_attachment(session, runtime, case=case, actor=actor, upload=upload, event=None, now=now)
        for upload in uploads
    ]
    session.flush()
    return IntakeResult(
        case,
        created=True,
        duplicates=duplicates,
        parts=CaseParts(clocks=clocks, events=[(event, actor.display_name)], attachments=attachments, new=True),
    )


def _by_idempotency_key(session: Session, actor: User, key: str) -> Case | None:
    return session.exec(select(Case).where(Case.created_by_id == actor.id, Case.idempotency_key == key)).first()


class IdempotencyKeyReused(InvalidInput):
    """422 idempotency_key_reused: the Idempotency-Key already logged a case from another request."""

    code = "idempotency_key_reused"


def request_sha256(case_in: CaseCreate, uploads: list[Upload]) -> str:
    """SHA-256 (hex) of an intake request as validated: the case fields (JSON, keys sorted) and each attachment's
    name and content hash, in order. Two sends of one request give the same value whatever their JSON layout."""
    request = {
        "case": case_in.model_dump(mode="json"),
        "files": [[u.filename, hashlib.sha256(u.data).hexdigest()] for u in uploads],
    }
    return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _same_request(existing: Case, fingerprint: str | None) -> Case:
    """The case a retry gets back; IdempotencyKeyReused when the key first came with another request (cases
    logged before migration 0009 have no hash and are returned as before)."""
    if existing.idempotency_sha256 is None or existing.idempotency_sha256 == fingerprint:
        return existing
    raise IdempotencyKeyReused(
        f"Idempotency-Key「{existing.idempotency_key}」已用于另一次不同内容的登记（{existing.case_no}）："
        "重试请发送完全相同的内容，新的诉求请换一个新的 Idempotency-Key",
        f"the Idempotency-Key {existing.idempotency_key!r} was already used for another request (case "
        f"{existing.case_no}): a retry must send the same request; a new case needs a new key",
        [
            {
                "field": "header:idempotency-key",
                "message": "该 Idempotency-Key 已用于另一次请求",
                "message_en": "this key was used for another request",
            }
        ],
    )


def possible_duplicates(session: Session, runtime: Runtime, case: Case, actor: User) -> list[dict[str, Any]]:
    """Recent cases from the same phone, or whose text contains every word of this title, for the
    clerk to merge. Both lookups are index-only (phone index, full-text AND query), so intake stays fast."""
    since = case.received_at - timedelta(days=runtime.settings.duplicate_window_days)
    columns = (Case.id, Case.case_no, Case.title, Case.state, Case.received_at, Case.search_terms, Case.confidential)
    recent = and_(
        Case.received_at >= since,
        Case.id != case.id if case.id is not None else true(),  # a case being logged has no id yet
        col(Case.duplicate_of_id).is_(None),
        visibility_filter(actor),  # hints never show a case the actor may not see (a report about them)
    )
    found: dict[int, dict[str, Any]] = {}
    # Stored phones are in the one form of phones.py; a value a ledger held that no form fits is kept as typed.
    phone = normalize_phone(case.petitioner_phone) or case.petitioner_phone
    if phone:
        same_phone = select(*columns).where(Case.petitioner_phone == phone, recent)
        # Ordered like ix_cases_phone (phone, received_at), so no planner walks the newest cases instead.
        by_phone = (col(Case.petitioner_phone).desc(), col(Case.received_at).desc())
        for row in session.exec(same_phone.order_by(*by_phone).limit(5)):
            found[row.id] = {"row": row, "reason": "same_phone", "score": 1.0}
    title_terms = search.tokens(case.title)
    if title_terms:
        similar = select(*columns).where(search.contains_all(session, title_terms, rare=True), recent)
        mine = set(case.search_terms.split())
        for row in session.exec(similar.order_by(col(Case.received_at).desc()).limit(10)):
            theirs = set(row.search_terms.split())
            score = round(len(mine & theirs) / max(1, len(mine | theirs)), 2)
            if row.id not in found:
                found[row.id] = {"row": row, "reason": "similar_text", "score": score}
    ranked = sorted(found.values(), key=lambda d: -d["score"])[:5]
    session.add_all(
        AuditEntry(user_id=actor.id, action="hint_confidential", case_id=d["row"].id)
        for d in ranked
        if d["row"].confidential
    )
    return [
        {
            "case_no": d["row"].case_no,
            "title": d["row"].title,
            "state": d["row"].state,
            "received_at": d["row"].received_at,
            "reason": d["reason"],
            "score": d["score"],
        }
        for d in ranked
    ]


def get_case(session: Session, ref: int | str, actor: User, *, seen_in: str | None = None) -> Case:
    """A case by id or case number, as this actor may see it. A confidential one is audited (view_confidential)
    with `seen_in`, where it is being seen (a code of grievance.audit.VIEW_CHANNELS: "page", "api", "download" ...;
    None writes no channel). Raises NotFound for a missing case and one the actor may not see, ValueError for a
    channel that is no code."""
    case = find_by_ref(session, Case, ref, "case_no")
    # One answer for a missing case, another department's and a report about the user's own
    # department: a different one would tell the accused that a report exists. An assisting department (协办)
    # opens the cases it has a part of.
    if case is None or not (in_scope(case, actor) or assists(session, case, actor)):
        raise NotFound(
            f"诉求 {ref} 不存在或不属于您的单位",
            f"no case {ref!r} that you may see: it does not exist or belongs to another department",
        )
    if case.confidential:
        detail = view_detail(seen_in) if seen_in is not None else ""
        session.add(AuditEntry(user_id=actor.id, action="view_confidential", case_id=case.id, detail=detail))
    return case


def load_parts(session: Session, case: Case) -> CaseParts:
    clocks = session.exec(select(CaseClock).where(CaseClock.case_id == case.id).order_by(col(CaseClock.id))).all()
    events = session.exec(
        select(CaseEvent, User.display_name)
        .join(User, User.id == CaseEvent.actor_id, isouter=True)  # type: ignore[arg-type]
        .where(CaseEvent.case_id == case.id)
        # In time order: an imported duplicate's merged_in event is written after its target's other events.
        .order_by(col(CaseEvent.at), col(CaseEvent.id))
    ).all()
    attachments = session.exec(
        select(Attachment).where(Attachment.case_id == case.id).order_by(col(Attachment.id))
    ).all()
    return CaseParts(list(clocks), [(e, name) for e, name in events], list(attachments))


# Events that are no workflow action, as a timeline names them.
SYSTEM_EVENT_LABELS = {INTAKE: "受理登记", "attach": "上传附件", MERGED_IN: "合并入重复件", **LABELS["SystemEvent"]}


def case_detail(
    session: Session,
    runtime: Runtime,
    case: Case,
    actor: User,
    now: datetime | None = None,
    parts: CaseParts | None = None,
) -> dict:
    """Everything a person needs on a case page: fields, clocks, actions they may take, the timeline. One case,
    one truth: a duplicate's `merged_into` ({case_no, answering_case_no, state, state_label, resolved_at, reply},
    cases.merges.merge_target) points to the case that carries the answer, and `merged_cases` lists the
    duplicates merged into this one ([{case_no, title, received_at, merged_at}]); both are empty otherwise."""
    now = now or runtime.now()
    workflow = runtime.workflows.get(case.workflow)
    calendar = runtime.calendar(session)
    parts = parts or load_parts(session, case)
    clocks, events, attachments = parts.clocks, parts.events, parts.attachments
    department = session.get(Department, case.department_id) if case.department_id else None
    duplicate_of = session.get(Case, case.duplicate_of_id) if case.duplicate_of_id else None
    # An allow-list: a column added to Case later shows nowhere until read_models lists it.
    available, unavailable = actions_for(session, runtime, case, actor, now, clocks=clocks)
    data = case.model_dump(include=set(CASE_COLUMNS))
    data.update(
        state_label=workflow.states[case.state].label,
        workflow_label=workflow.label,
        next_due_at=None if case.next_due_at == NO_DUE else case.next_due_at,
        department=department.name if department else None,
        assignee=_assignee(session, case),
        duplicate_of=duplicate_of.case_no if duplicate_of else None,
        merged_into=merge_target(session, runtime.workflows, case, actor),
        merged_cases=[] if parts.new else merged_cases(session, case, actor),
        petitioner=masked_petitioner(case, actor, runtime.settings.personal_data_roles),
        clocks=[
            {
                **clock_status(c, calendar, now),
                "label": workflow.clocks[c.name].label if c.name in workflow.clocks else c.name,
            }
            for c in clocks
            if not is_node_clock(c.name)  # a key case's nodes: key_detail's `nodes`
        ],
        **key_detail(session, workflow, case, list(clocks), calendar, now),
        parts=[] if parts.new else part_detail(session, workflow, case, list(clocks), calendar, now),
        available_actions=available,
        unavailable_actions=unavailable,
        timeline=[
            {
                "id": e.id,
                "action": e.action,
                "label": (
                    workflow.actions[e.action].label
                    if e.action in workflow.actions
                    else SYSTEM_EVENT_LABELS.get(e.action, e.action)
                ),
                "from_state": e.from_state,
                "to_state": e.to_state,
                "actor": name,
                "at": e.at,
                "payload": e.payload,
            }
            for e, name in events
        ],
        attachments=[a.model_dump(exclude={"sha256"}) for a in attachments],
    )
    if actor.role in INTAKE_ROLES or case.created_by_id == actor.id:
        data["query_code"] = case.query_code  # given to the petitioner by whoever logged the case
    return data


def _assignee(session: Session, case: Case) -> dict[str, Any] | None:
    """The case's handler (承办人) as {id, name}, or None while nobody of the department has it."""
    user = session.get(User, case.assignee_id) if case.assignee_id is not None else None
    return {"id": user.id, "name": user.display_name} if user else None


def accepted_upload(runtime: Runtime, upload: Upload) -> Upload:
    """The upload as it is stored: its name reduced to a safe base name (safe_filename: ../../etc/passwd ->
    passwd) and its type read from its content, whatever the client declared. Raises InvalidInput (422, field
    `files`) for a file over Settings.attachment_max_bytes or empty, and AttachmentTypeRefused (422) for content
    that is not one of Settings.attachment_types (the message lists them)."""
    settings = runtime.settings
    name = safe_filename(upload.filename)
    if len(upload.data) > settings.attachment_max_bytes:
        raise too_large([name], settings.attachment_max_bytes)
    if not upload.data:
        raise InvalidInput.field("files", f"附件 {name} 是空文件", f"attachment {name!r} is empty")
    content_type = checked_content_type(name, upload.data, settings.attachment_types)
    return replace(upload, filename=name_matching(name, content_type), content_type=content_type)


def store_attachment(
    session: Session,
    runtime: Runtime,
    *,
    case: Case,
    actor: User,
    upload: Upload,
    event: CaseEvent | None,
    now: datetime | None = None,
) -> Attachment:
    """Keep the file content-addressed on disk and record it; a failed transaction leaves no record.
    Callers check the upload (accepted_upload) before they write anything."""
    digest = hashlib.sha256(upload.data).hexdigest()
    path = runtime.settings.attachments_dir / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # A private temporary name: two uploads of the same file must not write one .part file.
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as tmp:
            tmp.write(upload.data)
        Path(tmp.name).replace(path)
    attachment = Attachment(
        case_id=case.id,  # type: ignore[arg-type]
        event_id=event.id if event else None,
        filename=safe_filename(upload.filename),
        content_type=upload.content_type,
        size=len(upload.data),
        sha256=digest,
        uploaded_by_id=actor.id,
        uploaded_at=now or runtime.now(),
    )
    session.add(attachment)
    session.flush()
    return attachment


def _has_open_node_of(session: Session, case: Case, actor: User) -> bool:
    """Whether an assisting department (a part not withdrawn) has an open node of its own on the case."""
    from grievance.keycases.parts import assists
    from grievance.keycases.plan import open_nodes

    if case.id is None or case.key_reason is None or not assists(session, case, actor):
        return False
    return any(n.department_id == actor.department_id for n in open_nodes(session, case.id))


def add_attachment(session: Session, runtime: Runtime, *, case: Case, actor: User, upload: Upload) -> Attachment:
    """Attach a file to a case as a timeline event; who may act on the case may attach (its lead department, and an
    assisting department while its part is open or while a node given to it is open: the files of its report or
    of its node's evidence)."""
    if actor.role in (Role.leader, Role.admin):
        raise Forbidden("领导和管理员不能上传办理附件", "leaders and admins do not attach files to cases")
    if (
        actor.role in DEPARTMENT_ROLES
        and case.department_id != actor.department_id
        and department_part(session, case.id, actor.department_id) is None
        and not _has_open_node_of(session, case, actor)
    ):
        raise Forbidden("请先认领或签收该件再上传附件", "claim or accept the case before attaching files")
    workflow = runtime.workflows.get(case.workflow)
    if workflow.is_final(case.state):
        raise InvalidInput.field("files", "已归档的件不能再添加附件", "a closed case takes no more attachments")
    upload = accepted_upload(runtime, upload)
    event = CaseEvent(
        case_id=case.id,  # type: ignore[arg-type]
        action="attach",
        from_state=case.state,
        to_state=case.state,
        actor_id=actor.id,
        at=runtime.now(),
        payload={"filename": upload.filename, "size": len(upload.data)},
    )
    session.add(event)
    session.flush()
    return store_attachment(session, runtime, case=case, actor=actor, upload=upload, event=event)


def attachment_path(runtime: Runtime, attachment: Attachment) -> Any:
    return runtime.settings.attachments_dir / attachment.sha256[:2] / attachment.sha256


def attachment_download(runtime: Runtime, attachment: Attachment) -> tuple[Path, str, str]:
    """(path, Content-Type, file name) to send an attachment as: the type read again from the stored content
    (application/octet-stream when it is not an accepted type: files stored before types were detected) and
    a safe base name, so a download is always what its bytes are, offered as a file to save."""
    path: Path = attachment_path(runtime, attachment)
    with path.open("rb") as file:
        detected = content_type_of(file.read(SNIFF_BYTES))
    media_type = detected if detected in runtime.settings.attachment_types else "application/octet-stream"
    return path, media_type or "application/octet-stream", safe_filename(attachment.filename)
