"""Time limits on every command that searches, a bound on graph sizes, and Ctrl-C: a run
stopped early says what it covered and names what it did not reach."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import kmodel.__main__ as entry
import kmodel.report.runner as runner
from kmodel import cli
from kmodel.core.bfs import check_bfs
from kmodel.core.dfs import check_dfs
from kmodel.core.search import Limits, memory_mb, private_memory_mb
from kmodel.jobs.run import build_system
from kmodel.jobs.spec import load_job
from kmodel.render.graph import GraphTooLarge, state_graph

SPECS = Path(__file__).resolve().parent.parent / "specs"
SMALL = SPECS / "amo-producer-crash-before-send.toml"
TWO_PHASE = SPECS / "two-phase-commit.toml"
SLOW = SPECS / "at-least-once.toml"  # a second or so of search
RF3 = SPECS.parent / "benchmarks" / "specs" / "realistic-rf3.toml"  # hours of search


def kmodel(*args: str | Path) -> Result:
    return CliRunner().invoke(cli.main, [str(arg) for arg in args])


def test_trace_stops_at_its_time_limit() -> None:
    started = time.monotonic()
    result = kmodel("trace", SLOW, "--contract", "no-loss", "--max-seconds", "0.2", "--quiet")
    assert result.exit_code == 1
    assert "the search stopped before a verdict" in result.stderr
    assert "incomplete (stopped: max_seconds)" in result.stderr
    assert time.monotonic() - started < 5.0  # the whole search takes several times that


def test_graph_stops_at_its_time_limit() -> None:
    system = build_system(load_job(SMALL))
    with pytest.raises(GraphTooLarge, match=r"took longer than 1e-09 s \(--max-seconds\)"):
        state_graph(system, 2000, max_seconds=1e-9)
    assert state_graph(system, 2000, max_seconds=60).number_of_nodes() > 1


def test_graph_on_the_command_line_stops_at_its_time_limit(tmp_path: Path) -> None:
    args = ("graph", SLOW, "--out", tmp_path, "--limit", "20000", "--max-seconds", "0.3")
    result = kmodel(*args)
    assert result.exit_code == 2
    assert "took longer than 0.3 s (--max-seconds)" in result.stderr
    assert not (tmp_path / "graph.png").exists()


@pytest.mark.parametrize("command", ["check", "trace", "graph", "verify", "matrix"])
def test_a_time_limit_is_a_number_of_seconds(tmp_path: Path, command: str) -> None:
    out = ["--out", tmp_path / "out"] if command in ("graph", "verify") else []
    for value in ("nan", "0", "-1", "soon"):
        result = kmodel(command, SMALL, *out, "--max-seconds", value)
        assert result.exit_code == 2
        assert "Invalid value for '--max-seconds'" in result.stderr, result.output


def test_graph_limit_has_an_upper_bound(tmp_path: Path) -> None:
    result = kmodel("graph", SMALL, "--out", tmp_path, "--limit", "20001")
    assert result.exit_code == 2
    assert "'--limit'" in result.stderr and "20000" in result.stderr


def _fake_clock(monkeypatch: pytest.MonkeyPatch, jumps: list[float]) -> None:
    """Each look at the run's clock returns the next of `jumps`."""
    ticks = iter(jumps)
    monkeypatch.setattr(runner, "monotonic", lambda: next(ticks))


def test_a_time_budget_bounds_the_whole_run(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = [load_job(SMALL), load_job(TWO_PHASE)]
    # The budget starts at 0, the first spec starts at 1 with 9 s left, the second at 11.
    _fake_clock(monkeypatch, [0.0, 1.0, 11.0])
    run = runner.run_jobs(jobs, None, max_seconds=10, workers=1)
    assert [o.job.name for o in run.outcomes] == ["amo-producer-crash-before-send"]
    assert run.outcomes[0].job.search["max_seconds"] == 9.0  # the search got what was left
    assert [job.name for job in run.not_run] == ["two-phase-commit"]
    assert run.stopped == "max_seconds" and not run.expectations_met
    assert run.stopped_text() == (
        "The run stopped early, out of time (--max-seconds); specs not run: two-phase-commit."
    )


def test_verify_and_matrix_take_a_time_budget(tmp_path: Path) -> None:
    args = ("verify", RF3, TWO_PHASE, "--max-seconds", "0.5", "--out", tmp_path, "--workers", "1")
    result = kmodel(*args)
    assert result.exit_code == 1
    assert "  incomplete (stopped: max_seconds)" in result.stdout
    assert "specs not run: two-phase-commit" in result.stdout
    assert "specs not run: two-phase-commit" in (tmp_path / "index.md").read_text("utf-8")
    # Specs run side by side share the budget: each stops when it is spent.
    started = time.monotonic()
    result = kmodel(
        "verify", RF3, SLOW, "--max-seconds", "0.3", "--out", tmp_path, "--workers", "2"
    )
    assert result.exit_code == 1 and result.stdout.count("(stopped: max_seconds)") == 2
    assert time.monotonic() - started < 30
    result = kmodel("matrix", SMALL, "--max-seconds", "60", "--quiet")
    assert result.exit_code == 0


def test_ctrl_c_stops_the_whole_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = runner.run_job

    def interrupted_second(job, display=None):
        if job.name == "two-phase-commit":
            raise KeyboardInterrupt
        return real(job, display)

    monkeypatch.setattr(runner, "run_job", interrupted_second)
    specs = (SMALL, TWO_PHASE, SPECS / "at-most-once.toml")
    result = kmodel("verify", *specs, "--out", tmp_path, "--workers", "1")
    assert result.exit_code == 1
    assert "✓ amo-producer-crash-before-send" in result.stdout
    assert "specs not run: two-phase-commit, at-most-once." in result.stdout
    assert (tmp_path / "amo-producer-crash-before-send.html").is_file()
    assert "interrupted" in (tmp_path / "index.html").read_text("utf-8")


def test_ctrl_c_during_verify_for_real(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kmodel",
            "verify",
            RF3,
            TWO_PHASE,
            "--out",
            tmp_path,
            "--workers",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.0)  # well into the first spec's search
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    assert "(stopped: interrupted)" in out
    assert "The run stopped early, interrupted; specs not run: two-phase-commit." in out
    assert "Traceback" not in err
    assert (tmp_path / "index.html").is_file()


def test_ctrl_c_outside_a_search(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "load_job", interrupt)
    result = kmodel("check", SMALL)
    assert result.exit_code == 1
    assert result.stderr == "kmodel: interrupted.\n"


def test_ctrl_c_while_starting(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "main", interrupt)  # as if hit while importing
    with pytest.raises(SystemExit) as stop:
        entry.run()
    assert stop.value.code == 1
    assert capsys.readouterr().err == "kmodel: interrupted.\n"


@pytest.mark.parametrize("engine", ["bfs", "dfs"])
def test_a_time_limit_stops_a_search_within_a_second(engine: str) -> None:
    # The clock is read every 1,024 new states: at tens of thousands of states a second,
    # a search stops within a small part of a second of its limit.
    system = build_system(load_job(RF3))
    run = check_bfs if engine == "bfs" else check_dfs
    started = time.monotonic()
    result = run(system, Limits(max_seconds=0.5))
    elapsed = time.monotonic() - started
    assert result.stop_reason == "max_seconds"
    assert 0.5 <= result.stats.seconds < 1.0 and elapsed < 1.5


def test_making_traces_shortest_keeps_to_the_time_limit() -> None:
    # Under partial-order reduction the search for shorter traces gets what is left of
    # the time; what it could not shorten is said.
    started = time.monotonic()
    result = check_bfs(build_system(load_job(RF3)), Limits(max_seconds=1.0), reduce=("por",))
    assert time.monotonic() - started < 3.0
    assert result.stop_reason == "max_seconds"
    decided = [p for p in result.properties if p.trace is not None]
    assert decided  # witnesses of the faults, at least
    if any("may not be the shortest" in note for note in result.notes):
        assert "--reduce symmetry" in " ".join(result.notes)


def _report_memory(pipe) -> None:
    pipe.send((memory_mb(), private_memory_mb()))


def test_a_forked_worker_counts_only_the_memory_it_holds_alone() -> None:
    """Pages a worker still shares with the process it was forked from are that
    process's: counting them again stopped searches run from a large process early."""
    held = bytearray(b"x" * (96 * 2**20))  # the parent's memory, touched
    ours, theirs = multiprocessing.get_context("fork").Pipe()
    worker = multiprocessing.get_context("fork").Process(target=_report_memory, args=(theirs,))
    worker.start()
    resident, private = ours.recv()
    worker.join()
    assert resident - private > 80 and len(held) > 0


# Runs in a fresh interpreter: memory an earlier test freed stays in this process, and a
# search that reuses it never grows the process, so "held" would stay at zero.
HOLDING_PROCESS = """
import sys
from kmodel.core.search import Limits
from kmodel.core.{module} import {search} as search
from kmodel.examples.two_phase_commit import TwoPhaseCommit
held = bytearray(b"x" * (96 * 2**20))
model = TwoPhaseCommit(6)  # 50,816 states: past the first look at memory
print(search(model, limits=Limits(max_memory_mb=0.001)).stop_reason)
print(search(model, limits=Limits(max_memory_mb=48)).complete, len(held) > 0)
"""


@pytest.mark.parametrize(("module", "search"), [("bfs", "check_bfs"), ("dfs", "check_dfs")])
def test_max_memory_counts_what_the_search_holds_not_the_process(module, search) -> None:
    """A process that already holds more than the limit (a test run, a notebook) can
    still run a search within it; a limit below what the search needs stops it."""
    code = HOLDING_PROCESS.format(module=module, search=search)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:2] == ["max_memory", "True True"]
