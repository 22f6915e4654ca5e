"""The workflow file loader: the shipped files, how a workflow is picked, and every kind of broken file
rejected with the file and line of the mistake."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grievance.config import PROJECT_ROOT
from grievance.errors import InvalidInput
from grievance.glossary import CaseType, Channel
from grievance.workflow.loader import WorkflowErrors, WorkflowProblem, load_file, load_workflows

SHIPPED = PROJECT_ROOT / "workflows"

# A small valid workflow; each test breaks one thing in it and checks the reported line.
MINI = """\
name: mini
label: 最小流程
applies_to:
  channels: [hotline]
initial_state: received
settings:
  max_dispatches: 3
states:
  received: {label: 待派单}
  handling: {label: 办理中}
  closed: {label: 已归档, final: true}
actions:
  dispatch:
    label: 派单
    from: [received]
    to: handling
    roles: [dispatcher]
    guards: [below_dispatch_limit]
    effects: [count_urge]
  close:
    label: 归档
    from: [handling]
    to: closed
    roles: [supervisor]
clocks:
  respond:
    label: 响应时限
    start: [intake]
    stop: [dispatch]
    limits:
      - {working_days: 1}
  resolve:
    label: 办结时限
    start: [intake]
    stop: [close]
    limits:
      - {urgency: [emergency], hours: 24}
      - {working_days: 15}
"""


def line_of(text: str, fragment: str, nth: int = 1) -> int:
    """The 1-based number of the line holding the nth occurrence of `fragment`."""
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"{fragment!r} not found {nth} times")


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def write(directory: Path, text: str, name: str = "mini") -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[WorkflowProblem]:
    with pytest.raises(WorkflowErrors) as caught:
        load_file(path)
    assert caught.value.problems, "WorkflowErrors without problems"
    return caught.value.problems


def only_problem(path: Path) -> WorkflowProblem:
    problems = problems_of(path)
    assert len(problems) == 1, problems
    assert problems[0].file == str(path)
    return problems[0]


# --- the shipped files ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    return load_workflows(SHIPPED)


def test_the_three_shipped_files_load(shipped):
    assert set(shipped.definitions) == {"standard", "enterprise", "petition"}
    for name in ("standard", "enterprise", "petition"):
        wf = load_file(SHIPPED / f"{name}.yaml")
        assert wf.name == name
        assert wf.initial_state == "received"
        assert any(state.final for state in wf.states.values())


def test_minimal_workflow_loads(tmp_path):
    wf = load_file(write(tmp_path, MINI))
    assert wf.name == "mini"
    assert list(wf.states) == ["received", "handling", "closed"]
    assert wf.actions["dispatch"].guards == ["below_dispatch_limit"]
    assert wf.clocks["resolve"].limits[-1].unit == "working_days"
    assert wf.clocks["resolve"].limits[-1].amount == 15


@pytest.mark.parametrize("case_type", [t.value for t in CaseType if t is not CaseType.petition])
@pytest.mark.parametrize("channel", [c.value for c in Channel if c is not Channel.enterprise])
def test_select_standard_for_every_other_channel_and_type(shipped, channel, case_type):
    assert shipped.select(channel=channel, case_type=case_type).name == "standard"


@pytest.mark.parametrize("case_type", [t.value for t in CaseType if t is not CaseType.petition])
def test_select_enterprise_for_the_enterprise_channel(shipped, case_type):
    assert shipped.select(channel="enterprise", case_type=case_type).name == "enterprise"


@pytest.mark.parametrize("channel", [c.value for c in Channel])
def test_select_petition_for_a_petition_on_any_channel(shipped, channel):
    assert shipped.select(channel=channel, case_type="petition").name == "petition"


def test_select_with_no_matching_workflow_is_invalid_input(shipped):
    with pytest.raises(InvalidInput) as caught:
        shipped.select(channel="fax", case_type="help")
    assert caught.value.detail["errors"][0]["field"] == "channel"
    assert "fax" in caught.value.detail["errors"][0]["message_en"]


def test_extends_merges_the_parent(shipped):
    standard = shipped.get("standard")
    enterprise = shipped.get("enterprise")
    # Everything the child does not name comes from the parent.
    assert set(enterprise.actions) == set(standard.actions)
    assert enterprise.actions["dispatch"] == standard.actions["dispatch"]
    assert enterprise.states == standard.states
    assert enterprise.settings == standard.settings
    assert enterprise.initial_state == standard.initial_state
    assert enterprise.clocks["accept"] == standard.clocks["accept"]
    assert enterprise.clocks["callback"] == standard.clocks["callback"]
    # What it names replaces the parent's entry entirely.
    respond = enterprise.clocks["respond"].limits
    assert len(respond) == 1
    assert (respond[0].unit, respond[0].amount) == ("hours", 1.0)
    assert (
        enterprise.clocks["respond"].limit_for(urgency="normal", case_type="help", channel="enterprise") == respond[0]
    )
    assert standard.clocks["respond"].limits[-1].unit == "working_days"
    resolve = enterprise.clocks["resolve"].limits[-1]
    assert (resolve.unit, resolve.amount) == ("working_days", 5.0)
    assert enterprise.priority == 10
    assert enterprise.applies_to.channels == ["enterprise"]
    assert enterprise.extends is None  # the merge resolves it
    assert enterprise.name == "enterprise"


def test_extends_in_another_folder_overrides_one_action(tmp_path):
    write(tmp_path, MINI)
    child = """\
name: child
label: 子流程
extends: mini
applies_to:
  channels: [online]
actions:
  close:
    label: 归档（新）
    from: [handling]
    to: closed
    roles: [dispatcher]
"""
    wf = load_file(write(tmp_path, child, "child"))
    assert wf.name == "child"
    assert wf.actions["close"].roles == ["dispatcher"]
    assert wf.actions["dispatch"].roles == ["dispatcher"]
    assert wf.actions["dispatch"].guards == ["below_dispatch_limit"]
    assert wf.applies_to.channels == ["online"]
    assert set(wf.clocks) == {"respond", "resolve"}


# --- YAML pitfalls --------------------------------------------------------------------------------


def test_states_named_on_off_yes_no_stay_strings(tmp_path):
    text = """\
name: switch
label: 开关
applies_to:
  channels: [online]
initial_state: on
states:
  on: {label: 开}
  yes: {label: 是}
  no: {label: 否}
  off: {label: 关, final: true}
actions:
  say_yes:
    label: 是
    from: [on]
    to: yes
    roles: [dispatcher]
  say_no:
    label: 否
    from: [yes]
    to: no
    roles: [dispatcher]
  switch_off:
    label: 关闭
    from: [no]
    to: off
    roles: [supervisor]
clocks:
  respond: {label: 响应, start: [intake], stop: [say_yes], limits: [{working_days: 1}]}
  resolve: {label: 办结, start: [intake], stop: [switch_off], limits: [{working_days: 15}]}
"""
    wf = load_file(write(tmp_path, text, "switch"))
    assert list(wf.states) == ["on", "yes", "no", "off"]
    assert wf.initial_state == "on"
    assert wf.actions["say_yes"].from_ == ["on"]
    assert wf.actions["say_yes"].to == "yes"
    assert wf.actions["switch_off"].to == "off"
    # `true` is still a boolean.
    assert wf.is_final("off") is True
    assert wf.is_final("on") is False


def test_invalid_yaml_names_the_line(tmp_path):
    text = edit(MINI, "label: 最小流程", "label: 最小: 流程")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "最小: 流程")
    assert "not valid YAML" in problem.message


def test_a_tab_is_invalid_yaml_at_its_line(tmp_path):
    text = edit(MINI, "    roles: [supervisor]\n", "\troles: [supervisor]\n")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "\troles")
    assert "not valid YAML" in problem.message


def test_a_file_that_is_not_a_mapping_is_rejected(tmp_path):
    problem = only_problem(write(tmp_path, "- just\n- a list\n"))
    assert problem.line == 1
    assert "mapping" in problem.message


def test_duplicate_keys_are_rejected_at_the_second_key(tmp_path):
    text = edit(MINI, "    to: handling\n", "    to: handling\n    to: closed\n")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "to: closed")
    assert "duplicate key 'to'" in problem.message


def test_duplicate_top_level_sections_are_rejected(tmp_path):
    text = MINI + "states:\n  other: {label: 其他, final: true}\n"
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "states:", nth=2)
    assert "duplicate key 'states'" in problem.message


# --- names that must exist -------------------------------------------------------------------------


def test_unknown_state_in_from(tmp_path):
    text = edit(MINI, "from: [handling]", "from: [handling, handlng]")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "handlng")
    assert "unknown state 'handlng' in 'from'" in problem.message


def test_unknown_state_in_from_on_a_block_list_names_the_item_line(tmp_path):
    text = edit(MINI, "    from: [handling]\n", "    from:\n      - handling\n      - handlng\n")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "- handlng")


def test_unknown_state_in_to(tmp_path):
    text = edit(MINI, "to: closed", "to: closd")
    problems = problems_of(write(tmp_path, text))
    assert [(p.line, p.message.split(";")[0]) for p in problems] == [
        (line_of(text, "to: closd"), "unknown state 'closd' in 'to'"),
        # nothing leads to `closed` any more
        (line_of(text, "closed: {label"), "state 'closed' cannot be reached from 'received'"),
    ]


def test_unknown_initial_state(tmp_path):
    text = edit(MINI, "initial_state: received", "initial_state: new")
    problems = problems_of(write(tmp_path, text))
    assert any(p.line == line_of(text, "initial_state") and "unknown state 'new'" in p.message for p in problems)


def test_unknown_role(tmp_path):
    text = edit(MINI, "roles: [supervisor]", "roles: [supervisor, janitor]")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "janitor")
    assert "unknown role 'janitor'" in problem.message
    assert "supervisor" in problem.message  # names the accepted roles


def test_unknown_guard(tmp_path):
    text = edit(MINI, "guards: [below_dispatch_limit]", "guards: [below_dispatch_limit, phase_of_moon]")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "phase_of_moon")
    assert "unknown guard 'phase_of_moon'" in problem.message


def test_unknown_effect(tmp_path):
    text = edit(MINI, "effects: [count_urge]", "effects: [send_flowers]")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "send_flowers")
    assert "unknown effect 'send_flowers'" in problem.message


def test_guard_missing_its_setting(tmp_path):
    text = edit(MINI, "    roles: [supervisor]\n", "    roles: [supervisor]\n    guards: [within_return_window]\n")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "within_return_window")
    assert "needs setting 'return_window_working_days'" in problem.message


def test_guard_with_its_setting_loads(tmp_path):
    text = edit(MINI, "    roles: [supervisor]\n", "    roles: [supervisor]\n    guards: [within_return_window]\n")
    text = edit(text, "  max_dispatches: 3\n", "  max_dispatches: 3\n  return_window_working_days: 1\n")
    assert load_file(write(tmp_path, text)).actions["close"].guards == ["within_return_window"]


def test_removing_a_setting_a_guard_needs_is_caught(tmp_path):
    text = edit(MINI, "  max_dispatches: 3\n", "  other: 3\n")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "guards: [below_dispatch_limit]")
    assert "needs setting 'max_dispatches'" in problem.message


def test_unknown_vocabulary_for_a_choice_field(tmp_path):
    text = edit(
        MINI,
        "    roles: [supervisor]\n",
        "    roles: [supervisor]\n    fields:\n      mood: {type: choice, choices: Mood}\n",
    )
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "choices: Mood")
    assert "unknown vocabulary 'Mood'" in problem.message


def test_unknown_channel_in_applies_to(tmp_path):
    text = edit(MINI, "channels: [hotline]", "channels: [hotline, fax]")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "fax")
    assert "unknown channel 'fax'" in problem.message


def test_unknown_field_is_rejected(tmp_path):
    text = edit(MINI, "    to: handling\n", "    to: handling\n    colour: red\n")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "colour: red")
    assert "actions.dispatch.colour" in problem.message


# --- clocks ----------------------------------------------------------------------------------------


def test_clock_naming_an_unknown_action(tmp_path):
    text = edit(MINI, "stop: [close]", "stop: [close, finish]")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "finish")
    assert "unknown action 'finish'" in problem.message


def test_clock_may_start_on_intake_but_intake_is_no_action(tmp_path):
    text = edit(MINI, "  close:\n", "  intake:\n")
    text = edit(text, "stop: [close]", "stop: [intake]")
    problems = problems_of(write(tmp_path, text))
    assert any(p.line == line_of(text, "  intake:") and "reserved" in p.message for p in problems)


def test_limit_with_two_units(tmp_path):
    text = edit(MINI, "- {working_days: 15}", "- {working_days: 15, hours: 2}")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "working_days: 15, hours: 2")
    assert "exactly one of" in problem.message
    assert "working_days" in problem.message and "hours" in problem.message


def test_limit_with_no_unit(tmp_path):
    text = edit(MINI, "- {urgency: [emergency], hours: 24}", "- {urgency: [emergency]}")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "{urgency: [emergency]}")
    assert "exactly one of" in problem.message
    assert "none" in problem.message


def test_limit_with_a_zero_amount(tmp_path):
    text = edit(MINI, "- {working_days: 15}", "- {working_days: 0}")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "working_days: 0")


def test_last_limit_with_conditions(tmp_path):
    text = edit(MINI, "- {working_days: 15}", "- {case_type: [consult], working_days: 3}")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "  resolve:")
    assert "last limit must have no conditions" in problem.message


def test_clock_without_limits(tmp_path):
    text = edit(
        MINI, "    limits:\n      - {urgency: [emergency], hours: 24}\n      - {working_days: 15}\n", "    limits: []\n"
    )
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "  resolve:")
    assert "last limit" in problem.message


def test_unknown_urgency_in_a_limit(tmp_path):
    text = edit(MINI, "{urgency: [emergency], hours: 24}", "{urgency: [panic], hours: 24}")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "panic")
    assert "unknown urgency 'panic'" in problem.message


# --- the shape of the state graph ------------------------------------------------------------------


def test_unreachable_state(tmp_path):
    text = edit(MINI, "  handling: {label: 办理中}\n", "  handling: {label: 办理中}\n  limbo: {label: 悬置}\n")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "limbo")
    assert "'limbo' cannot be reached from 'received'" in problem.message


def test_unreachable_state_whose_only_way_in_starts_unreachable(tmp_path):
    # An action into `limbo` from `limbo` itself does not make it reachable.
    text = edit(MINI, "  handling: {label: 办理中}\n", "  handling: {label: 办理中}\n  limbo: {label: 悬置}\n")
    text = edit(
        text,
        "actions:\n",
        "actions:\n  wait:\n    label: 等\n    from: [limbo]\n    to: limbo\n    roles: [handler]\n",
    )
    problems = problems_of(write(tmp_path, text))
    assert any(p.line == line_of(text, "limbo: {label") and "cannot be reached" in p.message for p in problems)


def test_no_final_state(tmp_path):
    text = edit(MINI, "closed: {label: 已归档, final: true}", "closed: {label: 已归档}")
    problems = problems_of(write(tmp_path, text))
    by_message = {p.message.split(":")[0]: p for p in problems}
    assert by_message["no final state"].line == line_of(text, "states:")
    # `closed` is then also a dead end.
    assert any(p.line == line_of(text, "closed: {label") and "not final" in p.message for p in problems)


def test_non_final_dead_end_state(tmp_path):
    text = edit(MINI, "  handling: {label: 办理中}\n", "  handling: {label: 办理中}\n  waiting: {label: 等待}\n")
    text = edit(
        text,
        "actions:\n",
        "actions:\n  park:\n    label: 挂起\n    from: [handling]\n    to: waiting\n    roles: [handler]\n",
    )
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "waiting: {label")
    assert "'waiting' is not final but no action leaves it" in problem.message


def test_an_action_that_stays_does_not_leave_a_state(tmp_path):
    # `note` keeps the case in `waiting` (no `to`): it is still a dead end.
    text = edit(MINI, "  handling: {label: 办理中}\n", "  handling: {label: 办理中}\n  waiting: {label: 等待}\n")
    text = edit(
        text,
        "actions:\n",
        "actions:\n"
        "  park:\n    label: 挂起\n    from: [handling]\n    to: waiting\n    roles: [handler]\n"
        "  note:\n    label: 记录\n    from: [waiting]\n    roles: [handler]\n",
    )
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "waiting: {label")


# --- extends and names -----------------------------------------------------------------------------


def test_extends_of_an_unknown_workflow(tmp_path):
    text = "# a child of nothing\nname: orphan\nlabel: 孤儿\nextends: nosuch\napplies_to: {channels: [online]}\n"
    problem = only_problem(write(tmp_path, text, "orphan"))
    assert problem.line == line_of(text, "extends:")
    assert "extends unknown workflow 'nosuch'" in problem.message


def test_name_not_matching_the_file_name(tmp_path):
    write(tmp_path, MINI, "other")
    with pytest.raises(WorkflowErrors) as caught:
        load_workflows(tmp_path)
    [problem] = caught.value.problems
    assert problem.file == str(tmp_path / "other.yaml")
    assert problem.line == line_of(MINI, "name: mini")
    assert "'mini' must match the file name 'other'" in problem.message


def test_name_not_matching_the_file_name_points_at_the_name_line(tmp_path):
    text = "# The standard process, copied.\n# Edited by the zone.\n" + MINI
    write(tmp_path, text, "other")
    with pytest.raises(WorkflowErrors) as caught:
        load_workflows(tmp_path)
    [problem] = caught.value.problems
    assert problem.line == line_of(text, "name: mini")


def test_a_mistake_in_the_child_is_reported_in_the_child_file(tmp_path):
    shutil.copy(SHIPPED / "standard.yaml", tmp_path / "standard.yaml")
    text = edit((SHIPPED / "enterprise.yaml").read_text(encoding="utf-8"), "    label: 响应时限\n", "")
    path = write(tmp_path, text, "enterprise")
    problem = only_problem(path)
    assert "clocks.respond.label" in problem.message
    assert problem.line == line_of(text, "  respond:")


def test_a_mistake_in_a_child_key_the_parent_lacks_is_in_the_child_file(tmp_path):
    shutil.copy(SHIPPED / "standard.yaml", tmp_path / "standard.yaml")
    text = edit(
        (SHIPPED / "enterprise.yaml").read_text(encoding="utf-8"),
        "stop: [respond, answer_on_spot]",
        "stop: [respond, answer_on_spot, phone_call]",
    )
    problem = only_problem(write(tmp_path, text, "enterprise"))
    assert problem.file == str(tmp_path / "enterprise.yaml")
    assert problem.line == line_of(text, "phone_call")


def test_load_workflows_reports_every_file_at_once(tmp_path):
    write(tmp_path, edit(MINI, "roles: [supervisor]", "roles: [janitor]"))
    second = edit(MINI, "name: mini", "name: mini2")
    write(tmp_path, edit(second, "to: closed", "to: closd"), "mini2")
    with pytest.raises(WorkflowErrors) as caught:
        load_workflows(tmp_path)
    files = {Path(p.file).name for p in caught.value.problems}
    assert files == {"mini.yaml", "mini2.yaml"}
    # The exception's text lists them as file:line: message.
    assert f"{tmp_path / 'mini.yaml'}:{line_of(MINI, 'roles: [supervisor]')}: unknown role" in str(caught.value)


def test_an_empty_folder_is_an_error(tmp_path):
    with pytest.raises(WorkflowErrors) as caught:
        load_workflows(tmp_path)
    assert "no workflow files" in caught.value.problems[0].message


def test_extends_across_two_levels(tmp_path):
    for name in ("standard", "enterprise"):
        shutil.copy(SHIPPED / f"{name}.yaml", tmp_path / f"{name}.yaml")
    text = "name: bigcorp\nlabel: 大企业\nextends: enterprise\npriority: 11\napplies_to:\n  channels: [enterprise]\n"
    wf = load_file(write(tmp_path, text, "bigcorp"))
    assert set(wf.actions) == set(load_file(SHIPPED / "standard.yaml").actions)
    assert wf.clocks["respond"].limits[0].hours == 1


def test_an_effect_whose_field_is_missing_or_optional_is_caught(tmp_path):
    standard = (Path(__file__).resolve().parents[2] / "workflows" / "standard.yaml").read_text(encoding="utf-8")
    optional = edit(
        standard,
        "outcome: {type: choice, choices: Outcome, label: 办理结果, label_en: Outcome, required: true}",
        "outcome: {type: choice, choices: Outcome, label: 办理结果, label_en: Outcome}",
    )
    problem = only_problem(write(tmp_path, optional, "standard"))
    assert problem.line == line_of(optional, "effects: [record_resolution]")
    assert "effect 'record_resolution' needs the required field 'outcome'" in problem.message


def test_a_guard_whose_field_is_missing_is_caught(tmp_path):
    standard = (Path(__file__).resolve().parents[2] / "workflows" / "standard.yaml").read_text(encoding="utf-8")
    renamed = edit(standard, "days: {type: int, label: 延期工作日数", "workdays: {type: int, label: 延期工作日数")
    messages = [p.message for p in problems_of(write(tmp_path, renamed, "standard"))]
    assert "guard 'extension_within_limit' needs the required field 'days'" in messages
    assert "effect 'request_extension' needs the required field 'days'" in messages


def test_required_if_must_name_a_bool_field(tmp_path):
    standard = (Path(__file__).resolve().parents[2] / "workflows" / "standard.yaml").read_text(encoding="utf-8")
    wrong = edit(
        standard,
        "solved: {type: bool, label: 是否解决, label_en: Solved, required_if: reached}",
        "solved: {type: bool, label: 是否解决, label_en: Solved, required_if: note}",
    )
    problem = only_problem(write(tmp_path, wrong, "standard"))
    assert "required_if names 'note', not a bool field" in problem.message


# --- names the code relies on ----------------------------------------------------------------------
# The rates, the extension guards and the ledger read the `respond` and `resolve` clocks by name; a workflow file
# that renames one gets a load error naming it, not rates that silently lose their data (STYLE.md, house item 2).


def standard_text() -> str:
    return (SHIPPED / "standard.yaml").read_text(encoding="utf-8")


def rename_clock(text: str, old: str, new: str) -> str:
    head, clocks = text.split("\nclocks:\n")
    return head + "\nclocks:\n" + edit(clocks, f"  {old}:\n", f"  {new}:\n")


def test_renaming_the_resolve_clock_is_refused_naming_it(tmp_path):
    text = rename_clock(standard_text(), "resolve", "finish")
    problems = problems_of(write(tmp_path, text, "standard"))
    missing = [p for p in problems if p.message.startswith("missing clock 'resolve'")]
    assert len(missing) == 1 and missing[0].line == line_of(text, "clocks:")
    assert "on_time_resolution_rate" in missing[0].message
    # The guards that read it say so at their own lines.
    guard_lines = {(p.line, p.message) for p in problems if "reads clock 'resolve'" in p.message}
    assert guard_lines == {
        (
            line_of(text, "guards: [no_pending_extension, before_resolve_due"),
            "guard 'before_resolve_due' reads clock 'resolve', not defined",
        ),
        (
            line_of(text, "guards: [no_pending_extension, before_resolve_due"),
            "guard 'extension_within_limit' reads clock 'resolve', not defined",
        ),
        (
            line_of(text, "guards: [has_pending_extension, before_resolve_due]"),
            "guard 'before_resolve_due' reads clock 'resolve', not defined",
        ),
    }


def test_renaming_the_respond_clock_is_refused_naming_it(tmp_path):
    text = rename_clock(standard_text(), "respond", "contact")
    problem = only_problem(write(tmp_path, text, "standard"))
    assert problem.line == line_of(text, "clocks:")
    assert problem.message.startswith("missing clock 'respond'") and "on_time_response_rate" in problem.message


def test_a_deployment_folder_with_a_renamed_clock_fails_at_file_and_line(tmp_path):
    for name in ("standard", "enterprise", "petition"):
        shutil.copy(SHIPPED / f"{name}.yaml", tmp_path / f"{name}.yaml")
    text = rename_clock((SHIPPED / "petition.yaml").read_text(encoding="utf-8"), "resolve", "handle")
    write(tmp_path, text, "petition")
    with pytest.raises(WorkflowErrors) as caught:
        load_workflows(tmp_path)
    assert f"{tmp_path / 'petition.yaml'}:{line_of(text, 'clocks:')}: missing clock 'resolve'" in str(caught.value)


def test_the_supervisor_designation_needs_the_supervisor_among_the_roles(tmp_path):
    text = edit(
        standard_text(),
        "    roles: [dispatcher, supervisor]\n    fields:\n      department_id",
        "    roles: [dispatcher]\n    fields:\n      department_id",
    )
    problem = only_problem(write(tmp_path, text, "standard"))
    assert problem.line == line_of(text, "not_accused_department, supervisor_designates_after_limit]")
    assert "guard 'supervisor_designates_after_limit' lets role 'supervisor' act" in problem.message


def test_an_action_that_resolves_must_stop_the_resolve_clock(tmp_path):
    text = edit(
        standard_text(), "    stop: [resolve, answer_on_spot]\n    pause:", "    stop: [answer_on_spot]\n    pause:"
    )
    problem = only_problem(write(tmp_path, text, "standard"))
    assert problem.line == line_of(text, "effects: [record_resolution]")
    assert "effect 'record_resolution' needs this action in clocks.resolve.stop" in problem.message


def test_an_answer_on_the_spot_must_stop_the_respond_clock(tmp_path):
    text = edit(standard_text(), "    stop: [respond, answer_on_spot]\n", "    stop: [respond]\n")
    problem = only_problem(write(tmp_path, text, "standard"))
    assert problem.line == line_of(text, "effects: [record_answer_on_spot]")
    assert "clocks.respond.stop" in problem.message


def test_an_approved_extension_must_extend_the_resolve_clock(tmp_path):
    text = edit(standard_text(), "    extend: [approve_extension]\n", "")
    problem = only_problem(write(tmp_path, text, "standard"))
    assert problem.line == line_of(text, "effects: [approve_extension]")
    assert "clocks.resolve.extend" in problem.message


def test_a_merge_must_end_the_case(tmp_path):
    text = edit(standard_text(), "    to: merged\n", "    to: received\n")
    text = edit(text, "  merged:     {label: 已合并, label_en: Merged, final: true}\n", "")
    problem = only_problem(write(tmp_path, text, "standard"))
    assert problem.line == line_of(text, "effects: [merge_into]")
    assert "effect 'merge_into' ends the case: 'to' must be a final state" in problem.message


def test_merged_in_is_reserved_for_the_merge_event(tmp_path):
    text = edit(MINI, "  close:\n", "  merged_in:\n")
    text = edit(text, "stop: [close]", "stop: [merged_in]")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "  merged_in:")
    assert "reserved" in problem.message


def test_stop_if_names_a_required_yes_no_field_of_a_stopping_action(tmp_path):
    # Like a callback: the clock stops only when the petitioner was reached.
    text = edit(MINI, "    stop: [close]\n", "    stop: [close]\n    stop_if: {close: reached}\n")
    problem = only_problem(write(tmp_path, text))
    assert problem.line == line_of(text, "stop_if")
    assert "not a required bool field of action 'close'" in problem.message
    reached = "    roles: [supervisor]\n    fields:\n      reached: {type: bool, label: 联系到, required: true}\n"
    assert load_file(write(tmp_path, edit(text, "    roles: [supervisor]\n", reached))).clocks["resolve"].stop_if == {
        "close": "reached"
    }
    text = edit(MINI, "    stop: [dispatch]\n", "    stop: [dispatch]\n    stop_if: {close: reached}\n")
    assert "'close' is not in this clock's stop" in only_problem(write(tmp_path, text)).message
