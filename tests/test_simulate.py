"""Random runs (`kmodel simulate`): a known violation found and shrunk, the same runs
for the same seed, saved examples replayed, and coverage of runs that break nothing."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from kmodel.cli import main
from kmodel.core.simulate import simulate
from kmodel.core.trace import breaks
from kmodel.examples.two_phase_commit import TwoPhaseCommit
from kmodel.jobs.run import build_system, run_job, simulate_job
from kmodel.jobs.spec import load_job

SPECS = Path(__file__).resolve().parent.parent / "specs"
FAILOVER = SPECS / "acks1-leader-failover.toml"
TWO_PHASE = SPECS / "two-phase-commit.toml"


def kmodel(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def test_a_simulation_finds_the_acked_write_lost_in_a_failover_and_shrinks_it() -> None:
    job = load_job(FAILOVER)
    found = simulate_job(job, runs=2000, depth=200, seed=3)
    assert found.trace is not None
    assert found.trace.property == "no-acked-loss"
    # The exhaustive search's shortest is 12 steps; the runs that found it were longer.
    shortest = len(run_job(job).verdict("no-acked-loss").trace)
    assert shortest <= len(found.trace) <= 20 < found.steps
    assert breaks(build_system(job), found.trace, "no-acked-loss")
    assert found.trace.faults == 1


def test_the_same_seed_draws_the_same_runs() -> None:
    job = load_job(FAILOVER)
    first = simulate_job(job, runs=2000, depth=200, seed=11)
    again = simulate_job(job, runs=2000, depth=200, seed=11)
    assert first.trace is not None and again.trace is not None
    assert (first.runs, first.steps) == (again.runs, again.steps)
    assert first.trace.dumps() == again.trace.dumps()


def test_a_saved_breaking_run_is_replayed_first(tmp_path: Path) -> None:
    job = load_job(FAILOVER)
    first = simulate_job(job, runs=2000, depth=200, database=tmp_path)
    assert first.trace is not None and first.runs > 1
    assert any(tmp_path.iterdir())
    again = simulate_job(job, runs=2000, depth=200, database=tmp_path)
    assert again.runs == 1
    assert again.trace is not None and again.trace.dumps() == first.trace.dumps()


def test_runs_that_break_nothing_report_what_they_covered() -> None:
    found = simulate(TwoPhaseCommit(1), runs=100, depth=20, seed=1)
    # hypothesis stops early once it has drawn every distinct run.
    assert found.trace is None and 0 < found.runs <= 100
    coverage = found.coverage
    assert {"TMCommit", "TMAbort", "RMPrepare", "RMRcvCommitMsg"} <= set(coverage.fired)
    assert coverage.contracts == ("consistent",) and coverage.not_exercised == []
    assert set(coverage.witnesses) == coverage.reached and coverage.unreached == []


def test_a_run_limited_to_one_contract_looks_for_that_one_only() -> None:
    job = load_job(FAILOVER)
    found = simulate_job(job, runs=300, depth=200, seed=3, contracts={"producer-order"})
    assert found.trace is None and found.runs == 300
    assert found.coverage.fired["crash broker0"] > 0


def test_the_command_narrates_the_broken_contract_and_exits_1(tmp_path: Path) -> None:
    result = kmodel(
        "simulate", FAILOVER, "--runs", "2000", "--seed", "3", "--quiet",
        "--examples", tmp_path / "examples",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "✗ no-acked-loss  always  violated in" in result.stdout
    assert "the contract no-acked-loss (“every write the broker acknowledged" in result.stdout
    assert "timer request.timeout.ms at producer" in result.stdout  # set up, never fired


def test_the_command_exits_0_and_reports_coverage_when_nothing_breaks(tmp_path: Path) -> None:
    result = kmodel(
        "simulate", TWO_PHASE, "--runs", "100", "--seed", "1", "--format", "json", "--quiet",
        "--examples", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["violated"] is None and report["runs"] == 100 and report["seed"] == 1
    assert report["coverage"]["fired"]["TMAbort"] > 0


def test_bounds_widen_the_spec_and_bad_ones_are_usage_errors(tmp_path: Path) -> None:
    args = ("simulate", TWO_PHASE, "--runs", "5", "--quiet", "--examples", tmp_path)
    wider = kmodel(*args[:2], "--bounds", "records=3", *args[2:])
    assert wider.exit_code == 2
    assert "bounds.records" in wider.stderr and "parameters.rms" in wider.stderr
    for bad in (("--bounds", "records"), ("--runs", "0"), ("--contract", "no-such")):
        result = kmodel(*args, *bad)
        assert result.exit_code == 2, bad
        assert "Traceback" not in result.output
    widened = kmodel(
        "simulate", SPECS / "at-least-once.toml", "--bounds", "records=3", "--runs", "20",
        "--seed", "1", "--contract", "no-loss", "--quiet", "--format", "json",
        "--examples", tmp_path,
    )  # fmt: skip
    report = json.loads(widened.stdout)
    assert report["settings"]["bounds"]["records"] == 3 and report["violated"] is None
