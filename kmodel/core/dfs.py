"""Depth-first search: an explicit stack, low memory, optionally bounded in depth.

Traces are the stack at the moment of discovery, so they are valid but not
necessarily shortest. With a depth bound a state first met deep may later be
met shallower; it is then expanded again so the bound never hides a state
that lies within it.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

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


def check_dfs(
    system: System,
    limits: Limits = NO_LIMITS,
    progress: ProgressCallback | None = None,
    *,
    fingerprints: bool = False,
    stop_when_decided: bool = False,
) -> Result:
    """Explore `system` depth first and judge every property."""
    clock = Clock(limits.max_seconds)
    fp = hash if fingerprints else None
    tracker = PropertyTracker(system.properties(), capture=list)
    successors = system.successors
    max_depth = limits.max_depth
    checks_ends = tracker.checks_ends
    visited: dict[Hashable, int] = {}  # key -> the smallest depth it was reached at
    path: list[Hashable] = []
    stack: list[Iterator[Hashable]] = []
    transitions = 0
    deepest = 0
    next_check = PROGRESS_EVERY
    stop_reason = "explored"
    depth_cut = False

    def enter(state: Hashable) -> None:
        nonlocal transitions, depth_cut
        path.append(state)
        tracker.visit(state, path)
        if max_depth is not None and len(path) > max_depth:
            depth_cut = True
            stack.append(iter(()))
            return
        normal, faulty = successors(state)
        transitions += len(normal) + len(faulty)
        if checks_ends and is_terminal(state, normal):
            tracker.visit_terminal(state, path)
        stack.append(iter(normal + faulty))

    try:
        with collector_paused():
            for init in system.initial_states():
                key = init if fp is None else fp(init)
                if key in visited:
                    continue
                visited[key] = 0
                enter(init)
                while stack and stop_reason == "explored":
                    nxt = next(stack[-1], None)
                    if nxt is None:
                        stack.pop()
                        path.pop()
                        continue
                    depth = len(path)
                    nkey = nxt if fp is None else fp(nxt)
                    known = visited.get(nkey)
                    if known is not None and known <= depth:
                        continue
                    visited[nkey] = depth
                    deepest = max(deepest, depth)
                    enter(nxt)
                    if len(visited) >= next_check:
                        next_check += PROGRESS_EVERY
                        if progress is not None:
                            snapshot = Progress(
                                len(visited), transitions, depth, len(stack), clock.elapsed()
                            )
                            progress(snapshot)
                        if clock.expired():
                            stop_reason = "max_seconds"
                    if limits.max_states is not None and len(visited) >= limits.max_states:
                        stop_reason = "max_states"
                    if stop_when_decided and tracker.all_decided:
                        stop_reason = "decided"
                if stop_reason != "explored":
                    break
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    if stop_reason == "explored" and depth_cut:
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
    )
