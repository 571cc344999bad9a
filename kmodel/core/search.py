"""Parts every engine shares: limits, progress reports, property bookkeeping, results."""

from __future__ import annotations

import gc
import operator
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

    An engine that wants the trace with the fewest faults among several equally
    short ones (breadth-first search) passes `defer=True` and the fault count of
    each state it visits: a state reached with faults only becomes a candidate,
    and `settle` later decides each property at its candidate with the fewest
    faults. A state reached without a fault decides at once, as nothing beats it.
    Depth-first search decides at the first state, its fault counts unused.
    """

    def __init__(
        self,
        properties: Sequence[Property],
        capture: Callable[[Any], Any],
        *,
        defer: bool = False,
    ) -> None:
        self.properties = tuple(properties)
        names = [p.name for p in self.properties]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"property names must be unique; repeated: {', '.join(duplicated)}")
        self.capture = capture
        self.defer = defer
        self.judge = {p.name: memoized(p) for p in self.properties}
        self.always = [p for p in self.properties if p.kind is PropertyKind.ALWAYS]
        self.sometimes = [p for p in self.properties if p.kind is PropertyKind.SOMETIMES]
        self.at_end = [p for p in self.properties if p.kind is PropertyKind.AT_END]
        self.decided: dict[str, Any] = {}
        # Deferred decisions, per property name. A state's fault count may still fall after
        # `visit` (a cheaper path of the same length), so `settle` asks for it anew: every
        # deciding state is kept. A terminal state's count is final: the best one is kept.
        self.candidates: dict[str, list[Any]] = {}
        self.end_candidates: dict[str, tuple[int, Any]] = {}

    @property
    def checks_states(self) -> bool:
        return bool(self.always or self.sometimes)

    @property
    def checks_ends(self) -> bool:
        return bool(self.at_end)

    @property
    def all_decided(self) -> bool:
        return not (self.always or self.sometimes or self.at_end)

    def visit(self, state: Hashable, where: Any, faults: int = 0) -> None:
        judge = self.judge
        for prop in self.always:
            if not judge[prop.name](state):
                self.always = self._decide(
                    self.always, lambda p: not judge[p.name](state), where, faults
                )
                break
        for prop in self.sometimes:
            if judge[prop.name](state):
                self.sometimes = self._decide(
                    self.sometimes, lambda p: judge[p.name](state), where, faults
                )
                break

    def visit_terminal(self, state: Hashable, where: Any, faults: int = 0) -> None:
        judge = self.judge
        for prop in self.at_end:
            if not judge[prop.name](state):
                self.at_end = self._decide(
                    self.at_end, lambda p: not judge[p.name](state), where, faults, terminal=True
                )
                break

    def _decide(
        self,
        pending: list[Property],
        decides: Callable,
        where: Any,
        faults: int,
        terminal: bool = False,
    ) -> list[Property]:
        remaining = []
        for prop in pending:
            if not decides(prop):
                remaining.append(prop)
            elif faults and self.defer:
                remaining.append(prop)
                if not terminal:
                    self.candidates.setdefault(prop.name, []).append(self.capture(where))
                else:
                    best = self.end_candidates.get(prop.name)
                    if best is None or faults < best[0]:
                        self.end_candidates[prop.name] = (faults, self.capture(where))
            else:
                self.decided[prop.name] = self.capture(where)
                self.candidates.pop(prop.name, None)
                self.end_candidates.pop(prop.name, None)
        return remaining

    def settle(self, faults_of: Callable[[Any], int]) -> None:
        """Decide every property that has candidates at the one with the fewest faults,
        the first met among equals; `faults_of` gives the current fault count of a
        candidate met by `visit`."""
        if not (self.candidates or self.end_candidates):
            return
        for name, found in self.candidates.items():
            self.decided[name] = min(found, key=faults_of)
        for name, (_, where) in self.end_candidates.items():
            self.decided[name] = where
        settled = self.candidates.keys() | self.end_candidates.keys()
        self.always = [p for p in self.always if p.name not in settled]
        self.sometimes = [p for p in self.sometimes if p.name not in settled]
        self.at_end = [p for p in self.at_end if p.name not in settled]
        self.candidates, self.end_candidates = {}, {}

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


def memoized(prop: Property) -> Callable[[Hashable], bool]:
    """The property's condition, judged once per distinct value of the parts it reads."""
    condition = prop.condition
    if prop.reads is None:
        return condition
    key_of = operator.itemgetter(*prop.reads)
    memo: dict[Hashable, bool] = {}

    def judge(state: Hashable) -> bool:
        key = key_of(state)
        verdict = memo.get(key)
        if verdict is None:
            verdict = memo[key] = bool(condition(state))
        return verdict

    return judge


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
