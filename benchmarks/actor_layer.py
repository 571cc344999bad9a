"""Per-state throughput of the actor layer, against the engine of an earlier revision.

Both engines search the same spec breadth first, in one process, without any
reduction, each run in a fresh process, in turn; the state and transition
counts must agree, or the script fails. The ratio is the median of the
pairwise ratios of search times (the baseline's over today's), so above 1
today's engine is that many times faster.

    python benchmarks/actor_layer.py [--baseline REV] [--repeat N] [SPEC ...]
"""

from __future__ import annotations

import argparse
import sys

from measure import (
    BASELINE,
    BenchmarkError,
    exit_code,
    in_turn,
    median,
    median_ratio,
    revision,
    search,
)

SPECS = ["specs/at-least-once.toml", "specs/eos-crashes-during-commit.toml"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", default=SPECS, help="specs to search")
    parser.add_argument("--baseline", default=BASELINE, help=f"git revision (default {BASELINE})")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    args = parser.parse_args(argv)
    row = "{:<42} {:>10} {:>12} {:>12} {:>14} {:>14} {:>8}"
    print(
        row.format(
            "spec", "states", "baseline s", "today s", "baseline st/s", "today st/s", "ratio"
        )
    )

    def compare() -> None:
        with revision(args.baseline) as old:
            for spec in args.specs:
                before, now = in_turn(
                    lambda spec=spec: search(spec, old),
                    lambda spec=spec: search(spec, reduce=(), workers=1),
                    args.repeat,
                )
                counts = {(r["states"], r["transitions"]) for r in before + now}
                if len(counts) != 1:
                    raise BenchmarkError(f"{spec}: the engines disagree on the counts: {counts}")
                states = now[0]["states"]
                slow, fast = median(before, "seconds"), median(now, "seconds")
                print(
                    row.format(
                        spec,
                        f"{states:,}",
                        f"{slow:.2f}",
                        f"{fast:.2f}",
                        f"{states / slow:,.0f}",
                        f"{states / fast:,.0f}",
                        f"{median_ratio(before, now):.2f}x",
                    ),
                    flush=True,
                )

    return exit_code(compare)


if __name__ == "__main__":
    sys.exit(main())
