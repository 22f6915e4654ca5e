"""`grievance import`, `grievance export` and `grievance report`, run in-process against the test database
(SQLite and PostgreSQL): the same files, figures and error messages as the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from grievance.cases.models import AuditEntry
from grievance.db import transaction
from tests.api._support import API, sh
from tests.factories import World
from tests.ledger._support import counts, csv_bytes, extra_database
from tests.ledger.test_reports import PERIOD, ROWS
from tests.ledger.test_reports import ledger as october_ledger

COUNT_METRICS = {
    "intake_count",
    "overdue_count",
    "department_overdue_count",
    "centre_overdue_count",
    "duplicate_count",
    "enterprises_served",
}
REPORT = ["report", "--from", PERIOD["from"], "--to", PERIOD["to"], "--as-of", PERIOD["as_of"]]


@pytest.fixture
def world(app, client, clock) -> World:  # type: ignore[no-untyped-def]
    clock.set(sh(2026, 1, 1))  # the API refuses a report as of the future: PERIOD's as_of is past
    return World(app, client)


@pytest.fixture
def october(tmp_path: Path) -> Path:
    path = tmp_path / "十月台账.csv"
    path.write_bytes(october_ledger())
    return path


def api_rates(world: World, **params: Any) -> Any:
    return world.client.get(f"{API}/reports/rates", params=params, headers=world.headers("leader"))


# --- import ---------------------------------------------------------------------------------------------


def test_import_dry_run_says_what_it_would_do_and_writes_nothing(cli, world, engine, october):
    before = counts(engine)
    result = cli("import", str(october), "--dry-run")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"将导入 (would import) {len(ROWS)} 件；已存在未改动 (already there, unchanged) 0 件"
    assert lines[1] == "列名在第 1 行 (header on row 1)"
    assert "各列 (columns):" in lines
    assert any(line.startswith("  第 1 列「case_no」 → 导入为「诉求编号」（case_no）") for line in lines)
    assert lines[-1] == "演练模式，未写入任何数据 (dry run: nothing was written)"
    assert counts(engine) == before


def test_import_prints_the_summary_and_the_progress(cli, world, engine, tmp_path, clock):
    path = tmp_path / "new.csv"
    header = ["case_no", "received_at", "channel", "case_type", "title", "station", "department", "dispatched_at"]
    path.write_bytes(
        csv_bytes(
            header,
            [
                [
                    "GX-2025-000500",
                    "2025-10-09 09:00",
                    "城市驿站",
                    "求助",
                    "一",
                    "白沙驿站",
                    "新区建设局",
                    "2025-10-09 10:00",
                ],
                ["GX-2025-000501", "2025-10-09 09:00", "hotline", "help", "二", "", "CGJ", "2025-10-09 10:00"],
            ],
        )
    )
    result = cli("import", str(path))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "已导入 (imported) 2 件；已存在未改动 (already there, unchanged) 0 件"
    assert "新建承办单位 (new departments): 新区建设局" in lines
    assert "新建驿站 (new stations): 白沙驿站" in lines
    assert "导入中 (importing) [" in result.err and "2/2" in result.err
    assert counts(engine)["cases"] == 2
    clock.set(sh(2025, 10, 10))
    assert world.intake()["case_no"] == "GX-2025-000502"
    again = cli("import", str(path))
    assert again.out.splitlines()[0] == "已导入 (imported) 0 件；已存在未改动 (already there, unchanged) 2 件"


def test_import_errors_exit_2_with_the_api_messages_and_write_nothing(cli, world, engine, tmp_path):
    header = ["诉求编号", "受理时间", "来源渠道", "诉求类型", "标题", "回访时间", "是否联系到"]
    rows = [
        ["L-1", "2025-10-09 09:00", "12345热线", "求助", "好的", "", ""],
        ["L-2", "2025-10-32 09:00", "飞鸽传书", "求助", "", "2025-10-10 10:00", "也许"],
        ["L-1", "2025-10-09 09:00", "12345热线", "求助", "重复", "", ""],
    ]
    data = csv_bytes(header, rows)
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    before = counts(engine)
    result = cli("import", str(path))
    assert result.code == 2
    assert result.out == ""
    api = world.client.post(f"{API}/ledger/import", files={"file": ("bad.csv", data)}, headers=world.headers("admin"))
    assert api.status_code == 422
    body = api.json()
    lines = result.err.splitlines()
    assert lines[0] == f"错误 (error): {body['message']} | {body['message_en']}"
    assert lines[1:] == [f"  - {e['field']}: {e['message']} | {e['message_en']}" for e in body["errors"]]
    assert {(e["row"], e["column"]) for e in body["errors"]} == {
        (3, "received_at"),
        (3, "channel"),
        (3, "callback_reached"),
        (3, "title"),
        (4, "case_no"),
    }
    assert counts(engine) == before


def test_import_of_a_file_of_the_wrong_kind_or_missing(cli, world, tmp_path):
    path = tmp_path / "ledger.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    result = cli("import", str(path))
    assert result.code == 2
    assert "accepted: .csv, .xlsx" in result.err
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("诉求编号,受理时间,来源渠道,诉求类型\n".encode("gbk"))  # read as GB18030: its header is found
    assert "required columns are missing: title" in cli("import", str(gbk)).err
    missing = cli("import", str(tmp_path / "nope.csv"))
    assert missing.code == 2
    assert "nope.csv" in missing.err


# --- report ---------------------------------------------------------------------------------------------


def test_report_json_has_the_shape_of_the_issue_and_equals_the_api(cli, world, october):
    assert cli("import", str(october)).code == 0
    result = cli(*REPORT, "--group-by", "department", "--group-by", "channel")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert set(report) == {"period", "filters", "metrics", "groups"}
    assert {"from", "to", "as_of"} <= set(report["period"])
    assert (report["period"]["from"], report["period"]["to"]) == ("2025-10-01", "2025-11-01")
    assert report["period"]["as_of"] == "2025-12-31T00:00:00+08:00"
    assert report["filters"] == {}
    for key, figure in report["metrics"].items():
        if key in COUNT_METRICS:
            assert set(figure) == {"value"}, key
        else:
            assert set(figure) == {"numerator", "denominator", "value"}, key
    assert report["metrics"]["intake_count"] == {"value": 8}
    assert report["metrics"]["mediation_rate"] == {"numerator": 1, "denominator": 2, "value": 0.5}
    assert set(report["groups"]) == {"department", "channel"}
    for rows in report["groups"].values():
        for row in rows:
            assert set(row) == {"key", "label", "metrics"}
            assert "liaison_coverage" not in row["metrics"]  # a zone figure, not a group's
    assert [(r["key"], r["label"]) for r in report["groups"]["channel"]] == [("hotline", "12345热线")]
    api = api_rates(world, **PERIOD, group_by=["department", "channel"])
    assert api.status_code == 200
    assert api.json() == report


def test_report_with_a_filter(cli, world, october):
    cli("import", str(october))
    report = json.loads(cli(*REPORT, "--case-type", "dispute").out)
    assert report["filters"] == {"case_type": "dispute"}
    assert report["metrics"]["intake_count"] == {"value": 2}


def test_report_cases_lists_the_case_numbers(cli, world, october):
    cli("import", str(october))
    result = cli(*REPORT, "--cases", "overdue_count", "--format", "csv")
    assert result.code == 0, result.err
    assert [line.split("\t")[0] for line in result.out.splitlines()] == ["B", "C", "D", "E", "H"]
    assert "超期件数" in result.err and "— 5" in result.err
    denominator = cli(*REPORT, "--cases", "reopen_rate:denominator", "--format", "csv")
    assert [line.split("\t")[0] for line in denominator.out.splitlines()] == ["A", "B", "C", "E", "G", "J"]
    as_json = json.loads(cli(*REPORT, "--cases", "mediation_rate", "--format", "json").out)
    assert (as_json["count"], [i["case_no"] for i in as_json["items"]]) == (1, ["C"])


@pytest.mark.parametrize(
    ("argv", "params"),
    [
        (["--from", "2025-13-01", "--to", "2025-11-01"], {"from": "2025-13-01", "to": "2025-11-01"}),
        (["--from", "2025-10-01"], {"from": "2025-10-01"}),
        (["--from", "2025-10-01", "--to", "2025-11-01", "--as-of", "soon"], {**PERIOD, "as_of": "soon"}),
        (["--from", "2025-10-01", "--to", "2025-11-01", "--group-by", "weather"], {**PERIOD, "group_by": "weather"}),
        (["--from", "2025-10-01", "--to", "2025-11-01", "--channel", "微信"], {**PERIOD, "channel": "微信"}),
        (["--from", "2025-10-01", "--to", "2025-11-01", "--department", "NOPE"], {**PERIOD, "department": "NOPE"}),
    ],
)
def test_report_bad_input_exits_2_with_the_api_message(cli, world, argv, params):
    result = cli("report", *argv)
    assert result.code == 2
    assert result.out == ""
    api = api_rates(world, **params)
    assert api.status_code == 422, api.text
    body = api.json()
    lines = result.err.splitlines()
    if len(body["errors"]) == 1 and body["errors"][0]["message"] == body["message"]:
        # One field's problem is printed once, in both languages.
        assert lines == [f"错误 (error): {body['errors'][0]['message']} | {body['errors'][0]['message_en']}"]
        return
    assert lines[0] == f"错误 (error): {body['message']}"
    for error in body["errors"]:
        assert f"  - {error['field']}: {error['message']} | {error['message_en']}" in lines


def test_report_bad_from_date_names_what_is_accepted(cli, world):
    result = cli("report", "--from", "2025-13-01", "--to", "2025-11-01")
    assert "from must be a date like 2027-10-01, got '2025-13-01'" in result.err


def test_report_unknown_metric_for_cases(cli, world):
    result = cli(*REPORT, "--cases", "happiness")
    assert result.code == 2
    api = world.client.get(f"{API}/reports/rates/happiness/cases", params=PERIOD, headers=world.headers("leader"))
    assert api.status_code in (404, 422)
    assert api.json()["message"] in result.err


# --- export ---------------------------------------------------------------------------------------------


def test_export_then_import_into_an_empty_database_gives_the_same_report(
    cli, world, october, tmp_path, monkeypatch, database
):
    assert cli("import", str(october)).code == 0
    out = tmp_path / "导出.xlsx"
    result = cli("export", str(out), "--from", "2025-10-01", "--to", "2025-11-01")
    assert result.code == 0, result.err
    assert result.out == f"已导出 (exported) {len(ROWS) - 1} 件 -> {out}\n"  # not K, received in November
    with transaction(world.app.state.sessions) as session:
        detail = session.execute(select(AuditEntry.detail).where(AuditEntry.action == "export")).scalars().all()
    assert detail == [f"cli ledger export {len(ROWS) - 1} rows to {out}"]
    report = cli(*REPORT, "--group-by", "channel").out

    # Imported back: unchanged. Into an empty database: the same report.
    assert f"已存在未改动 (already there, unchanged) {len(ROWS) - 1} 件" in cli("import", str(out)).out
    with extra_database(database, tmp_path / "other") as other:
        (tmp_path / "other").mkdir(exist_ok=True)
        monkeypatch.setenv("GRIEVANCE_DATABASE_URL", other.fresh_url(tmp_path / "other"))
        imported = cli("import", str(out))
        assert imported.code == 0, imported.err
        assert imported.out.startswith(f"已导入 (imported) {len(ROWS) - 1} 件")
        assert cli(*REPORT, "--group-by", "channel").out == report


def test_export_csv_without_bounds_and_with_a_bad_date(cli, world, october, tmp_path):
    cli("import", str(october))
    out = tmp_path / "all.csv"
    assert cli("export", str(out)).out == f"已导出 (exported) {len(ROWS)} 件 -> {out}\n"
    assert out.read_bytes().startswith("\ufeffcase_no,received_at,".encode())
    bad = cli("export", str(tmp_path / "x.csv"), "--from", "10/01/2025")
    assert bad.code == 2
    assert "from must be a date like 2027-10-01, got '10/01/2025'" in bad.err
    assert not (tmp_path / "x.csv").exists()
