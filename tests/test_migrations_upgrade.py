"""Upgrades of databases that hold data: one built at the previous migration head moves to the current head with
every case, event, clock and state intact, and one migrated by an earlier text of 0002 (rewritten after it had
landed; the texts are kept verbatim under tests/migrations_fixtures/) is repaired by 0008, so that reports and
writes work again, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from alembic import command
from grievance.config import PROJECT_ROOT, Settings
from grievance.db import make_engine, transaction
from grievance.migrations import alembic_config, pending_migration, upgrade
from grievance.models import import_all_models
from grievance.users.service import create_token, get_user
from tests.factories import World
from tests.test_migrations import downgrade, schema_diffs, scratch_engine  # noqa: F401 (a fixture)
from web.app import create_app

FIXTURES = Path(__file__).parent / "migrations_fixtures"
AT = datetime(2025, 9, 29, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
SEPTEMBER = {"from": "2025-09-01", "to": "2025-10-01"}
API = "/api/v1"
# The head when the rewrite of 0002 was found: `grievance db upgrade` called such a database up to date.
HEAD_WHEN_FOUND = "0006"
LAST_LANDED_HEAD = "0006"  # the head of the last release; the repair 0008 runs on the way up from it
CLOSED_PATH = [
    ("dispatch", "dispatcher", {"department_id": "CGJ"}),
    ("accept", "handler", {}),
    ("respond", "handler", {"note": "已电话联系"}),
    ("resolve", "handler", {"outcome": "solved", "reply": "已修复"}),
    ("callback", "dispatcher", {"reached": True, "solved": True, "satisfaction": "satisfied"}),
    ("close", "dispatcher", {"note": "归档"}),
]


def previous_head() -> str:
    script = ScriptDirectory.from_config(alembic_config())
    down = script.get_revision(script.get_current_head()).down_revision
    assert isinstance(down, str), down
    return down


def app_on(engine: Engine, tmp_path: Path) -> Any:
    app = create_app(Settings(database_url=engine.url.render_as_string(hide_password=False), data_dir=tmp_path))
    app.state.runtime.now = lambda: AT
    return app


def populate(engine: Engine, tmp_path: Path) -> None:
    """Three cases through the API (closed with callback, accepted, just received) and an attachment on an event."""
    app = app_on(engine, tmp_path)
    with TestClient(app) as client:
        world = World(app, client)
        closed = world.intake()["case_no"]
        for action, user, fields in CLOSED_PATH:
            world.act(closed, action, user, **fields)
        accepted = world.intake(title="青桐路井盖松动")["case_no"]
        for action, user, fields in CLOSED_PATH[:2]:
            world.act(accepted, action, user, **fields)
        world.intake(title="噪音扰民")
    app.state.engine.dispose()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO attachments (case_id, event_id, filename, content_type, size, sha256, uploaded_at) "
                "SELECT case_id, id, 'photo.jpg', 'image/jpeg', 3, :sha, at FROM case_events "
                "WHERE action = 'resolve'"
            ),
            {"sha": "0" * 64},
        )


def contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """What a person relies on, table by table, in a stable order."""
    queries = {
        "cases": "SELECT case_no, state, department_id, title, petitioner_phone, version, responded_at, resolved_at, "
        "outcome, satisfaction FROM cases ORDER BY case_no",
        "events": "SELECT c.case_no, e.action, e.from_state, e.to_state, e.at FROM case_events e "
        "JOIN cases c ON c.id = e.case_id ORDER BY e.id",
        "clocks": "SELECT c.case_no, k.name, k.due_at, k.stopped_at FROM case_clocks k "
        "JOIN cases c ON c.id = k.case_id ORDER BY c.case_no, k.name",
        "attachments": "SELECT a.id, e.action, a.filename FROM attachments a JOIN case_events e ON e.id = a.event_id "
        "ORDER BY a.id",
        "users": "SELECT username, role FROM users ORDER BY username",
    }
    with engine.connect() as connection:
        return {name: [tuple(row) for row in connection.execute(text(sql))] for name, sql in queries.items()}


def current_states(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                text(
                    "SELECT c.case_no, s.state, s.department_id, s.resolved, s.callback_reached FROM case_states s "
                    "JOIN cases c ON c.id = s.case_id WHERE s.valid_to IS NULL ORDER BY c.case_no"
                )
            )
        ]


def all_states(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text("SELECT * FROM case_states ORDER BY id"))]


def assert_current_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        diffs, _ = schema_diffs(connection)
        connection.rollback()
    assert diffs == []
    assert pending_migration(engine) is None


def assert_reports_and_writes_work(engine: Engine, tmp_path: Path) -> None:
    """The leader's rates count the three cases; an action on an old case and a new intake are stored."""
    app = app_on(engine, tmp_path)
    with TestClient(app) as client:
        with transaction(app.state.sessions) as session:
            tokens = {name: create_token(session, get_user(session, name)) for name in ("leader", "handler", "intake")}

        def headers(name: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[name]}"}

        response = client.get(f"{API}/reports/rates", params=SEPTEMBER, headers=headers("leader"))
        assert response.status_code == 200, response.text
        figures = response.json()["metrics"]
        assert figures["intake_count"]["value"] == 3
        assert (figures["resolution_rate"]["numerator"], figures["resolution_rate"]["denominator"]) == (1, 3)

        accepted = client.get(f"{API}/cases", params={"state": "accepted"}, headers=headers("handler"))
        assert accepted.status_code == 200, accepted.text
        (case_no,) = [item["case_no"] for item in accepted.json()["items"]]
        responded = client.post(
            f"{API}/cases/{case_no}/actions/respond", json={"note": "已到现场"}, headers=headers("handler")
        )
        assert responded.status_code == 200, responded.text
        assert responded.json()["state"] == "handling"
        created = client.post(
            f"{API}/cases",
            json={"channel": "hotline", "case_type": "help", "title": "升级后的第一件诉求"},
            headers=headers("intake"),
        )
        assert created.status_code == 201, created.text
    app.state.engine.dispose()
    states = dict((row[0], row[1]) for row in current_states(engine))
    assert states[case_no] == "handling"
    assert states[created.json()["case_no"]] == "received"


@pytest.mark.parametrize("start", ["previous", LAST_LANDED_HEAD], ids=["previous-head", "last-landed-head"])
def test_a_database_at_the_previous_head_with_data_upgrades_with_everything_kept(
    scratch_engine: Engine,  # noqa: F811
    tmp_path: Path,
    start: str,
) -> None:
    # The app refuses a database behind the code, so the data is written at the head and the schema taken back.
    upgrade(scratch_engine)
    populate(scratch_engine, tmp_path)
    downgrade(scratch_engine, previous_head() if start == "previous" else start)
    before, states_before = contents(scratch_engine), all_states(scratch_engine)
    assert len(before["cases"]) == 3 and len(before["events"]) == 1 + 6 + 1 + 2 + 1
    assert len(before["attachments"]) == 1 and len(states_before) == 3 + 6 + 2

    upgrade(scratch_engine)  # the repair 0008 among others: it must change nothing here
    assert contents(scratch_engine) == before
    assert all_states(scratch_engine) == states_before
    assert_current_schema(scratch_engine)
    assert_reports_and_writes_work(scratch_engine, tmp_path)


def old_alembic(tmp_path: Path, fixture: str) -> Config:
    """The migrations as they were when `fixture` was the text of 0002 (0003 to 0006 have not changed since)."""
    root = tmp_path / "old_alembic"
    shutil.copytree(PROJECT_ROOT / "alembic", root, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(FIXTURES / fixture, root / "versions" / "0002_report_history.py")
    config = alembic_config()
    config.set_main_option("script_location", str(root))
    return config


def run_old(config: Config, engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def copy_rows(source: Engine, target: Engine) -> None:
    """Every row of `source` into the (older) schema of `target`, the columns both have, parents first; then what
    the code of the old 0002 wrote besides: each event's department and each clock's change history."""
    import_all_models()
    with source.connect() as reading, target.begin() as writing:
        found = inspect(writing)
        present = set(found.get_table_names())
        for table in SQLModel.metadata.sorted_tables:
            if table.name not in present:
                continue
            names = {c["name"] for c in found.get_columns(table.name)}
            columns = [c for c in table.columns if c.name in names]
            rows = [dict(row._mapping) for row in reading.execute(select(*columns))]
            if not rows:
                continue
            writing.execute(sa.Table(table.name, sa.MetaData(), *[c._copy() for c in columns]).insert(), rows)
            if writing.dialect.name == "postgresql" and "id" in names:
                writing.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"
                    )
                )
        writing.execute(
            text(
                "UPDATE case_events SET department_id = "
                "(SELECT cases.department_id FROM cases WHERE cases.id = case_events.case_id)"
            )
        )
        if "case_clock_changes" in present:
            writing.execute(
                text(
                    "INSERT INTO case_clock_changes (case_id, name, at, due_at, paused_at, stopped_at) "
                    "SELECT case_id, name, started_at, due_at, paused_at, stopped_at FROM case_clocks ORDER BY id"
                )
            )


def tables_and_event_columns(engine: Engine) -> tuple[set[str], set[str]]:
    with engine.connect() as connection:
        found = inspect(connection)
        return set(found.get_table_names()), {c["name"] for c in found.get_columns("case_events")}


@pytest.mark.parametrize(
    ("fixture", "had_states"),
    [("0002_report_history_d79c188.py", False), ("0002_report_history_a42ecc7.py", True)],
    ids=["0002-d79c188", "0002-a42ecc7"],
)
def test_a_database_migrated_by_an_old_0002_is_repaired_with_its_data(
    scratch_engine: Engine,  # noqa: F811
    database: Any,
    tmp_path: Path,
    fixture: str,
    had_states: bool,
) -> None:
    # Cases, events, clocks and an attachment written by the app at the head; then copied into a database built
    # by the old text of 0002 (and 0003 to 0006), as on a server installed before the rewrite.
    source = make_engine(database.fresh_url(tmp_path))
    populate(source, tmp_path)
    before = contents(source)
    run_old(old_alembic(tmp_path, fixture), scratch_engine, HEAD_WHEN_FOUND)
    copy_rows(source, scratch_engine)
    source.dispose()
    assert contents(scratch_engine) == before
    tables, event_columns = tables_and_event_columns(scratch_engine)
    assert ("case_states" in tables) is had_states
    assert ("case_clock_changes" in tables) is not had_states
    assert "department_id" in event_columns  # the shape the bug report describes

    upgrade(scratch_engine)
    tables, event_columns = tables_and_event_columns(scratch_engine)
    assert "case_clock_changes" not in tables and "department_id" not in event_columns
    assert contents(scratch_engine) == before
    assert current_states(scratch_engine) == [
        ("GX-2025-000001", "closed", row_department(before, "GX-2025-000001"), True, True),
        ("GX-2025-000002", "accepted", row_department(before, "GX-2025-000002"), False, False),
        ("GX-2025-000003", "received", None, False, False),
    ]
    assert_current_schema(scratch_engine)
    assert_reports_and_writes_work(scratch_engine, tmp_path)


def row_department(contents_: dict[str, list[tuple[Any, ...]]], case_no: str) -> Any:
    department = next(row[2] for row in contents_["cases"] if row[0] == case_no)
    assert department is not None
    return department
