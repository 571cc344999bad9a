"""Run many specs, several at once on several cores, with a line per spec in order."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from kmodel.console import ProgressDisplay
from kmodel.jobs.run import JobResult, judge, run_job, search_job
from kmodel.jobs.spec import Job, load_job
from kmodel.report.forked import forked_map
from kmodel.report.summaries import MARKS


def load_jobs(paths: Sequence[Path]) -> list[Job]:
    """Every spec validated before any runs, so a typo fails at once (raises SpecError)."""
    return [load_job(path) for path in paths]


def run_jobs(
    jobs: Sequence[Job],
    stream: TextIO | None,
    progress: bool = True,
    workers: int | None = None,
) -> list[JobResult]:
    """Run `jobs` and return their outcomes in order. With a `stream`, write
    ``✓ name  states  seconds`` per spec there, in order, and with `progress` the live
    progress display while one runs. Several `workers` (default: one per core) run
    several specs at once, each search in a single process."""
    workers = workers or os.cpu_count() or 1
    width = max((len(job.name) for job in jobs), default=0)
    outcomes = []
    if workers == 1 or len(jobs) < 2:
        for job in jobs:
            display = ProgressDisplay(job.name, stream) if progress and stream else None
            try:
                outcome = run_job(job, display)
            finally:
                if display is not None:
                    display.close()
            outcomes.append(_shown(outcome, stream, width))
        return outcomes
    searches = forked_map(functools.partial(search_job, workers=1), jobs, workers)
    for job, result in zip(jobs, searches, strict=True):
        outcomes.append(_shown(judge(job, result), stream, width))
    return outcomes


def _shown(outcome: JobResult, stream: TextIO | None, width: int) -> JobResult:
    if stream is not None:
        stream.write(line(outcome, width) + "\n")
        stream.flush()
    return outcome


def line(outcome: JobResult, width: int = 0) -> str:
    stats = outcome.result.stats
    note = "" if outcome.result.complete else f"  ({outcome.result.coverage})"
    return (
        f"{MARKS[outcome.expectations_met]} {outcome.job.name:<{width}}  "
        f"{stats.states:>12,} states  {stats.seconds:7.2f} s{note}"
    )
