"""Multipart bodies and uploaded files as every route reads them (API intake and attachments, the case page, the
intake form, ledger imports): at most Settings.max_files_per_request files (413 too_many_files), text fields at
most Settings.max_json_body_bytes, a file over its limit refused before it is read into memory. The whole body's
size is capped before any of this by web/body_limits.py."""

from __future__ import annotations

from fastapi import Request
from python_multipart.multipart import DEFAULT_MAX_HEADER_SIZE as MAX_PART_HEADER_BYTES
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from grievance.cases.service import Upload
from grievance.cases.upload_limits import BodyTooLarge, megabytes, too_large, too_many_files
from grievance.config import Settings
from grievance.errors import InvalidInput

MAX_FORM_FIELDS = 1000  # Starlette's own default: a form with ticked rows (the pool's bulk dispatch) stays under it


async def read_form(request: Request) -> FormData:
    """The request's form (url-encoded or multipart) with the caps above. Raises TooManyFiles (413), BodyTooLarge
    (413, a text field over its cap) or InvalidInput (422, a malformed multipart body)."""
    settings: Settings = request.app.state.runtime.settings
    try:
        return await request.form(
            max_files=settings.max_files_per_request,
            max_fields=MAX_FORM_FIELDS,
            max_part_size=settings.max_json_body_bytes,
        )
    except HTTPException as exc:  # Starlette's 400 for a MultiPartException; its English phrase says which
        detail = str(exc.detail)
        if detail.startswith("Too many files"):
            raise too_many_files(settings.max_files_per_request) from None
        if detail.startswith("Field exceeded"):
            limit = settings.max_json_body_bytes
            raise BodyTooLarge(
                f"表单字段过长：每个字段不能超过 {megabytes(limit)} MB",
                f"a form field is too long: at most {megabytes(limit)} MB ({limit} bytes) each",
                limit_bytes=limit,
            ) from None
        if detail.startswith("Too many fields"):
            raise InvalidInput.field(
                "body",
                f"表单字段过多：最多 {MAX_FORM_FIELDS} 个",
                f"too many form fields: at most {MAX_FORM_FIELDS}",
            ) from None
        # python-multipart refuses a part header line over MAX_PART_HEADER_BYTES (a very long file name, mostly)
        # and Starlette reports it only as "Invalid multipart data.": name the likely cause and the limit.
        raise InvalidInput.field(
            "body",
            f"multipart/form-data 格式有误，无法读取（{detail}）；常见原因是文件名过长：每个部分的标题行最多"
            f" {MAX_PART_HEADER_BYTES} 字节（约 1,400 个汉字或 4,000 个英文字符），请缩短文件名后重试",
            f"malformed multipart/form-data body ({detail}); the usual cause is a file name that is too long: a "
            f"part's header line may be at most {MAX_PART_HEADER_BYTES} bytes (about 4,000 Latin characters), "
            "shorten the file name and try again",
        ) from None


def over_limit(item: UploadFile, limit: int) -> bool:
    """Whether the part is larger than `limit` bytes (known from its size before reading it)."""
    return item.size is not None and item.size > limit


def check_size(item: UploadFile, limit: int) -> None:
    """Raises too_large(...) when the part is over the limit."""
    if over_limit(item, limit):
        raise too_large([item.filename or "attachment"], limit)


def read_upload(item: UploadFile, settings: Settings) -> Upload:
    """One attachment part as an Upload, refused (422 too_large) before it is read when over
    Settings.attachment_max_bytes. Its name and type are settled by the service (service.accepted_upload)."""
    check_size(item, settings.attachment_max_bytes)
    item.file.seek(0)
    return Upload(item.filename or "", item.content_type or "", item.file.read())
