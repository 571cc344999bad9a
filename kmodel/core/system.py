"""The one interface every engine explores: states, actions, successors, properties.

A model is a `System`. Engines never look inside states; they only ask for
initial states, successors and property verdicts, so any model (a hand-written
protocol or an actor system) runs under every engine.

>>> class Counter(System[int, str]):
...     def initial_states(self): return [0]
...     def actions(self, state): return ["inc"] if state < 3 else []
...     def next_state(self, state, action): return state + 1
...     def properties(self): return [Property.always("small", lambda s: s <= 3)]
>>> from kmodel.core.bfs import check_bfs
>>> check_bfs(Counter()).stats.states
4
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

S = TypeVar("S", bound=Hashable)
A = TypeVar("A", bound=Hashable)


class PropertyKind(enum.Enum):
    """When a property's condition is evaluated and what its verdict means."""

    ALWAYS = "always"  # an invariant: must hold on every reachable state
    SOMETIMES = "sometimes"  # a witness: some reachable state must satisfy it
    AT_END = "at_end"  # must hold on every terminal state (nothing but faults enabled)
    # P ~> Q: every fair run where P holds has Q then or later (`kmodel.core.liveness`)
    LEADS_TO = "leads_to"


@dataclass(frozen=True, slots=True)
class Property(Generic[S]):
    """A named condition on states, checked by every engine."""

    name: str
    kind: PropertyKind
    condition: Callable[[S], bool]
    description: str = ""
    # The positions of a tuple state the condition reads, when it reads only those:
    # engines then judge it once per distinct value of those parts.
    reads: tuple[int, ...] | None = None
    # Of some of those parts, the only fields the condition reads (partial-order
    # reduction takes a step that changes none of them as invisible to the property).
    fields: tuple[tuple[int, tuple[str, ...]], ...] = ()
    # Of a leads-to property, Q: `condition` is P, the trigger that makes Q due.
    goal: Callable[[S], bool] | None = None
    # Of a leads-to property made of one promise per instance (`leads_to_each`): those
    # promises, each checked with a pending bit of its own.
    promises: tuple[Property[S], ...] = ()

    @classmethod
    def always(
        cls,
        name: str,
        condition: Callable[[S], bool],
        description: str = "",
        reads: Sequence[Read] | None = None,
    ) -> Property[S]:
        return cls(name, PropertyKind.ALWAYS, condition, description, *_reads(reads))

    @classmethod
    def sometimes(
        cls,
        name: str,
        condition: Callable[[S], bool],
        description: str = "",
        reads: Sequence[Read] | None = None,
    ) -> Property[S]:
        return cls(name, PropertyKind.SOMETIMES, condition, description, *_reads(reads))

    @classmethod
    def at_end(
        cls,
        name: str,
        condition: Callable[[S], bool],
        description: str = "",
        reads: Sequence[Read] | None = None,
    ) -> Property[S]:
        return cls(name, PropertyKind.AT_END, condition, description, *_reads(reads))

    @classmethod
    def leads_to(
        cls,
        name: str,
        trigger: Callable[[S], bool],
        goal: Callable[[S], bool],
        description: str = "",
    ) -> Property[S]:
        """Whenever `trigger` holds, `goal` holds then or later, in every run that is fair
        (no fair step stays enabled for ever without being taken; see `System.fair_class`).
        "Eventually Q" is ``leads_to(name, lambda s: True, Q)``."""
        return cls(name, PropertyKind.LEADS_TO, trigger, description, goal=goal)

    @classmethod
    def leads_to_each(
        cls,
        name: str,
        pairs: Sequence[tuple[Callable[[S], bool], Callable[[S], bool]]],
        description: str = "",
    ) -> Property[S]:
        """P_i ~> Q_i for every (P_i, Q_i) of `pairs`, each promise apart: a promise one
        instance made is kept by that instance, whatever another owes meanwhile. It
        breaks when one of them does; it is due while one of them is."""
        promises = tuple(cls.leads_to(name, p, q, description) for p, q in pairs)
        return cls(
            name,
            PropertyKind.LEADS_TO,
            lambda s: any(p.condition(s) for p in promises),
            description,
            goal=lambda s: all(p.goal(s) for p in promises),
            promises=promises,
        )

    def each_promise(self) -> tuple[Property[S], ...]:
        """The promises of a leads-to property, each to check with its own pending bit."""
        return self.promises or (self,)

    def still_due(self, due: bool, state: S) -> bool:
        """Of a leads-to property: whether its goal is still due after a run reaches
        `state`, given whether it was `due` before (the pending bit of the check)."""
        assert self.goal is not None, f"{self.name} is not a leads-to property"
        return (due or self.condition(state)) and not self.goal(state)

    @classmethod
    def no_deadlock(cls, is_end: Callable[[S], bool]) -> Property[S]:
        """Every terminal state is one the model calls an intended end."""
        return cls.at_end("no-deadlock", is_end, "every state where the system stops is an end")


Read = int | tuple[int, Sequence[str]]  # a part of the state, or some fields of one


def searched(properties: Iterable[Property[S]]) -> list[Property[S]]:
    """The properties a search of states decides: all but leads-to, which need the
    liveness check (`kmodel.core.liveness`) over the graph of states."""
    return [p for p in properties if p.kind is not PropertyKind.LEADS_TO]


def _reads(
    reads: Sequence[Read] | None,
) -> tuple[tuple[int, ...] | None, tuple[tuple[int, tuple[str, ...]], ...]]:
    """Positions and per-position fields from a mix of positions and (position, fields)."""
    if reads is None:
        return None, ()
    whole = {read for read in reads if isinstance(read, int)}
    fields: dict[int, set[str]] = {}
    for read in reads:
        if not isinstance(read, int):
            fields.setdefault(read[0], set()).update(read[1])
    positions = tuple(sorted(whole | fields.keys()))
    narrowed = tuple((p, tuple(sorted(f))) for p, f in sorted(fields.items()) if p not in whole)
    return positions, narrowed


@dataclass(frozen=True, slots=True)
class StepInfo:
    """What a person needs to read one transition: who acted, how, between whom."""

    label: str
    actor: str | None = None
    sender: str | None = None
    receiver: str | None = None
    fault: str | None = None  # the fault budget this step used, None for a normal step
    kind: str = "step"  # what happened, for pictures: deliver, step, timer, crash, lose ...


def kind_name(value: Hashable) -> str:
    """A value's kind in words: a string itself, a tuple its words (``("expire", 0,
    "stuck")`` is "expire stuck"), anything else its type's name."""
    if isinstance(value, str):
        return value
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        words = [item for item in value if isinstance(item, str)]
        if words:
            return " ".join(words)
    return type(value).__name__


class Exchange(Generic[S]):
    """States on their way between the processes of a parallel search. Plain states
    travel as they are; a system whose states hold ids that mean something only in one
    process (interned parts) translates them, remembering what each peer has seen."""

    def pack(self, peer: int, states: list[S]) -> Any:
        return states

    def unpack(self, peer: int, payload: Any) -> list[S]:
        return payload


class System(Generic[S, A]):
    """A finite transition system with named properties.

    Subclasses define `initial_states`, `actions`, `next_state` and
    `properties`. The other methods have defaults that engines rely on and
    models may refine (faults, step descriptions, a faster `successors`).
    """

    def initial_states(self) -> Sequence[S]:
        raise NotImplementedError

    def actions(self, state: S) -> Iterable[A]:
        """Every action enabled in `state`, faults included."""
        raise NotImplementedError

    def next_state(self, state: S, action: A) -> S | None:
        """The state after `action`; None when the action turns out to be disabled."""
        raise NotImplementedError

    def properties(self) -> Sequence[Property[S]]:
        return ()

    def fault_of(self, action: A) -> str | None:
        """The fault kind `action` uses (counted against a budget), or None."""
        return None

    def fair_class(self, state: S, action: A) -> Hashable | None:
        """The class of steps weak fairness treats as one for `action` (a run may not
        keep a class enabled for ever without taking it), or None for a step a run may
        never take (a fault). By default every normal step is fair on its own."""
        return None if self.fault_of(action) else action

    def transitions(self, state: S) -> list[tuple[A, str | None, S]]:
        """Every enabled action with the fault budget it spends (None for a normal step)
        and the state after it: what a random run chooses among."""
        found = []
        for action in self.actions(state):
            after = self.next_state(state, action)
            if after is not None:
                found.append((action, self.fault_of(action), after))
        return found

    def action_kind(self, state: S, action: A) -> str:
        """The class `action` belongs to for coverage reports: what it does and who does
        it, without the values it carries."""
        return kind_name(action)

    def pending_kinds(self, state: S) -> Iterable[str]:
        """Kinds of action `state` sets up without enabling them (a timer armed whose
        fault budget is spent, a message in flight behind another): coverage reports
        those that never fire."""
        return ()

    def successors(self, state: S) -> tuple[list[S], list[S]]:
        """Successors split into (normal, after a fault); the engines' hot path."""
        normal: list[S] = []
        faulty: list[S] = []
        for action in self.actions(state):
            nxt = self.next_state(state, action)
            if nxt is not None:
                (faulty if self.fault_of(action) else normal).append(nxt)
        return normal, faulty

    def describe(self, state: S, action: A, after: S) -> StepInfo:
        """How a trace shows the step `state --action--> after`."""
        return StepInfo(label=str(action), fault=self.fault_of(action))

    def state_view(self, state: S) -> Any:
        """A JSON-ready picture of `state` for traces."""
        from kmodel.core.jsonable import to_jsonable

        return to_jsonable(state)

    # -- between the processes of a parallel search ---------------------------------

    def owner_hash(self, state: S) -> int:
        """A hash of `state` that every process forked from this one computes alike:
        it decides which partition of a parallel search owns the state."""
        return hash(state)

    def prepare_partitions(self, count: int = 2) -> None:
        """Called once before worker processes fork, so `owner_hash` can work in each."""

    def exchange(self) -> Exchange[S]:
        """How this process sends states to other processes and reads theirs."""
        return Exchange()

    def portable(self, state: S) -> Any:
        """`state` as a value any process of the search can read (`from_portable`)."""
        return state

    def from_portable(self, value: Any) -> S:
        return value

    # -- reductions ----------------------------------------------------------------------

    symmetric = False  # whether `canonical` maps states to representatives of classes
    partial_order = False  # whether the model can say which of its steps commute
    stubborn = False  # whether searches should explore `reduced_successors`

    def reduced_successors(self, state: S) -> tuple[list[S], list[S], list[S], list[S]] | None:
        """(normal, faulty) successors through a subset of the enabled steps that is enough
        to explore, then all (normal, faulty) successors; None where none can be left out
        (`kmodel.core.partial_order`)."""
        return None

    def watch(self, pending: Collection[str]) -> None:
        """Hear which properties are still undecided (a reduction may depend on them)."""

    def canonical(self, state: S) -> S:
        """The representative of `state`'s class of interchangeable states (a model with
        `symmetric = True` defines it; every property must read a class's members alike)."""
        return state

    def is_terminal(self, state: S, normal: Sequence[S]) -> bool:
        """No normal step changes `state` (its `normal` successors): only faults remain."""
        return all(nxt == state for nxt in normal)

    def realize(self, path: Sequence[S]) -> list[S]:
        """A real run for a path a reduced search found (itself, without reductions)."""
        return list(path)

    def unreduced(self) -> System[S, A]:
        """The model itself, under any reductions wrapped around it: traces read it."""
        return self

    def faults_spent(self, state: S) -> dict[str, int]:
        """How much of each fault budget the run to `state` used (for hints on what
        makes a search large)."""
        return {}

    def settings(self) -> dict[str, Any]:
        """The parameters and fault bounds a result holds under, for reports."""
        return {}
