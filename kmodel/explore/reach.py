"""Where can a run go from here? A bounded breadth-first search from one world.

The search is the engines' own (`check_bfs`) over the model seen from the chosen
world, so what it finds is a shortest run from here to each contract that can still
break, and what it cannot find within its budget is said to be unknown, not safe.
A leads-to contract is seen through the run so far (its promise is due when its
trigger held and its goal has not since) and the liveness check from here, which
carries that promise along: a lasso from here is a fair run that never keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass

from kmodel.core.bfs import OnlyProperties, check_bfs
from kmodel.core.liveness import check_liveness
from kmodel.core.reduction import Reduced
from kmodel.core.result import Status
from kmodel.core.search import Limits
from kmodel.core.system import Property, PropertyKind, System
from kmodel.core.trace import build_trace, lasso_breaks, replay
from kmodel.explore.paths import Path, follow

BUDGET = Limits(max_states=50_000, max_seconds=5.0)  # what one question may cost


class FromHere(Reduced):
    """The model with `world` as its only initial state."""

    def __init__(self, system: System, world: Hashable) -> None:
        super().__init__(system)
        self.world = world

    def initial_states(self) -> Sequence[Hashable]:
        return [self.world]

    def unreduced(self) -> System:
        return FromHere(self.system.unreduced(), self.world)


@dataclass(frozen=True, slots=True)
class Outlook:
    """One contract seen from here: broken within reach (and how), safe, or unknown."""

    name: str
    description: str
    status: Status  # VIOLATED: a run from here breaks it; HOLDS: none does; UNKNOWN
    steps: Path | None  # the shortest run from here that breaks it, as a path
    # Of a leads-to contract: the step after which its promise has been due (0: from the
    # start; None: nothing is due), and the step from here its lasso's loop starts after.
    due_since: int | None = None
    loop_start: int | None = None


@dataclass(frozen=True, slots=True)
class Reach:
    outlooks: tuple[Outlook, ...]
    states: int  # the states the search visited
    seconds: float
    complete: bool  # every state reachable from here was visited
    stop_reason: str  # why it stopped early, when it did ("max_states", "max_seconds")


def promises(
    system: System, worlds: Sequence[Hashable], limits: Limits = BUDGET
) -> tuple[Outlook, ...]:
    """The leads-to contracts at the end of the run through `worlds`: since when each
    promise is due, and whether a fair run from here can leave it unkept (with its
    lasso), within `limits`."""
    here = worlds[-1]
    wanted = [p for p in system.properties() if p.kind is PropertyKind.LEADS_TO]
    if not wanted:
        return ()
    owed, since = [], []
    for prop in wanted:
        parts = prop.each_promise()
        dues = [_due_since(part, worlds) for part in parts]
        since.append(min((d for d in dues if d is not None), default=None))
        pairs = [
            (_made(part, here, d is not None), part.goal)
            for part, d in zip(parts, dues, strict=True)
        ]
        owed.append(Property.leads_to_each(prop.name, pairs, prop.description))
    start = FromHere(system, here)
    found = check_liveness(start, owed, limits).properties
    outlooks = []
    for prop, result, due in zip(wanted, found, since, strict=True):
        status, steps, loop = result.status, None, None
        if result.trace is not None:
            lasso = replay(start, result.trace).path
            if _breaks(
                system, prop, [*worlds, *lasso[1:]], len(worlds) - 1 + result.trace.loop_start
            ):
                steps, loop = follow(system, lasso), result.trace.loop_start
            else:  # owed anew where it came back here, which the run so far did not owe
                status = Status.UNKNOWN
        outlooks.append(Outlook(prop.name, prop.description, status, steps, due, loop))
    return tuple(outlooks)


def _breaks(system: System, prop: Property, worlds: list[Hashable], loop_start: int) -> bool:
    """Whether the run through `worlds`, its loop from `loop_start`, breaks `prop`."""
    trace = build_trace(system, prop.name, prop.kind.value, worlds, loop_start)
    return lasso_breaks(system, prop, trace, worlds)


def _due_since(prop: Property, worlds: Sequence[Hashable]) -> int | None:
    """The step after which `prop`'s promise has been due at the end of `worlds`."""
    due, since = False, None
    for step, world in enumerate(worlds):
        was, due = due, prop.still_due(due, world)
        if due and not was:
            since = step
    return since if due else None


def _made(prop: Property, here: Hashable, due: bool) -> Callable[[Hashable], bool]:
    """`prop`'s trigger, which holds in `here` too when its promise is due there."""
    return lambda world: (due and world == here) or prop.condition(world)


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
