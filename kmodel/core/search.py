"""Parts every engine shares: limits, progress reports, property bookkeeping, results."""

from __future__ import annotations

import gc
import operator
import resource
import time
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kmodel.core.result import PropertyResult, Result, Stats, Status
from kmodel.core.system import Property, PropertyKind, System, searched
from kmodel.core.trace import build_trace

PROGRESS_EVERY = 1 << 14  # states between two progress reports and looks at memory
CLOCK_EVERY = 1 << 10  # states between two looks at the clock: a time limit stops promptly


@dataclass(frozen=True, slots=True)
class Limits:
    """Where a search stops early; None means no limit."""

    max_states: int | None = None
    max_depth: int | None = None
    max_seconds: float | None = None
    # The memory the search holds, all workers together: beyond what the process held
    # when it began, so a search run from a large process is not stopped for it.
    max_memory_mb: float | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a running search, handed to progress callbacks."""

    states: int
    transitions: int
    depth: int
    queue: int
    seconds: float
    levels: tuple[int, ...] = ()  # new states per completed breadth-first level
    memory_mb: float = 0.0
    stage: str = ""  # what reads the states, when not the search ("liveness")

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0

    @property
    def growth(self) -> float | None:
        """How many times larger each level is than the one before, lately (None: too
        early to tell). Above 1 the search is still widening; below, it is closing in."""
        sizes = [size for size in self.levels[-4:] if size]
        if len(sizes) < 3:
            return None
        return (sizes[-1] / sizes[0]) ** (1 / (len(sizes) - 1))

    @property
    def states_left(self) -> int | None:
        """A guess at the states still to find, once levels shrink geometrically."""
        growth = self.growth
        if growth is None or growth >= 0.95:
            return None
        return int(self.queue * growth / (1 - growth))


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
    faults, the first met among equals. A state reached without a fault decides
    at once, as nothing beats it. A partition of a parallel search meets states
    out of order (`ordered=False`): every deciding state is then a candidate,
    and among equals the one of lowest rank (the breadth-first order) wins.
    Depth-first search decides at the first state, its fault counts unused.

    Pending properties that declare the same `reads` are judged together, once
    per distinct value of the parts they read. Leads-to properties are not judged
    state by state: `kmodel.core.liveness` checks them.
    """

    def __init__(
        self,
        properties: Sequence[Property],
        capture: Callable[[Any], Any],
        *,
        defer: bool = False,
        ordered: bool = True,
    ) -> None:
        self.properties = tuple(searched(properties))
        names = [p.name for p in self.properties]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"property names must be unique; repeated: {', '.join(duplicated)}")
        self.capture = capture
        self.defer = defer
        self.ordered = ordered
        self.pending = {p.name: p for p in self.properties}
        self.decided: dict[str, Any] = {}
        self.fresh: dict[str, Any] = {}  # decided since the last `settle`
        # Deferred decisions, per property name. A state's fault count may still fall after
        # `visit` (a cheaper path of the same length), so `settle` asks for it anew: every
        # deciding state is kept. A terminal state's count is final: the best one is kept.
        self.candidates: dict[str, list[Any]] = {}
        self.end_candidates: dict[str, tuple[int, Any]] = {}
        self._regroup()

    @property
    def checks_states(self) -> bool:
        return bool(self._state_groups)

    @property
    def checks_ends(self) -> bool:
        return bool(self._end_groups)

    @property
    def all_decided(self) -> bool:
        return not self.pending

    def visit(self, state: Hashable, where: Any, faults: int = 0) -> None:
        for found in _judged(self._state_groups, state):
            self._decide(found, where, faults)

    def visit_terminal(self, state: Hashable, where: Any, faults: int = 0, rank: Any = 0) -> None:
        for found in _judged(self._end_groups, state):
            self._decide(found, where, faults, (rank,))

    def _decide(
        self,
        found: tuple[Property, ...],
        where: Any,
        faults: int,
        terminal: tuple[Any, ...] = (),  # (rank,) of a terminal state
    ) -> None:
        settled = False
        for prop in found:
            name = prop.name
            if name not in self.pending:
                continue
            if self.defer and (faults or not self.ordered):
                if not terminal:
                    self.candidates.setdefault(name, []).append(self.capture(where))
                else:
                    best = self.end_candidates.get(name)
                    if best is None or (faults, *terminal) < best[:2]:
                        self.end_candidates[name] = (faults, *terminal, self.capture(where))
            else:
                self.decided[name] = self.fresh[name] = self.capture(where)
                self.candidates.pop(name, None)
                self.end_candidates.pop(name, None)
                del self.pending[name]
                settled = True
        if settled:
            self._regroup()

    def settle(
        self, faults_of: Callable[[Any], int], rank_of: Callable[[Any], Any] | None = None
    ) -> dict[str, tuple[int, Any, Any]]:
        """Decide every property that has candidates at the one with the fewest faults,
        then the lowest rank (by default: the first met); `faults_of` and `rank_of` give
        a candidate's current fault count and rank. Returns what was decided since the
        last settle: name -> (faults, rank, where); a rank is 0 where none is kept."""
        fresh = {name: (0, 0, where) for name, where in self.fresh.items()}
        for name, found in self.candidates.items():
            ranked = [(faults_of(w), 0 if rank_of is None else rank_of(w), w) for w in found]
            fresh[name] = min(ranked, key=lambda candidate: candidate[:2])
        fresh.update(self.end_candidates)
        for name, (_, _, where) in fresh.items():
            self.decided[name] = where
            self.pending.pop(name, None)
        if self.candidates or self.end_candidates:
            self.candidates, self.end_candidates = {}, {}
            self._regroup()
        self.fresh = {}
        return fresh

    def rekey(self, convert: Callable[[Any], Any]) -> None:
        """Convert every remembered place (when a search switches to fingerprints)."""
        self.decided = {name: convert(where) for name, where in self.decided.items()}
        self.fresh = {name: convert(where) for name, where in self.fresh.items()}
        self.candidates = {n: [convert(w) for w in found] for n, found in self.candidates.items()}
        self.end_candidates = {
            name: (faults, rank, convert(where))
            for name, (faults, rank, where) in self.end_candidates.items()
        }

    def forget(self, names: Sequence[str]) -> None:
        """Stop judging properties decided elsewhere (by another partition)."""
        dropped = False
        for name in names:
            if name in self.pending:
                del self.pending[name]
                self.candidates.pop(name, None)
                self.end_candidates.pop(name, None)
                dropped = True
        if dropped:
            self._regroup()

    def _regroup(self) -> None:
        """Group the pending properties by what they read: (key, memo, judge) per group."""
        pending = self.pending.values()
        self._state_groups = _groups([p for p in pending if p.kind is not PropertyKind.AT_END])
        self._end_groups = _groups([p for p in pending if p.kind is PropertyKind.AT_END])

    def results(
        self, complete: bool, path_to: Callable[[Any], Sequence[Hashable]], system: System
    ) -> tuple[PropertyResult, ...]:
        """Verdicts for every property, with a trace for each decided one."""
        return verdicts(self.properties, self.decided, complete, path_to, system)


def verdicts(
    properties: Sequence[Property],
    decided: Mapping[str, Any],
    complete: bool,
    path_to: Callable[[Any], Sequence[Hashable]],
    system: System,
) -> tuple[PropertyResult, ...]:
    """Each property's verdict: decided (violated or reached, with its trace along
    `path_to(decided[name])`), else holds or unreached if the search was `complete`, else
    unknown."""
    results = []
    for prop in properties:
        trace = None
        if prop.name in decided:
            path = system.realize(path_to(decided[prop.name]))
            trace = build_trace(system.unreduced(), prop.name, prop.kind.value, path)
            status = Status.REACHED if prop.kind is PropertyKind.SOMETIMES else Status.VIOLATED
        elif not complete:
            status = Status.UNKNOWN
        else:
            status = Status.UNREACHED if prop.kind is PropertyKind.SOMETIMES else Status.HOLDS
        results.append(PropertyResult(prop.name, prop.kind, status, trace, prop.description))
    return tuple(results)


def _judged(groups: list[tuple[Any, dict, Callable]], state: Hashable) -> Iterator[tuple]:
    """For each group of properties, those `state` decides (where any), memo first."""
    for key_of, memo, deciding in groups:
        if key_of is None:
            found = deciding(state)
        else:
            key = key_of(state)
            found = memo.get(key)
            if found is None:
                found = memo[key] = deciding(state)
        if found:
            yield found


def _groups(properties: list[Property]) -> list[tuple[Any, dict, Callable]]:
    """Per distinct `reads`: a key function (None: reads anything), an empty memo, and a
    function giving the properties of the group a state decides."""
    by_reads: dict[tuple[int, ...] | None, list[Property]] = {}
    for prop in properties:
        by_reads.setdefault(prop.reads, []).append(prop)
    groups = []
    for reads, members in by_reads.items():
        key_of = None if reads is None else operator.itemgetter(*reads)
        groups.append((key_of, {}, _deciding(tuple(members))))
    return groups


def _deciding(members: tuple[Property, ...]) -> Callable[[Hashable], tuple[Property, ...]]:
    """The members a state decides: an invariant it breaks, a witness it reaches."""
    wanted = [(p, p.condition, p.kind is PropertyKind.SOMETIMES) for p in members]

    def deciding(state: Hashable) -> tuple[Property, ...]:
        found: tuple[Property, ...] = ()
        for prop, condition, reached in wanted:
            if bool(condition(state)) is reached:
                found += (prop,)
        return found

    return deciding


def first_states(system: System, limit: int) -> list[Hashable]:
    """About the first `limit` states of a breadth-first search of `system`, in its
    order: a sample every process building the same model meets alike."""
    seen = list(dict.fromkeys(system.initial_states()))
    known = set(seen)
    for state in seen:
        if len(seen) >= limit:
            break
        normal, faulty = system.successors(state)
        for after in normal + faulty:
            if after not in known:
                known.add(after)
                seen.append(after)
    return seen


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def memory_mb() -> float:
    """The resident memory of this process now (its peak where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE / 2**20
    except OSError:
        return peak_memory_mb()


def private_memory_mb() -> float:
    """The memory this process alone holds (its private pages): what a forked worker
    adds, without the pages it still shares with the process it was forked from, which
    its resident size counts again. Its resident size where /proc cannot tell."""
    try:
        with open("/proc/self/smaps_rollup") as rollup:
            private_kb = sum(int(line.split()[1]) for line in rollup if line.startswith("Private_"))
    except (OSError, ValueError, IndexError):
        return memory_mb()
    return private_kb / 1024


PAGE_SIZE = resource.getpagesize()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: states are acyclic, and its scans of
    millions of live tuples dominate large searches. What the search made is moved
    out of the collector's sight before it resumes, or its first pass would scan it all."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
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
    reductions: tuple[str, ...] = (),
) -> Result:
    complete = stop_reason == "explored"
    seconds = clock.elapsed()
    properties = tracker.results(complete, path_to, system)
    stats = Stats(states, transitions, max_depth, seconds, peak_memory_mb())
    return Result(
        engine,
        complete,
        stop_reason,
        properties,
        stats,
        system.settings(),
        reductions=reductions,
    )
