"""Symmetry reduction: explore one state of each class of interchangeable states.

A model whose parts are interchangeable (resource managers with equal roles,
replicas that only differ by name) says so with `System.canonical`, which
maps every state to the representative of its class. Successors commute
with the interchange, and the model promises that every property reads the
parts alike, so searching representatives only reaches every verdict; a
class is as near to the start as its nearest member, so breadth-first traces
stay shortest and keep their fewest faults.

A trace found among representatives is turned back into a real run
(`realize`): from a real initial state, each step takes the real successor
whose representative is the next one on the path.

>>> from kmodel.examples.two_phase_commit import TwoPhaseCommit
>>> from kmodel.core.bfs import check_bfs
>>> model = TwoPhaseCommit(5)
>>> check_bfs(model).stats.states, check_bfs(SymmetryReduced(model)).stats.states
(8832, 314)
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from kmodel.core.reduction import Reduced
from kmodel.core.system import System


class SymmetryReduced(Reduced):
    """`system` seen through its `canonical` map: one state per class."""

    def __init__(self, system: System) -> None:
        super().__init__(system)
        self.canonical = system.canonical

    def initial_states(self) -> Sequence[Hashable]:
        return list(dict.fromkeys(map(self.canonical, self.system.initial_states())))

    def successors(self, state: Hashable) -> tuple[list, list]:
        canonical = self.canonical
        normal, faulty = self.system.successors(state)
        return list(map(canonical, normal)), list(map(canonical, faulty))

    def is_terminal(self, state: Hashable, normal: Sequence[Hashable]) -> bool:
        # A step to another member of the class looks like a self-loop among
        # representatives; only the real successors tell.
        return System.is_terminal(self, state, normal) and self.system.is_terminal(
            state, self.system.successors(state)[0]
        )

    def realize(self, path: Sequence[Hashable]) -> list[Hashable]:
        canonical, system = self.canonical, self.system
        real = [next(s for s in system.initial_states() if canonical(s) == path[0])]
        for wanted in path[1:]:
            normal, faulty = system.successors(real[-1])
            real.append(next(s for s in normal + faulty if canonical(s) == wanted))
        return self.system.realize(real)
