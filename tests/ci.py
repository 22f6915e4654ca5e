"""One rule for "running in CI" (the CI environment variable), so that a missing PostgreSQL and a missing Chromium
fail the run there instead of skipping, and skip with a note on a developer's machine."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

import pytest

# The values CI services and people set: GitHub and GitLab say `true`, others `1`, `True` or `yes`.
TRUE_VALUES = frozenset({"1", "true", "yes", "on"})


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether CI is set to a true value (case and surrounding spaces ignored); `false`, `0`, empty or unset: no."""
    value = (os.environ if environ is None else environ).get("CI", "")
    return value.strip().lower() in TRUE_VALUES


def missing(message: str, *, environ: Mapping[str, str] | None = None) -> NoReturn:
    """A test's dependency is missing: fail in CI (pytest.fail), skip elsewhere (pytest.skip). Never returns."""
    if in_ci(environ):
        pytest.fail(f"{message}\nCI is set: this dependency is required here (see README).", pytrace=False)
    pytest.skip(message)
