"""Breadth-first search: every violation comes back as a shortest trace.

Among equally short traces the one with the fewest faults is kept: each
level remembers how many faults the best path to each of its states used and
re-parents a state when a cheaper path of the same length turns up. A property
is decided once the level where it first fails (or is reached) is complete, at
the state of that level with the fewest faults.
"""

from __future__ import annotations

from collections.abc import Hashable

from kmodel.core.result import Result
from kmodel.core.search import (
    NO_LIMITS,
    PROGRESS_EVERY,
    Clock,
    Limits,
    Progress,
    ProgressCallback,
    PropertyTracker,
    collector_paused,
    is_terminal,
    make_result,
)
from kmodel.core.system import System


def check_bfs(
    system: System,
    limits: Limits = NO_LIMITS,
    progress: ProgressCallback | None = None,
    *,
    fingerprints: bool = False,
    stop_when_decided: bool = False,
) -> Result:
    """Explore `system` level by level and judge every property.

    With `fingerprints` the visited set keeps 64-bit hashes instead of states,
    which saves memory at a collision risk of about n²/2⁶⁵ for n states.
    """
    clock = Clock(limits.max_seconds)
    fp = hash if fingerprints else None
    tracker = PropertyTracker(system.properties(), capture=lambda key: key, defer=True)
    max_states = limits.max_states
    stop_reason = "explored"
    parents: dict[Hashable, Hashable | None] = {}
    frontier: list[Hashable] = []
    for init in system.initial_states():
        key = init if fp is None else fp(init)
        if key not in parents:
            parents[key] = None
            frontier.append(init)
            tracker.visit(init, key)
            if max_states is not None and len(parents) >= max_states:
                stop_reason = "max_states"
                break

    successors = system.successors
    checks_states = tracker.checks_states
    checks_ends = tracker.checks_ends
    transitions = 0
    depth = 0
    next_check = len(parents) + PROGRESS_EVERY
    # One comparison per new state: the state count at which to look at the clock or the limit.
    threshold = next_check if max_states is None else min(next_check, max_states)
    # Fault counts of the current and next level; states reached without a fault are absent.
    level_faults: dict[Hashable, int] = {}
    next_faults: dict[Hashable, int] = {}
    try:
        with collector_paused():
            while frontier and stop_reason == "explored":
                if limits.max_depth is not None and depth >= limits.max_depth:
                    stop_reason = "max_depth"
                    break
                next_frontier: list[Hashable] = []
                next_faults = {}
                for state in frontier:
                    key = state if fp is None else fp(state)
                    base = level_faults.get(key, 0) if level_faults else 0
                    normal, faulty = successors(state)
                    transitions += len(normal) + len(faulty)
                    if checks_ends and is_terminal(state, normal):
                        tracker.visit_terminal(state, key, base)
                    for batch, cost in ((normal, base), (faulty, base + 1)):
                        for nxt in batch:
                            nkey = nxt if fp is None else fp(nxt)
                            if nkey not in parents:
                                parents[nkey] = key
                                next_frontier.append(nxt)
                                if cost:
                                    next_faults[nkey] = cost
                                if checks_states:
                                    tracker.visit(nxt, nkey, cost)
                                if len(parents) >= threshold:
                                    found = len(parents)
                                    if found >= next_check:
                                        next_check += PROGRESS_EVERY
                                        if progress is not None:
                                            progress(
                                                Progress(
                                                    found,
                                                    transitions,
                                                    depth + 1,
                                                    len(next_frontier),
                                                    clock.elapsed(),
                                                )
                                            )
                                        if clock.expired():
                                            stop_reason = "max_seconds"
                                    if max_states is None:
                                        threshold = next_check
                                    elif found >= max_states:
                                        stop_reason = "max_states"
                                    else:
                                        threshold = min(next_check, max_states)
                                    if stop_reason != "explored":
                                        break
                            elif next_faults and cost < next_faults.get(nkey, 0):
                                parents[nkey] = key
                                if cost:
                                    next_faults[nkey] = cost
                                else:
                                    del next_faults[nkey]
                        if stop_reason != "explored":
                            break
                    if stop_reason != "explored":
                        break
                # The level is complete (or the search stops): among the states that decide a
                # property, the one reached with the fewest faults gives its trace.
                tracker.settle(lambda k, faults=next_faults: faults.get(k, 0))
                if stop_when_decided and tracker.all_decided:
                    stop_reason = "decided"
                if next_frontier:
                    depth += 1
                frontier, level_faults = next_frontier, next_faults
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    tracker.settle(lambda k, faults=next_faults: faults.get(k, 0))

    def path_to(key: Hashable) -> list[Hashable]:
        keys = [key]
        while parents[keys[-1]] is not None:
            keys.append(parents[keys[-1]])
        keys.reverse()
        return keys if fp is None else _states_along(system, keys, fp)

    return make_result(
        "bfs",
        system,
        tracker,
        stop_reason,
        path_to,
        states=len(parents),
        transitions=transitions,
        max_depth=depth,
        clock=clock,
    )


def _states_along(system: System, keys: list[Hashable], fp) -> list[Hashable]:
    """Recover the states of a path stored as fingerprints by re-running successors."""
    state = next(s for s in system.initial_states() if fp(s) == keys[0])
    states = [state]
    for key in keys[1:]:
        normal, faulty = system.successors(state)
        state = next(s for s in normal + faulty if fp(s) == key)
        states.append(state)
    return states
