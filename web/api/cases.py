"""Case routes: intake, list and search, read, fire an action, attachments."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import ValidationError
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from grievance.cases import listing, service
from grievance.cases.models import Attachment
from grievance.cases.read_models import ActionResult, AttachmentRead, CaseDetail, DuplicateHint, IntakeResponse
from grievance.cases.routing import suggest_departments
from grievance.cases.schemas import ActionIn, CaseCreate, CaseList
from grievance.db import commit_then_read
from grievance.errors import InvalidInput, NotFound, field_errors
from grievance.glossary import Role
from grievance.workflow import engine
from web.api.schemas import ANY_ROUTE, SIGNED_IN
from web.case_query import CaseQuery, CurrentCase
from web.deps import CurrentUser, DbSession, RuntimeDep, UserBeforeBody
from web.params import DbId
from web.uploads import read_form, read_upload

router = APIRouter(prefix="/cases", tags=["cases"], responses={**SIGNED_IN, **ANY_ROUTE})

INTAKE_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CaseCreate"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "case": {"type": "string", "description": "the CaseCreate object as JSON"},
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    },
                    "required": ["case"],
                }
            },
        },
        "required": True,
    }
}
ATTACH_BODY = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                    "required": ["files"],
                }
            }
        },
        "required": True,
    }
}


async def _read_upload(item: UploadFile, request: Request) -> service.Upload:
    """Read one uploaded file, refusing an oversized one before loading it into memory."""
    return read_upload(item, request.app.state.runtime.settings)


async def _read_intake(request: Request) -> tuple[CaseCreate, list[service.Upload]]:
    """A case as JSON, or as multipart with a `case` JSON part and `files` (attachments)."""
    uploads: list[service.Upload] = []
    try:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await read_form(request)
            raw = form.get("case")
            if not isinstance(raw, str):
                raise InvalidInput.field(
                    "case", "缺少 case 字段（诉求 JSON）", "multipart needs a 'case' part with the case JSON"
                )
            data = json.loads(raw)
            for item in form.getlist("files"):
                if not isinstance(item, str):
                    uploads.append(await _read_upload(item, request))
        else:
            data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput.field("body", "请求体不是有效的 JSON", "the body is not valid JSON") from None
    try:
        return CaseCreate.model_validate(data), uploads
    except ValidationError as exc:
        raise InvalidInput("诉求信息有误", "invalid case", field_errors(list(exc.errors()), skip_body=False)) from None


@router.post(
    "",
    status_code=201,
    response_model=IntakeResponse,
    openapi_extra=INTAKE_BODY,
    summary="受理：登记一件诉求 (intake)",
    responses={
        200: {
            "model": IntakeResponse,
            "description": "the case this Idempotency-Key already logged; nothing new was written",
            "headers": {
                "Idempotent-Replayed": {"description": "true: a replayed answer", "schema": {"type": "string"}}
            },
        }
    },
)
async def create_case(
    # In this order: authenticate, read the body (and any upload), then open the transaction,
    # so no lock is held while a slow client sends its files.
    user: UserBeforeBody,
    intake: Annotated[tuple[CaseCreate, list[service.Upload]], Depends(_read_intake)],
    response: Response,
    session: DbSession,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> Any:
    case_in, uploads = intake

    def work() -> dict[str, Any]:
        result = service.intake_case(
            session, runtime, case_in=case_in, actor=user, idempotency_key=idempotency_key, uploads=uploads
        )
        commit_then_read(session)  # the case is recorded; its page is built without holding any write lock
        detail = service.case_detail(session, runtime, result.case, user, parts=result.parts)
        detail["possible_duplicates"] = result.duplicates
        if not result.created:
            response.status_code = 200
            response.headers["Idempotent-Replayed"] = "true"
        return detail

    return await run_in_threadpool(work)


@router.get("", response_model=CaseList, summary="诉求列表与检索 (list and search)")
def list_cases(
    session: DbSession, runtime: RuntimeDep, user: CurrentUser, query: Annotated[CaseQuery, Query()]
) -> CaseList:
    items, next_cursor = listing.list_cases(session, runtime, user, query.to_filter(runtime, user))
    return CaseList(items=items, next_cursor=next_cursor)


@router.get("/{ref}", response_model=CaseDetail, summary="诉求详情：状态、时限、可执行动作、全过程 (read a case)")
def read_case(case: CurrentCase, session: DbSession, runtime: RuntimeDep, user: CurrentUser) -> Any:
    detail = service.case_detail(session, runtime, case, user)
    if user.role in (Role.dispatcher, Role.supervisor):
        detail["routing_suggestions"] = suggest_departments(session, case)
    return detail


@router.get("/{ref}/duplicates", response_model=list[DuplicateHint], summary="疑似重复件 (possible duplicates)")
def duplicates(case: CurrentCase, session: DbSession, runtime: RuntimeDep, user: CurrentUser) -> Any:
    return service.possible_duplicates(session, runtime, case, user)


@router.post("/{ref}/actions/{action}", response_model=ActionResult, summary="执行动作 (fire a workflow action)")
def fire_action(
    case: CurrentCase, action: str, body: ActionIn, session: DbSession, runtime: RuntimeDep, user: CurrentUser
) -> Any:
    event = engine.fire(
        session, runtime, case=case, action=action, actor=user, payload=body.fields(), expected_version=body.version
    )
    commit_then_read(session)  # done: the case's page is built without holding its row or the write lock
    detail = service.case_detail(session, runtime, case, user)
    detail["event_id"] = event.id
    detail["warnings"] = list((event.payload or {}).get("warnings") or [])
    return detail


async def _read_uploads(request: Request) -> list[service.Upload]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput.field(
            "files", "请以 multipart/form-data 上传 files", "upload as multipart/form-data with 'files'"
        )
    form = await read_form(request)
    uploads = [await _read_upload(f, request) for f in form.getlist("files") if not isinstance(f, str)]
    if not uploads:
        raise InvalidInput.field("files", "没有收到文件", "no file in the 'files' part")
    return uploads


@router.post(
    "/{ref}/attachments",
    status_code=201,
    response_model=list[AttachmentRead],
    openapi_extra=ATTACH_BODY,
    summary="上传附件 (attach a file)",
)
def upload_attachment(
    user: UserBeforeBody,
    uploads: Annotated[list[service.Upload], Depends(_read_uploads)],  # read before the transaction starts
    case: CurrentCase,
    session: DbSession,
    runtime: RuntimeDep,
) -> Any:
    stored = [service.add_attachment(session, runtime, case=case, actor=user, upload=u) for u in uploads]
    return [a.model_dump(exclude={"sha256"}) for a in stored]


@router.get(
    "/{ref}/attachments/{attachment_id}",
    response_class=FileResponse,
    summary="下载附件 (download)",
    responses={
        200: {
            "description": "the file as an attachment (Content-Disposition with its base name), with the "
            "content type read from its bytes (one of Settings.attachment_types, else application/octet-stream)",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def download_attachment(
    case: CurrentCase, attachment_id: DbId, session: DbSession, runtime: RuntimeDep
) -> FileResponse:
    attachment = session.exec(
        select(Attachment).where(Attachment.id == attachment_id, Attachment.case_id == case.id)
    ).first()
    if attachment is None:
        raise NotFound(f"附件 {attachment_id} 不存在", f"no attachment {attachment_id} on this case")
    path, media_type, filename = service.attachment_download(runtime, attachment)
    return FileResponse(path, media_type=media_type, filename=filename)  # Content-Disposition: attachment
