"""Enterprise figures: enterprises served by the period's cases, and liaison coverage as of a moment."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from grievance.db import transaction
from grievance.reference import service as reference
from grievance.reference.models import Enterprise
from grievance.reference.schemas import EnterpriseIn
from tests.api._support import API, sh
from tests.reports.metrics_support import MON, NOVEMBER, at, counted, explain, metrics, rate, rates

# --- enterprises_served ---------------------------------------------------------------------------


def _enterprise(world, name: str, credit_code: str) -> None:
    response = world.client.post(
        f"{API}/enterprises", json={"name": name, "credit_code": credit_code}, headers=world.headers("admin")
    )
    assert response.status_code == 201, response.text


def _enterprise_case(world, credit_code: str) -> str:
    case = world.intake(channel="enterprise", meeting=None, enterprise=credit_code, title="企业用工招聘需要协调")
    return case["case_no"]  # type: ignore[no-any-return]


def test_enterprises_served_counts_each_enterprise_once(world, clock):
    """云帆 raised two cases, 青桐 one, 汉江 only a duplicate (merged): 2 enterprises served."""
    clock.set(MON)
    _enterprise(world, "青桐精密制造有限公司", "91420100MA4K00002Y")
    _enterprise(world, "汉江物流有限公司", "91420100MA4K000032")
    first = _enterprise_case(world, "91420100MA4K00001U")
    second = _enterprise_case(world, "91420100MA4K00001U")
    other = _enterprise_case(world, "91420100MA4K00002Y")
    duplicate = _enterprise_case(world, "91420100MA4K000032")
    world.act(duplicate, "merge", "intake", into=other)
    world.intake()  # a resident's case

    figures = metrics(world, **NOVEMBER)
    assert figures["enterprises_served"] == {"value": 2}
    assert figures["intake_count"] == {"value": 4}
    # The list behind it is the enterprises served, each once, with how many cases each raised.
    body = explain(world, "enterprises_served", **NOVEMBER)
    assert body["unit"] == "enterprise" and body["count"] == 2
    assert [(e["credit_code"], e["cases"]) for e in body["items"]] == [
        ("91420100MA4K00001U", 2),
        ("91420100MA4K00002Y", 1),
    ]
    assert {first, second, other} == set(counted(world, "intake_count", **NOVEMBER, channel="enterprise"))
    enterprise_only = rates(world, **NOVEMBER, channel="enterprise")["metrics"]
    assert enterprise_only["intake_count"] == {"value": 3}
    assert enterprise_only["enterprises_served"] == {"value": 2}


def test_the_enterprise_filter(world, clock):
    clock.set(MON)
    _enterprise(world, "青桐精密制造有限公司", "91420100MA4K00002Y")
    mine = _enterprise_case(world, "91420100MA4K00001U")
    _enterprise_case(world, "91420100MA4K00002Y")
    assert counted(world, "intake_count", **NOVEMBER, enterprise="91420100MA4K00001U") == [mine]


# --- liaison_coverage -----------------------------------------------------------------------------


def _large_enterprise(world, name: str, credit_code: str, created: datetime, liaison: str | None = None) -> None:
    """A large enterprise known since `created`, with a liaison from then on if given. Made through the service
    with explicit moments: the API stamps these records with the wall clock, not the frozen one."""
    with transaction(world.app.state.sessions) as session:
        enterprise = reference.create_enterprise(
            session,
            enterprise_in=EnterpriseIn(name=name, credit_code=credit_code, is_large=True, liaison=liaison),
            now=created,
        )
        enterprise.created_at = created
        session.add(enterprise)


def _set_liaison(world, credit_code: str, liaison: str | None, now: datetime) -> None:
    with transaction(world.app.state.sessions) as session:
        enterprise = session.exec(select(Enterprise).where(Enterprise.credit_code == credit_code)).one()
        reference.set_liaison(session, enterprise=enterprise, liaison=liaison, now=now)


def _zone(world) -> None:
    """青桐: large since 2025-01-01, liaison from then until 2025-06-01.
    汉江: large since 2025-01-01, liaison throughout.
    江城: large since 2025-08-01 (unknown before), liaison throughout.
    A small enterprise is never counted; the world's own enterprise is created now (2026 or later)."""
    _large_enterprise(world, "青桐精密制造有限公司", "91420100MA4K00002Y", sh(2025, 1, 1), liaison="liaison")
    _set_liaison(world, "91420100MA4K00002Y", None, sh(2025, 6, 1))
    _large_enterprise(world, "汉江物流有限公司", "91420100MA4K000032", sh(2025, 1, 1), liaison="liaison")
    _large_enterprise(world, "江城新材料有限公司", "91420100MA4K000045", sh(2025, 8, 1), liaison="liaison")
    with transaction(world.app.state.sessions) as session:
        reference.create_enterprise(
            session, enterprise_in=EnterpriseIn(name="小微商店", credit_code="91420100MA4K000058", is_large=False)
        )


def test_liaison_coverage_counts_large_enterprises_with_an_active_liaison_as_of_the_moment(world, clock):
    """As of 2025-05-01: 青桐 and 汉江, both covered → 2/2. As of 2025-07-01 青桐's liaison has ended → 1/2.
    As of 2025-09-01 江城 is known and covered → 2/3."""
    _zone(world)
    clock.set(MON)
    assert rate(metrics(world, **NOVEMBER, as_of=at(sh(2025, 5, 1))), "liaison_coverage") == (2, 2, 1.0)
    assert rate(metrics(world, **NOVEMBER, as_of=at(sh(2025, 7, 1))), "liaison_coverage") == (1, 2, 0.5)
    assert rate(metrics(world, **NOVEMBER, as_of=at(sh(2025, 9, 1))), "liaison_coverage") == (
        2,
        3,
        round(2 / 3, 6),
    )


def test_an_assignment_ended_exactly_at_as_of_does_not_count(world, clock):
    _zone(world)
    clock.set(MON)
    assert rate(metrics(world, **NOVEMBER, as_of=at(sh(2025, 6, 1))), "liaison_coverage") == (1, 2, 0.5)


def test_liaison_coverage_lists_the_enterprises(world, clock):
    _zone(world)
    clock.set(MON)
    as_of = at(sh(2025, 7, 1))
    covered = explain(world, "liaison_coverage", **NOVEMBER, as_of=as_of)
    assert covered["unit"] == "enterprise"
    assert [e["name"] for e in covered["items"]] == ["汉江物流有限公司"]
    assert covered["count"] == 1
    large = explain(world, "liaison_coverage", "denominator", **NOVEMBER, as_of=as_of)
    assert [e["name"] for e in large["items"]] == ["青桐精密制造有限公司", "汉江物流有限公司"]
    assert large["count"] == 2


def test_liaison_coverage_without_large_enterprises_has_no_value(world, clock):
    """As of a moment before the World's only large enterprise was registered (29 September 2025), the zone
    knows no large enterprise: the coverage has no value, not 0 % or 100 %."""
    clock.set(MON)
    before = {**NOVEMBER, "as_of": "2025-09-28T00:00"}
    assert rate(metrics(world, **before), "liaison_coverage") == (0, 0, None)
    assert rate(metrics(world, **NOVEMBER), "liaison_coverage") == (1, 1, 1.0)
