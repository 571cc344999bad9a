"""The outcomes `kmodel verify` keeps next to its report, and which of them a later
command may use instead of running a spec again.

A saved outcome stands for a spec only while every file the spec was read from (the
spec and its .properties files) is byte for byte the one that ran, under the same
kmodel (its version and the bytes of its own source), and only if no clock or Ctrl-C
cut its search short (another run would then find more).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kmodel
from kmodel.core.result import Result
from kmodel.core.schema import SpecError
from kmodel.jobs.files import read_bytes
from kmodel.jobs.run import JobResult, judge
from kmodel.jobs.spec import Job

RESULTS = "results.json"  # the file's name in the report's folder
MAX_BYTES = 1 << 30  # the library's outcomes, every trace included, take tens of megabytes
# The ends of a search that the same files give again, whatever the machine.
REPRODUCIBLE = frozenset({"explored", "decided", "max_states", "max_depth"})


@functools.cache
def build() -> str:
    """kmodel's version and a digest of its own source: a model changed without a new
    version number still makes every saved outcome out of date."""
    digest = hashlib.sha256()
    package = Path(kmodel.__file__).parent
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0" + source.read_bytes())
    return f"{kmodel.__version__}+{digest.hexdigest()[:12]}"


def fingerprint(job: Job) -> str | None:
    """The sha256 of every file the job was read from, or None when one can no longer
    be read (no saved outcome then stands for it)."""
    digest = hashlib.sha256()
    try:
        for path in job.inputs:
            data = read_bytes(path, "spec input")
            digest.update(len(data).to_bytes(8, "big") + data)
    except SpecError:
        return None
    return digest.hexdigest()


def save_results(outcomes: Sequence[JobResult], path: Path) -> None:
    """Write `outcomes` to `path` with what tells when each is out of date; the file is
    replaced whole, so a reader never sees half of it."""
    entries = [
        {
            "name": outcome.job.name,
            "spec": str(outcome.job.path),
            "inputs": [str(source) for source in outcome.job.inputs],
            "fingerprint": fingerprint(outcome.job),
            "result": outcome.result.to_json(),
        }
        for outcome in outcomes
    ]
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps({"kmodel": build(), "results": entries}), encoding="utf-8")
    os.replace(partial, path)


@dataclass(frozen=True, slots=True)
class Reuse:
    """Per job, its saved outcome, or None when it must run; `why` says why none could
    be used at all, when that is so."""

    jobs: tuple[Job, ...]
    saved: tuple[JobResult | None, ...]
    source: Path | None = None
    why: str = ""

    @classmethod
    def nothing(cls, jobs: Sequence[Job], source: Path | None = None, why: str = "") -> Reuse:
        """Every job to run."""
        return cls(tuple(jobs), (None,) * len(jobs), source, why)

    @property
    def stale(self) -> list[Job]:
        """The jobs to run, in order."""
        return [job for job, saved in zip(self.jobs, self.saved, strict=True) if saved is None]

    def merged(self, ran: Sequence[JobResult]) -> list[JobResult]:
        """Every outcome in the jobs' order: the saved ones, and `ran`, the outcomes of
        the stale jobs in order (fewer of them when the run stopped early)."""
        fresh = iter(ran)
        outcomes = (saved if saved is not None else next(fresh, None) for saved in self.saved)
        return [outcome for outcome in outcomes if outcome is not None]

    def text(self, ran: int) -> str:
        """How many outcomes were reused and how many specs were run, in a line."""
        specs = f"{ran} spec{'s' * (ran != 1)} run"
        if self.why:
            return f"no saved results reused ({self.why.rstrip('.')}); {specs}"
        reused = sum(saved is not None for saved in self.saved)
        return f"{reused} result{'s' * (reused != 1)} reused from {self.source}, {specs}"


def reuse(jobs: Sequence[Job], path: Path, *, required: bool) -> Reuse:
    """The outcomes saved in `path` that still stand for `jobs`, matched by spec name.
    A file that is missing, unreadable or not kmodel's is a SpecError naming it when
    `required`; otherwise nothing is reused, and the line says why."""
    try:
        version, entries = _read(path)
        if version != build():
            why = f"{path} comes from kmodel {version}, and this is {build()}"
            return Reuse.nothing(jobs, path, why)
        saved = tuple(_outcome(job, entries.get(job.name), path) for job in jobs)
    except SpecError as error:
        if required:
            raise
        return Reuse.nothing(jobs, path, str(error))
    return Reuse(tuple(jobs), saved, path)


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    """The kmodel version that wrote `path`, and its entries by spec name."""
    text = read_bytes(path, "results file", MAX_BYTES)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise _malformed(path, f"not JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("kmodel"), str):
        raise _malformed(path, "no kmodel version")
    entries = data.get("results")
    if not isinstance(entries, list) or not all(
        isinstance(entry, dict) and isinstance(entry.get("name"), str) for entry in entries
    ):
        raise _malformed(path, "no list of named results")
    return data["kmodel"], {entry["name"]: entry for entry in entries}


def _outcome(job: Job, entry: Any, path: Path) -> JobResult | None:
    """The job's saved outcome, judged by its expectations as they stand, or None when
    there is none that stands for it."""
    try:
        if entry is None or entry["fingerprint"] != fingerprint(job):
            return None
        result = Result.from_json(entry["result"])
    except KeyError as error:
        raise _malformed(path, f"{job.name}: no {error.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as error:
        raise _malformed(path, f"{job.name}: {error}") from None
    return judge(job, result) if result.stop_reason in REPRODUCIBLE else None


def _malformed(path: Path, detail: str) -> SpecError:
    return SpecError(
        f"{path}: not a results file of kmodel verify ({detail}); run kmodel verify "
        "again, or give --fresh to run every spec."
    )
