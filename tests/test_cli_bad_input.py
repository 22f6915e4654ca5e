"""Bad input never gets a traceback from the `grievance` command (issue 10): text with a NUL character (from an
argument or a file) and days no calendar keeps are refused in Chinese and English with exit code 2, the same
words as the API, and nothing is stored, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import create_engine, text


def _count(settings, table: str) -> int:  # type: ignore[no-untyped-def]
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_a_nul_in_a_name_or_a_note_is_refused_and_nothing_is_stored(cli, settings) -> None:  # type: ignore[no-untyped-def]
    department = cli("department", "add", "CGJ", "城市\x00管理局")
    assert department.code == 2, department
    assert "name" in department.err and "NUL" in department.err and "空字符" in department.err
    assert "Traceback" not in department.err
    note = cli("calendar", "add", "2027-10-08", "holiday", "--note", "调\x00休")
    assert note.code == 2 and "note" in note.err and "NUL" in note.err, note
    assert (_count(settings, "departments"), _count(settings, "calendar_overrides")) == (0, 0)
    assert cli("department", "add", "CGJ", "城市管理局").code == 0  # the same without the NUL


def test_a_nul_in_a_calendar_file_is_refused_and_nothing_is_stored(cli, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    calendar_file = tmp_path / "calendar.csv"
    calendar_file.write_text("2027-10-08,holiday,调休\n2027-10-09,workday,补\x00班\n", encoding="utf-8")
    result = cli("calendar", "import", str(calendar_file))
    assert result.code == 2 and "NUL" in result.err and "空字符" in result.err, result
    assert _count(settings, "calendar_overrides") == 0


def test_days_no_calendar_keeps_are_refused_with_exit_2(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    due = cli("calendar", "due", "9999-12-31T00:00:00+00:00", "300", "--unit", "days")
    assert due.code == 2 and "start" in due.err and "1900-01-01" in due.err and "2200-01-01" in due.err, due
    assert "Traceback" not in due.err
    assert cli("calendar", "due", "2199-12-31T00:00:00+00:00", "300", "--unit", "days").code == 2  # due in 2200
    report = cli("report", "--from", "0001-01-01", "--to", "0001-01-02")
    assert report.code == 2 and "from" in report.err and "out of range" in report.err, report
    export = cli("export", str(tmp_path / "out.csv"), "--from", "0001-01-01", "--to", "0001-01-02")
    assert export.code == 2 and "from" in export.err and "out of range" in export.err, export
    # `calendar list --year 0` is an argparse usage error (1900 to 2200): tests/test_cli_errors.py


def test_a_reference_longer_than_python_parses_is_an_unknown_name_with_exit_2(cli) -> None:  # type: ignore[no-untyped-def]
    report = cli("report", "--from", "2025-01-01", "--to", "2026-01-01", "--department", "9" * 5000)
    assert report.code == 2 and "department" in report.err, report
    assert "Traceback" not in report.err and "internal" not in report.err.lower(), report


def test_a_nul_in_a_changed_note_is_refused_and_the_stored_note_is_kept(cli, settings) -> None:  # type: ignore[no-untyped-def]
    assert cli("calendar", "add", "2027-10-08", "holiday", "--note", "调休").code == 0
    changed = cli("calendar", "add", "2027-10-08", "holiday", "--note", "调\x00休")
    assert changed.code == 2 and "note" in changed.err and "NUL" in changed.err, changed
    assert cli("calendar", "list").out.splitlines() == ["2027-10-08\tholiday\t调休"]


def test_a_day_or_a_due_time_outside_1900_to_2200_is_refused_with_exit_2(cli) -> None:  # type: ignore[no-untyped-def]
    """A tester's `calendar show 0001-01-01` said "workday" and `calendar due 2199-12-31T00:00 300` gave 2201."""
    show = cli("calendar", "show", "0001-01-01")
    assert show.code == 2 and "1900-01-01" in show.err and "Traceback" not in show.err, show
    beyond = cli("calendar", "due", "2199-12-31T00:00", "300")
    assert beyond.code == 2 and "2200-01-01" in beyond.err and "beyond the calendar" in beyond.err, beyond
    inside = cli("calendar", "due", "2025-09-30T10:00", "5")
    assert inside.code == 0 and inside.out.startswith("2025-10-"), inside
