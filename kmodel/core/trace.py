"""Traces: the one currency between engines and everything that shows results.

A trace is plain data (labels, actors, the state after each step as JSON-ready
values) so it survives a JSON round trip, and it replays: re-executing its
labelled steps on the model reproduces it, or says where it diverges.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from kmodel.core.system import Property, PropertyKind, System

# The kind of a trace that decides no property: a run as far as someone has taken it,
# shown for what it is (its `property` is empty). Every other kind is a property's.
PATH = "path"


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    actor: str | None
    sender: str | None
    receiver: str | None
    fault: str | None
    kind: str
    state: Any  # the state after this step, JSON-ready


@dataclass(frozen=True, slots=True)
class Trace:
    """A path from an initial state to the state that decides `property`.

    A leads-to violation is a lasso: `loop_start` is the number of steps before the
    loop, and the run repeats ``steps[loop_start:]`` for ever (it ends in the state it
    started from); a loop of no steps is a run that comes to rest where it ends."""

    property: str
    kind: str
    initial: Any  # the initial state, JSON-ready
    steps: tuple[Step, ...]
    loop_start: int | None = None

    def __post_init__(self) -> None:
        if self.loop_start is not None and not 0 <= self.loop_start <= len(self.steps):
            at = self.loop_start
            raise ValueError(f"loop_start {at} is outside a trace of {len(self)} steps")

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def faults(self) -> int:
        return sum(1 for step in self.steps if step.fault)

    @property
    def decides(self) -> bool:
        """Whether the trace decides its property (a plain `PATH` decides none), so a
        picture of it carries a verdict."""
        return self.kind != PATH

    def to_json(self) -> dict[str, Any]:
        return {
            "property": self.property,
            "kind": self.kind,
            "initial": self.initial,
            "steps": [asdict(step) for step in self.steps],
            "loop_start": self.loop_start,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trace:
        """The trace `to_json` wrote; one written before traces had loops has none."""
        steps = tuple(Step(**step) for step in data["steps"])
        return cls(data["property"], data["kind"], data["initial"], steps, data.get("loop_start"))

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    @classmethod
    def loads(cls, text: str) -> Trace:
        return cls.from_json(json.loads(text))


def build_trace(
    system: System,
    property_name: str,
    kind: str,
    path: Sequence[Hashable],
    loop_start: int | None = None,
) -> Trace:
    """The trace along `path` (a list of states), labelling each step; a lasso's loop
    starts after `loop_start` steps (`path` then ends in the state at that index).

    Where several actions lead to the same next state, a normal step is
    preferred to a fault so the trace shows no more faults than it needs.
    """
    steps = []
    for before, after in itertools.pairwise(path):
        action = _action_between(system, before, after)
        info = system.describe(before, action, after)
        steps.append(
            Step(
                label=info.label,
                actor=info.actor,
                sender=info.sender,
                receiver=info.receiver,
                fault=info.fault,
                kind=info.kind,
                state=system.state_view(after),
            )
        )
    return Trace(property_name, kind, system.state_view(path[0]), tuple(steps), loop_start)


def _action_between(system: System, before: Hashable, after: Hashable) -> Hashable:
    fallback = None
    for action in system.actions(before):
        if system.next_state(before, action) == after:
            if not system.fault_of(action):
                return action
            fallback = fallback if fallback is not None else action
    if fallback is None:
        raise ValueError("no action of the model leads between two consecutive trace states")
    return fallback


@dataclass(frozen=True, slots=True)
class Replay:
    """The outcome of re-executing a trace on a model."""

    ok: bool
    diverged_at: int | None = None  # index of the first step that could not be reproduced
    reason: str = ""
    state: Any = None  # the state the trace ends in, when it replayed
    path: tuple[Any, ...] = ()  # every state along the way, the initial one first


def replay(system: System, trace: Trace) -> Replay:
    """Re-execute `trace` step by step on `system`; say where it stops matching."""
    current = next(
        (s for s in system.initial_states() if system.state_view(s) == trace.initial), None
    )
    if current is None:
        return Replay(False, 0, "no initial state of the model matches the trace's first state")
    path = [current]
    for index, step in enumerate(trace.steps):
        labelled = []
        for action in system.actions(current):
            after = system.next_state(current, action)
            if after is not None and system.describe(current, action, after).label == step.label:
                labelled.append(after)
        if not labelled:
            return Replay(False, index, f"no enabled action is labelled {step.label!r}")
        matching = [after for after in labelled if system.state_view(after) == step.state]
        if not matching:
            return Replay(False, index, f"{step.label!r} leads to a different state")
        current = matching[0]
        path.append(current)
    if trace.loop_start is not None and path[trace.loop_start] != current:
        where = f"step {trace.loop_start}"
        return Replay(False, len(trace), f"the loop ends elsewhere than where it starts ({where})")
    return Replay(True, state=current, path=tuple(path))


def breaks(system: System, trace: Trace, name: str) -> bool:
    """Whether `trace` replays on `system` and ends where property `name` is broken (an
    invariant false; an end property false at a state where only faults remain; of a
    leads-to property, a lasso whose loop keeps the goal due)."""
    outcome = replay(system, trace)
    if not outcome.ok:
        return False
    prop = next((p for p in system.properties() if p.name == name), None)
    if prop is None:
        return False
    if prop.kind is PropertyKind.LEADS_TO:
        return lasso_breaks(system, prop, trace, outcome.path)
    return broken_at(system, prop, outcome.state)


def lasso_breaks(system: System, prop: Property, trace: Trace, path: Sequence[Hashable]) -> bool:
    """Whether the lasso `trace` (replayed along `path`) breaks leads-to `prop`: the goal
    is due from the loop's start all the way round, and a loop of no steps ends where
    only faults remain. (Whether the loop is fair is the checker's judgement.)"""
    if trace.loop_start is None:
        return False
    return any(_promise_breaks(system, part, trace, path) for part in prop.each_promise())


def _promise_breaks(system: System, prop: Property, trace: Trace, path: Sequence[Hashable]) -> bool:
    due = False
    dues = []
    for state in path:
        due = prop.still_due(due, state)
        dues.append(due)
    if not all(dues[trace.loop_start :]):
        return False
    if trace.loop_start == len(trace):
        normal, _ = system.successors(path[-1])
        return system.is_terminal(path[-1], normal)
    return True


def broken_at(system: System, prop: Property, state: Hashable) -> bool:
    """Whether `state` breaks `prop`: an invariant false there, or an end property false
    where only faults remain (a witness is never broken, nor a leads-to at one state: only
    a run that loops or rests with its promise due breaks that)."""
    if prop.kind in (PropertyKind.SOMETIMES, PropertyKind.LEADS_TO) or prop.condition(state):
        return False
    if prop.kind is PropertyKind.AT_END:
        normal, _ = system.successors(state)
        return system.is_terminal(state, normal)
    return True
