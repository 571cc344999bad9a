"""Depth-first search: an explicit stack, low memory, optionally bounded in depth.

Traces are the stack at the moment of discovery, so they are valid but not
necessarily shortest. Without a depth bound every state is expanded once. With
one, a state first met deep may later be met shallower (an initial state, too,
may first be met from another one); it is then expanded again so the bound
never hides a state that lies within it, and the search counts as cut short
only if some state at the bound was never expanded from a shallower depth.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence

from kmodel.core.coverage import Coverage, covering
from kmodel.core.reduction import reduced
from kmodel.core.result import Result
from kmodel.core.search import (
    CLOCK_EVERY,
    NO_LIMITS,
    PROGRESS_EVERY,
    Clock,
    Limits,
    Progress,
    ProgressCallback,
    PropertyTracker,
    collector_paused,
    make_result,
    memory_mb,
)
from kmodel.core.system import System


def check_dfs(
    system: System,
    limits: Limits = NO_LIMITS,
    progress: ProgressCallback | None = None,
    *,
    fingerprints: bool = False,
    stop_when_decided: bool = False,
    reduce: Sequence[str] = (),
    coverage: Coverage | None = None,
) -> Result:
    """Explore `system` depth first and judge every property (of the reductions in
    `reduce`, symmetry applies; partial-order reduction needs breadth-first search).
    `coverage`, when given, is filled in as the search goes."""
    system, applied = reduced(system, reduce, engine="dfs")
    system = covering(system, coverage)
    clock = Clock(limits.max_seconds)
    fp = hash if fingerprints else None
    tracker = PropertyTracker(system.properties(), capture=list)
    successors = system.successors
    max_depth = limits.max_depth
    max_states = limits.max_states
    bounded = max_depth is not None
    checks_ends = tracker.checks_ends
    visited: dict[Hashable, int] = {}  # key -> the smallest depth it was reached at
    # States met only at the depth bound so far, so never expanded: the search is cut
    # short as long as one of them is left (a shallower visit expands it and drops it).
    cut: set[Hashable] = set()
    path: list[Hashable] = []
    stack: list[Iterator[Hashable]] = []
    transitions = 0
    deepest = 0
    next_check = CLOCK_EVERY
    next_report = PROGRESS_EVERY
    start_memory = memory_mb()  # the process's before the search: max_memory is beyond it
    stop_reason = "explored"

    def enter(state: Hashable, key: Hashable) -> None:
        nonlocal transitions
        path.append(state)
        tracker.visit(state, path)
        if bounded:
            if len(path) > max_depth:
                cut.add(key)
                stack.append(iter(()))
                return
            cut.discard(key)
        normal, faulty = successors(state)
        transitions += len(normal) + len(faulty)
        if checks_ends and system.is_terminal(state, normal):
            tracker.visit_terminal(state, path)
        stack.append(iter(normal + faulty))

    def check_after(new: bool) -> str:
        """Why to stop after entering a state (`new`: met for the first time), if at all."""
        nonlocal next_check, next_report
        if new:
            if len(visited) >= next_check:
                next_check += CLOCK_EVERY
                if clock.expired():
                    return "max_seconds"
                if len(visited) >= next_report:
                    next_report += PROGRESS_EVERY
                    memory = memory_mb()
                    held = memory - start_memory
                    if limits.max_memory_mb is not None and held >= limits.max_memory_mb:
                        return "max_memory"
                    if progress is not None:
                        depth = len(path) - 1
                        snapshot = Progress(
                            len(visited),
                            transitions,
                            depth,
                            len(stack),
                            clock.elapsed(),
                            memory_mb=memory,
                        )
                        progress(snapshot)
            if max_states is not None and len(visited) >= max_states:
                return "max_states"
        if stop_when_decided and tracker.all_decided:
            return "decided"
        return "explored"

    try:
        with collector_paused():
            for init in system.initial_states():
                key = init if fp is None else fp(init)
                known = visited.get(key)
                # Under a depth bound an initial state met deeper from another one is
                # expanded again from depth 0; otherwise a state is never entered twice.
                if known is not None and (known == 0 or not bounded):
                    continue
                visited[key] = 0
                enter(init, key)
                stop_reason = check_after(known is None)
                while stack and stop_reason == "explored":
                    nxt = next(stack[-1], None)
                    if nxt is None:
                        stack.pop()
                        path.pop()
                        continue
                    depth = len(path)
                    nkey = nxt if fp is None else fp(nxt)
                    known = visited.get(nkey)
                    if known is not None and (not bounded or known <= depth):
                        continue
                    visited[nkey] = depth
                    deepest = max(deepest, depth)
                    enter(nxt, nkey)
                    stop_reason = check_after(known is None)
                if stop_reason != "explored":
                    break
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    if stop_reason == "explored" and cut:
        stop_reason = "max_depth"

    return make_result(
        "dfs",
        system,
        tracker,
        stop_reason,
        lambda states: states,
        states=len(visited),
        transitions=transitions,
        max_depth=deepest,
        clock=clock,
        reductions=applied,
    )
