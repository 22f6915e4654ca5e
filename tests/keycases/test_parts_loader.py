"""The loader's checks of lead and assisting departments (协办, issue 12): the resolving action needs the guard
no_open_parts, a `per: part` clock takes no start, and part actions need such a clock."""

from __future__ import annotations

from pathlib import Path

from tests.keycases.test_loader import _problems, _standard


def test_resolving_without_the_open_parts_guard_is_refused(tmp_path: Path) -> None:
    path = _standard(tmp_path, "    guards: [no_open_nodes, no_open_parts]", "    guards: [no_open_nodes]")
    [problem] = _problems(path)
    assert (
        "action 'resolve' resolves the case: with assisting departments it needs the guard 'no_open_parts'" in problem
    )


def test_a_per_part_clock_takes_no_start(tmp_path: Path) -> None:
    path = _standard(tmp_path, "    per: part\n", "    per: part\n    start: [dispatch]\n")
    assert any(
        "a 'per: part' clock is started and stopped by the assisting departments' parts" in p for p in _problems(path)
    )


def test_part_actions_need_a_per_part_clock(tmp_path: Path) -> None:
    path = _standard(tmp_path, "    per: part\n", "    per: case\n    start: [dispatch]\n")
    problems = _problems(path)
    assert any(
        "effect 'dispatch_parts' runs the parts' clocks: declare a clock with 'per: part'" in p for p in problems
    )
    assert any("'scope: part' acts on an assisting department's part" in p for p in problems)
