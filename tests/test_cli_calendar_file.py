"""`grievance calendar` and the no-op rule: an adjustment that changes nothing is refused as on the pages and
in the API, and a calendar file can be checked with --dry-run before it is loaded."""

from __future__ import annotations


def test_a_no_op_adjustment_is_refused_and_a_file_is_checked_before_it_is_loaded(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    refused = cli("calendar", "add", "2025-10-01", "holiday")
    assert refused.code == 2
    assert "2025-10-01 已是休息日（法定节假日：国庆节），无需调整" in refused.err
    assert "2025-10-01 is already a day off: statutory holiday, National Day; nothing to change" in refused.err

    path = tmp_path / "2027.csv"
    path.write_text("2027-10-01,holiday,国庆节\n2027-10-03,holiday,国庆节\n", encoding="utf-8")
    checked = cli("calendar", "import", str(path), "--dry-run")
    assert checked.code == 0, checked.err
    assert checked.out.splitlines()[0] == "2027-10-01\t工作日 (workday) -> 休息日 (holiday)\t国庆节"
    assert "将调整 1 天，1 天已是如此" in checked.out and "nothing written" in checked.out
    assert cli("calendar", "list").out == ""
    assert cli("calendar", "import", str(path)).code == 0
    again = cli("calendar", "import", str(path))
    assert again.code == 2 and "nothing to import" in again.err
