"""Which reductions a search applies to a model, chosen by name.

Reductions shrink the states a search must visit without changing any
verdict: symmetry (`kmodel.core.symmetry`) and partial-order reduction
(`kmodel.core.partial_order`). A model offers the ones that apply to it;
`--reduce none` turns them all off, so any verdict can be checked again on
the plain state space.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from kmodel.core.system import Exchange, Property, StepInfo, System

REDUCTIONS = ("symmetry", "por")
CHOICES = {"none": (), "symmetry": ("symmetry",), "por": ("por",), "all": REDUCTIONS}


def reduced(
    system: System, wanted: Sequence[str], engine: str = "bfs"
) -> tuple[System, tuple[str, ...]]:
    """`system` under those of the `wanted` reductions that apply to it and to the
    engine, and their names. Partial-order reduction needs breadth-first search."""
    # Each alone is sound; together they would need more care than either, and no model
    # offers both: a model that did would get symmetry.
    if "symmetry" in wanted and system.symmetric:
        from kmodel.core.symmetry import SymmetryReduced

        return SymmetryReduced(system), ("symmetry",)
    if "por" in wanted and engine == "bfs" and system.partial_order:
        from kmodel.core.partial_order import PartialOrderReduced

        return PartialOrderReduced(system), ("por",)  # type: ignore[arg-type]
    return system, ()


class Reduced(System):
    """A model seen through a reduction: the search explores the reduced successors,
    everything else (properties, steps, views, exchange) is the model's own."""

    def __init__(self, system: System) -> None:
        self.system = system

    def initial_states(self) -> Sequence[Hashable]:
        return self.system.initial_states()

    def successors(self, state: Hashable) -> tuple[list, list]:
        return self.system.successors(state)

    def is_terminal(self, state: Hashable, normal: Sequence[Hashable]) -> bool:
        return self.system.is_terminal(state, normal)

    def realize(self, path: Sequence[Hashable]) -> list[Hashable]:
        return self.system.realize(path)

    def unreduced(self) -> System:
        return self.system.unreduced()

    def properties(self) -> Sequence[Property]:
        return self.system.properties()

    def actions(self, state: Hashable):
        return self.system.actions(state)

    def next_state(self, state: Hashable, action: Hashable):
        return self.system.next_state(state, action)

    def fault_of(self, action: Hashable) -> str | None:
        return self.system.fault_of(action)

    def describe(self, state: Hashable, action: Hashable, after: Hashable) -> StepInfo:
        return self.system.describe(state, action, after)

    def state_view(self, state: Hashable) -> Any:
        return self.system.state_view(state)

    def faults_spent(self, state: Hashable) -> dict[str, int]:
        return self.system.faults_spent(state)

    def settings(self) -> dict[str, Any]:
        return self.system.settings()

    def owner_hash(self, state: Hashable) -> int:
        return self.system.owner_hash(state)

    def prepare_partitions(self, count: int = 2) -> None:
        self.system.prepare_partitions(count)

    def exchange(self) -> Exchange:
        return self.system.exchange()

    def portable(self, state: Hashable) -> Any:
        return self.system.portable(state)

    def from_portable(self, value: Any) -> Hashable:
        return self.system.from_portable(value)
