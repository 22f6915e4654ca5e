"""The background jobs `grievance serve` runs in its own process: the outbox worker and the supervision
sweeper, a daemon thread each, started with the app and stopped cleanly when it shuts down.

Only under `grievance serve` (which sets SERVE_ENV) and only when Settings.background_jobs is true: apps that
tests build with create_app get no threads. `grievance serve --workers N` on PostgreSQL runs the jobs in every
worker process (both are safe in several processes); on SQLite with more than one worker, serve does not
start them at all (one writer): run `grievance outbox run` and `grievance sweep` as their own processes."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from grievance.config import Settings

log = logging.getLogger("grievance.background")

SERVE_ENV = "GRIEVANCE_SERVE_BACKGROUND"  # "1": this process is `grievance serve` and should run the jobs
STOP_WAIT_SECONDS = 15.0


def wanted(settings: Settings) -> bool:
    """Whether this process runs the background jobs: the serve flag is set and background_jobs is on."""
    return settings.background_jobs and os.environ.get(SERVE_ENV) == "1"


def serve_flag(settings: Settings, workers: int) -> str:
    """What `grievance serve` puts in SERVE_ENV: "1" unless jobs are off, or SQLite with several workers."""
    sqlite = settings.database_url.startswith("sqlite")
    return "1" if settings.background_jobs and (workers == 1 or not sqlite) else "0"


class BackgroundJobs:
    """The job threads of one app: start() once at start-up, stop() at shutdown (sets the stop event, waits
    up to STOP_WAIT_SECONDS for each thread to finish its round)."""

    def __init__(self, sessions: Any, runtime: Any) -> None:
        self.sessions, self.runtime = sessions, runtime
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []

    def _jobs(self) -> list[tuple[str, Callable[..., None]]]:
        from grievance.outbox.worker import run_worker

        jobs: list[tuple[str, Callable[..., None]]] = [("outbox-worker", run_worker)]
        try:
            from grievance.supervision.sweeper import run_sweeper
        except ImportError as exc:  # a deployment without the supervision module: the outbox still runs
            log.error("supervision sweeper not started: %s", exc)
        else:
            jobs.append(("supervision-sweeper", run_sweeper))
        return jobs

    def start(self) -> None:
        for name, target in self._jobs():
            thread = threading.Thread(
                target=target, args=(self.sessions, self.runtime, self.stop_event), name=name, daemon=True
            )
            thread.start()
            self.threads.append(thread)
        log.info("background jobs started: %s", ", ".join(t.name for t in self.threads))

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(STOP_WAIT_SECONDS)
            if thread.is_alive():
                log.warning("background job %s did not stop within %ss", thread.name, STOP_WAIT_SECONDS)
        self.threads.clear()
