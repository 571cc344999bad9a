"""Parallel search: several worker processes against one, on the same searches.

Each spec is searched breadth first without reductions, once in one process
and once with `--workers` processes, in turn, each run in a fresh process. A
complete search must find the same number of states both ways; a search cut
short by `--seconds` is compared by its rate (states per second). The speed-up
is the median of the pairwise ratios.

    python benchmarks/parallel.py [--workers N] [--repeat N] [--seconds S] [SPEC ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys

from measure import BenchmarkError, exit_code, in_turn, median, search

SPECS = [
    "specs/at-least-once.toml",
    "specs/hw-goes-back-after-failover.toml",
    "benchmarks/specs/realistic-rf3.toml",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", default=SPECS, help="specs to search")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="time limit of each run (default 60)"
    )
    args = parser.parse_args(argv)
    row = "{:<42} {:>12} {:>12} {:>12} {:>12} {:>12} {:>9}"
    print(
        row.format(
            "spec",
            "states",
            "1 worker s",
            f"{args.workers} workers s",
            "1 w st/s",
            f"{args.workers} w st/s",
            "speed-up",
        )
    )

    def compare() -> None:
        for spec in args.specs:
            one, many = in_turn(
                lambda spec=spec: search(spec, workers=1, max_seconds=args.seconds),
                lambda spec=spec: search(spec, workers=args.workers, max_seconds=args.seconds),
                args.repeat,
            )
            complete = all(r["complete"] for r in one + many)
            if complete and len({r["states"] for r in one + many}) != 1:
                raise BenchmarkError(f"{spec}: the searches disagree on the state count")
            rates = [
                (b["states"] / b["seconds"]) / (a["states"] / a["seconds"])
                for a, b in zip(one, many, strict=True)
            ]
            print(
                row.format(
                    spec + ("" if complete else " (cut)"),
                    f"{median(many, 'states'):,.0f}",
                    f"{median(one, 'seconds'):.2f}",
                    f"{median(many, 'seconds'):.2f}",
                    f"{median(one, 'states') / median(one, 'seconds'):,.0f}",
                    f"{median(many, 'states') / median(many, 'seconds'):,.0f}",
                    f"{statistics.median(rates):.2f}x",
                ),
                flush=True,
            )

    return exit_code(compare)


if __name__ == "__main__":
    sys.exit(main())
