"""The `grievance` command, run in-process against the test database (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import shutil

import pytest
from sqlmodel import select

from grievance.config import PROJECT_ROOT
from grievance.db import transaction
from grievance.glossary import Role
from grievance.reference.models import Department
from grievance.users.models import User
from grievance.users.service import verify_password

SHIPPED = PROJECT_ROOT / "workflows"
PASSWORD = "correct horse battery"


def test_db_upgrade_on_a_migrated_database_is_a_no_op(cli):
    result = cli("db", "upgrade")
    assert result.code == 0
    assert "database is up to date" in result.out


# --- workflows check -------------------------------------------------------------------------------


def test_workflows_check_passes_the_shipped_files(cli):
    result = cli("workflows", "check")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["ok", "enterprise.yaml:"],
        ["ok", "petition.yaml:"],
        ["ok", "standard.yaml:"],
    ]
    assert "enterprise (企业诉求流程)" in lines[0]
    assert "final: closed, merged" in lines[2]
    assert result.err == ""


def test_workflows_check_takes_a_directory(cli, tmp_path):
    folder = tmp_path / "wf"
    shutil.copytree(SHIPPED, folder)
    (folder / "petition.yaml").unlink()
    result = cli("workflows", "check", str(folder))
    assert result.code == 0, result.err
    assert [line.split()[1] for line in result.out.splitlines()] == ["enterprise.yaml:", "standard.yaml:"]


def _line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if fragment in line)


def test_workflows_check_reports_file_and_line(cli, tmp_path):
    folder = tmp_path / "wf"
    shutil.copytree(SHIPPED, folder)
    path = folder / "petition.yaml"
    text = path.read_text(encoding="utf-8").replace("roles: [supervisor]\n", "roles: [superviser]\n", 1)
    path.write_text(text, encoding="utf-8")
    result = cli("workflows", "check", str(folder))
    assert result.code == 1
    assert result.err.splitlines() == [
        f"ERROR {path}:{_line_of(text, 'superviser')}: unknown role 'superviser'"
        f"; roles are {sorted(r.value for r in Role)}"
    ]
    # The other files are still checked and reported ok.
    assert [line.split()[1] for line in result.out.splitlines()] == ["enterprise.yaml:", "standard.yaml:"]


def test_workflows_check_a_broken_parent_breaks_its_child(cli, tmp_path):
    folder = tmp_path / "wf"
    shutil.copytree(SHIPPED, folder)
    path = folder / "standard.yaml"
    text = path.read_text(encoding="utf-8").replace("to: closed\n", "to: archived\n", 1)
    path.write_text(text, encoding="utf-8")
    result = cli("workflows", "check", str(folder))
    assert result.code == 1
    expected = f"ERROR {path}:{_line_of(text, 'to: archived')}: unknown state 'archived' in 'to'"
    errors = result.err.splitlines()
    # Reported for standard and again for enterprise, which inherits the action; always in standard.yaml.
    assert all(line.startswith(f"ERROR {path}:") for line in errors), errors
    assert sum(line.startswith(expected) for line in errors) == 2, errors
    assert [line.split()[1] for line in result.out.splitlines()] == ["petition.yaml:"]


def test_workflows_check_reports_invalid_yaml(cli, tmp_path):
    folder = tmp_path / "wf"
    shutil.copytree(SHIPPED, folder)
    path = folder / "petition.yaml"
    text = path.read_text(encoding="utf-8").replace("label: 信访流程", "label: [信访流程", 1)
    path.write_text(text, encoding="utf-8")
    result = cli("workflows", "check", str(folder))
    assert result.code == 1
    assert re.match(rf"ERROR {re.escape(str(path))}:\d+: not valid YAML", result.err)


def test_workflows_check_an_empty_folder_fails(cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("workflows", "check", str(empty))
    assert result.code == 2  # nothing to check; 1 means "checked, and a file has errors"
    assert result.err == f"错误 (error): {empty} 中没有流程文件（*.yaml） | no workflow files (*.yaml) in {empty}\n"


def test_workflows_check_a_name_that_does_not_match_the_file(cli, tmp_path):
    folder = tmp_path / "wf"
    shutil.copytree(SHIPPED, folder)
    (folder / "petition.yaml").rename(folder / "letters.yaml")
    result = cli("workflows", "check", str(folder))
    assert result.err.startswith(f"ERROR {folder / 'letters.yaml'}:")
    assert "must match the file name 'letters'" in result.err
    assert "letters.yaml" not in result.out
    assert result.code == 1


# --- calendar --------------------------------------------------------------------------------------


def test_calendar_add_list_show_remove(cli):
    added = cli("calendar", "add", "2027-10-01", "holiday", "--note", "国庆节")
    assert (added.code, added.out) == (
        0,
        "2027-10-01 -> 休息 (holiday)；0 件诉求的期限随之调整 (due times moved on 0 case(s))\n",
    )
    assert (
        cli("calendar", "add", "2027-10-09", "补班").out
        == "2027-10-09 -> 上班 (workday)；0 件诉求的期限随之调整 (due times moved on 0 case(s))\n"
    )

    listed = cli("calendar", "list")
    assert listed.code == 0
    assert listed.out.splitlines() == ["2027-10-01\tholiday\t国庆节", "2027-10-09\tworkday\t"]
    assert cli("calendar", "list", "--year", "2026").out == ""

    shown = cli("calendar", "show", "2027-10-01")
    assert shown.code == 0
    assert shown.out.startswith("2027-10-01 day off 休息日")
    assert "2027 年尚无法定节假日数据" in shown.out and "no statutory data for this year" in shown.out
    assert cli("calendar", "show", "2027-10-09").out.startswith("2027-10-09 workday 工作日")  # a Saturday
    assert cli("calendar", "show", "2025-10-11").out == "2025-10-11 workday 工作日\n"  # make-up Saturday
    assert cli("calendar", "show", "2025-10-03").out == "2025-10-03 day off 休息日\n"

    removed = cli("calendar", "remove", "2027-10-01")
    assert (removed.code, removed.out) == (
        0,
        "已删除 2027-10-01 的本地调整；0 件诉求的期限随之调整 "
        "(removed the override of 2027-10-01; due times moved on 0 case(s))\n",
    )
    assert cli("calendar", "show", "2027-10-01").out.startswith("2027-10-01 workday")  # a Friday again
    assert cli("calendar", "list").out.splitlines() == ["2027-10-09\tworkday\t"]


def test_calendar_add_changes_an_existing_day(cli):
    cli("calendar", "add", "2027-10-02", "workday")  # a Saturday
    cli("calendar", "add", "2027-10-02", "放假", "--note", "改")
    assert cli("calendar", "list").out.splitlines() == ["2027-10-02\tholiday\t改"]


def test_calendar_remove_a_day_without_override(cli):
    result = cli("calendar", "remove", "2027-10-01")
    assert result.code == 2
    assert "no override on 2027-10-01" in result.err


@pytest.mark.parametrize("bad", ["2025-02-30", "2025/13/01", "tomorrow"])  # 2025/10/01 is a day as offices write it
def test_calendar_bad_date(cli, bad):
    for argv in (("calendar", "add", bad, "holiday"), ("calendar", "show", bad), ("calendar", "remove", bad)):
        result = cli(*argv)
        assert result.code == 2, argv
        assert f"must be a date like 2027-10-01, got {bad!r}" in result.err
    assert cli("calendar", "list").out == ""


def test_calendar_bad_kind(cli):
    result = cli("calendar", "add", "2027-10-01", "maybe")
    assert result.code == 2
    assert "must be 'workday' or 'holiday', got 'maybe'" in result.err
    assert cli("calendar", "list").out == ""


@pytest.mark.parametrize(
    ("start", "amount", "extra", "due"),
    [
        ("2025-09-30T10:00:00+08:00", "1", [], "2025-10-10T00:00:00+08:00"),
        ("2025-09-30T10:00:00+08:00", "3", [], "2025-10-12T00:00:00+08:00"),
        ("2025-09-30T10:00", "1", [], "2025-10-10T00:00:00+08:00"),  # no zone: Shanghai
        ("2025-09-30T02:00:00Z", "1", [], "2025-10-10T00:00:00+08:00"),
        ("2025-09-30T10:00:00+08:00", "1", ["--unit", "days"], "2025-10-02T00:00:00+08:00"),
        ("2025-09-30T22:00:00+08:00", "4", ["--unit", "hours"], "2025-10-01T02:00:00+08:00"),
        ("2025-01-27T09:00:00+08:00", "4", [], "2025-02-09T00:00:00+08:00"),  # Spring Festival
    ],
)
def test_calendar_due(cli, start, amount, extra, due):
    result = cli("calendar", "due", start, amount, *extra)
    assert result.code == 0, result.err
    assert result.out == due + "\n"


def test_calendar_due_uses_the_local_overrides(cli):
    assert cli("calendar", "add", "2025-10-09", "holiday").code == 0
    assert cli("calendar", "due", "2025-09-30T10:00+08:00", "1").out == "2025-10-11T00:00:00+08:00\n"
    assert cli("calendar", "add", "2025-10-03", "workday").code == 0
    assert cli("calendar", "due", "2025-09-30T10:00+08:00", "1").out == "2025-10-04T00:00:00+08:00\n"


def test_calendar_due_with_a_bad_start(cli):
    result = cli("calendar", "due", "yesterday", "1")
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("错误 (error):")
    assert "'yesterday'" in result.err


def test_calendar_due_with_an_impossible_date_names_it(cli):
    result = cli("calendar", "due", "2025-09-31T10:00", "1")
    assert result.code == 2
    assert "2025-09-31" in result.err


def test_calendar_due_with_a_bad_unit_is_a_usage_error(cli):
    with pytest.raises(SystemExit) as caught:
        cli("calendar", "due", "2025-09-30T10:00", "1", "--unit", "weeks")
    assert caught.value.code == 2


def test_calendar_import(cli, tmp_path):
    good = tmp_path / "2027.csv"
    good.write_text("day,kind,note\n2027-10-01,holiday,国庆节\n2027-10-09,workday,调休\n", encoding="utf-8")
    result = cli("calendar", "import", str(good))
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "2027-10-01\t工作日 (workday) -> 休息日 (holiday)\t国庆节",
        "2027-10-09\t休息日 (holiday) -> 工作日 (workday)\t调休",
        f"已从 {good} 导入 2 天，0 天已是如此未改动；0 件诉求的期限随之调整 "
        f"(imported 2 day(s) from {good}, 0 already so; due times moved on 0 case(s))",
    ]
    assert cli("calendar", "list", "--year", "2027").out.splitlines() == [
        "2027-10-01\tholiday\t国庆节",
        "2027-10-09\tworkday\t调休",
    ]


def test_calendar_import_with_a_bad_line_imports_nothing(cli, tmp_path):
    bad = tmp_path / "2028.csv"
    bad.write_text("2028-10-02,holiday\n2028-10-03,holiday\n2028-10-3x,holiday\n", encoding="utf-8")
    result = cli("calendar", "import", str(bad))
    assert result.code == 2
    assert "nothing was imported" in result.err
    assert "line 3" in result.err
    assert "'2028-10-3x'" in result.err
    assert cli("calendar", "list").out == ""


def test_calendar_import_a_missing_file(cli, tmp_path):
    result = cli("calendar", "import", str(tmp_path / "nope.csv"))
    assert result.code == 2
    assert "nope.csv" in result.err


# --- departments, users, tokens --------------------------------------------------------------------


def test_department_add(cli, app):
    result = cli("department", "add", "CGJ", "城市管理局")
    assert result.code == 0, result.err
    assert re.fullmatch(r"已创建 \(created\) department id=\d+\n", result.out)
    assert cli("department", "add", "CGJ1", "城管一中队", "--parent", "CGJ").code == 0
    with transaction(app.state.sessions) as session:
        depts = {d.code: d for d in session.exec(select(Department)).all()}
        assert depts["CGJ"].name == "城市管理局"
        assert depts["CGJ1"].parent_id == depts["CGJ"].id


def test_department_add_twice_is_refused(cli):
    assert cli("department", "add", "CGJ", "城市管理局").code == 0
    again = cli("department", "add", "CGJ", "另一个")
    assert again.code == 2
    assert "CGJ" in again.err


def test_user_add_with_password_from_stdin(cli, app):
    assert cli("department", "add", "CGJ", "城市管理局").code == 0
    result = cli(
        "user", "add", "alice", "--role", "handler", "--department", "CGJ", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert result.code == 0, result.err
    assert re.fullmatch(r"已创建用户 \(created\) alice \[handler\] id=\d+\n", result.out)
    with transaction(app.state.sessions) as session:
        user = session.exec(select(User).where(User.username == "alice")).one()
        dept = session.exec(select(Department).where(Department.code == "CGJ")).one()
        assert user.role == "handler"
        assert user.department_id == dept.id
        assert verify_password(user, PASSWORD)  # the newline is not part of the password
        assert not verify_password(user, PASSWORD + "\n")
    listed = cli("user", "list")
    assert listed.out.split("\t")[1:4] == ["alice", "handler", str(dept.id)]


def test_user_add_with_an_unknown_role_names_the_accepted_roles(cli, app):
    result = cli("user", "add", "bob", "--role", "janitor", "--no-password")
    assert result.code == 2
    assert "role must be one of" in result.err
    for role in Role:
        assert role.value in result.err
    with transaction(app.state.sessions) as session:
        assert session.exec(select(User)).all() == []


@pytest.mark.parametrize("role", ["handler", "dept_head"])
def test_user_add_department_role_without_department(cli, app, role):
    result = cli("user", "add", "carol", "--role", role, "--no-password")
    assert result.code == 2
    assert f"a {Role(role).label_in('en')} belongs to a department" in result.err  # the label, not the code
    with transaction(app.state.sessions) as session:
        assert session.exec(select(User)).all() == []


def test_user_add_with_an_unknown_department(cli):
    result = cli("user", "add", "dave", "--role", "handler", "--department", "XYZ", "--no-password")
    assert result.code == 2
    assert "no department 'XYZ'" in result.err


def test_user_add_with_a_short_password(cli):
    result = cli("user", "add", "erin", "--role", "leader", "--password-stdin", stdin="short\n")
    assert result.code == 2
    assert "at least 10 characters" in result.err


def test_user_add_without_a_terminal_asks_for_password_stdin(cli):
    result = cli("user", "add", "frank", "--role", "leader", stdin="")
    assert result.code == 2
    assert "--password-stdin" in result.err


def test_user_add_twice_is_a_conflict(cli):
    assert cli("user", "add", "gina", "--role", "leader", "--no-password").code == 0
    again = cli("user", "add", "gina", "--role", "admin", "--no-password")
    assert again.code == 2
    assert "username 'gina' is taken" in again.err


def test_token_create_authenticates_against_the_api(cli, client):
    assert cli("department", "add", "CGJ", "城市管理局").code == 0
    assert cli("user", "add", "alice", "--role", "handler", "--department", "CGJ", "--no-password").code == 0
    result = cli("token", "create", "alice", "--name", "script")
    assert result.code == 0, result.err
    token = result.out.strip()
    assert token.startswith("gv_")
    assert len(result.out.splitlines()) == 1  # only the token on stdout, so scripts can capture it
    assert "shown once" in result.err
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert (me.json()["username"], me.json()["role"]) == ("alice", "handler")
    wrong = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}x"})
    assert wrong.status_code == 401
    # Each call issues a new token; both work.
    second = cli("token", "create", "alice").out.strip()
    assert second != token
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_token_create_for_an_unknown_user(cli):
    result = cli("token", "create", "nobody")
    assert result.code == 2
    assert "no user 'nobody'" in result.err
    assert result.out == ""


# --- demo ------------------------------------------------------------------------------------------

# The demo's load and its second run are tested in tests/test_demo.py, on the suite's one loaded demo.


def test_demo_if_empty_leaves_a_database_with_users_alone(cli, app):
    assert cli("user", "add", "root", "--role", "admin", "--no-password").code == 0
    result = cli("demo", "--if-empty")
    assert result.code == 0, result.err
    assert "demo not loaded" in result.out
    assert "gv_" not in result.out
    with transaction(app.state.sessions) as session:
        assert [u.username for u in session.exec(select(User)).all()] == ["root"]
        assert session.exec(select(Department)).all() == []
