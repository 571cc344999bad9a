"""Checks that fit CI: a trace as a pytest regression test that runs as written, JUnit
XML from `kmodel verify`, a time limit per spec, and `kmodel trace` without --contract."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner, Result

from kmodel.cli import main

SPECS = Path(__file__).resolve().parent.parent / "specs"
FAILOVER = SPECS / "acks1-leader-failover.toml"
TWO_PHASE = SPECS / "two-phase-commit.toml"


def kmodel(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def run_pytest(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_pytest_export_runs_as_is_and_fails_once_the_contract_holds(tmp_path: Path) -> None:
    test = tmp_path / "test_failover.py"
    written = kmodel("trace", FAILOVER, "--contract", "no-acked-loss", "--out", test, "--quiet")
    assert written.exit_code == 0, written.output
    passed = run_pytest(tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "1 passed" in passed.stdout
    # The same trace does not break a contract that holds: the test says so.
    source = test.read_text(encoding="utf-8")
    test.write_text(
        source.replace("CONTRACT = 'no-acked-loss'", "CONTRACT = 'producer-order'"),
        encoding="utf-8",
    )
    failed = run_pytest(tmp_path)
    assert failed.returncode == 1 and "producer-order holds after" in failed.stdout


def test_a_pytest_export_of_a_witness_is_refused() -> None:
    result = kmodel("trace", FAILOVER, "--contract", "failover", "--format", "pytest")
    assert result.exit_code == 2 and "witness" in result.stderr


def test_trace_without_a_contract_traces_the_first_that_breaks() -> None:
    result = kmodel("trace", FAILOVER, "--quiet")
    assert result.exit_code == 0
    assert "tracing no-acked-loss, the first contract that breaks" in result.stderr
    assert "the contract no-acked-loss" in result.stdout


def test_trace_without_a_contract_lists_the_choices_when_none_breaks() -> None:
    result = kmodel("trace", TWO_PHASE, "--quiet")
    assert result.exit_code == 1
    assert "no contract breaks" in result.stderr
    assert "all-committed, all-aborted" in result.stderr


def test_verify_writes_junit_with_a_case_per_spec_and_contract(tmp_path: Path) -> None:
    junit = tmp_path / "ci" / "kmodel.xml"
    specs = (FAILOVER, TWO_PHASE)
    result = kmodel("verify", *specs, "--out", tmp_path / "r", "--junit", junit, "--quiet")
    assert result.exit_code == 0, result.output
    root = ET.parse(junit).getroot()
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert set(suites) == {"acks1-leader-failover", "two-phase-commit"}
    cases = [case.get("name") for case in suites["two-phase-commit"].iter("testcase")]
    assert cases == ["consistent", "all-committed", "all-aborted"]
    assert root.get("tests") == str(12 + 3) and root.get("failures") == "0"
    assert not list(root.iter("failure"))


def test_a_spec_cut_short_fails_its_cases_with_what_was_explored(tmp_path: Path) -> None:
    junit = tmp_path / "kmodel.xml"
    result = kmodel(
        "verify", FAILOVER, "--out", tmp_path / "r", "--junit", junit, "--quiet",
        "--spec-seconds", "0.001",
    )  # fmt: skip
    assert result.exit_code == 1
    failures = list(ET.parse(junit).getroot().iter("failure"))
    assert failures
    assert all("explored" in failure.text and "max_seconds" in failure.text for failure in failures)


def test_verify_refuses_a_junit_file_it_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    result = kmodel("verify", TWO_PHASE, "--out", tmp_path / "r", "--junit", blocker / "x.xml")
    assert result.exit_code == 2 and "--junit" in result.stderr
