"""The distributed engine (Ray) against itself and against the local parallel engine.

Two searches, breadth first without reductions: two-phase commit with `--rms`
resource managers, and the library spec with the most states (`--spec`), each
run at most `--seconds`. Each is run in turn on 1 Ray worker, on `--workers`
Ray workers, and by the local parallel engine (forked processes) with as many
workers, `--repeat` times in one local Ray cluster. Complete runs must find
the same number of states; runs cut short are compared by their rates.
Printed per search: states per second of each, the scaling from 1 to N Ray
workers and the overhead of Ray against local processes at N workers (medians
of same-run ratios), the visited set's bytes per state, and the exchange
between the Ray workers per level.

    python benchmarks/distributed.py [--rms 8] [--spec SPEC] [--seconds 60]
                                     [--workers 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable

from measure import BenchmarkError, exit_code

from kmodel.core.bfs import check_bfs
from kmodel.core.distributed import RayCluster, ray_session
from kmodel.core.result import Result
from kmodel.core.search import Limits
from kmodel.core.system import System
from kmodel.examples.two_phase_commit import TwoPhaseCommit
from kmodel.jobs.run import build_system
from kmodel.jobs.spec import load_job

# The library spec with the most states (tests/test_kafka_specs.py pins 1,271,283).
LARGEST = "specs/eos-two-instances-interleave.toml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rms", type=int, default=8, help="resource managers (default 8)")
    parser.add_argument("--spec", default=LARGEST, help=f"library spec (default {LARGEST})")
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="time limit of each run (default 60)"
    )
    parser.add_argument("--workers", type=int, default=2, help="workers (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    args = parser.parse_args(argv)
    limits = Limits(max_seconds=args.seconds)

    def compare_both() -> None:
        with ray_session(None, args.workers):
            compare(
                f"two-phase commit, {args.rms} resource managers",
                lambda: TwoPhaseCommit(args.rms),
                limits,
                args.workers,
                args.repeat,
            )
            compare(
                args.spec,
                lambda: build_system(load_job(args.spec)),
                limits,
                args.workers,
                args.repeat,
            )

    return exit_code(compare_both)


def compare(name: str, model: Callable[[], System], limits: Limits, n: int, repeat: int) -> None:
    """Search `model()` on 1 and `n` Ray workers and on `n` local processes, in turn,
    `repeat` times, and print how they compare."""
    searches: dict[str, Callable[[], Result]] = {
        "ray 1": lambda: check_bfs(model(), limits, workers=1, executor=RayCluster),
        f"ray {n}": lambda: check_bfs(model(), limits, workers=n, executor=RayCluster),
        f"local {n}": lambda: check_bfs(model(), limits, workers=n),
    }
    rates: dict[str, list[float]] = {key: [] for key in searches}
    runs: list[Result] = []
    found: dict[str, Result] = {}
    for _ in range(repeat):
        for key, search in searches.items():
            found[key] = result = search()
            runs.append(result)
            rates[key].append(result.stats.states_per_second)
            cut = "" if result.complete else f" (cut: {result.stats.states:,} states)"
            print(f"  {key:<8} {result.stats.seconds:7.2f} s{cut}", flush=True)
    complete = all(r.complete for r in runs)
    counts = {r.stats.states for r in runs}
    if complete and len(counts) != 1:
        raise BenchmarkError(f"{name}: the searches disagree on the state count: {sorted(counts)}")
    reached = f"{counts.pop():,} states" if complete else f"cut at {limits.max_seconds:g} s"
    print(f"{name}: {reached}")
    for key, values in rates.items():
        print(f"{key:<8} {statistics.median(values):>10,.0f} states/s")
    ray_n, local_n = found[f"ray {n}"], found[f"local {n}"]
    scaling = [b / a for a, b in zip(rates["ray 1"], rates[f"ray {n}"], strict=True)]
    overhead = [a / b for a, b in zip(rates[f"local {n}"], rates[f"ray {n}"], strict=True)]
    print(f"scaling, 1 -> {n} Ray workers: {statistics.median(scaling):.2f}x")
    print(f"Ray against local processes at {n} workers: {statistics.median(overhead):.2f}x")
    print(f"visited set: {ray_n.stats.visited_bytes_per_state} bytes per state")
    print(f"whole search: {ray_n.stats.bytes_per_state:.0f} bytes per state (Ray, all workers)")
    print(f"local parallel: {local_n.stats.bytes_per_state:.0f} bytes per state")
    print(ray_n.notes[-1], flush=True)


if __name__ == "__main__":
    sys.exit(main())
