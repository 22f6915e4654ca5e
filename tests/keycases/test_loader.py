"""The workflow files declare key cases and nodes, and the loader checks them (issue 12): a `per: node` clock is
started by the plan, not by actions; node effects need such a clock; resolving is guarded wherever nodes exist;
`required_if: reason=other` names a choice field and one of its codes; the lead leader is a "leader" field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grievance.config import PROJECT_ROOT
from grievance.workflow.loader import WorkflowErrors, load_file, load_workflows

STANDARD = PROJECT_ROOT / "workflows" / "standard.yaml"


def _standard(tmp_path: Path, old: str, new: str) -> Path:
    text = STANDARD.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "standard.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(WorkflowErrors) as caught:
        load_file(path)
    return [f"{p.line}: {p.message}" for p in caught.value.problems]


def test_the_shipped_workflows_all_offer_key_cases_and_nodes(tmp_path: Path) -> None:
    shutil.copytree(PROJECT_ROOT / "workflows", tmp_path / "wf")
    workflows = load_workflows(tmp_path / "wf")
    for name in ("standard", "enterprise", "petition"):
        wf = workflows.get(name)
        assert {"mark_key", "set_lead_leader", "plan_nodes", "complete_node"} <= set(wf.actions), name
        assert [c for c, d in wf.clocks.items() if d.per == "node"] == ["node"], name
        assert "no_open_nodes" in wf.actions["resolve"].guards, name


def test_resolving_without_the_open_nodes_guard_is_refused(tmp_path: Path) -> None:
    path = _standard(tmp_path, "    guards: [no_open_nodes, no_open_parts]", "    guards: [no_open_parts]")
    [problem] = _problems(path)
    assert "action 'resolve' resolves the case: with a plan of nodes it needs the guard 'no_open_nodes'" in problem


def test_a_per_node_clock_takes_no_start_and_node_effects_need_one(tmp_path: Path) -> None:
    path = _standard(tmp_path, "    per: node\n", "    per: node\n    start: [dispatch]\n")
    assert any("a 'per: node' clock is started and stopped by the plan of nodes" in p for p in _problems(path))
    text = STANDARD.read_text(encoding="utf-8")
    cut = text[text.index("  node:\n    # One clock per node") :]
    path = tmp_path / "standard.yaml"
    path.write_text(text.replace(cut, ""), encoding="utf-8")
    problems = _problems(path)
    assert any("effect 'set_node_plan' runs the nodes' clocks: declare a clock with 'per: node'" in p for p in problems)


def test_required_if_a_choice_names_one_of_its_codes(tmp_path: Path) -> None:
    path = _standard(tmp_path, "required_if: reason=other", "required_if: reason=whim")
    [problem] = _problems(path)
    assert "'whim' is not a code of KeyReason" in problem
    path = _standard(tmp_path, "required_if: reason=other", "required_if: lead_leader_id=other")
    assert "not a choice field" in _problems(path)[0]


def test_the_lead_leader_must_be_a_leader_field_and_the_reason_a_key_reason(tmp_path: Path) -> None:
    path = _standard(
        tmp_path,
        "lead_leader_id: {type: leader, label: 包案领导, label_en: Lead leader, required: true}\n    guards: [not_key_case]",
        "lead_leader_id: {type: handler, label: 包案领导, label_en: Lead leader, required: true}\n    guards: [not_key_case]",
    )
    assert any(
        "effect 'mark_key' reads 'lead_leader_id' as a 'leader' field, not 'handler'" in p for p in _problems(path)
    )
    path = _standard(tmp_path, "choices: KeyReason", "choices: Outcome")
    assert any("set choices: KeyReason" in p for p in _problems(path))


def test_a_clock_name_may_not_hold_the_node_separator(tmp_path: Path) -> None:
    path = _standard(tmp_path, "  accept:\n    label: 签收时限", "  'accept:x':\n    label: 签收时限")
    assert any("a clock name may not contain ':'" in p for p in _problems(path))
