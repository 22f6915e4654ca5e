"""`grievance backup FILE` and `grievance restore FILE`: a consistent copy of the whole database taken while
the service runs, and putting one back, on SQLite (its online backup API) and PostgreSQL (pg_dump/pg_restore).

A backup is one file: a SQLite database file, or a pg_dump archive in custom format ("PGDMP"). Restore checks the
file's kind against the configured database, its migration revision against the code's, and refuses to overwrite
a database that holds cases or users unless --force.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Engine, make_url

from grievance.config import Settings
from grievance.db import engine_for
from grievance.errors import DomainError, InvalidInput
from grievance.textfiles import file_problem

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
TOOL_TIMEOUT_SECONDS = 3600  # pg_dump / pg_restore of a large database; past it the command is stopped
# Tables whose rows make a database "in use": restoring over them needs --force.
USED_TABLES = ("cases", "users")


class BackupFailed(DomainError):
    """pg_dump / pg_restore missing or failing, a backup that does not fit this code: nothing was changed."""

    status_code = 500
    code = "backup_failed"


@dataclass(frozen=True)
class Restored:
    revision: str | None  # the backup's migration revision
    upgrade_needed: bool  # the backup predates the code's head: run `grievance db upgrade`


# --- revisions ----------------------------------------------------------------------------------------------


def _revisions() -> tuple[str | None, set[str]]:
    """The code's head migration revision and every revision it knows."""
    from alembic.script import ScriptDirectory

    from grievance.migrations import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    return scripts.get_current_head(), {s.revision for s in scripts.walk_revisions()}


def _check_revision(revision: str | None) -> bool:
    """Whether a backup at `revision` needs `grievance db upgrade` after restoring (it is older than the code's
    head). Raises BackupFailed for a backup without a schema or from a newer version of the code."""
    head, known = _revisions()
    if revision is None:
        raise BackupFailed(
            "备份中没有数据库结构版本，不是本系统的备份",
            "the backup has no migration revision: it is not a grievance database",
        )
    if revision not in known:
        raise BackupFailed(
            f"备份的数据库版本 {revision} 比本程序新（本程序为 {head}），请用制作该备份的程序版本恢复",
            f"the backup is at migration {revision}, newer than this code's {head}: restore it with the version "
            "of grievance that made it",
        )
    return revision != head


# --- files --------------------------------------------------------------------------------------------------


def _file_kind(path: Path) -> str:
    """ "sqlite" or "postgresql" from a backup file's first bytes; InvalidInput for anything else."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise InvalidInput.field("file", f"文件不存在：{path}", f"no such file: {path}") from None
    except OSError as exc:
        raise file_problem(exc, field="file") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise InvalidInput.field(
        "file",
        f"{path} 不是备份文件：应为 SQLite 数据库文件或 pg_dump 自定义格式 (-Fc) 的归档",
        f"{path} is not a backup: expected a SQLite database file or a pg_dump custom-format (-Fc) archive",
    )


def _new_file_beside(target: Path) -> Path:
    """An empty temporary file in the target's folder (renamed onto it when complete, so a failed backup never
    leaves a truncated file under the target's name). InvalidInput for a missing or unwritable folder."""
    folder = target.parent
    if target.is_dir():
        raise InvalidInput.field("file", f"{target} 是文件夹，请给出文件名", f"{target} is a folder: give a file name")
    if not folder.is_dir():
        raise InvalidInput.field("file", f"文件夹不存在：{folder}", f"no such folder: {folder}")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise file_problem(exc, field="file") from None
    os.close(fd)
    return Path(name)


def _wrong_kind(path: Path, kind: str, backend: str) -> InvalidInput:
    names = {
        "sqlite": ("SQLite 数据库文件", "a SQLite database file"),
        "postgresql": ("PostgreSQL 备份", "a PostgreSQL dump"),
    }
    zh, en = names[kind]
    return InvalidInput.field(
        "file",
        f"{path} 是{zh}，而配置的数据库是 {backend}，不能恢复",
        f"{path} is {en} but the configured database is {backend}: it cannot be restored there",
    )


def _in_use(engine: Engine) -> bool:
    """Whether the database holds cases or users (restoring over it would lose them)."""
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        return any(
            conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {table})")).scalar()
            for table in USED_TABLES
            if table in tables
        )


def _refuse_in_use(engine: Engine, force: bool) -> None:
    if not force and _in_use(engine):
        raise InvalidInput.field(
            "force",
            "数据库中已有诉求或用户，恢复会覆盖它们；确认覆盖请加 --force（建议先备份当前数据库）",
            "the database already holds cases or users that a restore would overwrite; add --force to overwrite "
            "them (back the current database up first)",
        )


# --- SQLite -------------------------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise InvalidInput.field("database_url", "内存数据库无法备份", "an in-memory database cannot be backed up")
    return Path(url.database)


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _integrity(conn: sqlite3.Connection, path: Path) -> None:
    """BackupFailed when SQLite's integrity_check of `path` does not answer "ok" or cannot read the file at all
    (a truncated copy raises "database disk image is malformed" rather than answering)."""
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        result = str(exc)
    if result != "ok":
        raise BackupFailed(
            f"{path} 已损坏或不完整（SQLite：{result}）", f"{path} is damaged or incomplete (SQLite: {result})"
        )


def _check_backup(conn: sqlite3.Connection, backup: Path) -> None:
    """_integrity for the file to restore from, its refusal saying that the database was left as it was."""
    try:
        _integrity(conn, backup)
    except BackupFailed as exc:
        raise BackupFailed(
            f"{exc.message}，无法恢复；数据库未作任何改动",
            f"{exc.message_en}; cannot restore from it; the database was not changed",
        ) from None


def _sqlite_backup(url: URL, target: Path) -> None:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise InvalidInput.field(
            "database_url", f"数据库文件不存在：{source_path}", f"no such database file: {source_path}"
        )
    partial = _new_file_beside(target)
    try:
        # The online backup API copies a consistent snapshot page by page while the service keeps writing.
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
            _integrity(copy, target)
        finally:
            copy.close()
            source.close()
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_restore(url: URL, backup: Path, engine: Engine, force: bool) -> Restored:
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        _check_backup(source, backup)
        revision = _sqlite_revision(source)
        upgrade_needed = _check_revision(revision)
        _refuse_in_use(engine, force)
        engine.dispose()
        target = sqlite3.connect(_sqlite_path(url), timeout=30)
        try:
            # Page by page under the target's write lock: readers see the old database or the restored one.
            source.backup(target)
            _integrity(target, _sqlite_path(url))
        finally:
            target.close()
    finally:
        source.close()
    return Restored(revision, upgrade_needed)


# --- PostgreSQL ---------------------------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupFailed(
            f"找不到 {name}：请安装与数据库服务器同一主版本的 PostgreSQL 客户端（Debian: apt install postgresql-client）",
            f"{name} not found: install the PostgreSQL client tools of the server's major version, e.g. apt install "
            "postgresql-client",
        )
    return found


def _libpq_env(url: URL) -> dict[str, str]:
    """The connection as libpq environment variables: the password never appears on a command line."""
    env = dict(os.environ)
    query: dict[str, Any] = dict(url.query)
    for key, value in (
        ("PGHOST", url.host or query.get("host")),
        ("PGPORT", url.port or query.get("port")),
        ("PGUSER", url.username or query.get("user")),
        ("PGPASSWORD", url.password or query.get("password")),
        ("PGDATABASE", url.database),
        ("PGSSLMODE", query.get("sslmode")),
    ):
        if value:
            env[key] = str(value)
    return env


def _run(argv: list[str], url: URL, what_zh: str, what_en: str) -> str:
    try:
        done = subprocess.run(
            argv, env=_libpq_env(url), capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise BackupFailed(
            f"{what_zh}超过 {TOOL_TIMEOUT_SECONDS} 秒未完成，已停止",
            f"{what_en} took over {TOOL_TIMEOUT_SECONDS} s and was stopped",
        ) from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.strip().splitlines()[:3])
        raise BackupFailed(f"{what_zh}失败：{detail}", f"{what_en} failed: {detail}")
    return done.stdout


def _pg_backup(url: URL, target: Path) -> None:
    pg_dump = _tool("pg_dump")
    partial = _new_file_beside(target)
    try:
        _run(
            [pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"],
            url,
            "pg_dump 备份",
            "pg_dump",
        )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _pg_dump_revision(pg_restore: str, url: URL, backup: Path) -> str | None:
    """The alembic_version row inside a custom-format dump (pg_restore prints its COPY data as SQL)."""
    script = _run(
        [pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(backup)],
        url,
        "读取备份",
        "reading the backup",
    )
    match = re.search(r"COPY \S*alembic_version \(version_num\) FROM stdin;\n([^\n\\]+)\n", script)
    return match.group(1).strip() if match else None


def _pg_restore(url: URL, backup: Path, engine: Engine, force: bool) -> Restored:
    pg_restore = _tool("pg_restore")
    # Read the whole archive once before touching the database: a truncated or damaged dump is named here.
    try:
        _run([pg_restore, "--file=/dev/null", str(backup)], url, "读取备份", "reading the backup")
        revision = _pg_dump_revision(pg_restore, url, backup)
    except BackupFailed as exc:
        raise BackupFailed(
            f"{backup} 已损坏或不完整，无法恢复（{exc.message}）；数据库未作任何改动",
            f"{backup} is damaged or incomplete, cannot restore from it ({exc.message_en}); the database was "
            "not changed",
        ) from None
    upgrade_needed = _check_revision(revision)
    _refuse_in_use(engine, force)
    engine.dispose()
    # One transaction: a failure part-way leaves the database as it was.
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={url.database}",
            str(backup),
        ],
        url,
        "pg_restore 恢复",
        "pg_restore",
    )
    return Restored(revision, upgrade_needed)


# --- entry points -------------------------------------------------------------------------------------------


def backup(settings: Settings, target: Path) -> None:
    """Write a consistent backup of the configured database to `target` (replaced only when complete).
    Raises InvalidInput (an unwritable or missing folder, an in-memory database) or BackupFailed."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        _sqlite_backup(url, target)
    else:
        _pg_backup(url, target)


def restore(settings: Settings, source: Path, *, force: bool = False) -> Restored:
    """Replace the configured database's content with a backup's. Raises InvalidInput (no such file, not a
    backup, a backup of the other kind of database, a database in use without `force`) or BackupFailed (a
    damaged file, a backup newer than the code, pg_restore missing or failing); nothing is changed then."""
    url = make_url(settings.database_url)
    backend = url.get_backend_name()
    kind = _file_kind(source)
    if kind != backend:
        raise _wrong_kind(source, kind, backend)
    engine = engine_for(settings)
    try:
        if backend == "sqlite":
            return _sqlite_restore(url, source, engine, force)
        return _pg_restore(url, source, engine, force)
    finally:
        engine.dispose()


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    target = Path(args.file)
    backup(settings, target)
    print(f"已备份到 {target} (backed up to {target}, {target.stat().st_size} bytes)")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    done = restore(settings, Path(args.file), force=args.force)
    print(f"已从 {args.file} 恢复（数据库版本 {done.revision}） (restored from {args.file}, migration {done.revision})")
    if done.upgrade_needed:
        print(
            "备份早于本程序的数据库版本：请运行 `grievance db upgrade` (the backup predates this code: run `grievance db upgrade`)"
        )
    return 0


def add_commands(sub: Any) -> None:
    """Register `backup` and `restore` on the CLI's subcommands (grievance.cli.build_parser)."""
    made = sub.add_parser(
        "backup", help="a consistent copy of the database while the service runs (SQLite file or pg_dump -Fc)"
    )
    made.add_argument("file", help="the backup file to write")
    made.set_defaults(handler=cmd_backup)
    put = sub.add_parser("restore", help="replace the database's content with a backup made by `grievance backup`")
    put.add_argument("file", help="the backup file to read")
    put.add_argument("--force", action="store_true", help="overwrite a database that already holds cases or users")
    put.set_defaults(handler=cmd_restore)
