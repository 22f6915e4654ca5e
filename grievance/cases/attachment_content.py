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
    surrounding spaces and dots trimmed, at most MAX_NAME_CHARS characters (the extension kept; a longer name
    loses the tail of its stem, never its extension); FALLBACK_NAME when nothing is left, and FALLBACK_NAME plus
    the extension for a name that is only one (".png" -> "attachment.png")."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"))
    base = base.strip().rstrip(".").strip()
    stripped = base.lstrip(".").strip()
    if stripped and stripped != base and "." not in stripped:  # ".png": only an extension
        stripped = f"{FALLBACK_NAME}.{stripped}"
    base = stripped
    if len(base) > MAX_NAME_CHARS:
        suffix = Path(base).suffix[:16]
        base = base[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
    return base or FALLBACK_NAME


def name_matching(name: str, mime: str) -> str:
    """`name` (already safe_filename'd) with the extension of its detected type `mime` appended when its own
    extension says something else, so the name never misleads: "evilgnp.exe" holding a PNG -> "evilgnp.exe.png";
    "photo" (no extension), "a.JPEG" holding a JPEG and "notes.log" holding text stay as they are."""
    extension = _label(mime)
    if "/" in extension:  # a type filetype has no extension for: nothing better to say
        return name
    own = Path(name).suffix.lower().lstrip(".")
    if not own or own in _extensions(mime):  # no extension claims anything: nothing misleads
        return name
    if mime == TEXT and own and own not in _OTHER_KNOWN:  # text keeps any extension not claimed by a binary type
        return name
    return safe_filename(f"{name}.{extension}")


def _extensions(mime: str) -> set[str]:
    """The extensions a type is known by (filetype's own plus common spellings)."""
    found = {kind.extension for kind in filetype.TYPES if kind.mime == mime}
    for group in (("jpg", "jpeg", "jpe"), ("tif", "tiff"), ("htm", "html"), ("txt", "text")):
        if found & set(group):
            found |= set(group)
    return found


# Extensions of the binary types filetype knows: a text file called "x.exe" or "x.png" gets ".txt" appended.
_OTHER_KNOWN = {kind.extension for kind in filetype.TYPES}


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


# What a type is, in words people know, for refusals; other types are named "<EXT> 文件" / "<EXT> file".
KINDS = {
    "image/svg+xml": ("SVG 图像", "an SVG image"),
    "text/html": ("HTML 网页", "an HTML page"),
    "application/xml": ("XML 文档", "an XML document"),
    "application/x-msdownload": ("Windows 可执行程序", "a Windows program"),
    "application/x-executable": ("可执行程序", "a program"),
    "application/x-sh": ("脚本", "a script"),
    "application/zip": ("ZIP 压缩包", "a ZIP archive"),
    "application/x-rar-compressed": ("RAR 压缩包", "a RAR archive"),
    "application/x-7z-compressed": ("7z 压缩包", "a 7z archive"),
    "application/gzip": ("gzip 压缩包", "a gzip archive"),
    "text/plain": ("纯文本", "plain text"),
}


def kind_of(mime: str) -> tuple[str, str]:
    """(中文, English) naming a detected type for people, with the type itself: ("SVG 图像 (image/svg+xml)",
    "an SVG image (image/svg+xml)"); a type without a name in KINDS by its extension ("GIF 文件 (image/gif)")."""
    if mime in KINDS:
        zh, en = KINDS[mime]
    else:
        label = _label(mime)
        upper = label.upper() if "/" not in label else label
        zh, en = f"{upper} 文件", f"a {upper} file"
    return f"{zh} ({mime})", f"{en} ({mime})"


def checked_content_type(filename: str, data: bytes, allowed: list[str]) -> str:
    """The attachment's MIME type, detected from `data`. Raises AttachmentTypeRefused (422, field `files`) naming
    the file, what it was found to be (kind_of) and the accepted types when it is not in `allowed` or not
    recognised."""
    detected = content_type_of(data)
    if detected in allowed:
        return detected
    accepted = accepted_labels(allowed)
    if detected is None:
        zh_found, en_found = "无法识别的内容", "content that is not a recognised file type"
    else:
        zh_found, en_found = kind_of(detected)
    message = f"附件「{filename}」的内容是 {zh_found}，不是可接受的附件类型，不允许上传；可接受：{accepted}"
    message_en = f"the attachment {filename!r} holds {en_found}, which is not accepted; accepted: {accepted}"
    raise AttachmentTypeRefused(message, message_en, [{"field": "files", "message": message, "message_en": message_en}])
