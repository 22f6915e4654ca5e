"""The one CI rule (tests/ci.py): any true value of CI (`true`, `True`, `1`, `yes`) makes a missing PostgreSQL or
Chromium fail the run; unset, empty or false values skip those tests with a note."""

from __future__ import annotations

import importlib

import pytest

from tests.ci import in_ci, missing


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "1", "yes", " true "])
def test_true_values_mean_ci(value: str) -> None:
    assert in_ci({"CI": value})


@pytest.mark.parametrize("value", ["", "0", "false", "False", "no", "off"])
def test_other_values_do_not(value: str) -> None:
    assert not in_ci({"CI": value})


def test_unset_is_not_ci() -> None:
    assert not in_ci({})


def test_missing_fails_in_ci_and_skips_elsewhere() -> None:
    with pytest.raises(pytest.fail.Exception, match="Chromium not found"):
        missing("Chromium not found", environ={"CI": "1"})
    with pytest.raises(pytest.skip.Exception, match="Chromium not found"):
        missing("Chromium not found", environ={})


@pytest.mark.parametrize("value", ["1", "True", "true"])
def test_a_missing_chromium_fails_the_browser_tests_whatever_true_value_ci_has(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    browser = importlib.import_module("tests.browser.conftest")
    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="Chromium not found at /nonexistent/chromium"):
        browser._chromium_or_skip()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        browser._chromium_or_skip()


@pytest.mark.parametrize("value", ["1", "True"])
def test_an_unreachable_postgresql_fails_the_run_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path, value: str) -> None:
    setup = importlib.import_module("tests.conftest")
    monkeypatch.setattr(setup, "PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:1/postgres")
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match=r"PostgreSQL is not reachable at .*127\.0\.0\.1:1"):
        setup._postgres_or_fail(tmp_path)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        setup._postgres_or_fail(tmp_path)
