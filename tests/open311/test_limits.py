"""GET requests keeps to the spec's limits: 90 days by default and at most 90 days asked, 1000 requests at most
(newest first), and a list of ids overrides the dates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlmodel import select

from grievance.cases.models import Case
from grievance.db import transaction
from grievance.open311.service import MAX_RESULTS
from grievance.reference.models import Category
from tests.conftest import FrozenClock
from tests.factories import World
from tests.open311._support import BASE, Open311World, validate


@pytest.fixture
def o311(world: World) -> Open311World:
    return Open311World(world)


def _ids(o311: Open311World, **params: str) -> list[str]:
    response = o311.client.get(f"{BASE}/requests.json", params=params)
    assert response.status_code == 200, response.text
    validate(response.json(), "requests.json")
    return [r["service_request_id"] for r in response.json()]


def test_the_default_is_the_last_90_days_and_a_range_may_not_span_more(o311: Open311World, clock: FrozenClock):
    now = clock()
    clock.set(now - timedelta(days=150))  # 2025-05-02
    old = o311.file()[0]["service_request_id"]
    clock.set(now - timedelta(days=89))  # 2025-07-02
    recent = o311.file()[0]["service_request_id"]
    clock.set(now)
    assert _ids(o311) == [recent]
    assert _ids(o311, start_date="2025-04-15T00:00:00+08:00", end_date="2025-07-01T00:00:00+08:00") == [old]
    assert _ids(o311, start_date="2025-04-01T00:00:00Z") == [old]  # start + 90 days
    assert _ids(o311, end_date="2025-05-20T00:00:00") == [old]  # local time  # end - 90 days
    assert _ids(o311, service_request_id=f"{old},{recent},GX-1999-000001") == [recent, old]  # overrides dates
    too_long = o311.client.get(
        f"{BASE}/requests.json", params={"start_date": "2025-06-01T00:00:00Z", "end_date": "2025-09-01T00:00:00Z"}
    )
    assert too_long.status_code == 400 and "90" in too_long.json()[0]["description"]
    backwards = o311.client.get(
        f"{BASE}/requests.xml", params={"start_date": "2025-09-01T00:00:00Z", "end_date": "2025-08-01T00:00:00Z"}
    )
    assert backwards.status_code == 400 and b"<errors><error><code>400</code>" in backwards.content
    assert _ids(o311, service_code="CS0103") == []
    assert _ids(o311, service_code="CS0103,CS0101") == [recent]


def test_at_most_1000_requests_newest_first(o311: Open311World, clock: FrozenClock):
    now = clock()
    with transaction(o311.app.state.sessions) as session:
        category = session.exec(select(Category).where(Category.code == "CS0103")).one()
        rows = [
            {
                "case_no": f"GX-2025-{n:06d}",
                "query_code": f"Q{n:08d}",
                "workflow": "standard",
                "state": "received",
                "state_changed_at": now - timedelta(minutes=n),
                "channel": "online",
                "case_type": "help",
                "title": "垃圾未清运",
                "location": "青桐路",
                "received_at": now - timedelta(minutes=n),
                "occurred_at": now - timedelta(minutes=n),
                "external_source": "open311",
                "external_id": f"token-{n}",
                "category_id": category.id,
            }
            for n in range(1, MAX_RESULTS + 2)
        ]
        session.execute(insert(Case), rows)
    ids = _ids(o311)
    assert len(ids) == MAX_RESULTS == 1000
    assert ids[0] == "GX-2025-000001" and ids[-1] == "GX-2025-001000"  # the oldest one left out
