"""The refusals of oversized input, worded once for every way a body or a file arrives (API, pages, the body-limit
middleware, and the service's own check after reading): each names the limit in MB and bytes, in both languages.
The limits themselves are Settings (grievance/config.py): attachment_max_bytes, max_files_per_request,
max_upload_total_bytes, max_json_body_bytes, ledger_max_bytes."""

from __future__ import annotations

from grievance.errors import DomainError, InvalidInput


class BodyTooLarge(DomainError):
    """413 body_too_large: the request body is over its limit (detail `limit_bytes`)."""

    status_code = 413
    code = "body_too_large"


class TooManyFiles(BodyTooLarge):
    """413 too_many_files: more files in one multipart request than Settings.max_files_per_request."""

    code = "too_many_files"


def megabytes(limit: int) -> str:
    """A byte count as MB for a message (1 MB = 1,048,576 bytes): 10485760 -> "10", 1572864 -> "1.5"."""
    return f"{limit / 1048576:.3g}"


def too_large(names: list[str], limit: int) -> InvalidInput:
    """InvalidInput on the field `files` naming the files and Settings.attachment_max_bytes in MB."""
    mb = megabytes(limit)
    return InvalidInput.field(
        "files",
        f"附件 {'、'.join(names)} 超过 {mb} MB",
        f"{', '.join(repr(n) for n in names)} larger than {mb} MB ({limit} bytes)",
    )


def body_too_large(limit: int, *, multipart: bool) -> BodyTooLarge:
    """BodyTooLarge for a body over `limit` bytes: a multipart upload (all files and fields together,
    Settings.max_upload_total_bytes) or any other body (JSON or form, Settings.max_json_body_bytes)."""
    mb = megabytes(limit)
    if multipart:
        return BodyTooLarge(
            f"上传内容过大：一次上传的文件合计不能超过 {mb} MB，请分几次上传",
            f"the upload is too large: files sent in one request may total at most {mb} MB ({limit} bytes); "
            "send them in several requests",
            limit_bytes=limit,
        )
    return BodyTooLarge(
        f"请求内容过大：不能超过 {mb} MB",
        f"the request body is too large: at most {mb} MB ({limit} bytes) is accepted",
        limit_bytes=limit,
    )


def too_many_files(limit: int) -> TooManyFiles:
    """TooManyFiles naming Settings.max_files_per_request."""
    return TooManyFiles(
        f"文件过多：一次最多上传 {limit} 个文件，请分几次上传",
        f"too many files: at most {limit} files per request; send them in several requests",
        limit_files=limit,
    )


def file_too_large(field: str, limit: int) -> InvalidInput:
    """InvalidInput on `field` for one uploaded file (a ledger) over `limit` bytes (Settings.ledger_max_bytes)."""
    mb = megabytes(limit)
    return InvalidInput.field(
        field, f"文件超过 {mb} MB，请分成几个文件", f"the file is larger than {mb} MB ({limit} bytes); split it"
    )
