"""Every `grievance` subcommand answers bad input the way the API does: one message, in Chinese and English,
exit code 2, no traceback (SQLite and PostgreSQL)."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from grievance.config import PROJECT_ROOT
from grievance.db import transaction
from grievance.reference.models import Department, Enterprise, Meeting
from tests.test_busy_database import write_lock_held

SHIPPED = PROJECT_ROOT / "workflows"


def one_error(result: Any, zh: str, *more: str) -> str:
    """The run failed with exit code 2 and exactly one error message: the Chinese text `zh` once (not printed
    twice), and every other fragment (the English)."""
    assert result.code == 2, result
    assert "Traceback" not in result.err
    assert result.err.count("错误 (error)") == 1, result.err
    assert result.err.count(zh) == 1, (zh, result.err)
    for fragment in more:
        assert fragment in result.err, (fragment, result.err)
    return str(result.err)


@pytest.fixture
def usage_error(cli, capsys):  # type: ignore[no-untyped-def]
    """Run a command that argparse refuses; returns its stderr after checking exit code 2."""

    def run(*argv: str) -> str:
        with pytest.raises(SystemExit) as stopped:
            cli(*argv)
        assert stopped.value.code == 2
        err = str(capsys.readouterr().err)
        assert "Traceback" not in err
        assert err.count("错误 (error)") == 1, err
        return err

    return run


# --- reference data: the API's validation and messages -----------------------------------------------------


def test_meeting_with_an_impossible_date_says_so_in_both_languages_like_the_api(cli, client, app):
    result = cli("meeting", "add", "第二期阳光恳谈会", "--date", "2025-02-30")
    err = one_error(result, "--date：应为日期，如 2025-03-05（该月没有这一天）", "--date: Input should be a valid date")
    assert "day is out of range for month" not in err
    # The API words the same rule the same way, naming its own field.
    assert cli("user", "add", "clerk", "--role", "intake", "--no-password").code == 0
    token = cli("token", "create", "clerk").out.strip()
    api = client.post(
        "/api/v1/meetings",
        json={"title": "第二期阳光恳谈会", "held_on": "2025-02-30"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 422
    (error,) = api.json()["errors"]
    expected = f"{error['message']} | {error['message_en']}".replace("held_on", "--date").replace("召开日期", "--date")
    assert err == f"错误 (error): {expected}\n"
    with transaction(app.state.sessions) as session:
        assert session.exec(select(Meeting)).all() == []


def test_meeting_with_a_bad_attendee_count(cli):
    one_error(cli("meeting", "add", "恳谈会", "--date", "2025-02-20", "--attendees", "many"), "--attendees：应为整数")
    one_error(cli("meeting", "add", "恳谈会", "--date", "2025-02-20", "--attendees", "-3"), "--attendees：应不小于 0")


def test_a_bad_credit_code_is_one_bilingual_message_without_pydantic_wording(cli, client, app):
    result = cli("enterprise", "add", "某公司", "123")
    err = one_error(
        result,
        "统一社会信用代码：统一社会信用代码应为18位数字或大写字母",
        "credit_code: a unified social credit code is 18 digits or capital letters",
    )
    assert "Value error" not in err
    assert cli("user", "add", "root", "--role", "admin", "--no-password").code == 0
    token = cli("token", "create", "root").out.strip()
    api = client.post(
        "/api/v1/enterprises",
        json={"name": "某公司", "credit_code": "123"},
        headers={"Authorization": f"Bearer {token}"},
    )
    (error,) = api.json()["errors"]
    assert err == f"错误 (error): {error['message']} | {error['message_en']}\n"
    assert "统一社会信用代码" not in error["message_en"]  # the English half is English
    with transaction(app.state.sessions) as session:
        assert session.exec(select(Enterprise)).all() == []


@pytest.mark.parametrize(
    ("argv", "zh", "en"),
    [
        (("station", "add", "ZS09", "驿站", "--department", "NOPE"), "承办单位 NOPE 不存在", "no department 'NOPE'"),
        (
            ("meeting", "add", "会", "--date", "2025-02-20", "--station", "NOPE"),
            "驿站 NOPE 不存在",
            "no station 'NOPE'",
        ),
        (("department", "add", "JD2", "二街道", "--parent", "NOPE"), "承办单位 NOPE 不存在", "no department 'NOPE'"),
        (("enterprise", "add", "某公司", "91420100MA4K00001U", "--liaison", "nobody"), "用户 nobody 不存在", "no user"),
        (
            ("user", "add", "dave", "--role", "handler", "--department", "NOPE", "--no-password"),
            "承办单位 NOPE 不存在",
            "no department 'NOPE'",
        ),
        (("token", "create", "nobody"), "用户 nobody 不存在", "no user 'nobody'"),
        (("token", "revoke", "nobody"), "用户 nobody 不存在", "no user 'nobody'"),
        (("department", "add", "", "无编码"), "编码：不能为空", "code: String should have at least 1 character"),
    ],
)
def test_unknown_references_and_empty_values(cli, argv, zh, en):
    one_error(cli(*argv), zh, en)


# --- files: missing, folders, encodings -------------------------------------------------------------------


def test_calendar_import_of_a_missing_file_or_a_folder(cli, tmp_path):
    missing = tmp_path / "nope.csv"
    err = one_error(cli("calendar", "import", str(missing)), f"文件不存在：{missing}", f"no such file: {missing}")
    assert "Errno" not in err
    err = one_error(
        cli("calendar", "import", str(tmp_path)),
        f"{tmp_path} 是文件夹，不是文件",
        f"{tmp_path} is a folder, not a file",
    )
    assert "Errno" not in err


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_calendar_import_reads_chinese_encodings(cli, tmp_path, encoding):
    path = tmp_path / "2027.csv"
    path.write_bytes("日期,类型,说明\n2027-10-01,放假,国庆节\n2027-10-09,补班,国庆节调休\n".encode(encoding))
    result = cli("calendar", "import", str(path))
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == (
        f"已从 {path} 导入 2 天，0 天已是如此未改动；0 件诉求的期限随之调整 "
        f"(imported 2 day(s) from {path}, 0 already so; due times moved on 0 case(s))"
    )
    assert cli("calendar", "list").out.splitlines() == [
        "2027-10-01\tholiday\t国庆节",
        "2027-10-09\tworkday\t国庆节调休",
    ]


def test_calendar_import_of_bytes_in_no_known_encoding(cli, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"2027-10-01,holiday,\xff\xfe\n")
    one_error(
        cli("calendar", "import", str(path)),
        "无法识别文件编码：请保存为 UTF-8 或 GB18030（GBK）文本",
        "cannot decode the file: save it as UTF-8 or GB18030 (GBK) text",
    )
    assert cli("calendar", "list").out == ""


def test_categories_load_of_a_missing_file_or_a_folder(cli, tmp_path):
    one_error(cli("categories", "load", str(tmp_path / "none.yaml")), "文件不存在", "no such file")
    one_error(cli("categories", "load", str(tmp_path)), "是文件夹，不是文件", "is a folder, not a file")


def test_categories_load_of_a_file_that_is_not_yaml(cli, tmp_path):
    path = tmp_path / "categories.yaml"
    path.write_text("- code: [01\n", encoding="utf-8")
    one_error(cli("categories", "load", str(path)), "分类文件不是有效的 YAML", "the categories file is not valid YAML")


def test_import_of_a_missing_file_or_a_folder(cli, tmp_path):
    one_error(cli("import", str(tmp_path / "nope.csv")), "文件不存在", "no such file")
    one_error(cli("import", str(tmp_path)), "是文件夹，不是文件", "is a folder, not a file")


# --- output files ---------------------------------------------------------------------------------------


def test_export_refuses_an_extension_it_does_not_write(cli, tmp_path):
    target = tmp_path / "x.json"
    one_error(
        cli("export", str(target)), "台账文件须以 .csv 或 .xlsx 结尾", "the ledger file must end in .csv or .xlsx"
    )
    assert not target.exists()
    assert cli("export", str(tmp_path / "x.CSV")).code == 0  # the case of the extension does not matter


def test_export_into_a_missing_folder_or_onto_a_folder(cli, tmp_path):
    folder = tmp_path / "no" / "such"
    one_error(cli("export", str(folder / "x.csv")), f"文件夹不存在：{folder}", f"no such folder: {folder}")
    onto = tmp_path / "taken.xlsx"
    onto.mkdir()
    one_error(cli("export", str(onto)), "是文件夹，不是文件", "is a folder, not a file")


REPORT = ["report", "--from", "2025-10-01", "--to", "2025-11-01"]


def test_report_takes_its_format_from_the_output_file(cli, tmp_path):
    xlsx = tmp_path / "rates.xlsx"
    result = cli(*REPORT, "-o", str(xlsx))
    assert result.code == 0, result.err
    assert xlsx.read_bytes()[:2] == b"PK"  # a workbook, not JSON under an .xlsx name
    html = tmp_path / "rates.html"
    assert cli(*REPORT, "-o", str(html)).code == 0
    assert html.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_report_refuses_an_output_file_whose_name_lies(cli, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    one_error(
        cli(*REPORT, "-o", str(tmp_path / "rates.txt")),
        "的扩展名应为 .json、.csv、.xlsx、.html、.htm",
        "must end in .json, .csv, .xlsx, .html, .htm",
    )
    one_error(
        cli(*REPORT, "--format", "xlsx", "-o", str(tmp_path / "rates.csv")),
        "的扩展名应为 .xlsx",
        "must end in .xlsx for --format xlsx",
    )
    assert list(tmp_path.iterdir()) == []


def test_report_into_a_missing_folder(cli, tmp_path):
    folder = tmp_path / "none"
    one_error(cli(*REPORT, "-o", str(folder / "r.json")), f"文件夹不存在：{folder}", f"no such folder: {folder}")


# --- argument types and the server ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "zh", "en"),
    [
        (("serve", "--port", "99999"), "端口应为 1 至 65535 的整数，收到 '99999'", "the port must be a whole number"),
        (("serve", "--port", "http"), "端口应为 1 至 65535 的整数", "got 'http'"),
        (("serve", "--workers", "0"), "进程数应为 1 至 64 的整数", "the number of workers must be"),
        (("calendar", "list", "--year", "next"), "年份应为 1900 至 2200 的整数", "the year must be"),
        (("calendar", "due", "2025-09-30T10:00", "three"), "应为数字，如 3 或 0.5", "a number such as 3 or 0.5"),
    ],
)
def test_our_argument_types_refuse_in_both_languages(usage_error, argv, zh, en):
    err = usage_error(*argv)
    assert zh in err and en in err
    assert "命令参数有误 (invalid arguments)" in err


def test_argparse_usage_errors_are_introduced_in_chinese(usage_error):
    err = usage_error("calendar", "due", "2025-09-30T10:00", "1", "--unit", "weeks")
    assert "命令参数有误 (invalid arguments)" in err and "invalid choice: 'weeks'" in err


def test_a_bad_port_from_the_environment(usage_error, monkeypatch):
    monkeypatch.setenv("GRIEVANCE_PORT", "eighty")
    assert "got 'eighty'" in usage_error("serve")


def test_serve_on_a_port_in_use_says_so(cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        one_error(cli("serve", "--port", str(port)), f"端口 {port} 已被占用", f"port {port} is already in use")


def test_serve_on_a_host_that_does_not_resolve(cli):
    one_error(cli("serve", "--host", "no-such-host.invalid"), "无法解析主机名", "cannot resolve the host name")


def test_serve_on_a_database_without_schema_says_what_to_run(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("GRIEVANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    one_error(cli("serve"), "请先运行 `grievance db upgrade`", "run `grievance db upgrade`")


def test_a_bad_setting_names_its_variable(cli, monkeypatch):
    monkeypatch.setenv("GRIEVANCE_REPORT_PERIOD_START_DAY", "40")
    one_error(
        cli("user", "list"),
        "GRIEVANCE_REPORT_PERIOD_START_DAY：应不大于 28",
        "GRIEVANCE_REPORT_PERIOD_START_DAY: Input",
    )


# --- workflows check ------------------------------------------------------------------------------------


def test_workflows_check_of_a_missing_path_exits_2(cli, tmp_path):
    missing = tmp_path / "nowhere"
    one_error(cli("workflows", "check", str(missing)), f"文件夹不存在：{missing}", f"no such folder: {missing}")


def test_workflows_check_of_one_file(cli):
    result = cli("workflows", "check", str(SHIPPED / "standard.yaml"))
    assert result.code == 0, result.err
    assert result.out.startswith("ok  standard.yaml: standard")


# --- the database, and faults ---------------------------------------------------------------------------


def test_a_busy_database_is_a_clear_error_after_the_bounded_wait(cli, app, settings, monkeypatch):
    monkeypatch.setenv("GRIEVANCE_DB_LOCK_TIMEOUT_SECONDS", "1")
    with write_lock_held(settings, table="departments"):
        started = time.monotonic()
        result = cli("department", "add", "CGJ", "城市管理局")
        assert time.monotonic() - started < 5
    one_error(result, "正忙（被另一个操作锁定），本命令未保存任何内容", "is busy (locked by another operation)")
    with transaction(app.state.sessions) as session:
        assert session.exec(select(Department)).all() == []


def test_an_unexpected_fault_is_one_line_unless_the_traceback_is_asked_for(cli, monkeypatch):
    def broken(*_args: Any) -> int:
        raise RuntimeError("something the program did not expect")

    monkeypatch.setattr("grievance.cli.cmd_user_list", broken)
    one_error(
        cli("user", "list"),
        "程序内部错误 (internal error) RuntimeError: something the program did not expect",
        "grievance --traceback",
    )
    with pytest.raises(RuntimeError):
        cli("--traceback", "user", "list")


def test_errors_go_to_stderr_and_successes_to_stdout(cli, tmp_path: Path):
    failed = cli("calendar", "add", "2027-02-30", "holiday")
    assert failed.out == ""
    one_error(failed, "应为日期，如 2027-10-01，收到 '2027-02-30'", "The day must be a date like 2027-10-01")


def test_an_unreachable_postgresql_names_the_server_without_its_password(cli, monkeypatch):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("GRIEVANCE_DATABASE_URL", f"postgresql+psycopg://app:s3cret@127.0.0.1:{port}/grievance")
    monkeypatch.setenv("GRIEVANCE_DB_LOCK_TIMEOUT_SECONDS", "1")
    for argv in (("user", "list"), ("serve", "--port", str(port))):
        err = one_error(
            cli(*argv),
            f"无法连接数据库 postgresql+psycopg://app:***@127.0.0.1:{port}/grievance：请检查数据库服务是否在运行",
            "cannot reach the database",
            "GRIEVANCE_DATABASE_URL",
        )
        assert "s3cret" not in err and "秒后重试" not in err


def test_an_argument_with_undecodable_bytes_is_refused_before_anything_runs(cli, app):
    argument = b"u\xffx".decode("utf-8", "surrogateescape")  # what Python makes of $'u\xffx' on the command line
    result = cli("user", "add", argument, "--role", "handler")
    one_error(
        result, "第 3 个参数「u\\xffx」含有无法识别的字节", "argument 3 'u\\xffx' holds bytes that are not valid UTF-8"
    )
    assert "UnicodeEncodeError" not in result.err
    assert "u" not in cli("user", "list").out.split()


def test_db_upgrade_says_whether_it_created_upgraded_or_found_nothing_to_do(cli, monkeypatch, tmp_path):
    from alembic.script import ScriptDirectory

    from grievance.migrations import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    fresh = tmp_path / "fresh.db"
    monkeypatch.setenv("GRIEVANCE_DATABASE_URL", f"sqlite:///{fresh}")
    created = cli("db", "upgrade")
    assert created.code == 0, created.err
    assert f"已建立数据库结构，版本 {head} (created the schema at revision {head})" in created.out
    assert "已是最新" not in created.out and str(fresh) in created.out
    again = cli("db", "upgrade")
    assert f"数据库已是最新，版本 {head}" in again.out and "nothing to do" in again.out
    from grievance.db import make_engine
    from grievance.migrations import upgrade

    older = tmp_path / "older.db"
    upgrade(make_engine(f"sqlite:///{older}"), str(previous))
    monkeypatch.setenv("GRIEVANCE_DATABASE_URL", f"sqlite:///{older}")
    upgraded = cli("db", "upgrade")
    assert f"数据库已从版本 {previous} 升级到 {head} (upgraded from revision {previous} to {head})" in upgraded.out
