"""One load of the demo per backend for the whole test run: a load takes about 40 s, and with pytest-xdist each
test process that ran some of tests/test_demo.py's tests loaded its own. The first process to need a backend's
demo loads it into a source kept for the run; every process (that one included) then reads a copy of its own, as
before. The source is dropped at the end of the run (drop_shared_demos, from tests/conftest.py)."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

MADE = "demo-{backend}.json"  # in the run's shared folder: {"url": the source's URL, "output": the load's output}


def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder all processes of this run share: pytest's base temporary folder, or its parent in a worker."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


@contextmanager
def shared_demo(
    database: Any, tmp_path_factory: pytest.TempPathFactory, root: Path, load: Callable[[str], str]
) -> Iterator[tuple[str, str]]:
    """Yields (URL of this process's own copy of the loaded demo, the output of the load). `database` is a
    tests.conftest.Database; `load(url)` loads the demo into the empty, migrated database at `url` and returns
    what the command printed. The copy is dropped (PostgreSQL) when the context ends."""
    from tests.conftest import Database, _drop_postgres, _postgres_or_fail

    folder = shared_folder(tmp_path_factory)
    made = folder / MADE.format(backend=database.backend)
    with _locked(folder / f"demo-{database.backend}.lock"):
        if not made.exists():
            if database.template is not None:
                source = folder / "demo-source.db"
                source.write_bytes(database.template.read_bytes())
                url = f"sqlite:///{source}"
            else:
                url = _postgres_or_fail(folder).url
            made.write_text(json.dumps({"url": url, "output": load(url)}), encoding="utf-8")
        found = json.loads(made.read_text(encoding="utf-8"))
        if database.template is not None:
            copy = root / "demo.db"
            src, dst = sqlite3.connect(str(make_url(found["url"]).database)), sqlite3.connect(copy)
            try:
                src.backup(dst)  # with what is still in the source's write-ahead log
            finally:
                src.close()
                dst.close()
            yield f"sqlite:///{copy}", found["output"]
            return
        name = f"grievance_test_{uuid.uuid4().hex[:8]}"
        copy_url = make_url(found["url"]).set(database=name).render_as_string(hide_password=False)
        _clone_postgres(found["url"], name)
    try:
        yield copy_url, found["output"]
    finally:
        _drop_postgres(Database("postgresql", copy_url))


def _clone_postgres(source_url: str, name: str) -> None:
    """CREATE DATABASE name TEMPLATE source; the loading process's idle pooled connections to the source (its
    engine is never used again) are closed first, as PostgreSQL copies only a database nobody is connected to."""
    from tests.conftest import PG_ADMIN_URL

    source = make_url(source_url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": source},
            )
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    finally:
        admin.dispose()


def drop_shared_demos(folder: Path) -> None:
    """Drop the PostgreSQL sources of the run's shared demos (the SQLite one goes with the folder)."""
    made = folder / MADE.format(backend="postgresql")
    if made.exists():
        from tests.conftest import Database, _drop_postgres

        _drop_postgres(Database("postgresql", json.loads(made.read_text(encoding="utf-8"))["url"]))
