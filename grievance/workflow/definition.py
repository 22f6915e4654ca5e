"""The schema of a workflow file: states, actions, SLA clocks and the rules that pick the workflow."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grievance.workflow.calendar import UNITS

INTAKE = "intake"  # the pseudo-action that creates a case; clocks may start on it

# Clocks that Python code reads by name, and what reads them. Every workflow must define them: the loader
# refuses a file that lacks one (or renames it), so no rate silently loses its data. Guards that read a clock
# also declare it (Guard.clocks); effects are keyed on by name instead of actions and states.
RESPOND_CLOCK = "respond"
RESOLVE_CLOCK = "resolve"
REQUIRED_CLOCKS: dict[str, str] = {
    RESPOND_CLOCK: "按时响应率 (on_time_response_rate, cases/states.py) and the ledger's respond_due_at",
    RESOLVE_CLOCK: (
        "按时办结率 (on_time_resolution_rate, cases/states.py), the extension guards and the ledger's "
        "resolve_due_at / extended_due_at"
    ),
}
# Which required clock the actions with these effects must stop, so the rate measures them.
STOPPED_BY_EFFECT: dict[str, tuple[str, ...]] = {
    "record_response": (RESPOND_CLOCK,),
    "record_resolution": (RESOLVE_CLOCK,),
    "record_answer_on_spot": (RESPOND_CLOCK, RESOLVE_CLOCK),
}
# Which required clock the action with this effect must extend (the extension guards read that clock's days).
EXTENDS_BY_EFFECT: dict[str, str] = {"approve_extension": RESOLVE_CLOCK}
# The effect that makes a case a duplicate of another (sets duplicate_of_id): reports and pages key on it.
MERGE_EFFECT = "merge_into"
# The type each effect's input field must have, so that what it reads was looked up and checked by the engine.
FIELD_TYPE_BY_EFFECT: dict[str, dict[str, str]] = {"assign_handler": {"handler_id": "handler"}}
# Effects whose action must end in a final state: a merged duplicate leaves every denominator, its clocks stop.
ENDS_IN_FINAL_STATE: tuple[str, ...] = (MERGE_EFFECT,)

# Key cases (重点件, grievance/keycases). The effects that mark a case key or give it its lead leader (包案领导) read
# a "leader" field; the effects of the plan of nodes (节点) run the clock the workflow declares `per: node`, and a
# workflow with that clock guards its resolving actions with NO_OPEN_NODES_GUARD (a key case resolves only once
# every node of its plan is done). The loader checks all of it.
FIELD_TYPE_BY_EFFECT.update(
    {
        "mark_key": {"lead_leader_id": "leader", "reason": "choice"},
        "set_lead_leader": {"lead_leader_id": "leader"},
        "set_node_plan": {"nodes": "nodes"},
        "propose_node_plan": {"nodes": "nodes"},
        "complete_node": {"node": "node", "attachment_ids": "attachments"},
    }
)
NODE_EFFECTS: tuple[str, ...] = ("set_node_plan", "propose_node_plan", "approve_node_plan", "complete_node")
# Answering on the spot happens at intake, before any plan: only a department's resolution waits for the nodes.
RESOLUTION_EFFECTS: tuple[str, ...] = ("record_resolution",)
# The vocabulary each effect's choice field must use, so the code it stores is one the pages and lists know.
FIELD_CHOICES_BY_EFFECT: dict[str, dict[str, str]] = {"mark_key": {"reason": "KeyReason"}}
NO_OPEN_NODES_GUARD = "no_open_nodes"
# A per-node clock's rows are named "<clock>:<node seq>" (node:1, node:2...); no other clock name has a colon (the
# loader refuses one), so the rows are told apart by name everywhere: they count in no rate, no list's due time
# and no case-level lateness (cases/states.py, workflow/clocks.refresh_next_due, cases/listing.py).
NODE_CLOCK_SEPARATOR = ":"


def node_clock_name(clock: str, seq: int) -> str:
    """The CaseClock name of node `seq` of a case under the per-node clock `clock`: node_clock_name("node", 2)
    -> "node:2"."""
    return f"{clock}{NODE_CLOCK_SEPARATOR}{seq}"


def is_node_clock(name: str) -> bool:
    """Whether a CaseClock row (by its name) is a sub-clock (a node's, or an assisting department's part's: both
    are named "<clock>:<seq>") rather than one of the case's own. Sub-clocks count in no rate and no list."""
    return NODE_CLOCK_SEPARATOR in name


# Lead and assisting departments (主办 / 协办, grievance/keycases/parts.py). The lead department is the case's
# department; each assisting department works a part of its own, run by the clock the workflow declares
# `per: part` (rows part_clock_name(clock, seq), told apart from the case's clocks like nodes' by the separator).
# A workflow with that clock guards its resolving actions with NO_OPEN_PARTS_GUARD (the lead resolves only once
# every part is reported or the supervisor waived the rest). The loader checks all of it.
PART_EFFECTS: tuple[str, ...] = ("dispatch_parts", "accept_part", "record_part_note", "report_part", "waive_parts")
NO_OPEN_PARTS_GUARD = "no_open_parts"
FIELD_TYPE_BY_EFFECT.update(
    {
        "dispatch_parts": {"assisting_department_ids": "departments"},
        "report_part": {"attachment_ids": "attachments"},
    }
)


def part_clock_name(clock: str, seq: int) -> str:
    """The CaseClock name of part `seq` of a case under the per-part clock `clock`: part_clock_name("part", 1) ->
    "part:1"."""
    return f"{clock}{NODE_CLOCK_SEPARATOR}{seq}"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Labelled(Strict):
    """A thing people see by name: `label` (Chinese, required) and an optional `label_en` for English pages.
    Without label_en an English page shows the Chinese label, not the code: the label is the deployment's
    approved name, while a code is an identifier that need not be words (and is shown on the admin page)."""

    label: str
    label_en: str | None = None

    def label_in(self, locale: str) -> str:
        return self.label_en if locale == "en" and self.label_en else self.label


class AppliesTo(Strict):
    channels: list[str] | None = None  # None: any channel
    case_types: list[str] | None = None  # None: any type


class StateDef(Labelled):
    final: bool = False


class FieldDef(Labelled):
    # "handler": a person who may work the case, an active handler (or head) of the case's department.
    # "leader": an active user of role leader (包案领导). "nodes": the rows of a plan of nodes (grievance/keycases/
    # plan.py parse_plan); "node": the number of an open node of the case; "attachments": ids of the case's files.
    # "departments": a list of department ids or codes (assisting departments, keycases/parts.py), each once.
    type: Literal[
        "text",
        "int",
        "bool",
        "department",
        "departments",
        "case",
        "choice",
        "handler",
        "leader",
        "nodes",
        "node",
        "attachments",
    ]
    label: str = ""  # empty: pages show the field's code
    required: bool = False
    # "reached": required when that bool field is true, refused when it is false; "reason=other": required when
    # that choice field has that value.
    required_if: str | None = None
    choices: str | None = None  # name of a glossary vocabulary, for type "choice"
    min: int | None = None
    max: int | None = None
    max_length: int = 2000

    @model_validator(mode="after")
    def _choices_only_for_choice(self) -> FieldDef:
        if (self.type == "choice") != (self.choices is not None):
            raise ValueError("a 'choice' field needs 'choices' (a vocabulary name); other types take none")
        return self

    @property
    def required_when(self) -> tuple[str, str | None] | None:
        """required_if as (field, value): value None for a bool field ("reached"), the code for "reason=other"."""
        if self.required_if is None:
            return None
        name, _, value = self.required_if.partition("=")
        return name.strip(), (value.strip() or None) if "=" in self.required_if else None


class ActionDef(Labelled):
    from_: list[str] = Field(alias="from")
    to: str | None = None  # None: the case stays in its state
    roles: list[str]
    fields: dict[str, FieldDef] = Field(default_factory=dict)
    guards: list[str] = Field(default_factory=list)
    effects: list[str] = Field(default_factory=list)
    # "department": department roles act only on their own department's cases;
    # "open": also on unassigned cases (claiming from the pool);
    # "part": department roles act only where their department has an open part (协办, keycases/parts.py);
    # "case": the lead's people and those of an assisting department whose part is not withdrawn (a guard says
    # which items are whose: complete_node's `own_node`).
    scope: Literal["department", "open", "part", "case"] = "department"


class LimitRule(Strict):
    urgency: list[str] | None = None
    case_type: list[str] | None = None
    channel: list[str] | None = None
    working_days: int | None = Field(default=None, ge=1)
    days: int | None = Field(default=None, ge=1)
    hours: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_unit(self) -> LimitRule:
        given = [u for u in UNITS if getattr(self, u) is not None]
        if len(given) != 1:
            raise ValueError(f"a limit needs exactly one of {', '.join(UNITS)}; got {given or 'none'}")
        return self

    @property
    def unit(self) -> str:
        return next(u for u in UNITS if getattr(self, u) is not None)

    @property
    def amount(self) -> float:
        value = getattr(self, self.unit)
        assert value is not None
        return float(value)

    def matches(self, *, urgency: str, case_type: str, channel: str) -> bool:
        return all(
            allowed is None or value in allowed
            for allowed, value in (
                (self.urgency, urgency),
                (self.case_type, case_type),
                (self.channel, channel),
            )
        )


class ClockDef(Labelled):
    # Whose deadline it is: a department's (its queue and overdue list) or the centre's (callbacks,
    # acceptance decisions, reviews), which only the centre's lists count as overdue.
    owner: Literal["department", "centre"] = "department"
    # "case": one clock of the case, started and stopped by the actions listed. "node": one clock per node of a key
    # case's plan (rows node_clock_name(name, seq)), started when the plan sets the node and stopped when it is
    # completed or removed (grievance/keycases); `limits` give the default length a plan offers, `pause`/`resume`
    # apply to every node's clock. Node clocks count in no rate and no list's due time.
    # "part": one clock per assisting department's part (rows part_clock_name(name, seq)), started when the part is
    # sent and stopped when it is reported, waived or withdrawn (grievance/keycases/parts.py); `limits` give its
    # length, `pause`/`resume` apply to every part's clock. Part clocks count in no rate and no list's due time.
    per: Literal["case", "node", "part"] = "case"
    start: list[str] = Field(default_factory=list)  # actions that start (or restart) the clock
    stop: list[str] = Field(default_factory=list)
    # An action of `stop` that stops the clock only when its input says so: {action: bool field}. A callback
    # that did not reach the petitioner (reached: false) is an attempt; the clock runs on (DOMAIN.md, 回访).
    stop_if: dict[str, str] = Field(default_factory=dict)
    pause: list[str] = Field(default_factory=list)
    resume: list[str] = Field(default_factory=list)
    extend: list[str] = Field(default_factory=list)  # actions that push the due time by the approved days
    warn_at: float = Field(default=0.8, gt=0, lt=1)  # fraction of the time after which a case is due soon
    limits: list[LimitRule]

    @model_validator(mode="after")
    def _has_default_limit(self) -> ClockDef:
        last = self.limits[-1] if self.limits else None
        if last is None or (last.urgency or last.case_type or last.channel):
            raise ValueError("the last limit must have no conditions: it is the default")
        return self

    @model_validator(mode="after")
    def _started_as_declared(self) -> ClockDef:
        if self.per == "case" and not self.start:
            raise ValueError("a clock needs 'start': the actions that start it")
        what = {"node": "the plan of nodes", "part": "the assisting departments' parts"}.get(self.per)
        if what and (self.start or self.stop or self.stop_if or self.extend):
            raise ValueError(
                f"a 'per: {self.per}' clock is started and stopped by {what}: give no start, stop, stop_if or "
                "extend (pause and resume are allowed)"
            )
        if what and self.owner != "department":
            raise ValueError(f"a 'per: {self.per}' clock is the department's: owner must be department")
        return self

    def limit_for(self, *, urgency: str, case_type: str, channel: str) -> LimitRule:
        return next(r for r in self.limits if r.matches(urgency=urgency, case_type=case_type, channel=channel))


class WorkflowDef(Labelled):
    name: str
    extends: str | None = None
    priority: int = 0  # the matching workflow with the highest priority wins
    applies_to: AppliesTo
    initial_state: str
    settings: dict[str, float] = Field(default_factory=dict)
    states: dict[str, StateDef]
    actions: dict[str, ActionDef]
    clocks: dict[str, ClockDef] = Field(default_factory=dict)

    def applies(self, *, channel: str, case_type: str) -> bool:
        a = self.applies_to
        return (a.channels is None or channel in a.channels) and (a.case_types is None or case_type in a.case_types)

    def is_final(self, state: str) -> bool:
        return self.states[state].final

    def setting(self, key: str) -> float:
        if key not in self.settings:
            raise KeyError(f"workflow {self.name!r} has no setting {key!r}")
        return self.settings[key]
