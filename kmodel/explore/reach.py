"""Where can a run go from here? A bounded breadth-first search from one world.

The search is the engines' own (`check_bfs`) over the model seen from the chosen
world, so what it finds is a shortest run from here to each contract that can still
break, and what it cannot find within its budget is said to be unknown, not safe.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass

from kmodel.core.bfs import OnlyProperties, check_bfs
from kmodel.core.reduction import Reduced
from kmodel.core.result import Status
from kmodel.core.search import Limits
from kmodel.core.system import PropertyKind, System
from kmodel.core.trace import replay
from kmodel.explore.paths import Path, follow

BUDGET = Limits(max_states=50_000, max_seconds=5.0)  # what one question may cost


class FromHere(Reduced):
    """The model with `world` as its only initial state."""

    def __init__(self, system: System, world: Hashable) -> None:
        super().__init__(system)
        self.world = world

    def initial_states(self) -> Sequence[Hashable]:
        return [self.world]


@dataclass(frozen=True, slots=True)
class Outlook:
    """One contract seen from here: broken within reach (and how), safe, or unknown."""

    name: str
    description: str
    status: Status  # VIOLATED: a run from here breaks it; HOLDS: none does; UNKNOWN
    steps: Path | None  # the shortest run from here that breaks it, as a path


@dataclass(frozen=True, slots=True)
class Reach:
    outlooks: tuple[Outlook, ...]
    states: int  # the states the search visited
    seconds: float
    complete: bool  # every state reachable from here was visited
    stop_reason: str  # why it stopped early, when it did ("max_states", "max_seconds")


def contracts(system: System) -> list[str]:
    """The properties a run can break (witnesses are reached, not broken)."""
    return [p.name for p in system.properties() if p.kind is not PropertyKind.SOMETIMES]


def reach(
    system: System,
    world: Hashable,
    names: Collection[str] | None = None,
    limits: Limits = BUDGET,
) -> Reach:
    """Which of the contracts `names` (default: all) a run from `world` can break,
    each with the shortest such run, within `limits`."""
    here = FromHere(system, world)
    wanted = contracts(system) if names is None else names
    result = check_bfs(OnlyProperties(here, wanted), limits, stop_when_decided=True)
    outlooks = []
    for prop in result.properties:
        steps = None
        if prop.trace is not None:
            steps = follow(system, replay(here, prop.trace).path)
        outlooks.append(Outlook(prop.name, prop.description, prop.status, steps))
    stats = result.stats
    return Reach(tuple(outlooks), stats.states, stats.seconds, result.complete, result.stop_reason)
