"""Reads workflows/*.yaml, validates them completely and names the file and line of every mistake."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from grievance.errors import InvalidInput
from grievance.glossary import LABELS, CaseType, Channel, Role, Urgency
from grievance.workflow.definition import (
    ENDS_IN_FINAL_STATE,
    EXTENDS_BY_EFFECT,
    FIELD_CHOICES_BY_EFFECT,
    FIELD_TYPE_BY_EFFECT,
    INTAKE,
    NO_OPEN_NODES_GUARD,
    NO_OPEN_PARTS_GUARD,
    NODE_CLOCK_SEPARATOR,
    NODE_EFFECTS,
    PART_EFFECTS,
    REQUIRED_CLOCKS,
    RESOLUTION_EFFECTS,
    STOPPED_BY_EFFECT,
    WorkflowDef,
)
from grievance.workflow.effects import EFFECT_FIELDS, EFFECTS, MERGED_IN
from grievance.workflow.guards import GUARDS

Path_ = tuple[str | int, ...]
Where = tuple[str, int]  # file, line


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML 1.2 booleans only: a state called `on`, `off`, `yes` or `no` stays a string. LibYAML's parser when
    PyYAML has it (a third of the time of the pure-Python one, and every app and CLI start loads the workflows)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", __import__("re").compile(r"^(?:true|false|True|False|TRUE|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True)
class WorkflowProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class WorkflowErrors(Exception):
    def __init__(self, problems: list[WorkflowProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _read(path: Path) -> tuple[dict[str, Any], dict[Path_, Where]]:
    """Parse a YAML file into plain data and a map from each key's path to its file and line."""
    name = str(path)
    lines: dict[Path_, Where] = {}
    try:
        loader = _Loader(path.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise WorkflowErrors([WorkflowProblem(name, line, f"not valid YAML: {exc}")]) from None
    if not isinstance(node, yaml.MappingNode):
        raise WorkflowErrors([WorkflowProblem(name, 1, "a workflow file must be a mapping of keys")])
    problems: list[WorkflowProblem] = []

    def walk(n: yaml.Node, at: Path_) -> Any:
        if isinstance(n, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in n.value:
                key = loader.construct_object(key_node)
                if key in out:
                    problems.append(WorkflowProblem(name, key_node.start_mark.line + 1, f"duplicate key {key!r}"))
                out[key] = walk(value_node, (*at, key))
                lines[(*at, key)] = (name, key_node.start_mark.line + 1)
            return out
        if isinstance(n, yaml.SequenceNode):
            items = []
            for i, item in enumerate(n.value):
                lines[(*at, i)] = (name, item.start_mark.line + 1)
                items.append(walk(item, (*at, i)))
            return items
        return loader.construct_object(n, deep=True)

    lines[()] = (name, 1)
    data = walk(node, ())
    if problems:
        raise WorkflowErrors(problems)
    return data, lines


def _where(lines: dict[Path_, Where], at: Path_) -> Where:
    """The line of the deepest known key on the path."""
    for cut in range(len(at), -1, -1):
        if at[:cut] in lines:
            return lines[at[:cut]]
    return lines[()]


def _merge(
    parent: dict[str, Any], parent_lines: dict[Path_, Where], child: dict[str, Any], child_lines: dict[Path_, Where]
) -> tuple[dict[str, Any], dict[Path_, Where]]:
    """A child workflow replaces whole entries of its parent's states, actions, clocks and settings.
    Lines follow the data: whatever the child wrote is reported in the child's file."""
    merged = {**parent, **child}
    lines = dict(parent_lines)
    replaced = [(key,) for key in child if key not in SECTIONS]
    for section in SECTIONS:
        merged[section] = {**parent.get(section, {}), **child.get(section, {})}
        replaced += [(section, name) for name in child.get(section, {})]
    for prefix in replaced:
        lines = {path: where for path, where in lines.items() if path[: len(prefix)] != prefix}
    lines.update(child_lines)
    lines[()] = child_lines[()]
    merged.pop("extends", None)
    return merged, lines


SECTIONS = ("states", "actions", "clocks", "settings")


def _check(wf: WorkflowDef) -> list[tuple[Path_, str]]:
    """Everything the schema cannot say: names that must exist, states that must be reachable."""
    errs: list[tuple[Path_, str]] = []
    states = wf.states
    roles = {r.value for r in Role}
    vocab = {"channel": {c.value for c in Channel}, "case_type": {t.value for t in CaseType}}
    vocab["urgency"] = {u.value for u in Urgency}

    if wf.initial_state not in states:
        errs.append((("initial_state",), f"unknown state {wf.initial_state!r}; states are {sorted(states)}"))
    for key, allowed in (("channels", vocab["channel"]), ("case_types", vocab["case_type"])):
        for i, value in enumerate(getattr(wf.applies_to, key) or []):
            if value not in allowed:
                errs.append((("applies_to", key, i), f"unknown {key[:-1]} {value!r}; accepted: {sorted(allowed)}"))
    for name, action in wf.actions.items():
        at: Path_ = ("actions", name)
        if name == INTAKE:
            errs.append((at, f"{INTAKE!r} is reserved for creating a case"))
        if name == MERGED_IN:
            errs.append((at, f"{MERGED_IN!r} is reserved for the event a merge writes on its target"))
        for i, state in enumerate(action.from_):
            if state not in states:
                errs.append(((*at, "from", i), f"unknown state {state!r} in 'from'; states are {sorted(states)}"))
        if action.to is not None and action.to not in states:
            errs.append(((*at, "to"), f"unknown state {action.to!r} in 'to'; states are {sorted(states)}"))
        for i, role in enumerate(action.roles):
            if role not in roles:
                errs.append(((*at, "roles", i), f"unknown role {role!r}; roles are {sorted(roles)}"))
        for i, guard in enumerate(action.guards):
            if guard not in GUARDS:
                errs.append(((*at, "guards", i), f"unknown guard {guard!r}; guards are {sorted(GUARDS)}"))
            else:
                for setting in GUARDS[guard].settings:
                    if setting not in wf.settings:
                        errs.append(((*at, "guards", i), f"guard {guard!r} needs setting {setting!r}"))
                for clock_name in GUARDS[guard].clocks:
                    if clock_name not in wf.clocks:
                        errs.append(((*at, "guards", i), f"guard {guard!r} reads clock {clock_name!r}, not defined"))
                for role in GUARDS[guard].roles:
                    if role not in action.roles:
                        errs.append(((*at, "guards", i), f"guard {guard!r} lets role {role!r} act: add it to roles"))
        for i, effect in enumerate(action.effects):
            if effect not in EFFECTS:
                errs.append(((*at, "effects", i), f"unknown effect {effect!r}; effects are {sorted(EFFECTS)}"))
            errs += [((*at, "effects", i), message) for message in _effect_needs(wf, name, effect)]
        needs = [("effect", e, EFFECT_FIELDS.get(e, ()), "effects", i) for i, e in enumerate(action.effects)]
        needs += [("guard", g, GUARDS[g].fields, "guards", i) for i, g in enumerate(action.guards) if g in GUARDS]
        for kind, name_, fields, key, i in needs:
            for field_name in fields:
                field = action.fields.get(field_name)
                if field is None or not field.required:
                    errs.append(((*at, key, i), f"{kind} {name_!r} needs the required field {field_name!r}"))
        for effect in action.effects:
            for field_name, type_ in FIELD_TYPE_BY_EFFECT.get(effect, {}).items():
                field = action.fields.get(field_name)
                if field is not None and field.type != type_:
                    errs.append(
                        (
                            (*at, "fields", field_name),
                            f"effect {effect!r} reads {field_name!r} as a {type_!r} field, not {field.type!r}",
                        )
                    )
            for field_name, vocabulary in FIELD_CHOICES_BY_EFFECT.get(effect, {}).items():
                field = action.fields.get(field_name)
                if field is not None and field.choices != vocabulary:
                    errs.append(
                        (
                            (*at, "fields", field_name),
                            f"effect {effect!r} reads {field_name!r} as a code of {vocabulary}: set choices: {vocabulary}",
                        )
                    )
        for field_name, field in action.fields.items():
            errs += [((*at, "fields", field_name), message) for message in _required_if_problems(action, field)]
        for field_name, field in action.fields.items():
            if field.choices is not None and field.choices not in LABELS:
                errs.append(
                    (
                        (*at, "fields", field_name, "choices"),
                        f"unknown vocabulary {field.choices!r}; accepted: {sorted(LABELS)}",
                    )
                )
    for name, why in REQUIRED_CLOCKS.items():
        if name not in wf.clocks:
            errs.append(
                (("clocks",), f"missing clock {name!r}: the code reads it for {why}; keep a clock of this name")
            )
    errs += _node_problems(wf)
    errs += _part_problems(wf)
    action_names = {*wf.actions, INTAKE}
    for name, clock in wf.clocks.items():
        for key in ("start", "stop", "pause", "resume", "extend"):
            for i, action_name in enumerate(getattr(clock, key)):
                if action_name not in action_names:
                    errs.append((("clocks", name, key, i), f"unknown action {action_name!r}"))
        for action_name, field_name in clock.stop_if.items():
            action = wf.actions.get(action_name)
            field = action.fields.get(field_name) if action else None
            if action_name not in clock.stop:
                errs.append((("clocks", name, "stop_if", action_name), f"{action_name!r} is not in this clock's stop"))
            elif field is None or field.type != "bool" or not field.required:
                errs.append(
                    (
                        ("clocks", name, "stop_if", action_name),
                        f"stop_if names {field_name!r}: not a required bool field of action {action_name!r}",
                    )
                )
        for i, rule in enumerate(clock.limits):
            for key in ("urgency", "case_type", "channel"):
                for value in getattr(rule, key) or []:
                    if value not in vocab[key]:
                        errs.append((("clocks", name, "limits", i, key), f"unknown {key} {value!r}"))

    finals = [s for s, d in states.items() if d.final]
    if not finals:
        errs.append((("states",), "no final state: mark at least one state `final: true`"))
    if wf.initial_state in states:
        seen = {wf.initial_state}
        todo = deque([wf.initial_state])
        while todo:
            state = todo.popleft()
            for action in wf.actions.values():
                if state in action.from_ and action.to and action.to not in seen:
                    seen.add(action.to)
                    todo.append(action.to)
        for state in states:
            if state not in seen:
                errs.append((("states", state), f"state {state!r} cannot be reached from {wf.initial_state!r}"))
        for state, definition in states.items():
            leaves = any(state in a.from_ and a.to not in (None, state) for a in wf.actions.values())
            if not definition.final and not leaves and state in seen:
                errs.append((("states", state), f"state {state!r} is not final but no action leaves it"))
    return errs


def _required_if_problems(action: Any, field: Any) -> list[str]:
    """required_if names a bool field of the action ("reached"), or a choice field and one of its codes
    ("reason=other")."""
    when = field.required_when
    if when is None:
        return []
    other_name, value = when
    other = action.fields.get(other_name)
    if value is None:
        if other is None or other.type != "bool":
            return [f"required_if names {field.required_if!r}, not a bool field"]
        return []
    if other is None or other.type != "choice":
        return [f"required_if names {other_name!r}, not a choice field (write field=code only for a choice field)"]
    codes = LABELS.get(other.choices or "", {})
    if codes and value not in codes:
        return [f"required_if: {value!r} is not a code of {other.choices}; accepted: {sorted(codes)}"]
    return []


def _per_clock_problems(
    wf: WorkflowDef, per: str, effects: Collection[str], guard: str, what: str, needs: str, why: str
) -> tuple[list[str], list[tuple[Path_, str]]]:
    """The rules a `per: <per>` clock family shares (nodes, parts): at most one such clock, the effects running
    them need one (`what`: "nodes'"), and where they exist every resolving action is guarded by `guard` (`needs`
    and `why` say so). Returns (the per clocks declared, the problems)."""
    errs: list[tuple[Path_, str]] = []
    declared = [name for name, clock in wf.clocks.items() if clock.per == per]
    for name in declared[1:]:
        errs.append((("clocks", name), f"only one clock may be 'per: {per}'; {declared[0]!r} already is"))
    used = False
    for action_name, action in wf.actions.items():
        for i, effect in enumerate(action.effects):
            if effect in effects:
                used = True
                if not declared:
                    errs.append(
                        (
                            ("actions", action_name, "effects", i),
                            f"effect {effect!r} runs the {what} clocks: declare a clock with 'per: {per}'",
                        )
                    )
    if declared or used:
        for action_name, action in wf.actions.items():
            if set(action.effects) & set(RESOLUTION_EFFECTS) and guard not in action.guards:
                errs.append(
                    (
                        ("actions", action_name),
                        f"action {action_name!r} resolves the case: with {needs} it needs the guard {guard!r} ({why})",
                    )
                )
    return declared, errs


def _node_problems(wf: WorkflowDef) -> list[tuple[Path_, str]]:
    """Key cases' plans of nodes (grievance/keycases): clock names never contain the node separator, at most one
    clock is `per: node`, the node effects need one, and where nodes exist every resolving action is guarded by
    NO_OPEN_NODES_GUARD (a key case resolves only once its nodes are done)."""
    errs: list[tuple[Path_, str]] = [
        (("clocks", name), f"a clock name may not contain {NODE_CLOCK_SEPARATOR!r}: node clocks use it")
        for name in wf.clocks
        if NODE_CLOCK_SEPARATOR in name
    ]
    errs += _per_clock_problems(
        wf,
        "node",
        NODE_EFFECTS,
        NO_OPEN_NODES_GUARD,
        "nodes'",
        "a plan of nodes",
        "a key case resolves only once its nodes are done",
    )[1]
    return errs


def _part_problems(wf: WorkflowDef) -> list[tuple[Path_, str]]:
    """Lead and assisting departments (grievance/keycases/parts.py): at most one clock is `per: part`; the part
    effects and `scope: part` actions need one; where parts exist every resolving action is guarded by
    NO_OPEN_PARTS_GUARD (the lead resolves only once every part is reported or waived)."""
    declared, errs = _per_clock_problems(
        wf,
        "part",
        PART_EFFECTS,
        NO_OPEN_PARTS_GUARD,
        "parts'",
        "assisting departments",
        "the lead resolves only once every part is reported or waived",
    )
    for action_name, action in wf.actions.items():
        if action.scope == "part" and not declared:
            errs.append(
                (
                    ("actions", action_name),
                    "'scope: part' acts on an assisting department's part: declare a clock with 'per: part'",
                )
            )
    return errs


def _effect_needs(wf: WorkflowDef, action_name: str, effect: str) -> list[str]:
    """What an effect requires of the rest of the workflow so that the rates read its result: the action that
    records a response or resolution stops the clock the rate measures it by, the one that approves an extension
    extends the clock the extension guards read, a merge ends the case."""
    problems = []
    for clock_name in STOPPED_BY_EFFECT.get(effect, ()):
        clock = wf.clocks.get(clock_name)
        if clock is not None and action_name not in clock.stop:
            problems.append(f"effect {effect!r} needs this action in clocks.{clock_name}.stop")
    clock_name = EXTENDS_BY_EFFECT.get(effect, "")
    clock = wf.clocks.get(clock_name)
    if clock is not None and action_name not in clock.extend:
        problems.append(f"effect {effect!r} needs this action in clocks.{clock_name}.extend")
    to = wf.actions[action_name].to
    if effect in ENDS_IN_FINAL_STATE and (to is None or (to in wf.states and not wf.states[to].final)):
        problems.append(f"effect {effect!r} ends the case: 'to' must be a final state")
    return problems


def _build(data: dict[str, Any], lines: dict[Path_, Where]) -> WorkflowDef:
    try:
        wf = WorkflowDef.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            file, line = _where(lines, tuple(err["loc"]))
            loc = ".".join(str(p) for p in err["loc"])
            problems.append(WorkflowProblem(file, line, f"{loc}: {err['msg']}"))
        raise WorkflowErrors(problems) from None
    errs = _check(wf)
    if errs:
        raise WorkflowErrors([WorkflowProblem(*_where(lines, at), msg) for at, msg in errs])
    return wf


def _read_with_parents(path: Path, seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[Path_, Where]]:
    """A workflow file merged over the chain of workflows it extends."""
    data, lines = _read(path)
    parent_name = data.get("extends")
    if not parent_name:
        return data, lines
    file, line = _where(lines, ("extends",))
    parent_path = path.with_name(f"{parent_name}.yaml")
    if parent_name in (*seen, path.stem):
        raise WorkflowErrors([WorkflowProblem(file, line, f"extends {parent_name!r} in a cycle")])
    if not parent_path.exists():
        raise WorkflowErrors([WorkflowProblem(file, line, f"extends unknown workflow {parent_name!r}")])
    parent_data, parent_lines = _read_with_parents(parent_path, (*seen, path.stem))
    return _merge(parent_data, parent_lines, data, lines)


def load_file(path: Path) -> WorkflowDef:
    data, lines = _read_with_parents(path)
    wf = _build(data, lines)
    if wf.name != path.stem:
        file, line = _where(lines, ("name",))
        raise WorkflowErrors([WorkflowProblem(file, line, f"name {wf.name!r} must match the file name {path.stem!r}")])
    return wf


class Workflows:
    """The loaded workflows of a deployment, and the rules that pick one for a new case."""

    def __init__(self, definitions: dict[str, WorkflowDef]) -> None:
        self.definitions = definitions
        self._by_priority = sorted(definitions.values(), key=lambda w: -w.priority)

    def get(self, name: str) -> WorkflowDef:
        return self.definitions[name]

    def select(self, *, channel: str, case_type: str) -> WorkflowDef:
        for wf in self._by_priority:
            if wf.applies(channel=channel, case_type=case_type):
                return wf
        raise InvalidInput.field(
            "channel",
            f"没有适用于渠道 {channel} 和类型 {case_type} 的流程",
            f"no workflow applies to channel {channel!r} with case type {case_type!r}",
        )


def load_workflows(directory: Path) -> Workflows:
    """Load every *.yaml in the folder; raise with all problems of all files at once."""
    problems: list[WorkflowProblem] = []
    definitions: dict[str, WorkflowDef] = {}
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise WorkflowErrors([WorkflowProblem(str(directory), 0, "no workflow files (*.yaml) found")])
    for path in files:
        try:
            wf = load_file(path)
        except WorkflowErrors as exc:
            problems.extend(exc.problems)
            continue
        definitions[wf.name] = wf
    if problems:
        raise WorkflowErrors(problems)
    return Workflows(definitions)
