"""What the benchmarks share: one search per fresh process, and the code of a past revision.

Every figure comes from a run in a process of its own, so its peak memory is
its own and nothing warm carries over; two commands are run in turn, A B A B,
so drift in the machine's speed hits both alike, and the ratio is taken pair
by pair. A reference that is an earlier kmodel is that revision's code,
exported from git into a scratch folder and run with the same Python.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The revision before the lean actor layer: what "today's" engine means in the ratios.
BASELINE = "c9a680d"


class BenchmarkError(RuntimeError):
    """A run failed, or two runs that must agree did not."""


def exit_code(body: Callable[[], None]) -> int:
    """Run a benchmark's `body`: 0 when it finishes, 1 (with the reason) when a run fails."""
    try:
        body()
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


@dataclass(frozen=True)
class Run:
    """One search in a fresh process: what it printed as JSON, and how long it took."""

    figures: dict
    wall: float

    def __getitem__(self, key: str):
        return self.figures[key]


def run(code: str, args: Sequence[str], tree: Path = ROOT) -> Run:
    """Run `code` (a Python program printing one JSON object last) on the kmodel in `tree`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env.pop("PYTHONHASHSEED", None)
    command = [sys.executable, "-c", code, *args]
    # Run from inside the tree: `python -c` looks in the working folder first.
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tree)
    if done.returncode != 0:
        raise BenchmarkError(f"{' '.join(args)} on {tree} failed:\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(figures, figures.get("seconds", 0.0))


def in_turn(first, second, repeat: int) -> tuple[list[Run], list[Run]]:
    """`first()` and `second()` run alternately `repeat` times each."""
    a, b = [], []
    for _ in range(repeat):
        a.append(first())
        b.append(second())
    return a, b


def median_ratio(a: list[Run], b: list[Run], key: str = "seconds") -> float:
    """The median of the pairwise ratios a/b of `key`."""
    return statistics.median(x[key] / y[key] for x, y in zip(a, b, strict=True) if y[key])


def median(runs: list[Run], key: str) -> float:
    return statistics.median(r[key] for r in runs)


@contextmanager
def revision(name: str) -> Iterator[Path]:
    """The source tree of kmodel, and its spec library, at git revision `name`, in a
    scratch folder."""
    with tempfile.TemporaryDirectory(prefix="kmodel-baseline-") as scratch:
        archive = Path(scratch, "tree.tar")
        with archive.open("wb") as out:
            done = subprocess.run(
                ["git", "archive", name, "kmodel", "specs"],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.PIPE,
            )
        if done.returncode != 0:
            raise BenchmarkError(f"git archive {name} failed: {done.stderr.decode().strip()}")
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
        yield Path(scratch)


SEARCH = """
import json, os, sys
import kmodel
assert kmodel.__file__.startswith(os.getcwd()), kmodel.__file__  # the tree asked for
from kmodel.jobs.spec import load_job
from kmodel.jobs.run import build_system
from kmodel.core.bfs import check_bfs
from kmodel.core.search import Limits
system = build_system(load_job(sys.argv[1]))
options = json.loads(sys.argv[2])
limits = Limits(**{k: options.pop(k) for k in ("max_states", "max_seconds") if k in options})
result = check_bfs(system, limits, **options)
print(json.dumps({
    "states": result.stats.states,
    "transitions": result.stats.transitions,
    "seconds": result.stats.seconds,
    "peak_memory_mb": result.stats.peak_memory_mb,
    "complete": result.complete,
    "verdicts": {p.name: [p.status.value, p.trace and len(p.trace)] for p in result.properties},
}))
"""


def search(spec: str, tree: Path = ROOT, **options) -> Run:
    """A breadth-first search of `spec`, the tree's own copy, with the engine of `tree`
    (keyword options of `check_bfs` the tree knows, and max_states or max_seconds), in a
    fresh process."""
    return run(SEARCH, [str(tree / spec), json.dumps(options)], tree)
