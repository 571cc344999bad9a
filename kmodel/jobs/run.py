"""Run a `Job`: build its model, search, and judge each property against the spec."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kmodel.core.bfs import check_bfs
from kmodel.core.coverage import Coverage
from kmodel.core.dfs import check_dfs
from kmodel.core.liveness import MAX_STATES, check_liveness
from kmodel.core.reduction import CHOICES as REDUCTION_CHOICES
from kmodel.core.result import Result, Status, property_json
from kmodel.core.schema import SpecError, show_value
from kmodel.core.search import Limits, ProgressCallback
from kmodel.core.simulate import Simulation, SimulationProgress, simulate
from kmodel.core.system import PropertyKind, System
from kmodel.core.trace import Trace
from kmodel.core.world import ActorSystem
from kmodel.jobs.exercise import check_goal
from kmodel.jobs.spec import Expectation, Job

NO_FAULT = "no fault explored"  # the note of a run whose fault bounds are all 0


@dataclass(frozen=True, slots=True)
class Verdict:
    """One property's outcome next to what the spec expected of it."""

    name: str
    kind: PropertyKind
    status: Status
    expected: Expectation | None
    trace: Trace | None
    description: str

    @property
    def met(self) -> bool:
        if self.expected is None:
            return self.status is not Status.UNKNOWN
        if self.status is not self.expected.status:
            return False
        return self.expected.steps is None or (
            self.trace is not None and len(self.trace) == self.expected.steps
        )


@dataclass(frozen=True, slots=True)
class JobResult:
    job: Job
    result: Result
    verdicts: tuple[Verdict, ...]

    @property
    def fault_free(self) -> bool:
        """Whether the run explored no fault, so that what holds is vacuous about them."""
        return any(note.startswith(NO_FAULT) for note in self.result.notes)

    @property
    def expectations_met(self) -> bool:
        return all(verdict.met for verdict in self.verdicts)

    def verdict(self, name: str) -> Verdict:
        return next(v for v in self.verdicts if v.name == name)

    def to_json(self) -> dict[str, Any]:
        stats = self.result.stats
        return {
            "spec": str(self.job.path),
            "title": self.job.title,
            "model": self.job.model.name,
            "semantic": self.job.semantic or None,
            "settings": self.job.settings,
            "search": self.job.search,
            "engine": self.result.engine,
            "complete": self.result.complete,
            "stop_reason": self.result.stop_reason,
            "reductions": list(self.result.reductions),
            "notes": list(self.result.notes),
            "stats": stats.to_json(),
            "properties": [
                {
                    **property_json(v),
                    "expected": None if v.expected is None else v.expected.status.value,
                    "expected_steps": None if v.expected is None else v.expected.steps,
                    "met": v.met,
                }
                for v in self.verdicts
            ],
            "expectations_judged": self.job.judged,
            "expectations_met": self.expectations_met,
            "ignored_properties": {name: list(keys) for name, keys in self.job.ignored.items()},
        }


# The verdicts a property of each kind can come to.
OUTCOMES = {
    PropertyKind.ALWAYS: (Status.HOLDS, Status.VIOLATED),
    PropertyKind.AT_END: (Status.HOLDS, Status.VIOLATED),
    PropertyKind.SOMETIMES: (Status.REACHED, Status.UNREACHED),
    PropertyKind.LEADS_TO: (Status.HOLDS, Status.VIOLATED),
}
TRACED = (Status.VIOLATED, Status.REACHED)  # the verdicts that come with a trace


def build_system(job: Job) -> System:
    """The job's model with its settings; checks that every expectation names a property
    and could be met by it, and that an exercise's goal can break (a SpecError otherwise)."""
    system = job.model.build(job.settings)
    kinds = {prop.name: prop.kind for prop in system.properties()}
    for name, expected in job.expect.items():
        where = f"{job.path}: expect.{name}"
        if name not in kinds:
            raise SpecError(
                f"{where} names no property of model {job.model.name!r}; "
                f"its properties are {', '.join(kinds)}."
            )
        possible = OUTCOMES[kinds[name]]
        if expected.status not in possible:
            choices = " or ".join(status.value for status in possible)
            raise SpecError(
                f"{where} is {show_value(expected.status.value)}, which a "
                f"{kinds[name].value} property never is; it ends {choices}."
            )
        if kinds[name] is PropertyKind.LEADS_TO and not job.search["liveness"]:
            raise SpecError(
                f"{where}: {name} is a leads-to contract, checked only with "
                "[search] liveness = true; add it, or remove the expectation."
            )
        if expected.steps is not None and expected.status not in TRACED:
            raise SpecError(
                f"{where}: steps counts the steps of a trace, and a property that is "
                f"{expected.status.value} has none; remove steps."
            )
    if job.exercise is not None:
        check_goal(job.exercise, system.properties(), job.path)
    return system


def within(job: Job, seconds: float) -> Job:
    """`job` with its time limit cut to `seconds` (when it has none, or a longer one)."""
    own = job.search["max_seconds"]
    if own and own <= seconds:
        return job
    return dataclasses.replace(job, search={**job.search, "max_seconds": seconds})


def run_job(
    job: Job,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    coverage: Coverage | None = None,
) -> JobResult:
    """Build the job's model, search it as the spec's [search] says, judge the result.
    `workers` overrides the spec's worker count (a library run gives each spec one);
    `coverage`, when given, is filled in by a search in one process."""
    return judge(job, search_job(job, progress, workers, coverage))


def search_job(
    job: Job,
    progress: ProgressCallback | None = None,
    workers: int | None = None,
    coverage: Coverage | None = None,
) -> Result:
    """The search a job asks for, on its model."""
    system = build_system(job)
    if coverage is not None:
        workers = 1
    searched = _search(job, system, progress, workers, coverage)
    result = with_liveness(job, system, searched, progress)
    return dataclasses.replace(result, notes=(*_fault_free(system), *result.notes))


def with_liveness(
    job: Job, system: System, result: Result, progress: ProgressCallback | None = None
) -> Result:
    """`result` with the verdicts of the model's leads-to properties added in the model's
    order, from the liveness check on the unreduced graph (which the notes say), when the
    spec asks for them (otherwise they have no verdict: none is claimed). The check has
    the job's limits, its time limit less what the search took, and reports to
    `progress` as the search does."""
    wanted = any(p.kind is PropertyKind.LEADS_TO for p in system.properties())
    if not wanted or not job.search["liveness"]:
        return result
    search, seconds = job.search, job.search["max_seconds"]
    limits = Limits(
        max_states=search["max_states"] or MAX_STATES,
        max_seconds=max(seconds - result.stats.seconds, 0.0) if seconds else None,
        max_memory_mb=search["max_memory"] or None,
    )
    liveness = check_liveness(system, limits=limits, progress=progress)
    found = {p.name: p for p in (*result.properties, *liveness.properties)}
    ordered = tuple(found[p.name] for p in system.properties() if p.name in found)
    return dataclasses.replace(result, properties=ordered, notes=(*result.notes, liveness.note))


def _fault_free(system: System) -> tuple[str, ...]:
    """The note a model of faults gets when every fault bound is 0: whatever holds, holds
    for runs without faults only."""
    if not isinstance(system, ActorSystem) or any(system.budget.values()):
        return ()
    return (
        f"{NO_FAULT}: every fault bound is 0, so a contract that holds here holds only for "
        "runs without a crash, timeout, lost message or failover; raise a fault count in "
        "[bounds] to explore them",
    )


def _search(
    job: Job,
    system: System,
    progress: ProgressCallback | None,
    workers: int | None,
    coverage: Coverage | None,
) -> Result:
    search = job.search
    limits = Limits(
        max_states=search["max_states"] or None,
        max_depth=search["max_depth"] or None,
        max_seconds=search["max_seconds"] or None,
        max_memory_mb=search["max_memory"] or None,
    )
    stop_when_decided = search["stop_when_decided"]
    reduce = REDUCTION_CHOICES[search["reduce"]]
    if search["engine"] == "dfs":
        return check_dfs(
            system,
            limits,
            progress,
            fingerprints=search["fingerprints"],
            stop_when_decided=stop_when_decided,
            reduce=reduce,
            coverage=coverage,
        )
    after = search["fingerprint_after"]
    workers = workers or search["workers"] or os.cpu_count() or 1
    session, executor = contextlib.nullcontext(), None
    if search["engine"] == "distributed":
        from kmodel.core.distributed import RayCluster, ray_session

        session, executor = ray_session(search["address"] or None, workers), RayCluster
    with session:
        return check_bfs(
            system,
            limits,
            progress,
            # From the start, past `after` states, or never (after = 0).
            fingerprints=True if search["fingerprints"] else (None if after else False),
            fingerprint_after=after,
            stop_when_decided=stop_when_decided,
            workers=workers,
            reduce=reduce,
            coverage=coverage,
            executor=executor,
        )


def judge(job: Job, result: Result) -> JobResult:
    """Each property's outcome next to what the spec expected of it."""
    verdicts = tuple(
        Verdict(
            prop.name,
            prop.kind,
            prop.status,
            job.expect.get(prop.name),
            prop.trace,
            prop.description,
        )
        for prop in result.properties
    )
    return JobResult(job, result, verdicts)


def simulate_job(
    job: Job,
    runs: int,
    depth: int,
    *,
    seed: int | None = None,
    database: Path | None = None,
    contracts: Collection[str] | None = None,
    progress: Callable[[SimulationProgress], None] | None = None,
) -> Simulation:
    """Random runs of the job's model (`kmodel.core.simulate`), saved in `database` under
    a key naming the spec, its settings, the depth and the contracts looked at."""
    system = build_system(job)
    key = json.dumps(
        {
            "spec": str(job.path),
            "settings": job.settings,
            "depth": depth,
            "contracts": None if contracts is None else sorted(contracts),
        },
        sort_keys=True,
        default=str,
    )
    return simulate(
        system,
        runs,
        depth,
        seed=seed,
        database=database,
        key=key,
        contracts=contracts,
        progress=progress,
    )
