"""`grievance demo`: the synthetic 2025 of the fictional zone, loaded once per database (it takes a while),
reproduces the figures of DOMAIN.md "What the articles report" in the year's report."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from grievance.cases.models import Case, CaseClock
from grievance.cli import main
from grievance.config import Settings
from grievance.db import transaction
from grievance.reference.models import Meeting, Station
from grievance.users.models import User
from grievance.users.service import create_token
from tests.ledger._support import counts, extra_database
from web.app import create_app

YEAR = {"from": "2025-01-01", "to": "2026-01-01", "as_of": "2026-01-10T00:00:00"}
DEMO_LINE = re.compile(r"^\s+(demo_\w+)\s+(\w+)\s+(\S+)\s+(gv_\S+)\s", re.MULTILINE)


@dataclass
class Demo:
    app: Any
    client: TestClient
    url: str
    data_dir: str
    output: str
    token: str  # a leader's

    def cli(self, *argv: str) -> tuple[int, str]:
        with pytest.MonkeyPatch.context() as env:
            _environment(env, self.url, self.data_dir)
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
    """The demo loaded by `grievance demo` into a database of its own, once per backend."""
    root = tmp_path_factory.mktemp("demo")
    with extra_database(database, root) as db:
        url = db.fresh_url(root)
        loaded = Demo(None, None, url, str(root / "data"), "", "")  # type: ignore[arg-type]
        code, loaded.output = loaded.cli("demo")
        assert code == 0, loaded.output
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
    accounts = {name: role for name, role, _password, _token in DEMO_LINE.findall(demo.output)}
    assert accounts["demo_leader"] == "leader" and accounts["demo_admin"] == "admin"


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


def test_running_the_demo_again_adds_nothing(demo):
    engine = demo.app.state.engine
    before = counts(engine)
    code, output = demo.cli("demo")
    assert code == 0, output
    assert "demo data loaded" not in output
    assert {a[0] for a in DEMO_LINE.findall(output)} == {a[0] for a in DEMO_LINE.findall(demo.output)}
    code, output = demo.cli("demo", "--if-empty")
    assert code == 0, output
    assert "demo data loaded" not in output and "demo not loaded" not in output
    after = counts(engine)
    # Each run issues fresh demo tokens (and revokes the last run's); nothing else is added.
    assert after.pop("api_tokens") == before.pop("api_tokens") + 2 * len(DEMO_LINE.findall(output))
    assert after == before


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
