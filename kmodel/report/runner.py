"""Run many specs in a row, with a line per spec as it finishes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from kmodel.console import ProgressDisplay
from kmodel.jobs.run import JobResult, run_job
from kmodel.jobs.spec import Job, load_job
from kmodel.report.summaries import MARKS


def load_jobs(paths: Sequence[Path]) -> list[Job]:
    """Every spec validated before any runs, so a typo fails at once (raises SpecError)."""
    return [load_job(path) for path in paths]


def run_jobs(jobs: Sequence[Job], stream: TextIO | None, progress: bool = True) -> list[JobResult]:
    """Run `jobs` in order. With a `stream`, write ``✓ name  states  seconds`` per spec there,
    and with `progress` the live progress display while each runs."""
    outcomes = []
    width = max((len(job.name) for job in jobs), default=0)
    for job in jobs:
        display = ProgressDisplay(job.name, stream) if progress and stream is not None else None
        try:
            outcome = run_job(job, display)
        finally:
            if display is not None:
                display.close()
        outcomes.append(outcome)
        if stream is not None:
            stream.write(line(outcome, width) + "\n")
            stream.flush()
    return outcomes


def line(outcome: JobResult, width: int = 0) -> str:
    stats = outcome.result.stats
    note = "" if outcome.result.complete else f"  ({outcome.result.coverage})"
    return (
        f"{MARKS[outcome.expectations_met]} {outcome.job.name:<{width}}  "
        f"{stats.states:>12,} states  {stats.seconds:7.2f} s{note}"
    )
