"""The attachment size limit's refusal, worded once for every way a file arrives (API, case page, intake form,
and the service's own check after reading)."""

from __future__ import annotations

from grievance.errors import InvalidInput


def too_large(names: list[str], limit: int) -> InvalidInput:
    """InvalidInput on the field `files` naming the files and Settings.attachment_max_bytes in MB
    (1 MB = 1,048,576 bytes)."""
    mb = f"{limit / 1048576:g}"
    return InvalidInput.field(
        "files",
        f"附件 {'、'.join(names)} 超过 {mb} MB",
        f"{', '.join(repr(n) for n in names)} larger than {mb} MB ({limit} bytes)",
    )
