"""Ledger (台账) routes: import an office's .csv/.xlsx ledger (all or nothing), export cases in the same format."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.datastructures import UploadFile

from grievance.cases.access import mask_phone
from grievance.cases.upload_limits import file_too_large
from grievance.errors import Forbidden, InvalidInput
from grievance.glossary import role_label, role_labels
from grievance.ledger import exporter
from grievance.ledger.importer import import_ledger as run_ledger_import
from grievance.ledger.importer import read_ledger
from grievance.reports.periods import local_midnight
from grievance.reports.service import audit_export
from grievance.users.models import User
from grievance.workflow.calendar_service import parse_day_in_range
from web.api.schemas import ANY_ROUTE, SIGNED_IN, XLSX, file_responses
from web.deps import DbSession, RuntimeDep, UserBeforeBody, require_roles
from web.uploads import read_form

router = APIRouter(prefix="/ledger", tags=["ledger"], responses={**SIGNED_IN, **ANY_ROUTE})

IMPORT_ROLES = ("admin", "supervisor", "dispatcher")
EXPORT_ROLES = ("admin", "supervisor", "dispatcher", "leader")
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
UPLOAD_BODY = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary", "description": ".csv or .xlsx"}},
                    "required": ["file"],
                }
            }
        },
        "required": True,
    }
}


def _importer(user: UserBeforeBody) -> User:
    """The import roles, checked before the upload is read (same 403 as require_roles)."""
    if user.role not in IMPORT_ROLES:
        raise Forbidden(
            f"{role_label(user.role)}无权进行此操作；可进行的角色：{role_labels(IMPORT_ROLES)}",
            f"the {role_label(user.role, 'en')} role may not do this; allowed: {role_labels(IMPORT_ROLES, 'en')}",
            allowed=list(IMPORT_ROLES),  # the codes, for API clients
        )
    return user


async def _read_ledger(request: Request) -> tuple[str, bytes]:
    """The uploaded file (multipart field `file`), read before the transaction starts."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput.field(
            "file", "请以 multipart/form-data 上传 file（.csv 或 .xlsx）", "upload the ledger as multipart 'file'"
        )
    form = await read_form(request)
    item = form.get("file")
    if not isinstance(item, UploadFile):
        raise InvalidInput.field("file", "没有收到文件（字段 file）", "no file in the 'file' part")
    limit = request.app.state.runtime.settings.ledger_max_bytes
    if item.size is not None and item.size > limit:
        raise file_too_large("file", limit)
    return item.filename or "", await item.read()


@router.post("/import", openapi_extra=UPLOAD_BODY, summary="导入台账 (import a ledger; all or nothing)")
def import_ledger(
    # In this order: authenticate and check the role, read the upload; the import opens its own transactions.
    request: Request,
    user: Annotated[User, Depends(_importer)],
    upload: Annotated[tuple[str, bytes], Depends(_read_ledger)],
    runtime: RuntimeDep,
    dry_run: bool = False,
    create_categories: Annotated[
        bool, Query(description="create the categories the ledger names that the tree lacks, under their path")
    ] = False,
) -> dict[str, Any]:
    """Validates the whole file (in a read-only transaction); any error is a 422 listing every problem (row,
    column, what is accepted) and nothing is written. Then writes in one short transaction. A case number
    already in the database is left unchanged. The answer says what became of every row and column."""
    filename, data = upload
    ledger = read_ledger(filename, data, max_rows=runtime.settings.ledger_max_rows)
    return run_ledger_import(
        request.app.state.sessions,
        runtime,
        ledger,
        actor=user,
        dry_run=dry_run,
        create_categories=create_categories,
    )


@router.get(
    "/export",
    response_class=Response,
    responses=file_responses("text/csv", XLSX, description="the ledger as CSV (UTF-8) or XLSX, as an attachment"),
    summary="导出台账 (export cases as a ledger)",
)
def export_ledger(
    session: DbSession,
    runtime: RuntimeDep,
    actor: Annotated[User, require_roles(*EXPORT_ROLES)],
    format: Literal["csv", "xlsx"] = "csv",
    from_: Annotated[str | None, Query(alias="from", description="received from this day, YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(description="received before this day, YYYY-MM-DD")] = None,
) -> Response:
    tz = runtime.settings.timezone
    start = local_midnight(parse_day_in_range(from_, "from"), tz) if from_ else None
    end = local_midnight(parse_day_in_range(to, "to"), tz) if to else None
    if start is not None and end is not None and end <= start:
        raise InvalidInput.field("to", "to 应晚于 from", "to must be after from")
    rows = exporter.export_rows(session, workflows=runtime.workflows, timezone=tz, start=start, end=end)
    if actor.role not in runtime.settings.personal_data_roles:
        # As on the case pages: a role that does not need the petitioner's phone gets it masked.
        for row in rows:
            row["petitioner_phone"] = mask_phone(row["petitioner_phone"])
    audit_export(session, actor, f"ledger export {format} {from_ or '-'}..{to or '-'} {len(rows)} rows")
    body = exporter.to_xlsx(rows) if format == "xlsx" else exporter.to_csv(rows)
    name = f"ledger-{from_ or 'all'}-{to or 'all'}.{format}"
    return Response(body, media_type=MEDIA[format], headers={"Content-Disposition": f'attachment; filename="{name}"'})
