"""Helpers of the ledger tests: files built in memory (CSV with or without BOM, XLSX with openpyxl), the
import and export API, row counts of every table an import writes, and extra empty databases."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from tests.api._support import API
from tests.factories import World


def csv_bytes(header: list[str], rows: list[list[Any]], *, bom: bool = False, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([["" if cell is None else cell for cell in row] for row in rows])
    return (("\ufeff" if bom else "") + out.getvalue()).encode(encoding)


def xlsx_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def records(header: list[str], rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Rows given as {column: value} in the order of a header (missing cells empty)."""
    return [[row.get(name, "") for name in header] for row in rows]


def upload(
    world: World,
    filename: str,
    data: bytes,
    *,
    dry_run: bool = False,
    as_user: str = "admin",
    expect: int = 200,
) -> dict[str, Any]:
    response = world.client.post(
        f"{API}/ledger/import",
        params={"dry_run": "true"} if dry_run else None,
        files={"file": (filename, data)},
        headers=world.headers(as_user),
    )
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


def counts(engine: Engine) -> dict[str, int]:
    """Rows in every table of the schema: "nothing written" means none of them changed."""
    tables = sorted(set(inspect(engine).get_table_names()) - {"alembic_version"})
    with engine.connect() as conn:
        return {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in tables}


def errors_by_cell(body: dict[str, Any]) -> dict[tuple[int | None, str], dict[str, Any]]:
    """The errors of a 422, by (row, column)."""
    return {(e.get("row"), e.get("column", e["field"])): e for e in body["errors"]}


@contextmanager
def extra_database(database: Any, root: Path) -> Iterator[Any]:
    """Another empty, migrated database of the same backend as `database` (a tests.conftest.Database):
    a copy of the migrated SQLite template, or a new PostgreSQL database dropped afterwards."""
    from tests.conftest import Database, _drop_postgres, _postgres_or_fail

    if database.template is not None:
        yield Database("sqlite", database.url, database.template)
        return
    extra = _postgres_or_fail(root)
    try:
        yield extra
    finally:
        _drop_postgres(extra)
