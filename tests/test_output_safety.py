"""Text from a spec reaches terminals, diagrams and drawings as text: a `$` is no formula,
a carriage return or terminal escape is shown as an escape, and a terminal that cannot
show ✓ or has no room left gets a line, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kmodel.cli import main
from kmodel.core.text import printable

SPECS = Path(__file__).resolve().parent.parent / "specs"
SMALL = SPECS / "amo-producer-crash-before-send.toml"
HOSTILE = "Costs $x^$ \\u001b[31mred\\r\\u202eevil"  # as written in TOML; mathtext fails
RAW = ("\x1b", "\r", "\u202e")


def kmodel(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


@pytest.fixture
def hostile_spec(tmp_path: Path) -> Path:
    text = SMALL.read_text(encoding="utf-8").replace('title = "', f'title = "{HOSTILE} ', 1)
    spec = tmp_path / "hostile.toml"
    spec.write_text(text, encoding="utf-8")
    return spec


def test_printable_escapes_what_would_rewrite_a_terminal() -> None:
    assert printable("a\x1b[2Jb\rc\u202ed\x85e\x7f") == "a\\u001b[2Jb\\rc\\u202ed\\u0085e\\u007f"
    assert printable("plain: é, ✓, $x$") == "plain: é, ✓, $x$"
    assert printable("one\r\ntwo\rthree", newlines=True) == "one\ntwo\\rthree"


@pytest.mark.parametrize("fmt", ["plantuml", "mermaid", "text", "json"])
def test_diagrams_and_the_terminal_get_no_raw_control_characters(
    hostile_spec: Path, fmt: str
) -> None:
    result = kmodel("trace", hostile_spec, "--contract", "no-loss", "--format", fmt, "--quiet")
    assert result.exit_code == 0, result.output
    assert not any(raw in result.stdout for raw in RAW)
    if fmt in ("plantuml", "mermaid"):
        title = next(line for line in result.stdout.splitlines() if "title" in line)
        assert "Costs $x^$" in title and "u001b[31mred" in title


def test_the_summary_escapes_the_title(hostile_spec: Path) -> None:
    result = kmodel("check", hostile_spec, "--quiet")
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("Costs $x^$ \\u001b[31mred\\r\\u202eevil ")
    assert not any(raw in result.stdout for raw in RAW)


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_a_dollar_in_the_title_draws(hostile_spec: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"trace.{fmt}"
    result = kmodel("trace", hostile_spec, "--contract", "no-loss", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    if fmt == "svg":
        assert "Costs $x^$" in out.read_text(encoding="utf-8")


def test_a_dollar_in_the_title_draws_the_graph_and_the_report(
    hostile_spec: Path, tmp_path: Path
) -> None:
    result = kmodel("graph", hostile_spec, "--out", tmp_path / "graph")
    assert result.exit_code == 0, result.output
    result = kmodel("verify", hostile_spec, "--out", tmp_path / "report", "--quiet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report" / "states.png").is_file()
    row = next(
        line
        for line in (tmp_path / "report" / "index.md").read_text("utf-8").splitlines()
        if line.startswith("| [hostile]")
    )
    assert "Costs $x^$ \\u001b[31mred\\r\\u202eevil" in row and row.endswith("|")


def _kmodel_process(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kmodel", *args],
        capture_output=True,
        check=False,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", **env},
    )


def test_a_terminal_without_check_marks() -> None:
    done = _kmodel_process("check", str(SMALL), "--quiet", PYTHONIOENCODING="cp1252")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("cp1252")
    assert "  ok no-loss" in text and "✓" not in text
    assert b"Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["check", "verify"])
def test_standard_output_on_a_full_disk(tmp_path: Path, command: str) -> None:
    args = {"check": ["--quiet"], "verify": ["--out", str(tmp_path)]}[command]
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "kmodel", command, str(SMALL), *args],
            stdout=full,
            stderr=subprocess.PIPE,
            check=False,
            timeout=120,
        )
    assert done.returncode == 2
    assert done.stderr == b"kmodel: cannot write the output: No space left on device.\n"
