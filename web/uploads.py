"""Uploaded files as every route reads them (API, case page, intake form): a file over
Settings.attachment_max_bytes is refused before it is read into memory, with one message in both languages."""

from __future__ import annotations

from starlette.datastructures import UploadFile

from grievance.cases.upload_limits import too_large


def over_limit(item: UploadFile, limit: int) -> bool:
    """Whether the part is larger than `limit` bytes (known from its size before reading it)."""
    return item.size is not None and item.size > limit


def check_size(item: UploadFile, limit: int) -> None:
    """Raises too_large(...) when the part is over the limit."""
    if over_limit(item, limit):
        raise too_large([item.filename or "attachment"], limit)
