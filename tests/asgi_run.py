"""Run a coroutine to completion from a test, whatever loop this thread has: the browser tests' Playwright (sync
API) keeps an event loop running in the main thread for the whole session, where asyncio.run() refuses to start."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run(coroutine) in a thread of its own; returns its result or raises its exception."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
