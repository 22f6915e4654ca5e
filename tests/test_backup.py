"""`grievance backup` and `grievance restore` on both databases: a round trip gives back the same report and
cases; a restore over a database in use, a file of the wrong kind, a newer backup, an unwritable path or a
missing pg_dump is refused with a bilingual message and changes nothing."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlmodel import SQLModel, select

from grievance.cases.models import Case
from grievance.db import transaction
from tests.factories import World

REPORT = ("report", "--from", "2025-09-01", "--to", "2025-11-01", "--as-of", "2025-10-15T00:00:00+08:00")


@pytest.fixture
def world(app, client, clock) -> World:  # type: ignore[no-untyped-def]
    return World(app, client)


def _some_cases(world: World) -> None:
    for i in range(4):
        case_no = world.intake(title=f"路灯不亮 {i}")["case_no"]
        world.act(case_no, "dispatch", "dispatcher", department_id="CGJ")
        if i % 2:
            world.act(case_no, "accept", "handler")
            world.act(case_no, "respond", "handler", note="已联系")


def _case_count(app) -> int:  # type: ignore[no-untyped-def]
    with transaction(app.state.sessions) as session:
        return session.exec(select(func.count()).select_from(Case)).one()


def _report(cli) -> dict:  # type: ignore[no-untyped-def]
    done = cli(*REPORT)
    assert done.code == 0, done.err
    return json.loads(done.out)


def test_round_trip_gives_back_the_same_report_and_cases(app, world, cli, tmp_path, database):
    _some_cases(world)
    report, count = _report(cli), _case_count(app)
    assert count == 4 and report
    target = tmp_path / "backups" / "nightly.dump"
    target.parent.mkdir()

    done = cli("backup", str(target))
    assert done.code == 0, done.err
    assert "已备份到" in done.out and "backed up to" in done.out
    assert target.read_bytes()[:5] == (b"SQLit" if database.backend == "sqlite" else b"PGDMP")
    assert [p.name for p in target.parent.iterdir()] == ["nightly.dump"]  # no partial file left behind

    # Work after the backup: a restore takes the database back to the backup's moment.
    world.intake(title="备份之后的诉求")
    assert _case_count(app) == 5 and _report(cli) != report

    refused = cli("restore", str(target))
    assert refused.code == 2
    assert "--force" in refused.err and "已有诉求或用户" in refused.err and "already holds cases" in refused.err
    assert _case_count(app) == 5  # nothing changed

    app.state.engine.dispose()  # the service's pooled connections, as a restarted service would
    done = cli("restore", str(target), "--force")
    assert done.code == 0, done.err
    assert "已从" in done.out and "restored from" in done.out and "db upgrade" not in done.out
    assert _case_count(app) == count
    assert _report(cli) == report
    # The restored database works: a new case gets the next number after the backup's last.
    assert world.intake(title="恢复之后的诉求")["case_no"].endswith("000005")


def test_restore_into_an_empty_database_needs_no_force(app, world, cli, tmp_path, database):
    _some_cases(world)
    report = _report(cli)
    target = tmp_path / "b.bak"
    assert cli("backup", str(target)).code == 0
    with app.state.engine.begin() as conn:  # empty every table, as a freshly migrated database is
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())
    assert _case_count(app) == 0
    app.state.engine.dispose()
    done = cli("restore", str(target))
    assert done.code == 0, done.err
    assert _case_count(app) == 4 and _report(cli) == report


def test_wrong_files_and_paths_are_refused_in_both_languages(app, world, cli, tmp_path, database):
    _some_cases(world)
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello")
    done = cli("restore", str(text_file), "--force")
    assert done.code == 2
    assert "不是备份文件" in done.err and "is not a backup" in done.err

    missing = cli("restore", str(tmp_path / "nope.dump"))
    assert missing.code == 2 and "文件不存在" in missing.err and "no such file" in missing.err

    other = tmp_path / "other.bak"
    if database.backend == "sqlite":
        other.write_bytes(b"PGDMP\x01\x0e\x00" + b"\x00" * 64)
        expected = ("是PostgreSQL 备份", "is a PostgreSQL dump")
    else:
        sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
        expected = ("是SQLite 数据库文件", "is a SQLite database file")
    wrong = cli("restore", str(other), "--force")
    assert wrong.code == 2 and expected[0] in wrong.err and expected[1] in wrong.err

    unwritable = cli("backup", str(tmp_path / "no" / "such" / "folder" / "x.bak"))
    assert unwritable.code == 2 and "文件夹不存在" in unwritable.err and "no such folder" in unwritable.err
    folder = cli("backup", str(tmp_path))
    assert folder.code == 2 and "是文件夹" in folder.err and "is a folder" in folder.err
    assert _case_count(app) == 4


def test_a_backup_from_a_newer_version_is_refused(app, world, cli, tmp_path, database):
    """The backup's migration revision is unknown to this code: refused, saying which version can restore it."""
    _some_cases(world)
    target = tmp_path / "newer.bak"
    with app.state.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'fffffffffff1'"))
    try:
        assert cli("backup", str(target)).code == 0
    finally:
        with app.state.engine.begin() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            assert head == "fffffffffff1"
    _put_back_head(app)
    done = cli("restore", str(target), "--force")
    assert done.code == 2
    assert "fffffffffff1" in done.err and "比本程序新" in done.err and "newer than this code" in done.err
    assert _case_count(app) == 4


def _put_back_head(app) -> None:  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    from grievance.migrations import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with app.state.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)  # SQLite needs no external tool
def test_missing_pg_dump_is_named_with_what_to_install(app, world, cli, tmp_path, database, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    target = tmp_path / "x.dump"
    done = cli("backup", str(target))
    assert done.code == 2
    assert "找不到 pg_dump" in done.err and "pg_dump not found" in done.err and "postgresql-client" in done.err
    assert not target.exists() and list(tmp_path.glob(".x.dump.*")) == []


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # pg_dump's snapshot is PostgreSQL's own
def test_sqlite_backup_is_consistent_while_the_service_writes(app, world, tmp_path, database):
    """The online backup API copies a snapshot: taken between two intakes of a running service, the copy passes
    integrity_check and holds exactly the cases committed before it."""
    from grievance.backup import backup

    _some_cases(world)
    target = tmp_path / "live.bak"
    backup(app.state.runtime.settings, target)
    world.intake(title="之后")
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM cases").fetchone()[0] == 4
    finally:
        copy.close()
    assert Path(target).stat().st_size > 0


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # the revision check is the same code on both
def test_a_backup_from_an_older_version_is_restored_with_the_upgrade_to_run(app, cli, tmp_path, database):
    """A backup made at the migration before the head: restored, and the command says to run `db upgrade`."""
    from alembic.script import ScriptDirectory

    from grievance.db import make_engine
    from grievance.migrations import alembic_config, upgrade

    scripts = ScriptDirectory.from_config(alembic_config())
    previous = scripts.get_revision(scripts.get_current_head()).down_revision
    old = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{old}")
    upgrade(engine, str(previous))
    engine.dispose()
    app.state.engine.dispose()
    done = cli("restore", str(old))
    assert done.code == 0, done.err
    assert f"数据库版本 {previous}" in done.out
    assert "grievance db upgrade" in done.out and "the backup predates this code" in done.out
    upgraded = cli("db", "upgrade")
    assert upgraded.code == 0, upgraded.err
    assert cli(*REPORT).code == 0


def test_a_truncated_backup_is_refused_and_the_database_is_untouched(app, world, cli, tmp_path, database):
    _some_cases(world)
    report = _report(cli)
    whole = tmp_path / "whole.bak"
    assert cli("backup", str(whole)).code == 0
    data = whole.read_bytes()
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(data[: len(data) // 2])
    app.state.engine.dispose()
    done = cli("restore", str(truncated), "--force")
    assert done.code == 2, done
    assert "程序内部错误" not in done.err and "internal error" not in done.err
    assert f"{truncated} 已损坏或不完整" in done.err and "数据库未作任何改动" in done.err
    assert "is damaged or incomplete" in done.err and "the database was not changed" in done.err
    assert _case_count(app) == 4 and _report(cli) == report
