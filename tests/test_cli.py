"""The `kmodel` command: output formats, exit codes, search options and overrides."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kmodel.cli import main
from kmodel.core.trace import Trace, replay
from kmodel.examples.two_phase_commit import TwoPhaseCommit

SPECS = Path(__file__).resolve().parent.parent / "specs"
TWO_PHASE = SPECS / "two-phase-commit.toml"
PROPERTY_KEYS = {"name", "kind", "status", "expected", "trace"}


def kmodel(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def check_json(*args: str | Path) -> tuple[int, dict[str, Any]]:
    result = kmodel("check", *args, "--format", "json", "--quiet")
    return result.exit_code, json.loads(result.stdout)


def write_spec(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {prop["name"]: prop for prop in report["properties"]}


def test_json_report_for_five_resource_managers() -> None:
    code, report = check_json(TWO_PHASE, "--set", "rms=5", "--reduce", "none")
    assert code == 0
    assert report["stats"]["states"] == 8832
    assert report["reductions"] == []
    # By default one state of each class of states that differ only in which RM is which.
    code, reduced = check_json(TWO_PHASE, "--set", "rms=5")
    assert (code, reduced["stats"]["states"], reduced["reductions"]) == (0, 314, ["symmetry"])
    assert [p["status"] for p in reduced["properties"]] == [
        p["status"] for p in report["properties"]
    ]
    assert report["complete"] is True
    assert report["stop_reason"] == "explored"
    assert report["engine"] == "bfs"
    assert report["model"] == "two-phase-commit"
    assert report["settings"] == {"parameters": {"rms": 5}}
    assert report["expectations_met"] is True
    props = by_name(report)
    assert list(props) == ["consistent", "all-committed", "all-aborted"]
    for prop in props.values():
        assert set(prop) >= PROPERTY_KEYS
        assert prop["met"] is True
    assert props["consistent"] | {"description": ""} == {
        "name": "consistent",
        "kind": "always",
        "description": "",
        "status": "holds",
        "expected": "holds",
        "expected_steps": None,
        "met": True,
        "trace": None,
    }
    committed = props["all-committed"]
    assert (committed["kind"], committed["status"], committed["expected"]) == (
        "sometimes",
        "reached",
        "reached",
    )
    # 5 prepares, 5 receipts, the decision, 5 commit receipts.
    assert len(committed["trace"]["steps"]) == 16
    assert committed["trace"]["property"] == "all-committed"
    assert len(props["all-aborted"]["trace"]["steps"]) == 5
    # The traces in the report replay on the model they came from.
    for name in ("all-committed", "all-aborted"):
        assert replay(TwoPhaseCommit(5), Trace.from_json(props[name]["trace"])).ok


def test_text_report_mentions_every_property() -> None:
    result = kmodel("check", TWO_PHASE, "--quiet", "--reduce", "none")
    assert result.exit_code == 0
    out = result.stdout
    assert "Two-phase commit" in out and "288 states" in out and "complete" in out
    for line in ("consistent     always     holds", "all-committed  sometimes  reached in 10"):
        assert line in out
    assert "all-aborted" in out
    assert "expectations met: 3 of 3" in out
    assert "✗" not in out


def test_engines_and_fingerprints_agree_on_the_command_line() -> None:
    options = ([], ["--engine", "dfs"], ["--fingerprints"], ["--engine", "dfs", "--fingerprints"])
    reports = [check_json(TWO_PHASE, "--reduce", "none", *option) for option in options]
    assert {code for code, _ in reports} == {0}
    assert [report["engine"] for _, report in reports] == ["bfs", "dfs", "bfs", "dfs"]
    assert {report["stats"]["states"] for _, report in reports} == {288}
    assert reports[2][1]["search"]["fingerprints"] is True
    statuses = [{p["name"]: p["status"] for p in report["properties"]} for _, report in reports]
    assert all(status == statuses[0] for status in statuses)


def test_unmet_expectation_exits_one(tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path,
        'model = "two-phase-commit"\n\n'
        '[expect]\nconsistent = "violated"\nall-aborted = "reached"\n',
    )
    code, report = check_json(spec)
    assert code == 1
    assert report["expectations_met"] is False
    props = by_name(report)
    assert (props["consistent"]["status"], props["consistent"]["expected"]) == ("holds", "violated")
    assert props["consistent"]["met"] is False
    assert props["all-aborted"]["met"] is True
    # No expectation: met as long as the search reached a verdict.
    assert props["all-committed"]["expected"] is None and props["all-committed"]["met"] is True

    text = kmodel("check", spec, "--quiet")
    assert text.exit_code == 1
    assert "✗ consistent" in text.stdout
    assert "expected violated" in text.stdout
    assert "expectations met: 2 of 3" in text.stdout


def test_expected_trace_length(tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path,
        'model = "two-phase-commit"\n[expect]\n'
        'all-committed = { status = "reached", steps = 10 }\n'
        'all-aborted = { status = "reached", steps = 4 }\n',
    )
    code, report = check_json(spec)
    assert code == 1
    props = by_name(report)
    assert props["all-committed"]["expected_steps"] == 10 and props["all-committed"]["met"]
    assert props["all-aborted"]["expected_steps"] == 4 and not props["all-aborted"]["met"]
    text = kmodel("check", spec, "--quiet").stdout
    assert "expected reached in 4 steps" in text
    # An unmet verdict shows its trace, one numbered line per step.
    assert "  1. " in text and "  3. " in text and "  4. " not in text


def test_one_step_and_one_fault_are_singular(tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path,
        'model = "lossy-link"\n[parameters]\nrecords = 1\n[expect]\n'
        'message-lost = { status = "reached", steps = 1 }\n'
        'no-duplicate = { status = "violated", steps = 1 }\n',
    )
    text = kmodel("check", spec, "--quiet").stdout
    assert "message-lost      sometimes  reached in 1 step (1 fault)\n" in text
    assert "violated in 3 steps   — expected violated in 1 step\n" in text


def test_state_limit_leaves_undecided_properties_unknown() -> None:
    code, report = check_json(TWO_PHASE, "--max-states", "50", "--workers", "1")
    assert code == 1  # "holds" cannot be met by an incomplete search
    assert report["complete"] is False
    assert report["stop_reason"] == "max_states"
    assert report["search"]["max_states"] == 50
    assert report["stats"]["states"] == 50  # initial states count; checked after every new one
    # Each of several workers stops at its share of the limit.
    code, shared = check_json(TWO_PHASE, "--max-states", "50", "--workers", "2")
    assert (code, shared["stop_reason"]) == (1, "max_states")
    assert 25 <= shared["stats"]["states"] <= 50
    props = by_name(report)
    assert props["consistent"]["status"] == "unknown"
    for prop in props.values():
        if prop["trace"] is None:
            assert prop["status"] == "unknown" and prop["met"] is False
        else:
            assert prop["status"] in ("violated", "reached")
    text = kmodel("check", TWO_PHASE, "--max-states", "50", "--quiet").stdout
    assert "INCOMPLETE (stopped: max_states)" in text
    assert "the search stopped before a verdict" in text


def test_depth_limit() -> None:
    code, report = check_json(TWO_PHASE, "--max-depth", "3")
    assert code == 1
    assert report["complete"] is False and report["stop_reason"] == "max_depth"
    props = by_name(report)
    assert props["all-aborted"]["status"] == "reached"  # three aborts lie within the bound
    assert props["all-committed"]["status"] == "unknown"
    assert props["consistent"]["status"] == "unknown"
    # A bound beyond the deepest state changes nothing.
    code, report = check_json(TWO_PHASE, "--max-depth", "11", "--reduce", "none")
    assert code == 0 and report["complete"] is True and report["stats"]["states"] == 288


def test_search_options_in_the_spec_and_the_command_line(tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path, 'model = "two-phase-commit"\n[search]\nengine = "dfs"\nmax_states = 20\n'
    )
    code, report = check_json(spec)
    assert report["engine"] == "dfs" and report["complete"] is False
    # The command line overrides the spec.
    code, report = check_json(spec, "--engine", "bfs", "--max-states", "1000")
    assert code == 0
    assert report["engine"] == "bfs" and report["complete"] is True
    assert report["search"]["max_states"] == 1000


def test_overrides_of_a_model_with_sections(tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path,
        'model = "lossy-link"\ntitle = "Lossy link"\n[parameters]\nrecords = 1\n'
        '[bounds]\nlose = 0\n[expect]\nno-loss = "holds"\nmessage-lost = "unreached"\n',
    )
    code, report = check_json(spec)
    assert code == 0
    assert report["title"] == "Lossy link"
    assert report["settings"]["bounds"]["lose"] == 0
    assert report["settings"]["parameters"]["records"] == 1
    props = by_name(report)
    assert list(props) == [
        "no-duplicate",
        "no-loss",
        "message-lost",
        "sender-restarted",
        "no-deadlock",
    ]

    code, report = check_json(spec, "--set", "bounds.lose=2", "--set", "network=unordered")
    assert report["settings"]["bounds"]["lose"] == 2
    assert report["settings"]["parameters"]["network"] == "unordered"
    props = by_name(report)
    assert props["message-lost"]["status"] == "reached" and props["message-lost"]["met"] is False
    assert props["no-loss"]["status"] == "violated"
    assert code == 1


def test_models_lists_every_model_with_its_settings() -> None:
    result = kmodel("models")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert any(line.startswith("two-phase-commit: ") for line in lines)
    assert any(line.startswith("lossy-link: ") for line in lines)
    assert "  parameters.rms = 3  (an integer ≥ 1 and ≤ 12)" in result.stdout
    assert "  bounds.lose = 1" in result.stdout
    # Defaults read as a spec would write them.
    assert '  producer.acks = "all"  (one of 0, 1, "all", -1)' in result.stdout
    assert "  producer.enable.idempotence = (unset)" in result.stdout
    assert any(line.startswith("kafka: ") for line in lines)
    assert any(
        line.startswith(
            '  application.kind = "producer"  (one of "producer", "read-process-write")'
        )
        for line in lines
    )
    assert any(line.startswith("    atomicity  (always)") for line in lines)
    assert '  consumer.isolation.level = "read_uncommitted"' in result.stdout


def test_help_and_version() -> None:
    assert "--max-states" in kmodel("check", "--help").stdout
    version = kmodel("--version")
    assert version.exit_code == 0 and "0.1.0" in version.stdout


@pytest.mark.skipif(shutil.which("kmodel") is None, reason="the console script is not installed")
def test_console_script() -> None:
    done = subprocess.run(
        ["kmodel", "check", str(TWO_PHASE), "--set", "rms=4", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0
    report = json.loads(done.stdout)
    assert report["settings"]["parameters"]["rms"] == 4
    assert report["complete"] is True and report["expectations_met"] is True
    assert "Traceback" not in done.stderr


def test_models_lists_the_contracts_a_spec_can_expect() -> None:
    out = kmodel("models").stdout
    assert "    consistent  (always) — no resource manager commits while another aborts" in out
    assert "    no-loss  (at_end) — once the pipeline is quiet, every source record is in" in out
    assert "    witness:crash:broker  (sometimes)" in out  # a witness of every fault
    assert "    no-zombie-write  (always)" in out


def test_a_what_if_without_expectations(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, 'model = "two-phase-commit"\n[expect]\nconsistent = "violated"\n')
    judged = kmodel("check", spec, "--set", "rms=2", "--quiet")
    assert judged.exit_code == 1
    assert "✗ consistent" in judged.stdout
    assert "--no-expect shows the verdicts without judging them" in judged.stdout
    free = kmodel("check", spec, "--set", "rms=2", "--quiet", "--no-expect")
    assert free.exit_code == 0
    assert "  · consistent     always     holds" in free.stdout
    assert "✓" not in free.stdout and "✗" not in free.stdout
    assert "expectations not judged (--no-expect): 3 of 3 verdicts decided" in free.stdout
    code, report = check_json(spec, "--no-expect")
    assert code == 0 and report["expectations_judged"] is False
    assert {prop["expected"] for prop in report["properties"]} == {None}
    # A search stopped early still fails: its verdicts are not all decided.
    stopped = kmodel("check", spec, "--no-expect", "--max-states", "5", "--quiet")
    assert stopped.exit_code == 1 and "  ? consistent" in stopped.stdout


def test_a_check_that_explores_no_fault_says_so(tmp_path: Path) -> None:
    """Every fault bound at 0: what holds, holds for runs without faults only, and the
    report says so in text and JSON; a spec with a fault bound gets no such note."""
    spec = write_spec(tmp_path, 'model = "kafka"\n[producer]\nacks = 1\n')
    text = kmodel("check", spec).stdout
    assert "no fault explored: every fault bound is 0" in text
    assert "holds   — no fault explored" in text  # next to each contract that holds
    _, report = check_json(spec)
    assert any(note.startswith("no fault explored") for note in report["notes"])
    _, faulted = check_json(spec, "--set", "bounds.producer_crashes=1")
    assert not any(note.startswith("no fault explored") for note in faulted["notes"])
