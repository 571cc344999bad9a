"""Time kmodel against SPIN on Gray & Lamport's two-phase commit.

The model is the TLA+ TwoPhase spec: a transaction manager, `rms` resource
managers and a message set that never loses anything. With 7 and 8 resource
managers it has 296,448 and 1,745,408 reachable states: large enough for the
per-state cost of a search to dominate, small enough to run in seconds.

kmodel explores `kmodel.examples.two_phase_commit.TwoPhaseCommit` breadth
first without reductions (SPIN has none here either), in one process keeping
whole states and then 64-bit fingerprints in its visited set, and with two
worker processes. Each run happens in a fresh Python process, so the peak
memory reported is that run's alone.

SPIN checks `two_phase_commit.pml`, the same spec written as a single process
whose every action is one d_step, so its "states, stored" is the same count.
SPIN is timed in two parts: generating and compiling the verifier
(`spin -a` + `gcc`) and the exhaustive search itself (pan's own elapsed time).
Every run must report the expected number of states, or the script fails.

    python benchmarks/two_phase_commit.py [--rms 7 8] [--repeat N] [--no-spin] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROMELA = HERE / "two_phase_commit.pml"

# Reachable states of the spec by number of resource managers.
EXPECTED_STATES = {3: 288, 5: 8_832, 7: 296_448, 8: 1_745_408}

PAN_CFLAGS = ("-O2", "-DNOREDUCE", "-DSAFETY")
PAN_DEPTH = 1_000_000  # pan -m: far beyond the model's depth (3 * rms + 1)

# Run in a fresh interpreter: one search, its statistics printed as JSON.
KMODEL_RUN = """
import json, sys
from kmodel.core.bfs import check_bfs
from kmodel.examples.two_phase_commit import TwoPhaseCommit
result = check_bfs(
    TwoPhaseCommit(int(sys.argv[1])), fingerprints=sys.argv[2] == "1", workers=int(sys.argv[3])
)
stats = result.stats
print(json.dumps({
    "complete": result.complete,
    "states": stats.states,
    "seconds": stats.seconds,
    "peak_memory_mb": stats.peak_memory_mb,
}))
"""


class BenchmarkError(RuntimeError):
    """A run failed or explored the wrong number of states."""


@dataclass(frozen=True)
class KmodelRun:
    label: str
    states: int
    seconds: float
    peak_memory_mb: float

    @property
    def states_per_second(self) -> float:
        return per_second(self.states, self.seconds)


@dataclass(frozen=True)
class SpinRun:
    states: int
    compile_seconds: float
    search_seconds: float
    peak_memory_mb: float

    @property
    def states_per_second(self) -> float:
        return per_second(self.states, self.search_seconds)


def per_second(states: int, seconds: float) -> float:
    """States per second; infinite for runs too short to time (small models)."""
    return states / seconds if seconds > 0 else math.inf


def run_kmodel(rms: int, fingerprints: bool, workers: int = 1) -> KmodelRun:
    """One breadth-first search of `rms` resource managers in a fresh process."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    flag = "1" if fingerprints else "0"
    command = [sys.executable, "-c", KMODEL_RUN, str(rms), flag, str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        raise BenchmarkError(f"kmodel run with {rms} RMs failed:\n{done.stderr}")
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    if workers > 1:
        label = f"kmodel BFS, {workers} workers"
    else:
        label = "kmodel BFS, fingerprints" if fingerprints else "kmodel BFS, states"
    expect_states(label, rms, stats["states"])
    if not stats["complete"]:
        raise BenchmarkError(f"{label} with {rms} RMs stopped before exploring everything")
    return KmodelRun(label, stats["states"], stats["seconds"], stats["peak_memory_mb"])


def run_spin(rms: int, spin: str, gcc: str) -> SpinRun:
    """Generate, compile and run pan for `rms` resource managers in a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="kmodel-2pc-spin-") as scratch:
        start = time.perf_counter()
        run_tool([spin, "-a", f"-DRMS={rms}", str(PROMELA)], scratch)
        run_tool([gcc, *PAN_CFLAGS, "-o", "pan", "pan.c"], scratch)
        compile_seconds = time.perf_counter() - start

        # A hash table with about twice as many slots as there are states.
        hash_bits = math.ceil(math.log2(EXPECTED_STATES[rms])) + 1
        log = Path(scratch, "pan.out")
        with log.open("w") as out:
            pan = subprocess.Popen(
                ["./pan", f"-m{PAN_DEPTH}", f"-w{hash_bits}"],
                cwd=scratch,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            # Reap pan here rather than through Popen, to get its own rusage.
            _, status, usage = os.wait4(pan.pid, 0)
        pan.returncode = os.waitstatus_to_exitcode(status)
        output = log.read_text()
        if pan.returncode != 0:
            raise BenchmarkError(f"pan with {rms} RMs failed:\n{output}")
        peak_mb = usage.ru_maxrss / 1024.0  # kilobytes on Linux

    states = int(match_or_fail(r"(\d+) states, stored", output, rms))
    errors = int(match_or_fail(r"errors: (\d+)", output, rms))
    seconds = float(match_or_fail(r"pan: elapsed time ([\d.e+-]+) seconds", output, rms))
    if errors or "max search depth too small" in output:
        raise BenchmarkError(f"pan with {rms} RMs reported problems:\n{output}")
    expect_states("SPIN", rms, states)
    return SpinRun(states, compile_seconds, seconds, peak_mb)


def run_tool(command: list[str], cwd: str) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchmarkError(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def match_or_fail(pattern: str, output: str, rms: int) -> str:
    found = re.search(pattern, output)
    if found is None:
        raise BenchmarkError(f"pan output with {rms} RMs lacks /{pattern}/:\n{output}")
    return found.group(1)


def expect_states(who: str, rms: int, states: int) -> None:
    if states != EXPECTED_STATES[rms]:
        raise BenchmarkError(
            f"{who} found {states:,} states with {rms} RMs, expected {EXPECTED_STATES[rms]:,}"
        )


def fastest_kmodel(rms: int, fingerprints: bool, repeat: int, workers: int = 1) -> KmodelRun:
    runs = (run_kmodel(rms, fingerprints, workers) for _ in range(repeat))
    return min(runs, key=lambda r: r.seconds)


def fastest_spin(rms: int, spin: str, gcc: str, repeat: int) -> SpinRun:
    runs = [run_spin(rms, spin, gcc) for _ in range(repeat)]
    best_search = min(runs, key=lambda r: r.search_seconds)
    best_compile = min(r.compile_seconds for r in runs)
    return SpinRun(
        best_search.states, best_compile, best_search.search_seconds, best_search.peak_memory_mb
    )


def report(rms: int, kmodel_runs: list[KmodelRun], spin_run: SpinRun | None) -> str:
    title = f"Two-phase commit, {rms} RMs: {EXPECTED_STATES[rms]:,} states"
    lines = [title, "=" * len(title)]
    row = "{:<30} {:>10} {:>10} {:>12} {:>9}"
    ratio = "{:<30} {:>10} {:>18}"
    lines.append(row.format("", "states", "seconds", "states/s", "peak MB"))
    for run in kmodel_runs:
        lines.append(
            row.format(
                run.label,
                f"{run.states:,}",
                f"{run.seconds:.2f}",
                rate(run.states_per_second),
                f"{run.peak_memory_mb:.0f}",
            )
        )
    if spin_run is None:
        return "\n".join(line.rstrip() for line in lines)
    total = spin_run.compile_seconds + spin_run.search_seconds
    lines += [
        row.format("SPIN compile (spin -a + gcc)", "", f"{spin_run.compile_seconds:.2f}", "", ""),
        row.format(
            "SPIN search (pan)",
            f"{spin_run.states:,}",
            f"{spin_run.search_seconds:.2f}",
            rate(spin_run.states_per_second),
            f"{spin_run.peak_memory_mb:.0f}",
        ),
        row.format("SPIN compile + search", "", f"{total:.2f}", "", ""),
        "",
        ratio.format("kmodel time / SPIN time", "search", "compile + search"),
    ]
    for run in kmodel_runs:
        lines.append(
            ratio.format(
                run.label,
                times(run.seconds, spin_run.search_seconds),
                times(run.seconds, total),
            )
        )
    return "\n".join(line.rstrip() for line in lines)


def rate(states_per_second: float) -> str:
    return f"{states_per_second:,.0f}" if math.isfinite(states_per_second) else "-"


def times(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator > 0 else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rms",
        type=int,
        nargs="+",
        default=[7, 8],
        choices=sorted(EXPECTED_STATES),
        help="numbers of resource managers (default: 7 8)",
    )
    parser.add_argument("--no-spin", action="store_true", help="time kmodel only")
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes of the parallel run (default 2)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per measurement; the fastest is shown"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    spin = gcc = None
    if not args.no_spin:
        spin, gcc = shutil.which("spin"), shutil.which("gcc")
        if spin is None or gcc is None:
            missing = "spin" if spin is None else "gcc"
            print(f"{missing} is not on PATH: showing kmodel figures only.\n")
            spin = gcc = None

    try:
        for index, rms in enumerate(args.rms):
            kmodel_runs = [fastest_kmodel(rms, fp, args.repeat) for fp in (False, True)]
            if args.workers > 1:
                kmodel_runs.append(fastest_kmodel(rms, True, args.repeat, args.workers))
            spin_run = None
            if spin is not None and gcc is not None:
                spin_run = fastest_spin(rms, spin, gcc, args.repeat)
            if index:
                print()
            print(report(rms, kmodel_runs, spin_run), flush=True)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
