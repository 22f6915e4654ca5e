"""Helpers of the outbox tests: a subscription made through the service, the messages and deliveries as
stored, and a worker run in a thread."""

from __future__ import annotations

import threading
from typing import Any

from sqlmodel import col, select

from grievance.db import transaction
from grievance.outbox import subscriptions as service
from grievance.outbox.models import Delivery, OutboxMessage
from grievance.outbox.worker import run_worker


def subscribe(app: Any, url: str, **kwargs: Any) -> Any:
    kwargs.setdefault("name", "receiver")
    kwargs.setdefault("format", "json")
    kwargs.setdefault("secret", "s3cret-for-tests")
    with transaction(app.state.sessions) as session:
        return service.create_subscription(session, workflows=app.state.runtime.workflows, url=url, **kwargs)


def messages(app: Any) -> list[OutboxMessage]:
    with transaction(app.state.sessions) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def deliveries(app: Any, status: str | None = None) -> list[Delivery]:
    with transaction(app.state.sessions) as session:
        query = select(Delivery).order_by(col(Delivery.id))
        if status:
            query = query.where(Delivery.status == status)
        return list(session.exec(query).all())


class WorkerThread:
    """run_worker in a thread with the app's sessions and runtime, stopped by stop()."""

    def __init__(self, app: Any) -> None:
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=run_worker, args=(app.state.sessions, app.state.runtime, self.stop_event), daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
