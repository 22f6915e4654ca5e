"""Imports every table model, so SQLModel.metadata is complete for Alembic and the tests."""

from __future__ import annotations


def import_all_models() -> None:
    import grievance.cases.models
    import grievance.keycases.models
    import grievance.open311.models
    import grievance.outbox.models
    import grievance.reference.models
    import grievance.reports.models
    import grievance.throttle
    import grievance.users.models  # noqa: F401
