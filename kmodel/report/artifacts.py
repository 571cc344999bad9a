"""Write the traces of a job's violated contracts to files, one per chosen format:
``DIR/<spec>/<contract>.<ext>``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kmodel.core.result import Status
from kmodel.jobs.files import safe_name
from kmodel.jobs.run import JobResult, Verdict
from kmodel.jobs.spec import Job
from kmodel.render.formats import FORMATS, render


def context(outcome: JobResult, verdict: Verdict) -> dict[str, Any]:
    """What the renderers need besides the trace."""
    return job_context(outcome.job, verdict.name, verdict.description)


def job_context(job: Job, contract: str, description: str) -> dict[str, Any]:
    """What the renderers need besides a trace of `contract` in a run of `job`."""
    return {
        "title": job.title,
        "settings": job.settings,
        "defaults": job.model.defaults(),
        "contract": contract,
        "contract_description": description,
    }


def violated(outcome: JobResult) -> list[Verdict]:
    """The verdicts with a counterexample."""
    return [v for v in outcome.verdicts if v.status is Status.VIOLATED and v.trace is not None]


def trace_path(directory: Path, outcome: JobResult, contract: str, fmt: str) -> Path:
    return directory / outcome.job.name / f"{safe_name(contract)}.{FORMATS[fmt].extension}"


def write_traces(
    outcome: JobResult, directory: str | Path, formats: Sequence[str]
) -> dict[str, dict[str, Path]]:
    """Write each violated contract's trace in `formats`; contract -> format -> path."""
    directory = Path(directory)
    written: dict[str, dict[str, Path]] = {}
    for verdict in violated(outcome):
        assert verdict.trace is not None
        paths = written.setdefault(verdict.name, {})
        for fmt in dict.fromkeys(formats):
            path = trace_path(directory, outcome, verdict.name, fmt)
            path.parent.mkdir(parents=True, exist_ok=True)
            output = render(verdict.trace, fmt, **context(outcome, verdict))
            if isinstance(output, bytes):
                path.write_bytes(output)
            else:
                path.write_text(output, encoding="utf-8")
            paths[fmt] = path
    return written
