"""Random runs, far deeper than an exhaustive search can go, shrunk when one breaks a
contract.

Each run starts in an initial state and takes one enabled action after another,
chosen at random, until it breaks a contract, nothing is left to do, or it has
taken `depth` steps. Swarm testing: each run first draws which fault kinds it
may use, so runs with few kinds of fault go deep into what those few do.

The choices are drawn by hypothesis, so a run that breaks a contract is shrunk
to a short one (shorter runs, earlier actions and fewer fault kinds first).
Without a seed, the choices of the shortest are saved in hypothesis's example
database when one is given, and the next simulation of the same system
replays them first. With a seed, the same seed draws the same runs, and (as
in hypothesis) the database is neither read nor written.

>>> from kmodel.examples.lossy_link import lossy_link
>>> found = simulate(lossy_link(records=2, max_retries=0, losses=1), runs=50, depth=30, seed=1)
>>> found.trace.property, len(found.trace) <= 6
('no-loss', True)
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import NoSuchExample, Unsatisfiable

from kmodel.core.coverage import Coverage, CoverageRecorder
from kmodel.core.system import Property, PropertyKind, System
from kmodel.core.trace import Trace, build_trace


@dataclass(frozen=True, slots=True)
class Run:
    """One random run: the states it went through, and the contract its last breaks."""

    path: tuple[Hashable, ...]
    broken: Property | None
    faults_on: frozenset[str]  # the fault kinds the run was allowed to use


@dataclass(frozen=True, slots=True)
class SimulationProgress:
    """A snapshot of a running simulation, for progress displays."""

    runs: int  # runs done so far (shrinking replays included once one broke a contract)
    total: int  # runs asked for
    steps: int
    seconds: float
    shortest: int | None  # steps of the shortest breaking run so far, once one was found

    @property
    def seconds_left(self) -> float | None:
        """A guess at the time left to draw every run (None once shrinking began)."""
        if self.shortest is not None or not self.runs:
            return None
        return self.seconds / self.runs * max(self.total - self.runs, 0)


@dataclass(frozen=True, slots=True)
class Simulation:
    """What a simulation found: the shortest breaking run as a trace (None: every run
    kept every contract), how much it ran, and what it covered."""

    runs: int  # runs drawn before the first that broke a contract (or all of them)
    steps: int  # steps those runs took
    seconds: float
    seed: int | None  # None: hypothesis chose, and the example database replays
    depth: int
    faults: tuple[str, ...]  # the fault kinds runs drew from
    trace: Trace | None
    description: str  # of the contract the trace breaks ("" without a trace)
    coverage: Coverage


def simulate(
    system: System,
    runs: int,
    depth: int,
    *,
    seed: int | None = None,
    database: Path | None = None,
    key: str = "",
    contracts: Collection[str] | None = None,
    progress: Callable[[SimulationProgress], None] | None = None,
) -> Simulation:
    """Draw up to `runs` random runs of at most `depth` steps each; shrink the first that
    breaks a contract (of `contracts`, default every `always` and `at_end` one).
    `database`: the folder of hypothesis's example database, `key` naming this system
    in it; used only without a `seed`, which otherwise decides the runs."""
    watched = [
        p
        for p in system.properties()
        if p.kind is not PropertyKind.SOMETIMES and (contracts is None or p.name in contracts)
    ]
    initial = tuple(system.initial_states())
    faults = tuple(sorted(system.faults_spent(initial[0])))
    coverage = Coverage()
    walker = _Walker(system, watched, depth, CoverageRecorder(system, coverage))
    tally = _Tally(runs, progress)

    def breaks(run: Run) -> bool:
        tally.ran(run)
        if run.broken is not None:
            walker.recorder = None  # what shrinking replays is not coverage
        return run.broken is not None

    options = settings(
        max_examples=runs,
        database=None if database is None else DirectoryBasedExampleDatabase(str(database)),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    strategy = _runs(walker, initial, faults)
    digest = hashlib.sha256(key.encode()).digest()
    try:
        found = find(
            strategy,
            breaks,
            settings=options,
            random=None if seed is None else random.Random(seed),
            database_key=digest,
        )
    except (NoSuchExample, Unsatisfiable):
        found = None
    trace, description = None, ""
    if found is not None:
        prop = found.broken
        assert prop is not None
        trace = build_trace(system.unreduced(), prop.name, prop.kind.value, found.path)
        description = prop.description
    return Simulation(
        tally.generated,
        tally.generated_steps,
        tally.clock(),
        seed,
        depth,
        faults,
        trace,
        description,
        coverage,
    )


class _Walker:
    """Takes one run's random choices through the system, judging contracts on the way."""

    def __init__(
        self, system: System, watched: Sequence[Property], depth: int, recorder: CoverageRecorder
    ) -> None:
        self.system = system
        self.always = [p for p in watched if p.kind is PropertyKind.ALWAYS]
        self.ends = [p for p in watched if p.kind is PropertyKind.AT_END]
        self.depth = depth
        self.recorder: CoverageRecorder | None = recorder  # None once shrinking began

    def walk(self, state: Hashable, on: frozenset[str], choose: Callable[[int], int]) -> Run:
        system, recorder = self.system, self.recorder
        path = [state]
        broken = self._broken(state, self.always)
        while broken is None and len(path) <= self.depth:
            moves = system.transitions(state)
            if recorder is not None:
                recorder.visited(state, [action for action, _, _ in moves])
            normal = [after for _, key, after in moves if key is None]
            if self.ends and system.is_terminal(state, normal):
                broken = self._broken(state, self.ends)
                if broken is not None:
                    break
            allowed = [(action, after) for action, key, after in moves if key is None or key in on]
            if not allowed:
                break
            action, state = allowed[choose(len(allowed))]
            if recorder is not None:
                recorder.fired(path[-1], action)
            path.append(state)
            broken = self._broken(state, self.always)
        return Run(tuple(path), broken, on)

    @staticmethod
    def _broken(state: Hashable, properties: Sequence[Property]) -> Property | None:
        return next((p for p in properties if not p.condition(state)), None)


def _runs(walker: _Walker, initial: tuple[Hashable, ...], faults: tuple[str, ...]):
    """The strategy drawing one run: its fault kinds, its initial state, each choice."""

    @st.composite
    def run(draw) -> Run:
        on = draw(st.frozensets(st.sampled_from(faults))) if faults else frozenset()
        start = initial[draw(st.integers(0, len(initial) - 1))] if len(initial) > 1 else initial[0]
        return walker.walk(start, on, lambda count: draw(st.integers(0, count - 1)))

    return run()


class _Tally:
    """Counts runs and steps until the first run breaks a contract, and reports progress."""

    def __init__(self, total: int, progress: Callable[[SimulationProgress], None] | None) -> None:
        self.total = total
        self.progress = progress
        self.started = time.perf_counter()
        self.runs = self.steps = 0
        self.generated = self.generated_steps = 0
        self.shortest: int | None = None

    def clock(self) -> float:
        return time.perf_counter() - self.started

    def ran(self, run: Run) -> None:
        steps = len(run.path) - 1
        self.runs += 1
        self.steps += steps
        if self.shortest is None:
            self.generated, self.generated_steps = self.runs, self.steps
        if run.broken is not None:
            self.shortest = steps if self.shortest is None else min(self.shortest, steps)
        if self.progress is not None:
            self.progress(
                SimulationProgress(self.runs, self.total, self.steps, self.clock(), self.shortest)
            )
