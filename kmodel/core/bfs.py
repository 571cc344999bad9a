"""Breadth-first search: every violation comes back as a shortest trace.

One algorithm, a partitioned, level-synchronous breadth-first search
(`kmodel.core.partition`), run by this coordinator over one partition in this
process or, with `workers` > 1, over one partition per worker process
(`kmodel.core.parallel`). A property is decided once the level where it first
fails (or is reached) is complete, at the state of that level reached with the
fewest faults, the first in breadth-first order among equals; so every worker
count gives the same verdicts, state counts and traces.

The visited set keeps whole states, and switches to 64-bit fingerprints
between two levels once it holds `fingerprint_after` states (or from the
start with `fingerprints=True`; parallel workers always use them): about half
the memory, at a collision risk of at most n²/2⁶⁵ for n states, which the
result states.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import replace
from typing import Any

from kmodel.core.coverage import Coverage, covering, stop_covering
from kmodel.core.partition import Partition, Stop
from kmodel.core.reduction import Reduced, reduced
from kmodel.core.result import Result, Stats
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
    memory_mb,
    peak_memory_mb,
    verdicts,
)
from kmodel.core.system import Property, System, searched

FINGERPRINT_AFTER = 8_000_000  # states kept whole before the visited set switches to hashes


def check_bfs(
    system: System,
    limits: Limits = NO_LIMITS,
    progress: ProgressCallback | None = None,
    *,
    fingerprints: bool | None = False,
    fingerprint_after: int = FINGERPRINT_AFTER,
    stop_when_decided: bool = False,
    workers: int = 1,
    reduce: Sequence[str] = (),
    coverage: Coverage | None = None,
    executor: Callable[[System, int, Limits], Cluster] | None = None,
) -> Result:
    """Explore `system` level by level and judge every property.

    `fingerprints`: True from the start, False never, None past `fingerprint_after`
    states. `workers` > 1 runs the same search in that many processes. `reduce`
    names the reductions to apply where the model offers them (`kmodel.core.reduction`).
    `coverage`, when given, is filled in as the search goes (in one process only).
    `executor` runs the `workers` partitions elsewhere (`kmodel.core.distributed`), with
    fingerprints and without partial-order reduction.
    """
    if coverage is not None and workers > 1:
        raise ValueError("coverage is collected by a search in one process")
    plain = system
    system, applied = reduced(system, reduce, "bfs" if executor is None else "distributed")
    system = covering(system, coverage)
    if executor is not None:
        cluster: Cluster = executor(system, workers, limits)
        fingerprints = True
    elif workers > 1:
        from kmodel.core.parallel import ProcessCluster

        cluster = ProcessCluster(system, workers, limits)
        fingerprints = True
    else:
        cluster = LocalCluster(system, fingerprints is True)
    search = Search(system, cluster, limits, progress, stop_when_decided)
    search.reductions = applied
    if fingerprints is None:
        search.fingerprint_after = fingerprint_after
    try:
        result = search.run()
    finally:
        cluster.close()
        stop_covering(system)
    if "por" in applied:
        result = _shortest_traces(result, plain, search, workers, reduce, limits)
    return result


def _shortest_traces(
    result: Result,
    plain: System,
    search: Search,
    workers: int,
    reduce: Sequence[str],
    limits: Limits,
) -> Result:
    """Partial-order reduction may reach a deciding state by a longer path than the
    shortest. Where it left steps out before the level a property was decided at, look
    again without it, to that depth, for the shortest trace with the fewest faults,
    within what is left of the limits; a trace not made shortest in time is said so."""
    first = search.reduced_at
    unsure = {
        p.name: len(p.trace)
        for p in result.properties
        if p.trace is not None and first < len(p.trace)
    }
    if not unsure:
        return result
    depth = max(unsure.values())
    left = None
    if limits.max_seconds is not None:
        left = max(limits.max_seconds - result.stats.seconds, 1e-3)
    again = check_bfs(
        OnlyProperties(plain, unsure),
        Limits(limits.max_states, depth, left, limits.max_memory_mb),
        stop_when_decided=True,
        workers=workers,
        reduce=[r for r in reduce if r != "por"],
    )
    shorter = {p.name: p for p in again.properties if p.trace is not None}
    properties = tuple(shorter.get(p.name, p) if p.name in unsure else p for p in result.properties)
    notes = []
    if shorter:
        notes.append(
            f"traces of {', '.join(sorted(shorter))} made shortest by a search without "
            f"partial-order reduction to depth {depth} ({again.stats.states:,} states)"
        )
    if len(shorter) < len(unsure):
        late = ", ".join(sorted(set(unsure) - set(shorter)))
        notes.append(
            f"traces of {late} may not be the shortest: the search for shorter ones "
            f"stopped ({again.stop_reason}); --reduce symmetry finds the shortest directly"
        )
    return replace(result, properties=properties, notes=(*result.notes, *notes))


class OnlyProperties(Reduced):
    """A model judged by some of its properties only."""

    def __init__(self, system: System, names: Collection[str]) -> None:
        super().__init__(system)
        self.names = names

    def properties(self) -> Sequence[Property]:
        return [p for p in self.system.properties() if p.name in self.names]


class Cluster:
    """The partitions of one search, wherever they run; the coordinator's view."""

    count: int
    fingerprints: bool  # whether the visited sets hold fingerprints now

    def owner(self, state: Hashable) -> int:
        """The partition that owns `state`."""
        return 0

    def seed(self, states: Sequence[tuple[int, Hashable, int]]) -> None:
        """Give each partition its initial states: (partition, state, rank)."""
        raise NotImplementedError

    def expand(self, tick) -> None:
        """Expand every partition's frontier and hand successors to their owners.
        Raises `Stop` when a limit is hit. `tick(states, transitions)`, called every
        so often with the totals so far, raises `Stop` or returns the state count
        at which to call it next."""
        raise NotImplementedError

    def end_level(self) -> list[dict[str, tuple[int, int, Any]]]:
        """Close the level in every partition; what each decided, by property."""
        raise NotImplementedError

    def forget(self, names: Sequence[str]) -> None:
        raise NotImplementedError

    def totals(self) -> tuple[int, int, int, float]:
        """States, transitions, frontier size, resident memory (MB) of all partitions."""
        raise NotImplementedError

    def running_totals(self) -> tuple[int, int, int, float]:
        """`totals` as last heard, safe to ask in the middle of a level."""
        return self.totals()

    def switch_to_fingerprints(self) -> None:
        raise NotImplementedError

    def fault_profiles(self) -> list[tuple[int, dict[str, int]]]:
        """Each partition's `Partition.fault_profile` of its frontier."""
        raise NotImplementedError

    def first_reduced_level(self) -> float:
        """The shallowest level where partial-order reduction left a step out (inf: none)."""
        raise NotImplementedError

    def parent(self, partition: int, key: Hashable) -> tuple[int, Hashable] | None:
        raise NotImplementedError

    def path_states(self, refs: Sequence[tuple[int, Hashable]]) -> list[Hashable]:
        """The states along a path of (partition, key), as states of this process."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the partitions' resources (worker processes)."""

    def visited_bytes(self) -> int:
        """What the visited sets hold, in bytes, where the partitions measure it (else 0)."""
        return 0

    def notes(self) -> list[str]:
        """What a result should say about where the search ran."""
        return []


class LocalCluster(Cluster):
    """A single partition in this process: plain breadth-first search."""

    count = 1

    def __init__(self, system: System, fingerprints: bool) -> None:
        self.system = system
        self.partition = Partition(system, fingerprints=fingerprints)

    def seed(self, states: Sequence[tuple[int, Hashable, int]]) -> None:
        self.partition.seed([(state, rank) for _, state, rank in states])

    def expand(self, tick) -> None:
        partition = self.partition
        partition.tick = lambda states: tick(states, partition.transitions)
        partition.threshold = partition.tick(len(partition.parents))
        partition.expand()

    def end_level(self) -> list[dict[str, tuple[int, int, Any]]]:
        return [self.partition.end_level()]

    def forget(self, names: Sequence[str]) -> None:
        self.partition.tracker.forget(names)

    def totals(self) -> tuple[int, int, int, float]:
        p = self.partition
        return len(p.parents), p.transitions, len(p.frontier), memory_mb()

    @property
    def fingerprints(self) -> bool:
        return self.partition.fingerprints

    def switch_to_fingerprints(self) -> None:
        self.partition.switch_to_fingerprints()

    def fault_profiles(self) -> list[tuple[int, dict[str, int]]]:
        return [self.partition.fault_profile()]

    def first_reduced_level(self) -> float:
        return self.partition.reduced_at

    def parent(self, partition: int, key: Hashable) -> tuple[int, Hashable] | None:
        ref = self.partition.parent(key)
        return None if ref is None else (0, ref)

    def path_states(self, refs: Sequence[tuple[int, Hashable]]) -> list[Hashable]:
        partition = self.partition
        if not partition.fingerprints:
            return [key for _, key in refs]  # the keys are the states
        states = [partition.initial_with_key(refs[0][1])]
        for _, key in refs[1:]:
            states.append(partition.successor_with_key(states[-1], key))
        return states


class Search:
    """The coordinator: runs the levels, watches the limits, merges decisions."""

    def __init__(
        self,
        system: System,
        cluster: Cluster,
        limits: Limits,
        progress: ProgressCallback | None,
        stop_when_decided: bool,
    ) -> None:
        self.system = system
        self.cluster = cluster
        self.limits = limits
        self.progress = progress
        self.stop_when_decided = stop_when_decided
        self.fingerprint_after: int | None = None
        self.reductions: tuple[str, ...] = ()
        self.reduced_at = float("inf")
        self.clock = Clock(limits.max_seconds)
        self.properties = tuple(searched(system.properties()))
        # Validates the property names once, as every engine does.
        PropertyTracker(self.properties, capture=lambda key: key)
        self.decided: dict[str, tuple[int, Hashable]] = {}  # name -> (partition, key)
        self.levels: list[int] = []
        self.next_report = PROGRESS_EVERY
        self.start_memory = memory_mb()
        self.peak_memory = self.start_memory

    def run(self) -> Result:
        cluster, limits = self.cluster, self.limits
        initial = list(dict.fromkeys(self.system.initial_states()))
        if limits.max_states is not None:
            initial = initial[: limits.max_states]
        cluster.seed([(cluster.owner(state), state, rank) for rank, state in enumerate(initial)])
        stop_reason = "explored"
        depth = 0
        self._merge(cluster.end_level())
        self.levels.append(len(initial))
        if limits.max_states is not None and len(initial) >= limits.max_states:
            stop_reason = "max_states"
        try:
            with collector_paused():
                while stop_reason == "explored":
                    states, _, frontier, _ = cluster.totals()
                    if not frontier:
                        break
                    if self.stop_when_decided and len(self.decided) == len(self.properties):
                        stop_reason = "decided"
                        break
                    if limits.max_depth is not None and depth >= limits.max_depth:
                        stop_reason = "max_depth"
                        break
                    if self.fingerprint_after is not None and states >= self.fingerprint_after:
                        cluster.switch_to_fingerprints()
                        self.fingerprint_after = None
                    try:
                        cluster.expand(self._tick)
                    except Stop as stop:
                        stop_reason = stop.reason
                    before = states
                    self._merge(cluster.end_level())
                    states = cluster.totals()[0]
                    if states > before:
                        depth += 1
                        self.levels.append(states - before)
        except KeyboardInterrupt:
            stop_reason = "interrupted"
            self._merge(cluster.end_level())  # what the interrupted level decided counts
        self.reduced_at = self.cluster.first_reduced_level()
        return self._result(stop_reason, depth)

    def _tick(self, states: int, transitions: int) -> int:
        """Called every so often inside a level: limits, memory and progress. Returns
        the state count at which to be called next."""
        limits = self.limits
        if self.clock.expired():
            raise Stop("max_seconds")
        threshold = states + CLOCK_EVERY
        if limits.max_states is not None:
            if states >= limits.max_states:
                raise Stop("max_states")
            threshold = min(threshold, limits.max_states)
        if states < self.next_report:
            return threshold
        self.next_report = states + PROGRESS_EVERY
        _, _, frontier, memory = self.cluster.running_totals()
        self.peak_memory = max(self.peak_memory, memory)
        if limits.max_memory_mb is not None and memory - self.start_memory >= limits.max_memory_mb:
            raise Stop("max_memory")
        if self.progress is not None:
            snapshot = Progress(
                states,
                transitions,
                len(self.levels),
                frontier,
                self.clock.elapsed(),
                tuple(self.levels),
                memory,
            )
            self.progress(snapshot)
        return threshold

    def _merge(self, found: list[dict[str, tuple[int, int, Any]]]) -> None:
        """Decide each property at the best state any partition found for it."""
        best: dict[str, tuple[int, int, int, Hashable]] = {}
        for partition, decisions in enumerate(found):
            for name, (faults, rank, key) in decisions.items():
                if name in self.decided:
                    continue
                candidate = (faults, rank, partition, key)
                if name not in best or candidate[:3] < best[name][:3]:
                    best[name] = candidate
        for name, (_, _, partition, key) in best.items():
            self.decided[name] = (partition, key)
        if best and self.cluster.count > 1:
            self.cluster.forget(list(best))

    def _path(self, where: tuple[int, Hashable]) -> list[Hashable]:
        refs = [where]
        while (ref := self.cluster.parent(*refs[-1])) is not None:
            refs.append(ref)
        refs.reverse()
        return self.cluster.path_states(refs)

    def _result(self, stop_reason: str, depth: int) -> Result:
        states, transitions, _, memory = self.cluster.totals()
        complete = stop_reason == "explored"
        results = verdicts(self.properties, self.decided, complete, self._path, self.system)
        self.peak_memory = max(self.peak_memory, memory)
        if self.cluster.count == 1:
            self.peak_memory = max(self.peak_memory, peak_memory_mb())
        stats = Stats(
            states,
            transitions,
            depth,
            self.clock.elapsed(),
            self.peak_memory,
            search_memory_mb=max(self.peak_memory - self.start_memory, 0.0),
            workers=self.cluster.count,
            fingerprints=self.cluster.fingerprints,
            levels=tuple(self.levels),
            visited_bytes=self.cluster.visited_bytes(),
        )
        growth = {}
        if stop_reason not in ("explored", "decided"):
            growth = self._fault_shares()
        return Result(
            "bfs",
            complete,
            stop_reason,
            results,
            stats,
            self.system.settings(),
            frontier_faults=growth,
            reductions=self.reductions,
            notes=tuple(self.cluster.notes()),
        )

    def _fault_shares(self) -> dict[str, float]:
        """The share of the frontier (sampled) that spent each fault budget: the faults
        behind most of the states still to explore."""
        looked, spent = 0, {}
        for count, keys in self.cluster.fault_profiles():
            looked += count
            for key, used in keys.items():
                spent[key] = spent.get(key, 0) + used
        return {key: used / looked for key, used in sorted(spent.items())} if looked else {}
