"""The README's console examples are real output: every ``$ kmodel ...`` line of a
``console`` block is run, and what it prints must be what the README shows, word for
word, the figures (states, transitions, depth) and verdicts included. Only the time,
speed and memory of a run, which vary between machines, are left out of the comparison."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from kmodel.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TIMING = re.compile(r"in [\d.]+ s \([\d,]+ states/s, peak [\d.]+ MB(, [\d,]+ bytes/state)?\)")


def examples() -> list[tuple[str, str]]:
    """(command, the output shown under it) for each command of a console block."""
    found = []
    for block in re.findall(r"^```console\n(.*?)^```", README.read_text("utf-8"), re.M | re.S):
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, shown = part.partition("\n")
            found.append((command, shown))
    return found


def comparable(text: str) -> str:
    """`text` with the timing of a run masked and white space (line wrapping, column
    alignment) made uniform."""
    return " ".join(TIMING.sub("in <time>", text).split())


def test_the_readme_shows_examples() -> None:
    commands = [command for command, _ in examples()]
    assert len(commands) >= 3
    assert all(command.startswith("kmodel ") for command in commands)


def test_only_timings_are_masked() -> None:
    shown = (
        "bfs: 6,910 states, 22,066 transitions, depth 29 in 0.33 s (20,653 states/s, peak 25 MB)"
    )
    drifted = shown.replace("6,910", "6,911")
    assert comparable(shown) == comparable(shown.replace("0.33 s (20,653", "9.99 s (1"))
    assert comparable(shown) != comparable(drifted)


@pytest.mark.parametrize(("command", "shown"), examples(), ids=[c for c, _ in examples()])
def test_readme_example_is_real_output(
    command: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, shlex.split(command)[1:])
    assert result.exit_code == 0, result.output
    assert comparable(result.stdout) == comparable(shown)
