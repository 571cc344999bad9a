"""Run many specs, several at once on several cores, with a line per spec in order,
within one time budget.

Ctrl-C or the end of the budget stops the whole run, not just the spec at hand:
what ran is kept, and the specs not reached are named.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from time import monotonic
from typing import TextIO

from kmodel.console import ProgressDisplay
from kmodel.core.result import Result
from kmodel.jobs.run import JobResult, build_system, judge, run_job, search_job, within
from kmodel.jobs.spec import Job, ignored_text, load_job
from kmodel.report.forked import forked_map
from kmodel.report.summaries import MARKS


@dataclass(frozen=True, slots=True)
class LibraryRun:
    """What a run of many specs covered: each spec's outcome, in order, and the specs it
    did not reach when it stopped early (`stopped`: "interrupted" or "max_seconds")."""

    outcomes: tuple[JobResult, ...]
    not_run: tuple[Job, ...] = ()
    stopped: str | None = None

    @property
    def expectations_met(self) -> bool:
        return not self.not_run and all(o.expectations_met for o in self.outcomes)

    def stopped_text(self) -> str:
        """A sentence on how the run ended early, or "" when it ran every spec."""
        if self.stopped is None:
            return ""
        why = "interrupted" if self.stopped == "interrupted" else "out of time (--max-seconds)"
        names = ", ".join(job.name for job in self.not_run) or "none"
        return f"The run stopped early, {why}; specs not run: {names}."


def load_jobs(paths: Sequence[Path], *, properties_anywhere: bool = False) -> list[Job]:
    """Every spec validated before any runs, so a typo fails at once (raises SpecError)."""
    jobs = [load_job(path, properties_anywhere=properties_anywhere) for path in paths]
    for job in jobs:
        build_system(job)  # expectations the model cannot meet are input errors too
    return jobs


def run_jobs(
    jobs: Sequence[Job],
    stream: TextIO | None,
    progress: bool = True,
    max_seconds: float | None = None,
    workers: int | None = None,
) -> LibraryRun:
    """Run `jobs`, all within `max_seconds` if given, and return their outcomes in order.
    With a `stream`, write ``✓ name  states  seconds`` per spec there, in order, and with
    `progress` the live progress display while one runs. Several `workers` (default: one
    per core) run several specs at once, each search in a single process."""
    deadline = None if max_seconds is None else monotonic() + max_seconds
    outcomes: list[JobResult] = []
    stopped = None
    width = max((len(job.name) for job in jobs), default=0)
    workers = workers or os.cpu_count() or 1
    try:
        if workers == 1 or len(jobs) < 2:
            for job in jobs:
                outcome = _run_one(job, deadline, stream if progress else None)
                if outcome is None:
                    stopped = "max_seconds"
                    break
                outcomes.append(_shown(outcome, stream, width))
                if outcome.result.stop_reason == "interrupted":
                    stopped = "interrupted"
                    break
        else:
            search = functools.partial(_search_one, deadline=deadline)
            for job, result in zip(jobs, forked_map(search, jobs, workers), strict=False):
                if result is None:
                    stopped = "max_seconds"
                    break
                outcomes.append(_shown(judge(job, result), stream, width))
    except KeyboardInterrupt:
        stopped = "interrupted"
    not_run = tuple(jobs[len(outcomes) :])
    return LibraryRun(tuple(outcomes), not_run, stopped)


def _run_one(job: Job, deadline: float | None, stream: TextIO | None) -> JobResult | None:
    """A job's outcome in this process, with the live display on `stream`; None when the
    time budget is spent."""
    if deadline is not None:
        left = deadline - monotonic()
        if left <= 0:
            return None
        job = within(job, left)
    display = ProgressDisplay(job.name, stream) if stream is not None else None
    try:
        return run_job(job, display)
    finally:
        if display is not None:
            display.close()


def _search_one(job: Job, deadline: float | None) -> Result | None:
    """A job's search in a worker: in one process, within what is left of the budget."""
    if deadline is not None:
        left = deadline - monotonic()
        if left <= 0:
            return None
        job = within(job, left)
    return search_job(job, workers=1)


def _shown(outcome: JobResult, stream: TextIO | None, width: int) -> JobResult:
    if stream is not None:
        stream.write(line(outcome, width) + "\n")
        stream.flush()
    return outcome


def line(outcome: JobResult, width: int = 0) -> str:
    stats = outcome.result.stats
    note = "" if outcome.result.complete else f"  {outcome.result.coverage}"
    if outcome.job.ignored:
        note += f"  (ignored: {ignored_text(outcome.job.ignored)})"
    return (
        f"{MARKS[outcome.expectations_met]} {outcome.job.name:<{width}}  "
        f"{stats.states:>12,} states  {stats.seconds:7.2f} s{note}"
    )
