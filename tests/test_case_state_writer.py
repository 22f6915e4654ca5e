"""The case_states writer's own guard (grievance/cases/states.py record_state): exactly one row per case is
current, so a second writer that read the same current row is refused (StaleVersion, 409 through the API) and
leaves nothing behind, even when the case's version check did not stop it first. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from grievance.cases.models import Case, CaseState
from grievance.cases.states import current_state, record_state
from grievance.db import transaction
from grievance.errors import StaleVersion
from tests.factories import World


def rows_of(app: Any, case_id: int) -> list[tuple[str, bool]]:
    """(state, current?) of every row of the case, oldest first."""
    with transaction(app.state.sessions) as session:
        rows = session.exec(select(CaseState).where(CaseState.case_id == case_id).order_by(col(CaseState.id))).all()
        return [(row.state, row.valid_to is None) for row in rows]


def next_row(previous: CaseState, state: str) -> CaseState:
    values = previous.model_dump(exclude={"id", "valid_to"})
    return CaseState(**{**values, "state": state, "valid_from": previous.valid_from + timedelta(hours=1)})


def test_a_second_writer_holding_the_same_current_row_is_refused_and_writes_nothing(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    world = World(app, client)
    case_no = world.intake()["case_no"]
    with transaction(app.state.sessions) as session:
        case_id = session.exec(select(Case.id).where(Case.case_no == case_no)).one()
        first_read = current_state(session, case_id)
        second_read = current_state(session, case_id)
    assert first_read is not None and second_read is not None
    assert rows_of(app, case_id) == [("received", True)]

    # The first writer records the case's next state.
    with transaction(app.state.sessions) as session:
        record_state(session, next_row(first_read, "dispatched"), first_read)
    assert rows_of(app, case_id) == [("received", False), ("dispatched", True)]

    # The second one still holds the row that was current when it read: refused, its transaction rolled back.
    with pytest.raises(StaleVersion) as refused, transaction(app.state.sessions) as session:
        record_state(session, next_row(second_read, "pool"), second_read)
        session.flush()
    assert refused.value.code == "stale_version"  # the API answers 409 stale_version: reload and retry
    assert rows_of(app, case_id) == [("received", False), ("dispatched", True)]
    with transaction(app.state.sessions) as session:
        assert current_state(session, case_id).state == "dispatched"  # type: ignore[union-attr]
