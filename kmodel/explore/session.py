"""One spec explored by one person: its model, its runs as paths, and its answers.

A session keeps one system instance for its lifetime (worlds are interned integers
local to it) and a lock, since the model's caches are not safe to fill from two
threads at once. Everything a page shows is asked of it by path
(`kmodel.explore.paths`), so any page can be reproduced from its URL.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from kmodel.core.system import PropertyKind, System
from kmodel.core.trace import PATH, Trace, broken_at, build_trace, lasso_breaks, replay
from kmodel.explore.paths import Path, PathError, follow, walk
from kmodel.jobs.run import JobResult, build_system, run_job, within
from kmodel.jobs.spec import Job

SEARCH_SECONDS = 120.0  # the longest the spec's own search may run for a jump or a hint


class Lasso(NamedTuple):
    """A run's loop: the leads-to contract it breaks and the step its loop starts after."""

    contract: str
    start: int


@dataclass(frozen=True, slots=True)
class Choice:
    """One action enabled in a world, as a button shows it."""

    index: int  # its position in `System.transitions`: the number a path records
    label: str
    actor: str | None
    sender: str | None
    receiver: str | None
    fault: str | None  # the fault budget it spends, None for a normal step
    kind: str

    @property
    def who(self) -> str:
        return who(self.actor, self.sender, self.receiver)


def who(actor: str | None, sender: str | None, receiver: str | None) -> str:
    """Who takes part in a step: ``producer → broker0``, or the one actor."""
    return f"{sender} → {receiver}" if sender and receiver else actor or ""


class Session:
    """A spec's model, explored run by run."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.system: System = build_system(job)
        self.lock = threading.Lock()  # held around every use of `system`
        self._outcome: JobResult | None = None

    def choices(self, world: Hashable) -> list[Choice]:
        """Every action enabled in `world`, normal steps and faults, in path order."""
        found = []
        for index, (action, _, after) in enumerate(self.system.transitions(world)):
            info = self.system.describe(world, action, after)
            found.append(
                Choice(
                    index,
                    info.label,
                    info.actor,
                    info.sender,
                    info.receiver,
                    info.fault,
                    info.kind,
                )
            )
        return found

    def worlds(self, path: Path) -> list[Hashable]:
        return walk(self.system, path)

    def broken(self, world: Hashable) -> list[str]:
        """The contracts `world` breaks, in the model's order."""
        return [p.name for p in self.system.properties() if broken_at(self.system, p, world)]

    def faults_left(self, world: Hashable) -> dict[str, int]:
        """Per fault budget of the model, how many faults of it a run from here may add."""
        spent = self.system.faults_spent(world)
        budget = getattr(self.system, "budget", {})
        return {key: limit - spent.get(key, 0) for key, limit in budget.items()}

    def trace(self, worlds: Sequence[Hashable], lasso: Lasso | None = None) -> Trace:
        """The run through `worlds` as a trace: the lasso `lasso` says it is, named after
        its leads-to contract with its loop (a PathError when the run is no such lasso);
        else named after the first contract its last world breaks (the renderers mark
        that step), else a plain path, which decides nothing and is drawn without a
        verdict."""
        system = self.system
        if lasso is not None:
            return self._lasso(worlds, lasso)
        broken = self.broken(worlds[-1])
        if broken:
            prop = next(p for p in system.properties() if p.name == broken[0])
            return build_trace(system, prop.name, prop.kind.value, worlds)
        return build_trace(system, "", PATH, worlds)

    def _lasso(self, worlds: Sequence[Hashable], lasso: Lasso) -> Trace:
        """The run through `worlds` as the lasso that breaks `lasso.contract`: its loop,
        from step `lasso.start` to the end, comes back where it starts and keeps the
        promise due (or, with no steps, rests with it due)."""
        contract, start = lasso
        prop = next((p for p in self.system.properties() if p.name == contract), None)
        if prop is None or prop.kind is not PropertyKind.LEADS_TO:
            raise PathError(f"{contract!r} is no leads-to contract, so no run loops against it.")
        if start >= len(worlds) or worlds[start] != worlds[-1]:
            raise PathError(f"the run does not come back after step {start} to where it was.")
        trace = build_trace(self.system, contract, prop.kind.value, worlds, start)
        if not lasso_breaks(self.system, prop, trace, worlds):
            raise PathError(f"the promise of {contract} is not due all along the loop.")
        return trace

    def description(self, name: str) -> str:
        return next((p.description for p in self.system.properties() if p.name == name), "")

    def outcome(self) -> JobResult:
        """The spec's own search, as `kmodel check` runs it (once, on first need)."""
        if self._outcome is None:
            self._outcome = run_job(within(self.job, SEARCH_SECONDS))
        return self._outcome

    def shortest(self, contract: str) -> Trace | None:
        """The spec search's shortest trace that breaks (or reaches) `contract`."""
        return self.outcome().verdict(contract).trace

    def counterexample(self, contract: str) -> Path | None:
        """The path of the shortest trace of `contract`, replayed on this session's model."""
        trace = self.shortest(contract)
        if trace is None:
            return None
        return follow(self.system, replay(self.system, trace).path)

    def context(self) -> dict[str, Any]:
        """What the renderers need besides a trace (`kmodel.render.formats.render`)."""
        return {
            "title": self.job.title,
            "settings": self.job.settings,
            "defaults": self.job.model.defaults(),
        }
