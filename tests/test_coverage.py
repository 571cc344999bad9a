"""Coverage of exhaustive searches (`kmodel check --coverage`): what fired, what was set
up and never fired, which contracts were exercised; the verdicts unchanged by it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kmodel.cli import main
from kmodel.core.bfs import check_bfs
from kmodel.core.coverage import Coverage
from kmodel.core.dfs import check_dfs
from kmodel.examples.lossy_link import lossy_link
from kmodel.jobs.run import build_system, run_job
from kmodel.jobs.spec import load_job

SPECS = Path(__file__).resolve().parent.parent / "specs"


@pytest.mark.parametrize("reduce", ["none", "symmetry", "por"])
def test_coverage_leaves_the_search_as_it_was(reduce: str) -> None:
    job = load_job(SPECS / "at-most-once.toml", search={"reduce": reduce, "workers": 1})
    plain = run_job(job)
    coverage = Coverage()
    covered = run_job(job, coverage=coverage)
    assert covered.result.stats.states == plain.result.stats.states
    assert [v.status for v in covered.verdicts] == [v.status for v in plain.verdicts]
    assert coverage.fired["deliver ProduceRequest to broker0"] > 0
    # Each enabled step of each state reached fires once; partial-order reduction takes
    # fewer, yet every kind it leaves out is enabled in a state it reached.
    fired, transitions = sum(coverage.fired.values()), covered.result.stats.transitions
    assert fired == transitions if reduce != "por" else fired > transitions


def test_a_kind_set_up_but_never_fired_within_the_bounds_is_reported() -> None:
    # The producer arms its request timeout, but the spec allows no timeout.
    job = load_job(SPECS / "acks1-leader-failover.toml")
    coverage = Coverage()
    run_job(job, coverage=coverage)
    assert "timer request.timeout.ms at producer" in coverage.never_fired
    assert {"crash broker0", "restart broker0"} <= set(coverage.fired)
    widened = load_job(SPECS / "acks1-leader-failover.toml", ["bounds.timeouts=1"])
    coverage = Coverage()
    run_job(widened, coverage=coverage)
    assert coverage.fired["timer request.timeout.ms at producer"] > 0
    assert "timer request.timeout.ms at producer" not in coverage.never_fired


def test_a_contract_is_exercised_only_where_it_could_fail() -> None:
    # With a loss allowed, only states after the loss count; without faults bounded,
    # every state where what the contract reads has changed (all but the first).
    faulty, faultless = Coverage(), Coverage()
    with_loss = check_bfs(lossy_link(records=1, max_retries=1, losses=1), coverage=faulty)
    without = check_dfs(lossy_link(records=1, max_retries=1, losses=0), coverage=faultless)
    assert faulty.contracts == ("no-duplicate", "no-loss", "no-deadlock")
    assert 0 < faulty.exercised["no-loss"] < with_loss.stats.states
    assert faultless.exercised["no-loss"] == without.stats.states - 1
    assert faulty.reached == {"message-lost"} and faulty.unreached == ["sender-restarted"]


def test_check_coverage_prints_and_exports_it() -> None:
    spec = SPECS / "acks1-leader-failover.toml"
    text = CliRunner().invoke(main, ["check", str(spec), "--coverage", "--quiet"])
    assert text.exit_code == 0
    assert "kinds of action fired (transitions explored)" in text.stdout
    assert "    timer request.timeout.ms at producer" in text.stdout
    report = CliRunner().invoke(
        main, ["check", str(spec), "--coverage", "--quiet", "--format", "json"]
    )
    coverage = json.loads(report.stdout)["coverage"]
    assert coverage["not_exercised"] == [] and coverage["fired"]["crash broker1"] > 0
    both = CliRunner().invoke(main, ["check", str(spec), "--coverage", "--workers", "2"])
    assert both.exit_code == 2 and "--coverage" in both.stderr


def test_the_model_s_own_system_reads_as_kinds() -> None:
    system = build_system(load_job(SPECS / "acks1-leader-failover.toml"))
    world = system.initial_states()[0]
    kinds = {system.action_kind(world, action) for action, _, _ in system.transitions(world)}
    assert "deliver SourceRead to source" in kinds
