"""`grievance demo`: the synthetic 2025 of the fictional zone reproduces the figures of DOMAIN.md "What the
articles report" in the year's report, and the time since then up to the moment of loading looks like a live
office that day. The demo is loaded once per backend (it takes a while) and only read by these tests: the
SQLite one as of a Monday afternoon late in 2026, the PostgreSQL one as of a Monday early in 2026."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from grievance import demo_keycases, demo_now
from grievance.cases.models import Case, CaseClock, CaseEvent
from grievance.cli import main
from grievance.config import Settings
from grievance.db import transaction
from grievance.demo import ACCOUNTS, LIAISON_CADRES
from grievance.demo_year import year_ledger, zone
from grievance.reference.models import Meeting, Station
from grievance.users.models import User
from grievance.users.service import create_token
from grievance.workflow.calendar import WorkCalendar
from grievance.workflow.loader import load_workflows
from tests.demo_share import shared_demo
from tests.ledger._support import counts
from web.app import create_app

YEAR = {"from": "2025-01-01", "to": "2026-01-01", "as_of": "2026-01-10T00:00:00"}
DEMO_LINE = re.compile(r"^\s+(demo_\w+)\s+(\w+)\s+(\S+)\s+(gv_\S+)\s", re.MULTILINE)
LOADED_AT = {  # the moment the demo is loaded at, by backend (both a Monday, in Beijing 14:00)
    "sqlite": datetime(2026, 11, 30, 6, 0, tzinfo=UTC),
    "postgresql": datetime(2026, 3, 2, 6, 0, tzinfo=UTC),
}


@dataclass
class Demo:
    app: Any
    client: TestClient
    url: str
    data_dir: str
    output: str
    token: str  # a leader's
    now: datetime  # when it was loaded

    def cli(self, *argv: str) -> tuple[int, str]:
        with pytest.MonkeyPatch.context() as env:
            _environment(env, self.url, self.data_dir)
            env.setattr("grievance.demo.utcnow", lambda: self.now)
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(list(argv))
        return code, out.getvalue() + err.getvalue()

    def rates(self, **params: Any) -> dict[str, Any]:
        response = self.client.get(
            "/api/v1/reports/rates",
            params={**YEAR, **params},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        return response.json()["metrics"]  # type: ignore[no-any-return]


def _environment(env: pytest.MonkeyPatch, url: str, data_dir: str) -> None:
    env.setenv("GRIEVANCE_DATABASE_URL", url)
    env.setenv("GRIEVANCE_DATA_DIR", data_dir)
    env.delenv("GRIEVANCE_WORKFLOWS_DIR", raising=False)
    env.delenv("GRIEVANCE_TIMEZONE", raising=False)


@pytest.fixture(scope="module")
def demo(database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:  # type: ignore[no-untyped-def]
    """The demo loaded by `make run`'s `grievance demo --if-empty` into a database of its own, once per backend
    (the only load of the demo in the test suite: tests that need it read this one). The test processes share the
    load (tests/demo_share.py): the first to need a backend's demo loads it, the others copy it."""
    root = tmp_path_factory.mktemp("demo")
    now = LOADED_AT[database.backend]

    def load(url: str) -> str:
        code, output = Demo(None, None, url, str(root / "data"), "", "", now).cli("demo", "--if-empty")  # type: ignore[arg-type]
        assert code == 0, output
        return output

    with shared_demo(database, tmp_path_factory, root, load) as (url, output):
        loaded = Demo(None, None, url, str(root / "data"), output, "", now)  # type: ignore[arg-type]
        loaded.app = create_app(Settings(database_url=url, data_dir=root / "data"))
        loaded.client = TestClient(loaded.app)
        with transaction(loaded.app.state.sessions) as session:
            leader = session.execute(select(User).where(User.username == "demo_leader")).scalar_one()
            loaded.token = create_token(session, leader, name="test")
        yield loaded
        loaded.app.state.engine.dispose()


def test_the_demo_prints_its_accounts_and_the_year(demo):
    assert "demo data loaded" in demo.output
    assert re.search(r"demo year loaded: \d{4} cases", demo.output)
    assert re.search(r"and \d+ cases since 2026-01-01, with \d+ live actions", demo.output)
    accounts = {name: (role, password) for name, role, password, _token in DEMO_LINE.findall(demo.output)}
    assert set(accounts) == {username for username, *_rest in ACCOUNTS}
    assert accounts["demo_leader"] == ("leader", "demo-leader-2025")
    assert accounts["demo_admin"] == ("admin", "demo-admin-2025")
    with transaction(demo.app.state.sessions) as session:
        users = session.execute(select(func.count()).select_from(User)).scalar_one()
    # The demo accounts, plus two more handlers of 城管局, the liaison cadres of the demo's large enterprises, and
    # the key cases' other lead leaders and department heads (no password, not listed).
    key_people = [p for p in [*demo_keycases.LEADERS, *demo_keycases.DEPARTMENT_HEADS.values()] if p[1]]
    assert users == len(ACCOUNTS) + 2 + LIAISON_CADRES + len(key_people)


def test_dialogue_meetings(demo):
    with transaction(demo.app.state.sessions) as session:
        held = session.execute(
            select(func.count()).where(Meeting.held_on >= date(2025, 1, 1), Meeting.held_on < date(2026, 1, 1))
        ).scalar_one()
    assert held == 37
    meetings = demo.rates(channel="meeting")
    assert meetings["resolution_rate"]["numerator"] >= 260  # "solved 260+ urgent problems"


def test_dispute_mediation_rate(demo):
    mediation = demo.rates()["mediation_rate"]
    assert mediation == {"numerator": 148, "denominator": 154, "value": 0.961039}
    assert round(mediation["value"] * 100, 1) == 96.1


def test_urban_stations(demo):
    with transaction(demo.app.state.sessions) as session:
        assert session.execute(select(func.count()).select_from(Station)).scalar_one() >= 100


def test_enterprise_service(demo):
    enterprise = demo.rates(channel="enterprise")
    assert enterprise["enterprises_served"] == {"value": 174}
    assert enterprise["intake_count"] == {"value": 508}
    assert enterprise["response_rate"] == {"numerator": 508, "denominator": 508, "value": 1.0}
    assert (enterprise["resolution_rate"]["numerator"], enterprise["resolution_rate"]["denominator"]) == (498, 508)
    assert round(enterprise["resolution_rate"]["value"] * 100, 1) == 98.0
    assert demo.rates()["liaison_coverage"] == {"numerator": 179, "denominator": 179, "value": 1.0}


def test_inspection_referrals_all_resolved(demo):
    inspection = demo.rates(channel="inspection")
    assert inspection["intake_count"] == {"value": 34}
    assert inspection["resolution_rate"] == {"numerator": 34, "denominator": 34, "value": 1.0}


def test_the_rest_of_the_year_is_ordinary_life(demo):
    m = demo.rates()
    assert m["intake_count"]["value"] >= 4000
    assert m["overdue_count"]["value"] > 0
    assert m["reopen_rate"]["numerator"] > 0
    assert m["duplicate_count"]["value"] > 0
    assert 0 < m["resolution_rate"]["value"] < 1
    assert 0.8 < m["satisfaction_rate"]["value"] < 1
    with transaction(demo.app.state.sessions) as session:
        extended = session.execute(
            select(func.count()).where(CaseClock.name == "resolve", CaseClock.extended_days > 0)
        ).scalar_one()
        still_open = session.execute(
            select(func.count()).where(Case.state.not_in(["resolved", "closed", "merged"]))  # type: ignore[attr-defined]
        ).scalar_one()
        states = dict(session.execute(select(Case.state, func.count()).group_by(Case.state)).all())
    assert extended > 0
    assert still_open > 0
    assert {"closed", "resolved", "merged", "handling"} <= set(states)


def test_the_demo_cases_came_in_through_the_ledger_with_their_history(demo):
    with transaction(demo.app.state.sessions) as session:
        first = session.execute(select(Case).where(Case.case_no == "GX-2025-000001")).scalar_one()
        assert first.received_at.year == 2025
        events = session.execute(
            text("SELECT count(*) FROM case_events WHERE case_id = :id"), {"id": first.id}
        ).scalar_one()
        assert events == first.version >= 1


def test_no_complaint_about_the_demolition_programme(demo):
    demolition = demo.rates(category="05")  # 征迁安置
    assert demolition["intake_count"]["value"] > 100
    assert demo.rates(category="05", case_type="complaint")["intake_count"] == {"value": 0}
    assert demo.rates(case_type="complaint")["intake_count"]["value"] > 0


def test_every_report_names_the_department_it_accuses_and_another_handles_it(demo):
    with transaction(demo.app.state.sessions) as session:
        reports = session.execute(
            select(Case.case_no, Case.department_id, Case.accused_department_id).where(Case.case_type == "report")
        ).all()
    assert len(reports) > 100
    assert [no for no, _department, accused in reports if accused is None] == []
    assert [no for no, department, accused in reports if accused == department] == []


def test_running_the_demo_again_keeps_its_tokens_and_adds_nothing(demo):
    tokens = {name: token for name, _role, _password, token in DEMO_LINE.findall(demo.output)}
    before = counts(demo.app.state.engine)
    for argv in (("demo", "--if-empty"), ("demo",)):
        code, output = demo.cli(*argv)
        assert code == 0, output
        assert "demo is already loaded; nothing changed" in output
        assert "demo data loaded" not in output and "demo not loaded" not in output
        assert "gv_" not in output and "grievance token create demo_admin" in output
        assert "demo_dispatcher  dispatcher  demo-dispatcher-2025" in output
    assert counts(demo.app.state.engine) == before
    for name in ("demo_admin", "demo_handler"):
        me = demo.client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens[name]}"})
        assert me.status_code == 200, me.text
        assert me.json()["username"] == name


# --- the present: a live office on the day the demo is loaded -------------------------------------------------


def _working_days_between(calendar: WorkCalendar, start: datetime, end: datetime) -> int:
    """Working days from the local date of `start` to that of `end` (0 on the same day)."""
    day, last, n = start.astimezone(demo_now.LOCAL).date(), end.astimezone(demo_now.LOCAL).date(), 0
    while day < last:
        day += timedelta(days=1)
        n += calendar.is_workday(day)
    return n


def test_the_present_has_a_case_in_every_state(demo):
    with transaction(demo.app.state.sessions) as session:
        since = datetime(2025, 12, 31, 16, tzinfo=UTC)
        states = dict(
            session.execute(
                select(Case.state, func.count()).where(Case.received_at >= since).group_by(Case.state)
            ).all()
        )
        open_cases = Case.state.not_in(["resolved", "closed", "merged"])  # type: ignore[attr-defined]
        supervised = session.execute(select(func.count()).where(open_cases, Case.supervised)).scalar_one()
        assignees = dict(
            session.execute(
                select(User.username, func.count())
                .join(Case, Case.assignee_id == User.id)
                .where(open_cases)
                .group_by(User.username)
            ).all()
        )
        last_events = session.execute(
            select(CaseEvent.action, func.count())
            .where(
                CaseEvent.id.in_(  # type: ignore[union-attr]
                    select(func.max(CaseEvent.id)).where(CaseEvent.action != "urge").group_by(CaseEvent.case_id)
                )
            )
            .group_by(CaseEvent.action)
        ).all()
        reopened_open = session.execute(
            select(func.count(func.distinct(Case.id))).where(
                Case.state == "handling",
                Case.id.in_(select(CaseEvent.case_id).where(CaseEvent.action == "reopen")),  # type: ignore[union-attr]
            )
        ).scalar_one()
    assert {
        "received",
        "pool",
        "dispatched",
        "returned",
        "accepted",
        "handling",
        "suspended",
        "resolved",
        "closed",
        "merged",  # a duplicate merged by the dispatcher
        "not_accepted",  # a petition declined (信访 不予受理)
        "review_requested",  # a petition's opinion under review (复查中)
    } <= set(states), states
    assert states["closed"] > states["handling"] > 5
    last = dict(last_events)
    assert last.get("request_extension", 0) >= 2  # 延期 waiting for the supervisor
    assert last.get("supervise", 0) >= 1 and supervised >= 3  # 督办 and key cases
    assert reopened_open >= 1
    # 城管局's head has given cases to each of its handlers (我的 / 本单位 / 未分配).
    assert set(assignees) == set(demo_now.HANDLERS) and assignees["demo_handler"] >= 4


def test_the_present_is_due_soon_or_late_by_days_not_by_hundreds(demo):
    with transaction(demo.app.state.sessions) as session:
        running = session.execute(
            select(CaseClock.name, CaseClock.due_at, Case.received_at)
            .join(Case, Case.id == CaseClock.case_id)
            .where(CaseClock.stopped_at.is_(None), CaseClock.paused_at.is_(None))  # type: ignore[union-attr]
        ).all()
    with transaction(demo.app.state.sessions) as session:
        calendar = demo.app.state.runtime.calendar(session)
    late = [_working_days_between(calendar, due, demo.now) for _name, due, _received in running if due < demo.now]
    soon = [due for _name, due, _received in running if demo.now <= due <= demo.now + timedelta(days=2)]
    assert late and max(late) <= 6, sorted(late)[-10:]
    assert len(soon) >= 3
    assert {"resolve", "callback"} <= {name for name, due, _received in running if due < demo.now}
    assert all(received.year >= 2025 for *_rest, received in running)


def test_the_years_loose_ends_are_finished_the_next_year(demo):
    """2025 cases are closed or resolved with their callback done; the ten open enterprise appeals of the
    articles' 98 % are resolved after the annual report's as-of (2026-01-10)."""
    with transaction(demo.app.state.sessions) as session:
        end = datetime(2025, 12, 31, 16, tzinfo=UTC)
        states = dict(
            session.execute(select(Case.state, func.count()).where(Case.received_at < end).group_by(Case.state)).all()
        )
        uncalled = session.execute(
            select(func.count())
            .select_from(CaseClock)
            .join(Case, Case.id == CaseClock.case_id)
            .where(Case.received_at < end, CaseClock.stopped_at.is_(None))  # type: ignore[union-attr]
        ).scalar_one()
        unreplied = session.execute(
            select(func.count()).where(Case.state.in_(["resolved", "closed"]), Case.reply == "")  # type: ignore[attr-defined]
        ).scalar_one()
    assert "closed" in states and set(states) <= {"closed", "resolved", "merged"}, states
    assert uncalled == 0  # a callback that did not reach the petitioner was tried again
    assert unreplied == 0  # /callbacks shows the department's reply
    assert demo.rates(channel="enterprise", as_of=demo.now.isoformat())["resolution_rate"]["value"] == 1.0


@pytest.mark.parametrize(
    "now",
    [
        datetime(2027, 3, 2, 1, 0, tzinfo=UTC),  # 09:00 in Beijing, in a year chinese_calendar does not know
        datetime(2026, 1, 4, 12, 0, tzinfo=UTC),  # a Sunday worked after New Year, four days into the year
        datetime(2026, 10, 3, 4, 0, tzinfo=UTC),  # National Day holidays
    ],
    ids=str,
)
def test_the_present_on_any_day(now):
    """The present is planned for any day (no database): numbered by the year received, nothing after `now`,
    the live actions after their case's steps; in a year chinese_calendar does not know too."""
    workflows = load_workflows(Settings().workflows_dir)
    categories = {"01": ["010101"], "02": ["020101"], "03": ["030101"], "04": ["040101"], "05": ["050101"]}
    present = demo_now.present(workflows, WorkCalendar(), categories, zone(), now)
    today = now.astimezone(demo_now.LOCAL).date()
    assert present.rows and present.actions
    assert min(r["received_at"] for r in present.rows).astimezone(demo_now.LOCAL).date() >= date(2026, 1, 1)
    for row in present.rows:
        times = [v for k, v in row.items() if k.endswith("_at") and not k.endswith("_due_at")]
        assert max(times) <= now, row
        assert row["case_no"].startswith(f"GX-{row['received_at'].astimezone(demo_now.LOCAL).year}-")
        assert not (row["case_type"] == "complaint" and row["category"].startswith("05"))
        if row["case_type"] == "report":
            assert row["accused_department"] not in ("", None, row.get("department")), row
        assert bool(row.get("reply")) == bool(row.get("outcome")), row  # a resolved case has its reply
    assert len({r["case_no"] for r in present.rows}) == len(present.rows)
    for action in present.actions:
        steps = [v for k, v in action.row.items() if k.endswith("_at") and not k.endswith("_due_at")]
        assert max(steps) < action.at <= now
    assert all(day < today for day, *_rest in present.meetings)
    assert (
        demo_now.present(workflows, WorkCalendar(), categories, zone(), datetime(2025, 12, 31, tzinfo=UTC)).rows == []
    )


# The leaf categories of config/categories.yaml by first level, and words that tell each one's subject.
LEAVES = {
    "01": ["010101", "010102", "010103", "010201", "010202", "010203"],
    "02": ["020101", "020102", "020201", "020202"],
    "03": ["030101", "030102", "030201", "030202"],
    "04": ["040101", "040102", "040201"],
    "05": ["050101", "050102"],
}
SUBJECT_WORDS = {
    "010101": "路灯",
    "010102": "路面|地砖|道路|人行道",
    "010103": "井盖",
    "010201": "垃圾",
    "010202": "违章|违建|搭建|围墙",
    "010203": "噪音|施工|音响|音量",
    "020101": "申报",
    "020102": "奖补",
    "020201": "执照|证照|验收",
    "020202": "招聘|用工|稳岗|技工",
    "030101": "社保|医保",
    "030102": "救助|低保",
    "030201": "入学|幼儿园",
    "030202": "卫生服务站|家庭医生",
    "040101": "物业",
    "040102": "漏水|装修",
    "040201": "工资|欠薪",
    "050101": "征收|补偿",
    "050102": "安置房|过渡费",
}


def test_a_demo_case_tells_of_one_subject_and_a_resolved_one_carries_its_reply():
    """Title, description and category of every case of the year agree (so a duplicate flag, which matches on
    the words, looks right); a merged duplicate repeats its case; a resolved case has the department's reply to
    match its outcome; the stations have names of their own (no database)."""
    rows = year_ledger(load_workflows(Settings().workflows_dir), WorkCalendar(), LEAVES, zone())
    by_no = {row["case_no"]: row for row in rows}
    for row in rows:
        words = SUBJECT_WORDS[row["category"]]
        assert re.search(words, row["title"]) and re.search(words, row["description"]), row
        if row.get("duplicate_of"):
            earlier = by_no[row["duplicate_of"]]
            assert row["title"] == earlier["title"] and earlier["description"] in row["description"]
        reply = row.get("reply", "")
        assert bool(reply) == bool(row.get("outcome")), row
        if row.get("outcome") == "answered_on_spot":
            assert reply.startswith("已当场答复")
        elif row.get("outcome") in ("mediated", "not_mediated"):
            assert ("未能达成一致" in reply) == (row["outcome"] == "not_mediated"), row
    assert len({row["title"] for row in rows}) > len(rows) * 0.8  # alike only when meant to
    # A callback that did not reach the petitioner is tried again (its clock runs on until one does).
    late_in_year = datetime(2025, 12, 20, tzinfo=UTC)
    assert [r["case_no"] for r in rows if r.get("callback_reached") is False and r["callback_at"] < late_in_year] == []
    stations = zone().stations
    assert [code for code, *_rest in stations] == [f"ZS{n:03d}" for n in range(1, 105)]
    assert len({name for _code, name, *_rest in stations}) == 104


def test_demo_if_empty_on_a_database_with_users_loads_nothing(settings, tmp_path):
    with pytest.MonkeyPatch.context() as env:
        _environment(env, settings.database_url, str(tmp_path))
        assert main(["user", "add", "root", "--role", "admin", "--no-password"]) == 0
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["demo", "--if-empty"]) == 0
    assert "demo not loaded" in out.getvalue()
    assert "gv_" not in out.getvalue()
    app = create_app(settings)
    try:
        found = counts(app.state.engine)
        assert found["cases"] == found["departments"] == found["enterprises"] == 0
        with app.state.engine.connect() as conn:
            assert conn.execute(text("SELECT username FROM users")).scalars().all() == ["root"]
    finally:
        app.state.engine.dispose()


def test_the_demo_has_key_cases_under_leaders_with_nodes(demo):
    """Issue 12's demo: the 34 referrals of 2025 worked under lead leaders through three nodes each (some met
    late), one in three with a street office's part reported; and open key cases today: a referral with a late node
    and assisting departments, a group appeal whose plan change waits, and backlog cases (积案) under the fictional
    leaders."""
    from grievance.keycases.models import CaseNode, NodePlanChange

    with transaction(demo.app.state.sessions) as session:
        leaders = dict(session.execute(select(User.id, User.username).where(User.role == "leader")).all())
        year = Case.case_no.like("GX-2025-%")  # type: ignore[attr-defined]
        referrals = session.execute(select(Case).where(year, Case.channel == "inspection")).scalars().all()
        assert len(referrals) == 34
        assert all(c.key_reason == "inspection" and c.lead_leader_id in leaders for c in referrals)
        assert {leaders[c.lead_leader_id] for c in referrals} == {u for u, _ in demo_keycases.LEADERS}
        ids = [c.id for c in referrals]
        nodes = session.execute(select(CaseNode).where(CaseNode.case_id.in_(ids))).scalars().all()  # type: ignore[attr-defined]
        assert len(nodes) == 3 * 34 and {n.status for n in nodes} == {"done"}
        late = [n for n in nodes if n.completed_at > n.due_at]
        assert 0 < len(late) < len(nodes) // 3
        assert all(c.state in ("resolved", "closed") for c in referrals)
        since = datetime(2025, 12, 31, 16, tzinfo=UTC)
        live = (
            session.execute(select(Case).where(Case.received_at >= since, Case.key_reason.is_not(None))).scalars().all()
        )  # type: ignore[union-attr]
        reasons = sorted(c.key_reason for c in live)
        assert reasons.count("backlog") == 2 and "group_appeal" in reasons and "inspection" in reasons
        assert {leaders[c.lead_leader_id] for c in live} == {u for u, _ in demo_keycases.LEADERS}
        pending = session.execute(
            select(func.count()).select_from(NodePlanChange).where(NodePlanChange.status == "pending")
        ).scalar_one()
        assert pending == 1
        open_late = session.execute(
            select(func.count())
            .select_from(CaseNode)
            .where(CaseNode.status == "open", CaseNode.due_at < demo.app.state.runtime.now())
        ).scalar_one()
        assert open_late >= 2
        from grievance.keycases.models import CasePart

        parts = session.execute(select(CasePart)).scalars().all()
        year_parts = [p for p in parts if p.case_id in ids]
        assert len(year_parts) == 12 and {p.status for p in year_parts} == {"reported"}
        live_ids = {c.id for c in live}
        assert {p.status for p in parts if p.case_id in live_ids} >= {"reported", "accepted", "dispatched"}
