"""`kmodel verify` saves its outcomes in results.json; `kmodel matrix` reuses those whose
spec files are unchanged and runs the others."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import kmodel
from kmodel.cli import main
from kmodel.jobs.run import run_job
from kmodel.jobs.spec import load_job
from kmodel.report.saved import build, reuse

SPECS = Path(__file__).resolve().parent.parent / "specs"
# Quick specs: two that name a semantic (so the matrix has rows), one read from a
# .properties file.
SEMANTICS = ("amo-producer-crash-before-send", "alo-duplicate-consumer-redelivery")
PROPERTIES = "properties-file"
NAMES = sorted([*SEMANTICS, PROPERTIES])


def kmodel_cli(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("library")
    for name in SEMANTICS:
        shutil.copy(SPECS / f"{name}.toml", directory)
    shutil.copy(SPECS / f"{PROPERTIES}.toml", directory)
    shutil.copytree(SPECS / "config", directory / "config")
    return directory


@pytest.fixture(scope="module")
def report(library: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    result = kmodel_cli("verify", library, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def specs(library: Path, tmp_path: Path) -> Path:
    """A copy of the library, free to edit."""
    return Path(shutil.copytree(library, tmp_path / "specs"))


def saved(report: Path) -> dict:
    return json.loads((report / "results.json").read_text(encoding="utf-8"))


def resave(report: Path, folder: Path, change) -> Path:
    """A copy of the report's results.json in `folder`, `change`d."""
    data = saved(report)
    change(data)
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def test_verify_saves_every_outcome_with_its_inputs(report: Path, library: Path) -> None:
    data = saved(report)
    assert data["kmodel"] == build() and build().startswith(f"{kmodel.__version__}+")
    entries = {entry["name"]: entry for entry in data["results"]}
    assert sorted(entries) == NAMES
    assert entries[PROPERTIES]["inputs"] == [
        str(library / f"{PROPERTIES}.toml"),
        str(library / "config" / "producer.properties"),
    ]
    assert all(len(entry["fingerprint"]) == 64 for entry in entries.values())
    assert len({entry["fingerprint"] for entry in entries.values()}) == 3


def test_a_saved_outcome_reads_back_as_it_ran(report: Path, library: Path) -> None:
    job = load_job(library / f"{PROPERTIES}.toml")
    ran = run_job(job)
    (outcome,) = reuse([job], report / "results.json", required=True).saved
    assert outcome is not None
    rebuilt = outcome.result
    assert dataclasses.replace(rebuilt, stats=ran.result.stats) == ran.result
    assert rebuilt.stats.states == ran.result.stats.states
    assert rebuilt.stats.levels == ran.result.stats.levels
    assert outcome.verdicts == ran.verdicts
    assert outcome.expectations_met


def test_matrix_reuses_every_result_of_verify(report: Path, library: Path) -> None:
    reused = kmodel_cli("matrix", library, "--results", report)
    assert reused.exit_code == 0, reused.output
    assert f"3 results reused from {report / 'results.json'}, 0 specs run" in reused.stderr
    fresh = kmodel_cli("matrix", library, "--fresh", "--quiet")
    assert fresh.exit_code == 0, fresh.output
    assert "reused" not in fresh.stderr
    assert "At-most-once" in fresh.stdout and "possible" in fresh.stdout
    assert reused.stdout == fresh.stdout


def test_an_edited_spec_runs_again(report: Path, specs: Path) -> None:
    name = next(iter(SEMANTICS))
    with (specs / f"{name}.toml").open("a", encoding="utf-8") as spec:
        spec.write("# edited\n")
    result = kmodel_cli("matrix", specs, "--results", report)
    assert result.exit_code == 0, result.output
    assert "2 results reused" in result.stderr and "1 spec run" in result.stderr
    ran = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("✓")]
    assert ran == [name]


def test_an_edited_properties_file_runs_its_spec_again(report: Path, specs: Path) -> None:
    with (specs / "config" / "producer.properties").open("a", encoding="utf-8") as file:
        file.write("\n# edited\n")
    result = kmodel_cli("matrix", specs, "--results", report)
    assert result.exit_code == 0, result.output
    ran = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("✓")]
    assert ran == [PROPERTIES]


def test_results_of_another_version_are_not_reused(
    report: Path, library: Path, tmp_path: Path
) -> None:
    other = resave(report, tmp_path / "other", lambda data: data.update(kmodel="0.0.1"))
    result = kmodel_cli("matrix", library, "--results", other, "--quiet")
    assert result.exit_code == 0, result.output
    assert "comes from kmodel 0.0.1" in result.stderr and "3 specs run" in result.stderr


def test_a_change_to_kmodel_itself_is_another_build(tmp_path: Path, monkeypatch) -> None:
    """Saved outcomes name kmodel's source, not only its version number: a model changed
    under the same version does not reuse what the old one found."""
    running = build()  # the package as it runs (cached for the process)
    package = Path(kmodel.__file__).parent
    copy = tmp_path / "kmodel"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(kmodel, "__file__", str(copy / "__init__.py"))
    before = build.__wrapped__()
    (copy / "kafka" / "broker.py").write_text("# another model\n", encoding="utf-8")
    assert build.__wrapped__() != before
    assert before == running  # the copy was the package as it runs


def test_a_search_cut_short_by_the_clock_is_not_reused(
    report: Path, library: Path, tmp_path: Path
) -> None:
    def cut_short(data: dict) -> None:
        for entry in data["results"]:
            if entry["name"] == PROPERTIES:
                entry["result"]["stop_reason"] = "max_seconds"

    cut = resave(report, tmp_path / "cut", cut_short)
    result = kmodel_cli("matrix", library, "--results", cut)
    assert result.exit_code == 0, result.output
    ran = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("✓")]
    assert ran == [PROPERTIES]


def _no_version(data: dict) -> None:
    del data["kmodel"]


def _bad_status(data: dict) -> None:
    data["results"][0]["result"]["properties"][0]["status"] = "maybe"


def _no_stats(data: dict) -> None:
    for entry in data["results"]:
        del entry["result"]["stats"]


def _text_count(data: dict) -> None:
    for entry in data["results"]:
        entry["result"]["stats"]["states"] = "many"


@pytest.mark.parametrize("change", [_no_version, _bad_status, _no_stats, _text_count])
def test_a_malformed_results_file_given_explicitly_exits_2(
    report: Path, library: Path, tmp_path: Path, change
) -> None:
    folder = resave(report, tmp_path / "bad", change)
    result = kmodel_cli("matrix", library, "--results", folder, "--quiet")
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith(f"kmodel: {folder / 'results.json'}: not a results file")
    assert "--fresh" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("content", [b'{"kmodel": ', b"\xff\xfe", b"[]"])
def test_a_results_file_that_is_not_json_given_explicitly_exits_2(
    library: Path, tmp_path: Path, content: bytes
) -> None:
    (tmp_path / "results.json").write_bytes(content)
    result = kmodel_cli("matrix", library, "--results", tmp_path, "--quiet")
    assert result.exit_code == 2, result.output
    assert f"kmodel: {tmp_path / 'results.json'}: not a results file" in result.stderr


def test_a_results_folder_given_without_results_exits_2(library: Path, tmp_path: Path) -> None:
    result = kmodel_cli("matrix", library, "--results", tmp_path, "--quiet")
    assert result.exit_code == 2
    assert f"{tmp_path / 'results.json'}: no such results file" in result.stderr


def test_without_the_default_folder_matrix_runs_every_spec_and_writes_nothing(
    specs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = kmodel_cli("matrix", "specs", "--quiet")
    assert result.exit_code == 0, result.output
    assert "no saved results reused" in result.stderr and "3 specs run" in result.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["specs"]
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "results.json").write_text("not json", encoding="utf-8")
    result = kmodel_cli("matrix", "specs", "--quiet")
    assert result.exit_code == 0, result.output
    assert "not a results file" in result.stderr and "3 specs run" in result.stderr


def test_fresh_and_results_together_are_a_usage_error(library: Path, tmp_path: Path) -> None:
    result = kmodel_cli("matrix", library, "--fresh", "--results", tmp_path)
    assert result.exit_code == 2
    assert "--fresh" in result.stderr
