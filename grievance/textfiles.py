"""Text files as Chinese offices save them: UTF-8 (with or without Excel's BOM) or GB18030 (GBK, GB2312).

Chinese Excel saves a "CSV" in the system code page (GB18030 family) unless told otherwise; every place that
reads an uploaded or named text file (ledgers, calendar lists, category files) decodes through here, so one
rule holds everywhere.
"""

from __future__ import annotations

from pathlib import Path

from grievance.errors import InvalidInput

# Tried in this order: GB18030 is a superset of GBK and GB2312 and decodes almost any byte string, so
# UTF-8 must be tried first (a UTF-8 file is never valid GB18030 by accident in practice for CJK text,
# but the reverse is not true).
ENCODINGS = ("utf-8-sig", "gb18030")
NAMES = {"utf-8-sig": "UTF-8", "gb18030": "GB18030", "utf-16": "UTF-16"}


def decode_text(data: bytes, *, field: str = "file") -> str:
    """The text of a file's bytes: UTF-8 (BOM stripped), UTF-16 with its BOM (Excel's "Unicode text"), or
    GB18030.

    Raises InvalidInput (field `field`) naming the accepted encodings when none decodes the bytes.
    """
    return decode_text_named(data, field=field)[0]


def decode_text_named(data: bytes, *, field: str = "file") -> tuple[str, str]:
    """`decode_text`, and the name of the encoding it found (UTF-8, UTF-16 or GB18030)."""
    candidates = ("utf-16", *ENCODINGS) if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ENCODINGS
    for encoding in candidates:
        try:
            return data.decode(encoding), NAMES[encoding]
        except UnicodeDecodeError:
            continue
    raise undecodable(field=field)


def undecodable(*, field: str = "file") -> InvalidInput:
    """The error for bytes that are text in none of the accepted encodings."""
    return InvalidInput.field(
        field,
        "无法识别文件编码：请保存为 UTF-8 或 GB18030（GBK）文本",
        "cannot decode the file: save it as UTF-8 or GB18030 (GBK) text",
    )


def file_problem(exc: OSError, *, field: str = "file") -> InvalidInput:
    """The error to show for a file that could not be read or written (missing, a folder, no permission...),
    in Chinese and English, naming the path; never the raw `[Errno N]`."""
    path = exc.filename or ""
    if isinstance(exc, FileNotFoundError):
        zh, en = f"文件不存在：{path}", f"no such file: {path}"
    elif isinstance(exc, IsADirectoryError):
        zh, en = f"{path} 是文件夹，不是文件", f"{path} is a folder, not a file"
    elif isinstance(exc, NotADirectoryError):
        zh, en = f"路径 {path} 中有一段不是文件夹", f"a part of the path {path} is not a folder"
    elif isinstance(exc, PermissionError):
        zh, en = f"没有权限读写 {path}", f"permission denied: {path}"
    else:
        reason = exc.strerror or exc.__class__.__name__
        zh, en = f"无法读写 {path}：{reason}", f"cannot read or write {path}: {reason}"
    return InvalidInput.field(field, zh, en)


def read_file(path: Path, *, field: str = "file") -> bytes:
    """The bytes of a file a user named; raises InvalidInput (field `field`, file_problem) when it cannot be
    read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise file_problem(exc, field=field) from None


def read_text_file(path: Path, *, field: str = "file") -> str:
    """The text of a file a user named (the category tree...), decoded by decode_text.

    Raises InvalidInput (field `field`) when the file cannot be read (file_problem) or decoded."""
    return decode_text(read_file(path, field=field), field=field)
