"""The distributed engine (Ray) against itself and against the local parallel engine.

Two-phase commit with `--rms` resource managers is searched breadth first
without reductions, in turn: on 1 Ray worker, on `--workers` Ray workers, and
by the local parallel engine (forked processes) with as many workers, each
`--repeat` times in one local Ray cluster. Every run must find the same
number of states. Printed: states per second of each, the scaling from 1 to
N Ray workers and the overhead of Ray against local processes at N workers
(medians of same-run ratios), the visited set's bytes per state, and the
exchange between the Ray workers per level.

    python benchmarks/distributed.py [--rms 8] [--workers 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys

from measure import BenchmarkError, exit_code

from kmodel.core.bfs import check_bfs
from kmodel.core.distributed import RayCluster, ray_session
from kmodel.examples.two_phase_commit import TwoPhaseCommit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rms", type=int, default=8, help="resource managers (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="workers (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    args = parser.parse_args(argv)
    n = args.workers
    searches = {
        "ray 1": lambda: check_bfs(TwoPhaseCommit(args.rms), workers=1, executor=RayCluster),
        f"ray {n}": lambda: check_bfs(TwoPhaseCommit(args.rms), workers=n, executor=RayCluster),
        f"local {n}": lambda: check_bfs(TwoPhaseCommit(args.rms), workers=n),
    }

    def compare() -> None:
        rates: dict[str, list[float]] = {name: [] for name in searches}
        states, found = set(), {}
        with ray_session(None, n):
            for _ in range(args.repeat):
                for name, search in searches.items():
                    found[name] = result = search()
                    states.add(result.stats.states)
                    rates[name].append(result.stats.states_per_second)
                    print(f"  {name:<8} {result.stats.seconds:7.2f} s", flush=True)
        if len(states) != 1:
            raise BenchmarkError(f"the searches disagree on the state count: {sorted(states)}")
        ray_n, local_n = found[f"ray {n}"], found[f"local {n}"]
        print(f"two-phase commit, {args.rms} resource managers: {states.pop():,} states")
        for name, values in rates.items():
            print(f"{name:<8} {statistics.median(values):>10,.0f} states/s")
        scaling = [b / a for a, b in zip(rates["ray 1"], rates[f"ray {n}"], strict=True)]
        overhead = [a / b for a, b in zip(rates[f"local {n}"], rates[f"ray {n}"], strict=True)]
        print(f"scaling, 1 -> {n} Ray workers: {statistics.median(scaling):.2f}x")
        print(f"Ray against local processes at {n} workers: {statistics.median(overhead):.2f}x")
        print(f"visited set: {ray_n.stats.visited_bytes_per_state} bytes per state")
        print(f"whole search: {ray_n.stats.bytes_per_state:.0f} bytes per state (Ray, all workers)")
        print(f"local parallel: {local_n.stats.bytes_per_state:.0f} bytes per state")
        print(ray_n.notes[-1])

    return exit_code(compare)


if __name__ == "__main__":
    sys.exit(main())
