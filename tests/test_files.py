"""Hostile files and paths: kmodel reads only regular files of a sane size, never blocks on
one, and writes only inside the folder it was given, checked before any search."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kmodel.cli import main
from kmodel.jobs.files import MAX_BYTES, safe_name

SPECS = Path(__file__).resolve().parent.parent / "specs"
SMALL = SPECS / "amo-producer-crash-before-send.toml"
SLOW = SPECS / "at-least-once.toml"  # seconds of search: a check that starts it is too late


def kmodel(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def refused(result: Result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    message = result.stderr
    assert message.startswith("kmodel: ") and message.count("\n") == 1
    for word in words:
        assert word in message
    return message


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_is_not_a_spec(device: str, deadline) -> None:
    with deadline(10):
        refused(kmodel("check", device), f"kmodel: {device}: is not a regular file")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path, deadline) -> None:
    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)
    with deadline(10):
        refused(kmodel("check", fifo), "is not a regular file")
        # The same FIFO inside a folder given to verify.
        refused(kmodel("verify", tmp_path, "--out", tmp_path / "out"), f"{fifo}: is not a regular")


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    spec = tmp_path / "huge.toml"
    with spec.open("wb") as handle:
        handle.truncate(1 << 30)  # a sparse GiB: reading it would take the memory
    refused(kmodel("check", spec), "larger than a spec file may be (1,024 KiB)")
    spec.write_bytes(b"#" * MAX_BYTES + b"\n")
    refused(kmodel("check", spec), "larger than a spec file may be")


@pytest.mark.parametrize(
    ("path", "words"),
    [("", "the spec path is empty"), ("a\0b.toml", "contains a NUL character")],
    ids=["empty", "nul"],
)
def test_paths_that_name_no_file(path: str, words: str) -> None:
    refused(kmodel("check", path), words)


@pytest.mark.parametrize(
    ("text", "name"),
    [("..", "--"), ("...", "---"), (".hidden", "-hidden"), ("a/b", "a-b"), ("", "-")],
)
def test_safe_names_are_one_path_component(text: str, name: str) -> None:
    assert safe_name(text) == name


def test_a_spec_named_dot_dot_writes_inside_out(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    spec = folder / "...toml"
    spec.write_text(SMALL.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "out"
    result = kmodel("check", spec, "--quiet", "--trace", "json", "--out", out)
    assert result.exit_code == 0, result.output
    written = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.json")]
    assert written == ["out/--/no-loss.json"]


@pytest.mark.parametrize("command", ["check", "trace", "graph", "verify"])
def test_an_unwritable_out_is_refused_before_the_search(tmp_path: Path, command: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = blocker / "out"  # a folder below a file can never be made
    args = {
        "check": ["check", SLOW, "--trace", "json", "--out", out],
        "trace": ["trace", SLOW, "--contract", "no-loss", "--out", out / "t.json"],
        "graph": ["graph", SLOW, "--out", out],
        "verify": ["verify", SLOW, "--out", out],
    }[command]
    started = time.monotonic()
    refused(kmodel(*args), "--out", "cannot write files there")
    assert time.monotonic() - started < 2.0  # the seconds-long search never started
