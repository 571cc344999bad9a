"""Coverage: which kinds of action fired, which were set up but never fired, and
which contracts were exercised, for a search or for random runs.

A kind of action is what it does and who does it, without its values ("timer
request.timeout.ms at producer", "deliver FetchResponse to broker1"; see
`System.action_kind`). A kind that some reached state set up (a message in
flight, a timer armed, a step whose fault budget is spent) but that never
fired within the bounds is worth a look: it often means a spec or a model
that cannot do what its author meant.

A contract (an `always` or `at_end` property) is *exercised* when it was judged
in a state where it could fail: one reached after a fault (in a model with
fault budgets) where the parts of the state it reads are no longer those of
the initial state. A contract that holds without ever being exercised holds
vacuously.

Coverage costs a look at every state's actions, so engines collect it only when
asked: `check_bfs(..., coverage=Coverage())` sees the search through `Covering`.

>>> from kmodel.examples.lossy_link import lossy_link
>>> from kmodel.core.bfs import check_bfs
>>> coverage = Coverage()
>>> _ = check_bfs(lossy_link(records=1, max_retries=1, losses=1), coverage=coverage)
>>> coverage.fired["crash sender"], "deliver Ack to sender" in coverage.fired
(0, True)
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kmodel.core.reduction import Reduced
from kmodel.core.system import PropertyKind, System


@dataclass(slots=True)
class Coverage:
    """What a search or a set of runs covered, filled in by a `CoverageRecorder`."""

    fired: Counter[str] = field(default_factory=Counter)  # kind -> times it fired
    possible: set[str] = field(default_factory=set)  # kinds some state set up
    contracts: tuple[str, ...] = ()  # the contracts judged, in the model's order
    exercised: Counter[str] = field(default_factory=Counter)  # contract -> states
    witnesses: tuple[str, ...] = ()  # the `sometimes` properties, in the model's order
    reached: set[str] = field(default_factory=set)  # witnesses some state satisfied

    @property
    def never_fired(self) -> list[str]:
        """The kinds some state set up that never fired, sorted."""
        return sorted(self.possible - set(self.fired))

    @property
    def not_exercised(self) -> list[str]:
        """The contracts never judged in a state where they could fail, in order."""
        return [name for name in self.contracts if not self.exercised[name]]

    @property
    def unreached(self) -> list[str]:
        """The witnesses no state satisfied, in order."""
        return [name for name in self.witnesses if name not in self.reached]

    def to_json(self) -> dict[str, Any]:
        return {
            "fired": dict(sorted(self.fired.items())),
            "never_fired": self.never_fired,
            "exercised": {name: self.exercised[name] for name in self.contracts},
            "not_exercised": self.not_exercised,
            "witnesses_unreached": self.unreached,
        }


class CoverageRecorder:
    """Fills a `Coverage` from the states a search or a run meets."""

    def __init__(self, system: System, coverage: Coverage) -> None:
        self.system = system.unreduced()
        self.coverage = coverage
        properties = self.system.properties()
        self.witnesses = [p for p in properties if p.kind is PropertyKind.SOMETIMES]
        contracts = [p for p in properties if p.kind is not PropertyKind.SOMETIMES]
        coverage.contracts = tuple(p.name for p in contracts)
        coverage.witnesses = tuple(p.name for p in self.witnesses)
        initial = self.system.initial_states()[0]
        # Without fault budgets every state counts as one where a contract could fail.
        self.faulty = bool(self.system.faults_spent(initial))
        self.watched: list[tuple[str, Callable[[Hashable], Any], Any]] = []
        for prop in contracts:
            read = operator.itemgetter(*prop.reads) if prop.reads else _whole
            self.watched.append((prop.name, read, read(initial)))

    def expanded(self, state: Hashable) -> None:
        """A search expands `state`: each of its enabled actions fires once."""
        kinds = self.visited(state, [action for action, _, _ in self.system.transitions(state)])
        self.coverage.fired.update(kinds)

    def fired(self, state: Hashable, action: Hashable) -> None:
        """A run takes `action` from `state`."""
        self.coverage.fired[self.system.action_kind(state, action)] += 1

    def visited(self, state: Hashable, enabled: Iterable[Hashable]) -> list[str]:
        """A search or a run meets `state`, with these actions `enabled`: what it sets up,
        and what it lets contracts judge. Returns the kinds of the enabled actions."""
        system = self.system
        kinds = [system.action_kind(state, action) for action in enabled]
        self.coverage.possible.update(kinds)
        self.coverage.possible.update(system.pending_kinds(state))
        self.judged(state)
        return kinds

    def judged(self, state: Hashable) -> None:
        coverage = self.coverage
        for prop in self.witnesses:
            if prop.name not in coverage.reached and prop.condition(state):
                coverage.reached.add(prop.name)
        if self.faulty and not any(self.system.faults_spent(state).values()):
            return
        for name, read, initial in self.watched:
            if read(state) != initial:
                coverage.exercised[name] += 1


def _whole(state: Hashable) -> Hashable:
    return state


class Covering(Reduced):
    """A (possibly reduced) model whose expanded states a `CoverageRecorder` sees; the
    search is otherwise the model's own, reductions included."""

    def __init__(self, system: System, recorder: CoverageRecorder) -> None:
        super().__init__(system)
        self.recorder = recorder
        self.stubborn = system.stubborn
        self.symmetric = system.symmetric
        self.partial_order = system.partial_order
        self._last: Hashable = None  # the state last expanded, seen once
        self.recording = True  # off once the search is over (rebuilding traces)

    def successors(self, state: Hashable) -> tuple[list, list]:
        self._expanded(state)
        return self.system.successors(state)

    def reduced_successors(self, state: Hashable):
        self._expanded(state)
        return self.system.reduced_successors(state)

    def watch(self, pending) -> None:
        self.system.watch(pending)

    def canonical(self, state: Hashable) -> Hashable:
        return self.system.canonical(state)

    def _expanded(self, state: Hashable) -> None:
        if self.recording and state is not self._last:
            self._last = state
            self.recorder.expanded(state)


def covering(system: System, coverage: Coverage | None) -> System:
    """`system` as a search sees it: through `Covering` when `coverage` is wanted."""
    if coverage is None:
        return system
    return Covering(system, CoverageRecorder(system, coverage))


def stop_covering(system: System) -> None:
    """The search is over: what follows (rebuilding traces) is not counted."""
    if isinstance(system, Covering):
        system.recording = False
