"""Hold the replayed cases of a ledger import between its two passes on disk, not in memory (issue 13: a
100,000-row ledger imports in bounded memory): the first pass checks and replays the file in a read-only
transaction and adds each replayed case here; the second reads them back batch by batch in the write
transaction.

A batch of `batch_rows` cases stays in memory until it is full; full batches are pickled to an anonymous
temporary file (tempfile.TemporaryFile: unlinked from the start, so nothing is left behind even when the
process is killed) in `directory`. A ledger of fewer rows than a batch never touches the disk. The file is this
process's own and lives only as long as the import, so it is read back with pickle. A file that cannot be
written, up to its last bytes, is SpillUnwritable (503) before the write pass begins.
"""

from __future__ import annotations

import contextlib
import errno
import pickle
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from grievance.db import UNWRITABLE_RETRY_AFTER_SECONDS, DatabaseBusy
from grievance.errors import DomainError
from grievance.ledger.replay import Replayed

BATCH_ROWS = 500


class SpillUnwritable(DatabaseBusy):
    """503 with Retry-After: the import's temporary file cannot be written (its folder cannot be made, the disk is
    full or read-only). Nothing of the import was written (the write pass had not begun). Answered like a full
    database (web/app.py's busy handler), since an administrator must act before a retry can work."""

    def __init__(self, directory: Path | None, error: OSError) -> None:
        self.code = "import_temp_unwritable"
        where = str(directory) if directory is not None else "the system temporary folder"
        if error.errno == errno.ENOSPC:
            reason_zh, reason_en = "磁盘已满", "the disk is full"
            fix_zh, fix_en = "请管理员清理磁盘空间", "an administrator must free disk space"
        elif error.errno in (errno.EEXIST, errno.ENOTDIR):
            reason_zh, reason_en = "该位置有同名文件，不是文件夹", "a file stands where the folder should be"
            fix_zh, fix_en = "请管理员移走该文件", "an administrator must move that file away"
        elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason_zh, reason_en = "无写权限或磁盘只读", "it is not writable or the disk is read-only"
            fix_zh, fix_en = "请管理员恢复写权限", "an administrator must make it writable"
        else:
            reason_zh = reason_en = error.strerror or type(error).__name__
            fix_zh, fix_en = "请管理员检查该文件夹", "an administrator must check the folder"
        DomainError.__init__(
            self,
            f"台账导入的临时文件无法写入（{where}：{reason_zh}），本次未导入任何内容；{fix_zh}后重试",
            f"the import's temporary file cannot be written ({where}: {reason_en}); nothing was imported; "
            f"{fix_en}, then retry",
            retry_after=UNWRITABLE_RETRY_AFTER_SECONDS,
        )


class Spill:
    """Replayed cases, added in file order and read back in the same order, in batches of `batch_rows` (the last
    one shorter; BATCH_ROWS by default). Use it as a context manager: leaving it closes (and so deletes) the temporary file, on
    success and on any error alike."""

    def __init__(self, directory: Path | None = None, *, batch_rows: int | None = None) -> None:
        self.directory = directory
        self.batch_rows = batch_rows or BATCH_ROWS
        self.file: IO[bytes] | None = None
        self.batches = 0  # batches written to the file
        self.rows = 0  # cases added
        self._batch: list[Replayed] = []

    def add(self, replayed: Replayed) -> None:
        """Keep one more case; writes the batch to the file when it is full. Raises SpillUnwritable (503) when the
        directory cannot hold the file (not creatable, full, read-only)."""
        self._batch.append(replayed)
        self.rows += 1
        if len(self._batch) >= self.batch_rows:
            self._write()

    def _write(self) -> None:
        try:
            if self.file is None:
                if self.directory is not None:
                    self.directory.mkdir(parents=True, exist_ok=True)
                # Closed by close(), which the context manager calls whatever happens.
                self.file = tempfile.TemporaryFile(prefix="ledger-import-", suffix=".pickle", dir=self.directory)  # noqa: SIM115
            pickle.dump(self._batch, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError as exc:
            raise SpillUnwritable(self.directory, exc) from exc
        self.batches += 1
        self._batch = []

    def read(self) -> Iterator[list[Replayed]]:
        """Every case added, batch by batch, in the order added (one batch in memory at a time)."""
        if self.file is not None:
            try:
                self.file.flush()  # the last bytes may not fit: said before any row is inserted
            except OSError as exc:
                raise SpillUnwritable(self.directory, exc) from exc
            self.file.seek(0)
            for _ in range(self.batches):
                yield pickle.load(self.file)
        if self._batch:
            yield self._batch

    def close(self) -> None:
        """Let go of the cases: the file is closed, which deletes it."""
        self._batch = []
        if self.file is not None:
            # A flush that cannot be made (a full disk): the file is thrown away, its error already said.
            with contextlib.suppress(OSError):
                self.file.close()

    def __enter__(self) -> Spill:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
