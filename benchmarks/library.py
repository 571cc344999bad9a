"""The whole spec library: states explored and `kmodel verify`'s time, today against an
earlier revision, with the verdicts compared.

For every shipped spec three searches run, each variant in a fresh process: the
earlier revision's breadth-first search (of its own copy of the spec); today's
default (symmetry where a model offers it, stopping once every verdict is
settled); and today's with every reduction (partial-order reduction too).
Every verdict of a contract or witness both revisions have must match the
earlier revision's, or the script fails. Then
`kmodel verify` of the whole library runs in turn with both revisions (today's
with its default worker count), and the ratio of the wall times is printed.

    python benchmarks/library.py [--baseline REV] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import BASELINE, ROOT, BenchmarkError, exit_code, revision, run

LIBRARY = """
import json, sys
from pathlib import Path
from kmodel.jobs.spec import load_job
from kmodel.jobs.run import build_system
from kmodel.core.bfs import check_bfs
options = json.loads(sys.argv[2])
found = {}
for path in sorted(Path(sys.argv[1]).glob("*.toml")):
    result = check_bfs(build_system(load_job(path)), **options)
    found[path.stem] = [result.stats.states, {p.name: p.status.value for p in result.properties}]
print(json.dumps(found))
"""

VERIFY = """
import sys
from kmodel.cli import main
sys.argv = ["kmodel", "verify", "--quiet", "--out", sys.argv[1], sys.argv[2]]
main()
"""


def library(tree: Path, options: dict) -> dict:
    """Each spec of `tree`'s library searched with `tree`'s kmodel: states and verdicts."""
    return run(LIBRARY, [str(tree / "specs"), json.dumps(options)], tree).figures


def verify_seconds(tree: Path) -> float:
    """Wall time of `kmodel verify` over the library with the kmodel in `tree`."""
    with tempfile.TemporaryDirectory(prefix="kmodel-report-") as out:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", VERIFY, out, str(tree / "specs")],
            cwd=tree,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        )
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchmarkError(f"verify with {tree} failed:\n{done.stdout}{done.stderr}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision (default {BASELINE})")
    parser.add_argument("--repeat", type=int, default=3, help="verify runs of each (default 3)")
    args = parser.parse_args(argv)

    def compare() -> None:
        with revision(args.baseline) as old:
            before = library(old, {})
            default = library(ROOT, {"reduce": ["symmetry"], "stop_when_decided": True})
            everything = library(ROOT, {"reduce": ["symmetry", "por"], "stop_when_decided": True})
            row = "{:<46} {:>10} {:>10} {:>10}"
            print(row.format("spec", "baseline", "default", "all"))
            for name, (states, verdicts) in before.items():
                for variant in (default, everything):
                    # Contracts and witnesses added since the baseline have nothing to
                    # compare with; every one both revisions have must agree.
                    now = variant[name][1]
                    differ = {
                        p: (verdicts[p], now[p])
                        for p in verdicts.keys() & now
                        if verdicts[p] != now[p]
                    }
                    if differ:
                        raise BenchmarkError(f"{name}: verdicts differ (baseline, today): {differ}")
                print(
                    row.format(
                        name, f"{states:,}", f"{default[name][0]:,}", f"{everything[name][0]:,}"
                    )
                )
            totals = [sum(v[0] for v in found.values()) for found in (before, default, everything)]
            print(row.format("total", *(f"{t:,}" for t in totals)))
            print(
                f"states: {totals[0] / totals[1]:.2f}x fewer by default, "
                f"{totals[0] / totals[2]:.2f}x fewer with every reduction; verdicts identical"
            )
            ratios = []
            for _ in range(args.repeat):
                slow, fast = verify_seconds(old), verify_seconds(ROOT)
                ratios.append(slow / fast)
                print(f"kmodel verify: baseline {slow:.1f} s, today {fast:.1f} s", flush=True)
            print(f"kmodel verify: {statistics.median(ratios):.2f}x faster (median of pairs)")

    return exit_code(compare)


if __name__ == "__main__":
    sys.exit(main())
