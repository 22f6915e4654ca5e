"""What an uploaded attachment really is and what it may be called: its type read from its content (never the
type or name the client declared: an .exe sent as image/jpeg stays an .exe) and its name reduced to a safe base
name before it is stored, echoed or sent back in Content-Disposition.

Types are detected with `filetype` (PyPI, pure Python, no libmagic): it reads magic numbers and looks inside ZIP
containers, so it tells a .docx from an .xlsx from a plain .zip, and names Windows executables
(application/x-msdownload). Plain text has no magic number: content `filetype` does not know is text/plain when
it decodes as UTF-8 or GB18030 without control characters (unless it starts as HTML, SVG or XML markup, which
is named so and refused by the default allow-list), and unrecognised otherwise."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import filetype

from grievance.errors import InvalidInput

TEXT = "text/plain"
# filetype reads at most this many bytes (its own _NUM_SIGNATURE_BYTES); text is judged on the same prefix.
SNIFF_BYTES = 8192
# Text that starts as markup (after a BOM and spaces), by its first bytes, lower-cased.
MARKUP = (
    (b"<!doctype html", "text/html"),
    (b"<html", "text/html"),
    (b"<script", "text/html"),
    (b"<svg", "image/svg+xml"),
    (b"<?xml", "application/xml"),
)
MAX_NAME_CHARS = 120  # stored names are capped (the column holds 200); the extension is kept
FALLBACK_NAME = "attachment"


class AttachmentTypeRefused(InvalidInput):
    """422 attachment_type_refused: the file's content is not one of Settings.attachment_types."""

    code = "attachment_type_refused"


def safe_filename(name: str | None) -> str:
    """The base name of `name` as stored and shown: the part after the last / or \\ (so ../../etc/passwd and
    C:\\x\\a.jpg become passwd and a.jpg), control and format characters (NUL, CR, LF, bidi overrides) removed,
    surrounding spaces and dots trimmed, at most MAX_NAME_CHARS characters (the extension kept); FALLBACK_NAME
    when nothing is left."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    base = base.strip().strip(".").strip()
    if len(base) > MAX_NAME_CHARS:
        suffix = Path(base).suffix[:16]
        base = base[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
    return base or FALLBACK_NAME


def _is_text(head: bytes) -> bool:
    for encoding in ("utf-8", "gb18030"):
        try:
            # The prefix may end inside a character: drop up to 3 trailing bytes and try again.
            text = next(t for t in (_decode(head[: len(head) - cut], encoding) for cut in range(4)) if t is not None)
        except StopIteration:
            continue
        return not any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f" for ch in text)
    return False


def _decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def content_type_of(data: bytes) -> str | None:
    """The MIME type read from the content's first SNIFF_BYTES bytes: filetype's answer, else text/plain for
    text, else None (not recognised)."""
    head = data[:SNIFF_BYTES]
    kind = filetype.guess(head) if head else None
    if kind is not None:
        return str(kind.mime)
    if not head or not _is_text(head):
        return None
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    # Markup is not plain text: a page or an image with scripts in it, whatever it is called.
    return next((mime for prefix, mime in MARKUP if start.startswith(prefix)), TEXT)


def _label(mime: str) -> str:
    if mime == TEXT:
        return "txt"
    kind = filetype.get_type(mime=mime)
    return kind.extension if kind is not None else mime


def accepted_labels(allowed: list[str]) -> str:
    """The accepted types as file extensions people know (jpg, png, pdf, docx...), for messages and pages."""
    return ", ".join(dict.fromkeys(_label(m) for m in allowed))


def checked_content_type(filename: str, data: bytes, allowed: list[str]) -> str:
    """The attachment's MIME type, detected from `data`. Raises AttachmentTypeRefused (422, field `files`) naming
    the file, what it was found to be and the accepted types when it is not in `allowed` or not recognised."""
    detected = content_type_of(data)
    if detected in allowed:
        return detected
    accepted = accepted_labels(allowed)
    if detected is None:
        zh_found, en_found = "无法识别的内容", "content that is not a recognised file type"
    else:
        zh_found, en_found = f"{detected}（.{_label(detected)}）", f"{detected} (.{_label(detected)})"
    message = f"附件「{filename}」的内容是{zh_found}，不允许上传；允许的类型：{accepted}"
    message_en = f"the attachment {filename!r} holds {en_found}, which is not accepted; accepted: {accepted}"
    raise AttachmentTypeRefused(message, message_en, [{"field": "files", "message": message, "message_en": message_en}])
