"""Run many specs, several at once on several cores, with a line per spec in order."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from kmodel.console import ProgressDisplay
from kmodel.core.result import Result
from kmodel.jobs.run import JobResult, judge, run_job, search_job
from kmodel.jobs.spec import Job, load_job
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
    # Forked workers inherit the jobs (their models hold functions, which do not pickle);
    # only an index goes out and a `Result` comes back.
    context = multiprocessing.get_context("fork")
    pool = context.Pool(min(workers, len(jobs)), initializer=_take_jobs, initargs=(jobs,))
    with pool:
        results = pool.imap(_search_one, range(len(jobs)))
        for job, result in zip(jobs, results, strict=True):
            outcomes.append(_shown(judge(job, result), stream, width))
    return outcomes


_jobs: Sequence[Job] = ()  # a pool worker's jobs


def _take_jobs(jobs: Sequence[Job]) -> None:
    global _jobs
    _jobs = jobs
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the process that started them


def _search_one(index: int) -> Result:
    return search_job(_jobs[index], workers=1)


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
