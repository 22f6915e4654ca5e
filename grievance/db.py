"""The database engine and sessions: one transaction per action, committed by whoever opened it; a bounded
wait for a busy database, which then answers "busy, retry" instead of failing."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, get_args

from sqlalchemy import DateTime, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from grievance.config import DEFAULT_DB_LOCK_TIMEOUT_SECONDS, Settings
from grievance.errors import DomainError, StaleVersion
from grievance.input_bounds import MAX_ID, refuse_bad_text_on_flush  # noqa: F401  (importing installs the NUL check)

# The execution option that makes a SQLite transaction begin DEFERRED (see read_only()).
_READ_ONLY = "grievance_read_only"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite (no zones) and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class _WriterConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions queue on one lock of the process (`writer_lock`, set per
    engine) before `BEGIN IMMEDIATE`, and hand it on the moment they commit or roll back.

    SQLite itself lets a waiting writer poll its file lock, sleeping up to 100 ms between tries, so under a
    queue of writers one request in twenty waited most of a second (issue 13); a thread blocked on a Python
    lock wakes as soon as the lock is free. Other processes (the CLI, a second server) still meet SQLite's
    busy timeout."""

    writer_lock: threading.Lock
    _holds_writer_lock = False

    def take_writer_lock(self, timeout: float) -> float:
        """Wait at most `timeout` seconds for this process's other writers; returns the seconds left of it, for
        SQLite's own wait on other processes (so a request waits `timeout` in all, not twice). Raises the busy
        OperationalError (a 503) when the time runs out."""
        started = time.monotonic()
        if not self.writer_lock.acquire(timeout=timeout):
            locked = sqlite3.OperationalError("database is locked (waited for this process's other writers)")
            raise sa_exc.OperationalError("BEGIN IMMEDIATE", None, locked)  # busy_kind(): "busy", a 503
        self._holds_writer_lock = True
        return max(0.0, timeout - (time.monotonic() - started))

    def release_writer_lock(self) -> None:
        if self._holds_writer_lock:
            self._holds_writer_lock = False
            self.writer_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_writer_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_writer_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_writer_lock()


# The settings SQLite accepts here: those of Settings.sqlite_synchronous (FULL, NORMAL).
SQLITE_SYNCHRONOUS = get_args(Settings.model_fields["sqlite_synchronous"].annotation)


def engine_for(settings: Settings) -> Engine:
    """The engine of a deployment's settings (database_url, db_lock_timeout_seconds, sqlite_synchronous)."""
    return make_engine(
        settings.database_url,
        lock_timeout=settings.db_lock_timeout_seconds,
        sqlite_synchronous=settings.sqlite_synchronous,
    )


def make_engine(
    url: str, *, lock_timeout: float = DEFAULT_DB_LOCK_TIMEOUT_SECONDS, sqlite_synchronous: str = "FULL"
) -> Engine:
    """The engine for a database URL. `lock_timeout` (seconds, Settings.db_lock_timeout_seconds) bounds every
    wait for the database: SQLite's busy timeout on its write lock (and the wait for this process's other
    writers); on PostgreSQL `lock_timeout`, the connect timeout and the wait for a pooled connection. Past it
    the statement fails with an error that `is_busy()` recognises.

    SQLite runs in WAL mode with `synchronous` = `sqlite_synchronous` (Settings.sqlite_synchronous): FULL (the
    default) syncs the log at every commit, so an acknowledged case survives a power cut; NORMAL syncs only at
    checkpoints, so a power cut (not a crash of the program) may lose the last commits (README, durability)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
            raise ValueError(f"sqlite_synchronous must be one of {SQLITE_SYNCHRONOUS}, not {sqlite_synchronous!r}")
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # One writer lock per engine (a database file); each pooled connection of the engine shares it.
        connection_class = type("WriterConnection", (_WriterConnection,), {"writer_lock": threading.Lock()})
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": lock_timeout, "factory": connection_class}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Take the write lock at BEGIN so concurrent writers queue instead of failing mid-transaction.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A read-only session reads a snapshot (WAL) without the write lock, beside a running writer.
            if conn.get_execution_options().get(_READ_ONLY):
                conn.exec_driver_sql("BEGIN")
                return
            dbapi_conn = conn.connection.dbapi_connection
            left = dbapi_conn.take_writer_lock(lock_timeout)
            try:
                # What is left of the wait goes to SQLite's own (another process: the CLI, a second server).
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {max(1, round(left * 1000))}")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_conn.release_writer_lock()
                raise

        return engine
    milliseconds = max(1, round(lock_timeout * 1000))
    # jit=off: PostgreSQL's JIT compiler (on above jit_above_cost since PostgreSQL 12) spent more time compiling
    # the report statements than running them (1.3 s of a 2.4 s monthly report at a million cases, issue 13) and
    # ~10 ms on each board query; a server's own setting is overridden for our connections only. A URL's own
    # `options` come first and may say otherwise.
    options = " ".join(
        filter(None, ["-c jit=off", str(parsed.query.get("options") or ""), f"-c lock_timeout={milliseconds}"])
    )
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_timeout=lock_timeout,
        # libpq counts whole seconds and treats less than 2 as 2.
        connect_args={"connect_timeout": max(2, math.ceil(lock_timeout)), "options": options},
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for the engine; each writes the outbox row of every live case event (grievance/outbox/writer.py)."""
    from grievance.cases import prefetch  # here: the cases' models import this module
    from grievance.outbox import writer  # here: the outbox's models import this module

    factory = sessionmaker(engine, class_=Session, expire_on_commit=False)
    event.listen(factory, "before_flush", _keep_audit_for_after_read)
    event.listen(factory, "before_flush", prefetch.forget)
    event.listen(factory, "after_transaction_end", prefetch.forget)
    writer.install(factory)
    return factory


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    A row changed by another transaction since this one read it (the ORM's version check, StaleDataError, at a
    flush or at the commit: a calendar change moving the clocks of a case an action just moved, say) becomes
    the stale-version Conflict (409, "changed concurrently, retry") every writer answers, nothing written."""
    with _rolled_back_on_error(factory()) as session:
        yield session
        session.commit()
        _write_audit_after_read(session)


@contextmanager
def _rolled_back_on_error(session: Session) -> Iterator[Session]:
    """The session, rolled back on any error (a lost race on a row's version as the stale-version 409), closed
    at the end."""
    try:
        yield session
    except StaleDataError as exc:
        session.rollback()
        raise stale_version() from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def stale_version() -> StaleVersion:
    """The 409 for a write that lost a race on a row's version (sqlalchemy StaleDataError): retry on fresh data."""
    return StaleVersion(
        "数据已被他人同时修改，本次未保存任何内容，请刷新后重试",
        "the data was changed concurrently; nothing was saved; reload and retry",
    )


# A request that only reads (GET, HEAD): its session's key in Session.info, and where its audit entries wait.
_READ_REQUEST = "grievance_read_request"
_AUDIT_AFTER_READ = "grievance_audit_after_read"


class WriteInReadRequest(RuntimeError):
    """A GET or HEAD request tried to change data other than its audit entries: a programming error (the change
    belongs in a POST). Raised at the flush; nothing is written."""


@contextmanager
def request_transaction(factory: sessionmaker[Session], *, reads_only: bool) -> Iterator[Session]:
    """The one transaction of a web request (web/deps.py): `transaction()` for a request that may write; for
    one that only reads (`reads_only`: GET, HEAD) a read that never takes SQLite's write lock, so lists and pages
    never wait behind intake (issue 13). Such a request may still add audit entries (AuditEntry: a confidential
    case viewed, a list exported): they are kept aside and written in a short write transaction of their own
    once the read is done, before the answer leaves. Any other change raises WriteInReadRequest at the flush."""
    if not reads_only:
        with transaction(factory) as session:
            yield session
        return
    with _rolled_back_on_error(factory()) as session:
        session.info[_READ_REQUEST] = True
        session.connection(execution_options={_READ_ONLY: True})
        yield session
        session.flush()  # what the request added last goes through the check too (audit entries set aside)
        session.rollback()  # nothing else to keep: the read is over
        _write_audit_after_read(session)


def _write_audit_after_read(session: Session) -> None:
    """Write, in a short transaction of their own, the audit entries a read set aside (none: nothing is done)."""
    audit = session.info.pop(_AUDIT_AFTER_READ, [])
    session.info[_READ_REQUEST] = False
    if audit:
        session.add_all(audit)
        session.commit()


def _keep_audit_for_after_read(session: Session, _flush_context: Any, _instances: Any) -> None:
    """before_flush of a read request's session: audit entries wait for the write after the read; anything else
    is refused (WriteInReadRequest)."""
    if not session.info.get(_READ_REQUEST):
        return
    from grievance.cases.models import AuditEntry  # here: the cases' models import this module

    waiting = session.info.setdefault(_AUDIT_AFTER_READ, [])
    for obj in list(session.new):
        if isinstance(obj, AuditEntry):
            session.expunge(obj)
            waiting.append(obj)
    changed = [type(o).__name__ for o in (*session.new, *session.dirty, *session.deleted) if session.is_modified(o)]
    if changed or session.deleted:
        raise WriteInReadRequest(f"a GET or HEAD request tried to write {sorted(set(changed))}")


def commit_then_read(session: Session) -> None:
    """Commit the session's transaction now and go on reading, as a GET does (request_transaction): on SQLite
    without the write lock, audit entries written after the read, any other change refused. For a write whose
    answer is built afterwards (intake's and an action's case page), so that the locks the write took (SQLite's
    write lock, the year's case-number row, the case's row) are held for the write alone, not for the answer.
    Raises the stale-version Conflict like transaction() when the commit loses a race on a row's version."""
    try:
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise stale_version() from exc
    session.info[_READ_REQUEST] = True
    session.connection(execution_options={_READ_ONLY: True})


@contextmanager
def read_only(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reading only, rolled back at the end (nothing it does is ever committed).

    On SQLite its transaction begins DEFERRED and `PRAGMA query_only` is on, so it never takes the write lock
    and reads a consistent snapshot while another connection writes; on PostgreSQL it is a READ ONLY
    transaction. A write in it fails on both (sqlalchemy OperationalError on SQLite, InternalError on
    PostgreSQL). Meant for long validation before a short write transaction (the ledger import)."""
    session = factory()
    conn = session.connection(execution_options={_READ_ONLY: True})
    sqlite = conn.dialect.name == "sqlite"
    try:
        conn.exec_driver_sql("PRAGMA query_only = ON" if sqlite else "SET TRANSACTION READ ONLY")
        yield session
    finally:
        try:
            if sqlite:
                # The pragma belongs to the pooled connection, not to the transaction: switch it off again.
                conn.connection.dbapi_connection.execute("PRAGMA query_only = OFF")  # type: ignore[union-attr]
        except Exception:
            conn.invalidate()  # never hand a read-only connection to the next writer
            raise
        finally:
            session.expunge_all()  # what was read stays readable afterwards (a rollback would expire it)
            session.rollback()
            session.close()


class DatabaseBusy(DomainError):
    """The database stayed busy (locked by another writer, no free connection) or unreachable for longer than
    Settings.db_lock_timeout_seconds: answered 503 with Retry-After (`retry_after`, seconds)."""

    status_code = 503
    code = "database_busy"

    def __init__(self, retry_after: int, *, unreachable: bool = False, reading: bool = False) -> None:
        if unreachable:
            self.code = "database_unavailable"
            zh, en = "暂时无法连接数据库", "cannot reach the database"
        else:
            zh, en = "数据库正忙", "the database is busy"
        if reading:  # a GET whose audit entry (a confidential view, an export) had to wait for a long write
            message = f"{zh}，请约 {retry_after} 秒后重新打开", f"{en}; open it again in about {retry_after} seconds"
        else:
            message = (
                f"{zh}，请约 {retry_after} 秒后重试，本次未保存任何内容",
                f"{en}; nothing was saved; retry in about {retry_after} seconds",
            )
        super().__init__(*message, retry_after=retry_after)


class DatabaseUnwritable(DatabaseBusy):
    """The database cannot be written: its disk is full (SQLite SQLITE_FULL, PostgreSQL 53100 disk_full) or its
    file or folder is read-only (SQLITE_READONLY). The transaction was rolled back, so nothing is half-written;
    answered 503 with Retry-After (`retry_after`, seconds) until an administrator frees space or makes it
    writable. `kind` is "full" or "read_only"."""

    def __init__(self, kind: str) -> None:
        retry_after = UNWRITABLE_RETRY_AFTER_SECONDS
        if kind == "full":
            self.code = "database_full"
            zh, en = "磁盘已满", "the disk is full"
            fix_zh, fix_en = "请管理员清理磁盘空间", "an administrator must free disk space"
        else:
            self.code = "database_read_only"
            zh, en = "数据库文件或所在磁盘为只读", "its file or disk is read-only"
            fix_zh, fix_en = "请管理员恢复写权限", "an administrator must make it writable"
        DomainError.__init__(
            self,
            f"数据库无法写入：{zh}，本次未保存任何内容；{fix_zh}后重试",
            f"the database cannot be written: {en}; nothing was saved; {fix_en}, then retry",
            retry_after=retry_after,
        )


UNWRITABLE_RETRY_AFTER_SECONDS = 60  # a full or read-only disk needs an administrator, not a moment

# PostgreSQL SQLSTATEs that mean "busy, try again": lock_timeout, deadlock and serialization failure (a retry
# succeeds), a cancelled statement; and "unreachable": too many connections, a server starting or stopping.
_PG_BUSY = {"55P03", "40P01", "40001", "57014"}
_PG_UNREACHABLE = {"53300", "57P01", "57P02", "57P03"}


def busy_kind(exc: BaseException) -> str | None:
    """ "busy" or "unreachable" when a database error means "retry later" rather than a fault, else None.

    busy: SQLite SQLITE_BUSY/SQLITE_LOCKED ("database is locked"), a PostgreSQL lock timeout, deadlock or
    serialization failure, no free pooled connection. unreachable: PostgreSQL connection failure (SQLSTATE
    class 08, a client-side connect error, a dropped connection), too many connections, server shutting down."""
    if isinstance(exc, sa_exc.TimeoutError):  # the pool had no connection to give within pool_timeout
        return "busy"
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    if exc.connection_invalidated:
        return "unreachable"
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is not None:
            return "busy" if code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) else None
        return "busy" if "locked" in str(orig) or "busy" in str(orig) else None
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        if sqlstate in _PG_BUSY:
            return "busy"
        return "unreachable" if sqlstate in _PG_UNREACHABLE or sqlstate.startswith("08") else None
    # psycopg raises OperationalError without a SQLSTATE when it cannot reach the server at all.
    return "unreachable" if isinstance(exc, sa_exc.OperationalError) else None


def is_busy(exc: BaseException) -> bool:
    """Whether a database error means "retry later" (busy_kind) rather than a fault of the program."""
    return busy_kind(exc) is not None


def unwritable_kind(exc: BaseException) -> str | None:
    """ "full" or "read_only" when a database error means the database cannot be written at all, else None:
    SQLite SQLITE_FULL ("database or disk is full", also past PRAGMA max_page_count) and SQLITE_READONLY
    ("attempt to write a readonly database": a read-only file, folder or mount); PostgreSQL 53100 disk_full."""
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        code = (getattr(orig, "sqlite_errorcode", None) or 0) & 0xFF
        return {sqlite3.SQLITE_FULL: "full", sqlite3.SQLITE_READONLY: "read_only"}.get(code)
    return "full" if getattr(orig, "sqlstate", None) == "53100" else None


def busy_error(exc: BaseException, lock_timeout: float) -> DatabaseBusy | None:
    """The 503 error a "retry later" database failure stands for: busy or unreachable (DatabaseBusy), full or
    read-only (DatabaseUnwritable); None for a fault."""
    unwritable = unwritable_kind(exc)
    if unwritable is not None:
        return DatabaseUnwritable(unwritable)
    kind = busy_kind(exc)
    if kind is None:
        return None
    return DatabaseBusy(retry_after_seconds(lock_timeout), unreachable=kind == "unreachable")


def retry_after_seconds(lock_timeout: float) -> int:
    """What a busy answer's Retry-After says: the configured wait, in whole seconds (at least 1)."""
    return max(1, math.ceil(lock_timeout))


def find_by_ref(session: Session, model: type[Any], ref: int | str | None, key: str) -> Any:
    """A row by id (a number) or by its natural key (a string such as a code); a string of digits that
    matches no key is tried as an id, so CLI arguments work either way."""
    from sqlmodel import select

    if ref is None or isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        # Ids are 32-bit INTEGER columns: a larger number names nothing (and PostgreSQL would refuse it).
        return session.get(model, ref) if 0 < ref <= MAX_ID else None
    row = session.exec(select(model).where(getattr(model, key) == ref)).first()
    # the length test comes first: int() raises on more than 4,300 digits
    if row is None and ref.isascii() and ref.isdigit() and len(ref) <= len(str(MAX_ID)) and 0 < int(ref) <= MAX_ID:
        row = session.get(model, int(ref))
    return row
