"""Facts about a job the report shows: its bounds, fault budget and non-default settings."""

from __future__ import annotations

from typing import Any

from kmodel.jobs.run import JobResult
from kmodel.jobs.spec import SEARCH_SETTINGS, Job
from kmodel.kafka.contracts import DUPLICATE_CONTRACTS, LOSS_CONTRACTS

# Bounds that size the run rather than inject faults.
SIZE_BOUNDS = frozenset({"records", "retries", "consumers", "output_partitions"})

# The contracts that decide each column of the semantic matrix.
LOSS = LOSS_CONTRACTS
DUPLICATES = DUPLICATE_CONTRACTS
COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("loss", "Message loss", LOSS),
    ("duplicates", "Duplicates", DUPLICATES),
)


def bounds(job: Job) -> dict[str, Any]:
    """The job's [bounds] (or, for models without bounds, its [parameters])."""
    section = "bounds" if "bounds" in job.settings else "parameters"
    return dict(job.settings.get(section, {}))


def fault_budget(job: Job) -> int:
    """How many faults the bounds allow in all."""
    return sum(
        value
        for name, value in job.settings.get("bounds", {}).items()
        if name not in SIZE_BOUNDS and isinstance(value, int) and not isinstance(value, bool)
    )


def bounds_text(job: Job) -> str:
    """The bounds that are not zero, as ``records=1, producer_crashes=1``."""
    shown = [f"{name}={value}" for name, value in bounds(job).items() if value]
    return ", ".join(shown) or "none"


def changed_settings(job: Job) -> list[tuple[str, str, Any]]:
    """(section, setting, value) for every setting outside [bounds] that is not the default."""
    defaults = job.model.defaults()
    return [
        (section, name, value)
        for section, values in job.settings.items()
        if section != "bounds"
        for name, value in values.items()
        if defaults.get(section, {}).get(name) != value
    ]


def search_limits(job: Job) -> list[tuple[str, Any]]:
    """The search options that differ from the defaults (engine, limits)."""
    defaults = {s.name: s.default for s in SEARCH_SETTINGS}
    return [(name, value) for name, value in job.search.items() if defaults.get(name) != value]


def explored_text(outcome: JobResult) -> str:
    """What a search covered: bounds, states and whether it finished."""
    result = outcome.result
    text = f"{bounds_text(outcome.job)}; {result.stats.states:,} states"
    if not result.complete:
        text += f", {result.coverage}"
    return text
