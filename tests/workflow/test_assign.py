"""Assignment to a person in the workflow files: every workflow a department works in offers it, and the loader
refuses an assign_handler effect whose field is not a "handler" field, naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from grievance.glossary import DEPARTMENT_ROLES
from grievance.workflow.loader import WorkflowErrors, load_file, load_workflows
from tests.workflow.test_loader import MINI, SHIPPED, edit, line_of, write

ASSIGN = """\
  assign:
    label: 分派给承办人
    from: [handling]
    roles: [dept_head]
    fields:
      handler_id: {type: handler, label: 承办人, required: true}
    effects: [assign_handler]
"""


def test_every_workflow_lets_a_department_assign_where_it_works() -> None:
    for workflow in load_workflows(SHIPPED).definitions.values():
        assign, unassign = workflow.actions["assign"], workflow.actions["unassign"]
        assert assign.to is None and unassign.to is None  # the state stays
        assert assign.fields["handler_id"].type == "handler" and assign.effects == ["assign_handler"]
        assert set(assign.roles) == {"dept_head", "handler"} and unassign.roles == ["dept_head"]
        worked = {
            state
            for action in workflow.actions.values()
            if set(action.roles) & DEPARTMENT_ROLES and action.to not in (None, "returned", "resolved")
            for state in action.from_
            if state != "pool"
        }
        assert worked <= set(assign.from_), workflow.name


def test_assign_handler_needs_a_handler_field(tmp_path: Path) -> None:
    text = edit(MINI, "  close:\n", ASSIGN + "  close:\n")
    assert load_file(write(tmp_path, text)).actions["assign"].fields["handler_id"].type == "handler"
    wrong = edit(text, "handler_id: {type: handler,", "handler_id: {type: int,")
    with pytest.raises(WorkflowErrors) as caught:
        load_file(write(tmp_path, wrong))
    (problem,) = caught.value.problems
    assert problem.line == line_of(wrong, "handler_id: {type: int")
    assert "assign_handler" in problem.message and "'handler'" in problem.message
    optional = edit(text, "label: 承办人, required: true}", "label: 承办人}")
    with pytest.raises(WorkflowErrors, match="needs the required field 'handler_id'"):
        load_file(write(tmp_path, optional))
