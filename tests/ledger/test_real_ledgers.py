"""Ledgers as offices really keep them (issue: data that enters stays true): every non-empty cell is applied or
reported, stages the ledger skipped are inferred and marked, title/blank/totals rows and extra columns are
skipped and listed, the words offices write for channels are understood, GB18030 files are read, categories are
found by path and created on request; and the two sample ledgers of shared/samples import completely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from grievance.cases.models import Case, CaseClock, CaseEvent
from grievance.db import transaction
from grievance.reference.models import Category
from tests.api._support import API, sh
from tests.factories import World
from tests.ledger._support import counts, csv_bytes, records, upload

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "ledgers"
BASE = {"来源渠道": "12345热线", "诉求类型": "求助"}


@pytest.fixture(autouse=True)
def long_after(clock):  # type: ignore[no-untyped-def]
    clock.set(sh(2026, 1, 5))


def ledger(rows: list[dict[str, Any]], *, encoding: str = "utf-8") -> bytes:
    full = [{**BASE, "标题": f"诉求{r['诉求编号']}", **r} for r in rows]
    header = list(dict.fromkeys(k for r in full for k in r))
    return csv_bytes(header, records(header, full), bom=encoding == "utf-8", encoding=encoding)


def case_of(world: World, case_no: str) -> dict[str, Any]:
    return world.get(case_no, "supervisor")


def events_of(world: World, case_no: str) -> list[CaseEvent]:
    with transaction(world.app.state.sessions) as session:
        case = session.execute(select(Case).where(Case.case_no == case_no)).scalar_one()
        return list(
            session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).scalars()
        )


def clocks_of(world: World, case_no: str) -> dict[str, CaseClock]:
    with transaction(world.app.state.sessions) as session:
        case = session.execute(select(Case).where(Case.case_no == case_no)).scalar_one()
        return {c.name: c for c in session.execute(select(CaseClock).where(CaseClock.case_id == case.id)).scalars()}


def rates(world: World, **params: Any) -> dict[str, Any]:
    response = world.client.get(
        f"{API}/reports/rates",
        params={"from": "2025-09-01", "to": "2025-12-01", "as_of": "2026-01-01T00:00:00+08:00", **params},
        headers=world.headers("leader"),
    )
    assert response.status_code == 200, response.text
    return response.json()["metrics"]  # type: ignore[no-any-return]


# --- 1. every non-empty cell is applied or reported -------------------------------------------------------


def test_a_department_without_dispatch_time_is_dispatched_at_intake_and_counted_as_inferred(world):
    row = {"诉求编号": "D-1", "受理时间": "2025-10-09 09:00", "承办单位": "城市管理局"}
    summary = upload(world, "台账.csv", ledger([row]))
    assert summary["inferred"] == {"dispatched_at": 1}
    case = case_of(world, "D-1")
    assert case["state"] == "dispatched"
    assert case["department"] == "城市管理局"
    dispatch = [e for e in events_of(world, "D-1") if e.action == "dispatch"]
    assert [(e.at, e.payload.get("inferred_from")) for e in dispatch] == [(sh(2025, 10, 9, 9), "received_at")]
    columns = {c["column"]: c for c in summary["columns"]}
    assert columns["dispatched_at"]["inferred"] == 1  # no such column in the file: listed as inferred


def test_a_satisfaction_without_callback_time_is_a_callback_at_the_resolve_time(world):
    row = {
        "诉求编号": "C-1",
        "受理时间": "2025-10-09 09:00",
        "承办单位": "CGJ",
        "派单时间": "2025-10-09 09:30",
        "办结时间": "2025-10-10 10:00",
        "办理结果": "已解决",
        "满意度": "满意",
        "是否联系到": "是",
    }
    summary = upload(world, "台账.csv", ledger([row]))
    assert summary["inferred"]["callback_at"] == 1
    callback = [e for e in events_of(world, "C-1") if e.action == "callback"]
    assert [(e.at, e.payload) for e in callback] == [
        (sh(2025, 10, 10, 10), {"reached": True, "satisfaction": "satisfied", "inferred_from": "resolved_at"})
    ]
    m = rates(world)
    assert (m["satisfaction_rate"]["numerator"], m["satisfaction_rate"]["denominator"]) == (1, 1)
    assert (m["callback_rate"]["numerator"], m["callback_rate"]["denominator"]) == (1, 1)


def test_skipped_accept_and_respond_never_leave_a_clock_running(world):
    row = {
        "诉求编号": "S-1",
        "受理时间": "2025-10-09 09:00",
        "承办单位": "CGJ",
        "派单时间": "2025-10-09 09:30",
        "办结时间": "2025-10-14 10:00",
        "办理结果": "已解决",
    }
    summary = upload(world, "台账.csv", ledger([row]))
    assert summary["inferred"] == {"accepted_at": 1, "responded_at": 1}
    clocks = clocks_of(world, "S-1")
    running = sorted(name for name, c in clocks.items() if c.stopped_at is None)
    assert running == ["callback"]  # the centre's callback only: accept and respond stopped at the resolve time
    assert clocks["accept"].stopped_at == clocks["respond"].stopped_at == sh(2025, 10, 14, 10)
    inferred = [(e.action, e.payload.get("inferred_from")) for e in events_of(world, "S-1")]
    assert ("accept", "resolved_at") in inferred and ("respond", "resolved_at") in inferred
    m = rates(world)
    assert m["response_rate"]["numerator"] == 1
    assert m["on_time_response_rate"]["numerator"] == 0  # responded by the resolve time: after its working day
    # Late once (met late), not overdue forever on accept/respond clocks that never stop.
    assert m["overdue_count"]["value"] == 1
    as_of_now = rates(world, as_of="2026-01-04T00:00:00+08:00")
    assert as_of_now["overdue_count"]["value"] == 1


def test_the_extension_of_a_reopened_case_is_kept_and_it_resolves_on_time(world):
    row = {
        "诉求编号": "R-1",
        "受理时间": "2025-09-13 16:04",
        "承办单位": "CGJ",
        "派单时间": "2025-09-13 16:30",
        "签收时间": "2025-09-13 17:00",
        "响应时间": "2025-09-14 09:00",
        "办结时限": "2025-09-16 16:04",
        "重办时间": "2025-09-16 13:38",
        "延期后时限": "2025-09-23 16:04",
        "办结时间": "2025-09-19 08:38",
        "办理结果": "已解决",
    }
    upload(world, "台账.csv", ledger([row]))
    clock = clocks_of(world, "R-1")["resolve"]
    assert clock.due_at == sh(2025, 9, 23, 16, 4)
    assert clock.stopped_at == sh(2025, 9, 19, 8, 38)
    m = rates(world)
    assert (m["on_time_resolution_rate"]["numerator"], m["on_time_resolution_rate"]["denominator"]) == (1, 1)


def test_no_reply_is_invented(world):
    row = {
        "诉求编号": "N-1",
        "受理时间": "2025-10-09 09:00",
        "承办单位": "CGJ",
        "办结时间": "2025-10-10 10:00",
        "办理结果": "已解决",
    }
    upload(world, "台账.csv", ledger([row]))
    with transaction(world.app.state.sessions) as session:
        case = session.execute(select(Case).where(Case.case_no == "N-1")).scalar_one()
        assert case.reply == ""
        code = case.query_code
    for event in events_of(world, "N-1"):
        assert "台账导入" not in str(event.payload)
    public = world.client.get(f"{API}/public/cases/{code}")
    assert public.status_code == 200
    assert "台账导入" not in public.text


def test_two_header_cells_naming_one_column_are_refused_naming_both(world, engine):
    before = counts(engine)
    data = csv_bytes(
        ["诉求编号", "编号", "受理时间", "来源渠道", "诉求类型", "标题"],
        [["A-1", "A-2", "2025-10-09 09:00", "电话", "求助", "路灯"]],
    )
    body = upload(world, "台账.csv", data, expect=422)
    message = body["errors"][0]["message"]
    assert "诉求编号" in message and "编号" in message
    assert "诉求编号" in body["errors"][0]["message_en"]
    assert counts(engine) == before


def test_a_satisfaction_for_an_unresolved_case_is_kept_as_a_remark_and_warned(world):
    row = {"诉求编号": "U-1", "受理时间": "2025-10-09 09:00", "承办单位": "CGJ", "满意度": "满意"}
    summary = upload(world, "台账.csv", ledger([row]))
    assert [w["column"] for w in summary["warnings"]] == ["satisfaction"]
    assert summary["warnings"][0]["rows"] == [2]
    intake = events_of(world, "U-1")[0]
    assert "满意" in intake.payload["ledger_note"]


# --- 2. the files offices really have ---------------------------------------------------------------------


def test_title_rows_extra_columns_remarks_and_totals(world):
    header = ["序号", "工单编号", "登记时间", "渠道", "类型", "诉求标题", "备注"]
    body = csv_bytes(
        ["2024年诉求台账", "", "", "", "", "", ""],
        [
            ["", "", "", "", "", "", ""],
            header,
            ["1", "T-1", "2024/3/5 9:05", "电话", "求助", "路灯不亮", "群众反映较急"],
            ["2", "T-2", "2024/3/6 10:00", "12345", "咨询", "问政策", ""],
            ["合计", "2件", "", "", "", "", ""],
        ],
    )
    summary = upload(world, "台账.csv", body, dry_run=True)
    assert summary["created"] == 2
    assert summary["header_row"] == 3
    assert [(s["row"], s["kind"]) for s in summary["skipped_rows"]] == [(1, "title"), (2, "blank"), (6, "totals")]
    assert summary["ignored_columns"] == ["序号"]
    uses = {c["header"]: c["column"] for c in summary["columns"]}
    assert uses["序号"] is None and uses["备注"] == "note" and uses["渠道"] == "channel"
    upload(world, "台账.csv", body)
    assert case_of(world, "T-1")["channel"] == "hotline"
    assert events_of(world, "T-1")[0].payload["ledger_note"] == "群众反映较急"


def test_unknown_words_are_listed_once_with_their_rows_and_the_accepted_values(world):
    rows = [{"诉求编号": f"V-{n}", "受理时间": "2025-10-09 09:00", "来源渠道": "飞鸽传书"} for n in range(5)]
    body = upload(world, "台账.csv", ledger(rows), expect=422)
    found = [e for e in body["errors"] if e["column"] == "channel"]
    assert len(found) == 1
    assert found[0]["count"] == 5 and found[0]["rows"] == [2, 3, 4, 5, 6]
    assert "飞鸽传书" in found[0]["message"] and "12345" in found[0]["message"]
    assert "hotline" in found[0]["message_en"]


@pytest.mark.parametrize(
    ("word", "code"),
    [
        ("电话", "hotline"),
        ("12345", "hotline"),
        ("来电", "hotline"),
        ("热线", "hotline"),
        ("网络", "online"),
        ("信件", "letter"),
        ("走访", "walk_in"),
        ("来访", "walk_in"),
        ("代办帮办", "enterprise"),
        ("ｗａｌｋ_ｉｎ", "walk_in"),
    ],
)
def test_the_words_offices_write_for_channels(world, word, code):
    row = {"诉求编号": "W-1", "受理时间": "2025-10-09 09:00", "来源渠道": word}
    if code == "enterprise":
        row |= {"企业名称": "云帆光电科技有限公司"}
    upload(world, "台账.csv", ledger([row]))
    assert case_of(world, "W-1")["channel"] == code


def test_a_gb18030_csv_is_read(world):
    row = {"诉求编号": "G-1", "受理时间": "2025-10-09 09:00", "标题": "小区门口路灯不亮"}
    summary = upload(world, "台账.csv", ledger([row], encoding="gb18030"))
    assert summary["created"] == 1 and summary["encoding"] == "GB18030"
    assert case_of(world, "G-1")["title"] == "小区门口路灯不亮"


def _tree(world: World) -> None:
    with transaction(world.app.state.sessions) as session:
        top = Category(code="01", name="城市管理", level=1)
        session.add(top)
        session.flush()
        mid = Category(code="0101", name="市政设施", level=2, parent_id=top.id)
        session.add(mid)
        session.flush()
        session.add(Category(code="010101", name="路灯照明", level=3, parent_id=mid.id))
        other = Category(code="02", name="社会事务", level=1)
        session.add(other)
        session.flush()
        session.add(Category(code="0201", name="其他", level=2, parent_id=other.id))
        session.add(Category(code="0102", name="其他", level=2, parent_id=top.id))


def test_categories_by_path_name_or_code_and_unknown_ones_listed_once(world, engine):
    _tree(world)
    rows = [
        {"诉求编号": "K-1", "受理时间": "2025-10-09 09:00", "业务分类": "城市管理/市政设施/路灯照明"},
        {"诉求编号": "K-2", "受理时间": "2025-10-09 09:00", "业务分类": "路灯照明"},
        {"诉求编号": "K-3", "受理时间": "2025-10-09 09:00", "业务分类": "010101"},
        {"诉求编号": "K-4", "受理时间": "2025-10-09 09:00", "业务分类": "城市管理 / 市政设施 / 窨井盖"},
        {"诉求编号": "K-5", "受理时间": "2025-10-09 09:00", "业务分类": "城市管理 / 市政设施 / 窨井盖"},
        {"诉求编号": "K-6", "受理时间": "2025-10-09 09:00", "业务分类": "其他"},
    ]
    before = counts(engine)
    body = upload(world, "台账.csv", ledger(rows), expect=422)
    by_value = {e["value"]: e for e in body["errors"] if e["column"] == "category"}
    assert set(by_value) == {"城市管理 / 市政设施 / 窨井盖", "其他"}
    assert by_value["城市管理 / 市政设施 / 窨井盖"]["count"] == 2
    assert "城市管理/其他" in by_value["其他"]["message"] and "社会事务/其他" in by_value["其他"]["message"]
    assert counts(engine) == before
    rows[5]["业务分类"] = "社会事务/其他"
    response = world.client.post(
        f"{API}/ledger/import",
        params={"create_categories": "true"},
        files={"file": ("台账.csv", ledger(rows))},
        headers=world.headers("admin"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["new_categories"] == ["城市管理/市政设施/窨井盖"]
    with transaction(world.app.state.sessions) as session:
        made = session.execute(select(Category).where(Category.name == "窨井盖")).scalar_one()
        assert (made.level, made.code) == (3, "010102")
        by_case = dict(session.execute(select(Case.case_no, Case.category_id)).all())
    assert by_case["K-1"] == by_case["K-2"] == by_case["K-3"] != by_case["K-4"] == by_case["K-5"] == made.id


# --- the sample ledgers of shared/samples ----------------------------------------------------------------


def _sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.exists():
        pytest.fail(f"the sample ledger {path} is missing (shared/samples/ledgers)")
    return path.read_bytes()


def test_the_gb18030_hotline_sample_imports_completely(world):
    _tree(world)
    data = _sample("2024-hotline-gbk.csv")
    dry = upload(world, "2024-hotline-gbk.csv", data, dry_run=True)
    assert dry["created"] == 28 and dry["encoding"] == "GB18030"
    assert dry["header_row"] == 3
    assert {(s["row"], s["kind"]) for s in dry["skipped_rows"]} == {(1, "title"), (2, "blank"), (32, "totals")}
    assert dry["ignored_columns"] == ["序号"]
    assert dry["inferred"]["dispatched_at"] == 7  # rows with 承办单位 and no 派单时间
    assert dry["inferred"]["callback_at"] >= 5  # 满意度 and no 回访时间
    done = upload(world, "2024-hotline-gbk.csv", data)
    assert done["created"] == 28
    with transaction(world.app.state.sessions) as session:
        phones = set(session.execute(select(Case.petitioner_phone)).scalars())
        titles = dict(session.execute(select(Case.case_no, Case.title)).all())
    assert all(p.isdigit() and len(p) == 11 for p in phones)  # 138-xxxx-xxxx, +86 138..., 138 xxxx xxxx
    assert titles["RX-2024-0001"] == "ＡＢ栋地下车库积水"  # stored as typed; found by search as AB栋
    found = world.client.get(f"{API}/cases", params={"q": "AB栋"}, headers=world.headers("supervisor")).json()
    assert "RX-2024-0001" in [c["case_no"] for c in found["items"]]


def test_the_meetings_sample_with_title_rows_imports_completely(world):
    data = _sample("2024-meetings.xlsx")
    dry = upload(world, "2024-meetings.xlsx", data, dry_run=True)
    assert dry["created"] == 20
    assert dry["header_row"] == 3
    kinds = [s["kind"] for s in dry["skipped_rows"]]
    assert kinds.count("title") == 2 and kinds.count("totals") == 1 and kinds.count("blank") == 1
    resolved_without_outcome = [w for w in dry["warnings"] if w["column"] == "outcome"]
    assert resolved_without_outcome and resolved_without_outcome[0]["count"] == 16
    assert upload(world, "2024-meetings.xlsx", data)["created"] == 20
    assert case_of(world, "MT-2024-005")["state"] in ("dispatched",)


# --- what a newcomer's trial found ------------------------------------------------------------------------


def test_cells_right_of_the_header_and_footer_notes_are_listed_not_lost(world):
    header = ["编号", "受理时间", "渠道", "类型", "标题", "备注"]
    body = csv_bytes(
        header,
        [
            ["F-1", "2024-03-05 09:00", "电话", "求助", "路灯", "", "LOST VALUE", "another"],
            ["合计", "1件", "", "", "", ""],
            ["制表人：张三", "审核人：李四", "", "", "", ""],
            ["填报说明：本表按月报送", "", "", "", "", ""],
        ],
    )
    summary = upload(world, "台账.csv", body, dry_run=True)
    assert summary["created"] == 1
    unnamed = [c for c in summary["columns"] if c["position"] in (7, 8)]
    assert [(c["header"], c["column"], c["values"]) for c in unnamed] == [("", None, 1), ("", None, 1)]
    assert all("没有列名" in c["use"] for c in unnamed)
    assert [(s["row"], s["kind"]) for s in summary["skipped_rows"]] == [(3, "totals"), (4, "footer"), (5, "footer")]
    assert "审核人：李四" in summary["skipped_rows"][1]["text"]


def test_a_formula_without_a_stored_result_is_kept_as_its_text(world):
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["编号", "受理时间", "渠道", "类型", "标题", "备注"])
    sheet.append(["X-1", "2024-03-05 09:00", "电话", "求助", "路灯不亮", "=1+1"])
    buffer = io.BytesIO()
    book.save(buffer)  # openpyxl stores no result for a formula: as programs write files
    summary = upload(world, "台账.xlsx", buffer.getvalue())
    assert [c["values"] for c in summary["columns"] if c["header"] == "备注"] == [1]
    assert events_of(world, "X-1")[0].payload["ledger_note"] == "=1+1"


def test_contradicting_callback_cells_are_warned_and_kept_as_a_remark(world):
    row = {
        "诉求编号": "Y-1",
        "受理时间": "2025-10-09 09:00",
        "承办单位": "CGJ",
        "办结时间": "2025-10-10 10:00",
        "办理结果": "已解决",
        "是否联系到": "否",
        "满意度": "基本满意",
    }
    summary = upload(world, "台账.csv", ledger([row]))
    assert [w["column"] for w in summary["warnings"] if w["column"] == "satisfaction"] == ["satisfaction"]
    assert "基本满意" in events_of(world, "Y-1")[0].payload["ledger_note"]
    [callback] = [e for e in events_of(world, "Y-1") if e.action == "callback"]
    assert callback.payload["reached"] is False


def test_a_year_in_the_future_is_refused_and_a_bare_unknown_category_is_not_created(world):
    future = {"诉求编号": "Z-1", "受理时间": "2030-02-01 09:00"}
    body = upload(world, "台账.csv", ledger([future]), expect=422)
    assert "is in the future" in body["errors"][0]["message_en"]
    typo = {"诉求编号": "Z-2", "受理时间": "2025-10-09 09:00", "业务分类": "路灯照名"}
    response = world.client.post(
        f"{API}/ledger/import",
        params={"create_categories": "true"},
        files={"file": ("台账.csv", ledger([typo]))},
        headers=world.headers("admin"),
    )
    assert response.status_code == 422
    assert "full path" in response.json()["errors"][0]["message_en"]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("2024年3月12日 9:05", sh(2024, 3, 12, 9, 5)), ("2024/3/12 9:05", sh(2024, 3, 12, 9, 5))],
)
def test_chinese_dates(world, cell, expected):
    upload(world, "台账.csv", ledger([{"诉求编号": "Q-1", "受理时间": cell}]))
    with transaction(world.app.state.sessions) as session:
        case = session.execute(select(Case).where(Case.case_no == "Q-1")).scalar_one()
        assert case.received_at == expected


def test_tab_separated_utf16_text_with_required_marks_in_the_headers(world):
    text = "诉求编号（必填）\t受理时间*\t来源渠道\t诉求类型\t标题\nU-1\t2024-03-05 09:00\t来电\t求助\t路灯\n"
    summary = upload(world, "台账.csv", text.encode("utf-16"))
    assert (summary["created"], summary["encoding"]) == (1, "UTF-16")
    assert case_of(world, "U-1")["channel"] == "hotline"


def test_extension_steps_are_marked_inferred_and_a_reopen_stops_the_callback_clock(world):
    row = {
        "诉求编号": "E-1",
        "受理时间": "2025-10-09 09:00",
        "承办单位": "CGJ",
        "派单时间": "2025-10-09 09:30",
        "办结时限": "2025-10-30 18:00",
        "延期后时限": "2025-11-06 18:00",
        "办结时间": "2025-11-03 10:00",
        "办理结果": "已解决",
        "重办时间": "2025-11-05 10:00",
    }
    upload(world, "台账.csv", ledger([row]))
    marks = {e.action: e.payload.get("inferred_from") for e in events_of(world, "E-1")}
    assert marks["request_extension"] == marks["approve_extension"] == "extended_due_at"
    clocks = clocks_of(world, "E-1")
    assert clocks["callback"].stopped_at == sh(2025, 11, 5, 10)  # reopened: no longer waiting for a callback
    assert clocks["resolve"].stopped_at is None  # the new round runs


def test_an_imported_duplicate_is_on_its_targets_timeline_as_a_live_merge_would_be(world):
    rows = [
        {"诉求编号": "A-1", "受理时间": "2025-10-09 09:00"},
        {"诉求编号": "A-2", "受理时间": "2025-10-10 09:00", "重复件（合并到）": "A-1"},
    ]
    upload(world, "台账.csv", ledger(rows))
    target = case_of(world, "A-1")
    assert [m["case_no"] for m in target["merged_cases"]] == ["A-2"]
    merged_in = [e for e in events_of(world, "A-1") if e.action == "merged_in"]
    assert [(e.at, e.payload) for e in merged_in] == [(sh(2025, 10, 10, 9), {"case_no": "A-2"})]
    assert target["version"] == 2  # intake, then the merge it received
    assert case_of(world, "A-2")["merged_into"]["case_no"] == "A-1"


def test_a_duplicate_merged_into_a_case_of_an_earlier_ledger_is_linked_to_it(world):
    """April's ledger merges a row into a case March's ledger brought in: the target is in the system, not in the
    file (the trial's clerk was told it was in neither); an unknown target is still refused."""
    upload(world, "三月.csv", ledger([{"诉求编号": "M-1", "受理时间": "2025-03-09 09:00"}]))
    rows = [{"诉求编号": "M-2", "受理时间": "2025-04-10 09:00", "重复件（合并到）": "M-1"}]
    upload(world, "四月.csv", ledger(rows))
    target = case_of(world, "M-1")
    assert [m["case_no"] for m in target["merged_cases"]] == ["M-2"]
    assert [(e.at, e.payload) for e in events_of(world, "M-1") if e.action == "merged_in"] == [
        (sh(2025, 4, 10, 9), {"case_no": "M-2"})
    ]
    assert case_of(world, "M-2")["merged_into"]["case_no"] == "M-1"
    unknown = [{"诉求编号": "M-3", "受理时间": "2025-04-11 09:00", "重复件（合并到）": "M-9"}]
    body = upload(world, "五月.csv", ledger(unknown), expect=422)
    assert "不在文件或系统中" in body["errors"][0]["message"]


def test_a_case_number_typed_full_width_is_the_same_key(world):
    """ＴＺ－２０２５－０１０２ (an IME left in full width) is stored as TZ-2025-0102: found by the API under that
    number, and a later ledger naming it half-width neither imports it twice nor fails to merge into it."""
    upload(world, "台账.csv", ledger([{"诉求编号": "ＴＺ－２０２５－０１０２", "受理时间": "2025-04-09 09:00"}]))
    assert case_of(world, "TZ-2025-0102")["case_no"] == "TZ-2025-0102"
    again = upload(world, "台账.csv", ledger([{"诉求编号": "TZ-2025-0102", "受理时间": "2025-04-09 09:00"}]))
    assert again["created"] == 0
    rows = [
        {"诉求编号": "TZ-2025-0103", "受理时间": "2025-04-10 09:00", "重复件（合并到）": "ＴＺ－２０２５－０１０２"}
    ]
    assert upload(world, "台账.csv", ledger(rows))["created"] == 1
    assert case_of(world, "TZ-2025-0103")["merged_into"]["case_no"] == "TZ-2025-0102"
