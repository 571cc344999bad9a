"""Parts every engine shares: limits, progress reports, property bookkeeping, results."""

from __future__ import annotations

import gc
import resource
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kmodel.core.result import PropertyResult, Result, Stats, Status
from kmodel.core.system import Property, PropertyKind, System
from kmodel.core.trace import build_trace

PROGRESS_EVERY = 1 << 14  # states between two looks at the clock


@dataclass(frozen=True, slots=True)
class Limits:
    """Where a search stops early; None means no limit."""

    max_states: int | None = None
    max_depth: int | None = None
    max_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a running search, handed to progress callbacks."""

    states: int
    transitions: int
    depth: int
    queue: int
    seconds: float

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0


NO_LIMITS = Limits()

ProgressCallback = Callable[[Progress], None]


class Clock:
    """Wall time since the search began, and the time limit check."""

    def __init__(self, max_seconds: float | None) -> None:
        self.start = time.perf_counter()
        self.deadline = None if max_seconds is None else self.start + max_seconds

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def expired(self) -> bool:
        return self.deadline is not None and time.perf_counter() >= self.deadline


class PropertyTracker:
    """Checks properties on states as an engine meets them; remembers where each was decided.

    `where` is whatever the engine needs to rebuild a trace later (a state key
    for breadth-first search, the current path for depth-first search);
    `capture` turns it into something that outlives the engine's next step.
    """

    def __init__(self, properties: Sequence[Property], capture: Callable[[Any], Any]) -> None:
        self.properties = tuple(properties)
        names = [p.name for p in self.properties]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"property names must be unique; repeated: {', '.join(duplicated)}")
        self.capture = capture
        self.always = [p for p in self.properties if p.kind is PropertyKind.ALWAYS]
        self.sometimes = [p for p in self.properties if p.kind is PropertyKind.SOMETIMES]
        self.at_end = [p for p in self.properties if p.kind is PropertyKind.AT_END]
        self.decided: dict[str, Any] = {}

    @property
    def checks_states(self) -> bool:
        return bool(self.always or self.sometimes)

    @property
    def checks_ends(self) -> bool:
        return bool(self.at_end)

    @property
    def all_decided(self) -> bool:
        return not (self.always or self.sometimes or self.at_end)

    def visit(self, state: Hashable, where: Any) -> None:
        for prop in self.always:
            if not prop.condition(state):
                self.always = self._decide(self.always, lambda p: not p.condition(state), where)
                break
        for prop in self.sometimes:
            if prop.condition(state):
                self.sometimes = self._decide(self.sometimes, lambda p: p.condition(state), where)
                break

    def visit_terminal(self, state: Hashable, where: Any) -> None:
        for prop in self.at_end:
            if not prop.condition(state):
                self.at_end = self._decide(self.at_end, lambda p: not p.condition(state), where)
                break

    def _decide(self, pending: list[Property], decides: Callable, where: Any) -> list[Property]:
        remaining = []
        for prop in pending:
            if decides(prop):
                self.decided[prop.name] = self.capture(where)
            else:
                remaining.append(prop)
        return remaining

    def results(
        self, complete: bool, path_to: Callable[[Any], Sequence[Hashable]], system: System
    ) -> tuple[PropertyResult, ...]:
        """Verdicts for every property, with a trace for each decided one."""
        results = []
        for prop in self.properties:
            trace = None
            if prop.name in self.decided:
                path = path_to(self.decided[prop.name])
                trace = build_trace(system, prop.name, prop.kind.value, path)
                status = Status.REACHED if prop.kind is PropertyKind.SOMETIMES else Status.VIOLATED
            elif not complete:
                status = Status.UNKNOWN
            else:
                status = Status.UNREACHED if prop.kind is PropertyKind.SOMETIMES else Status.HOLDS
            results.append(PropertyResult(prop.name, prop.kind, status, trace, prop.description))
        return tuple(results)


def is_terminal(state: Hashable, normal: Sequence[Hashable]) -> bool:
    """No normal step changes the state: only faults (or nothing) remain."""
    return all(nxt == state for nxt in normal)


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: states are acyclic, and its scans of
    millions of live tuples dominate large searches."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def make_result(
    engine: str,
    system: System,
    tracker: PropertyTracker,
    stop_reason: str,
    path_to: Callable[[Any], Sequence[Hashable]],
    *,
    states: int,
    transitions: int,
    max_depth: int,
    clock: Clock,
) -> Result:
    complete = stop_reason == "explored"
    seconds = clock.elapsed()
    properties = tracker.results(complete, path_to, system)
    stats = Stats(states, transitions, max_depth, seconds, peak_memory_mb())
    return Result(engine, complete, stop_reason, properties, stats, system.settings())
