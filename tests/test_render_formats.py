"""The one entry point to every trace format."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from kmodel.core.trace import PATH, Step, Trace
from kmodel.render.formats import FORMATS, format_for, render, write

TRACE = Trace(
    "no-loss",
    "at_end",
    {"x": 0},
    (
        Step("Ping", "b", "a", "b", None, "deliver", {"x": 1}),
        Step("crash", "b", None, None, "crash:b", "crash", {"x": 1}),
    ),
)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_renders(fmt: str) -> None:
    output = render(TRACE, fmt, title="T", settings={"bounds": {"crashes": 1}})
    assert isinstance(output, bytes) == FORMATS[fmt].binary
    assert output


# The same steps as a run taken by hand, which decides nothing.
SO_FAR = dataclasses.replace(TRACE, property="", kind=PATH)


@pytest.mark.parametrize("fmt", ["plantuml", "mermaid", "svg", "text"])
def test_a_plain_path_is_shown_without_a_verdict(fmt: str) -> None:
    """A path says how far the run went, and neither that a witness was reached nor that
    a contract broke; the same steps as a counterexample still say which broke."""
    shown = render(SO_FAR, fmt)
    assert "the run so far: 2 steps, 1 fault" in shown.lower()
    assert not re.search("witness|broken|reached|contract", shown)
    assert "contract no-loss" in render(TRACE, fmt)


def test_a_plain_path_survives_json() -> None:
    again = Trace.loads(render(SO_FAR, "json"))
    assert again == SO_FAR and again.kind == PATH
    assert not again.decides and TRACE.decides


def test_formats_say_what_they_are() -> None:
    assert render(TRACE, "plantuml").startswith("@startuml")
    assert render(TRACE, "mermaid").startswith("sequenceDiagram")
    assert "<svg" in render(TRACE, "svg")
    assert render(TRACE, "png").startswith(b"\x89PNG")
    assert render(TRACE, "text").startswith("1. The a sends Ping to the b.")
    assert Trace.loads(render(TRACE, "json")) == TRACE
    with pytest.raises(ValueError, match="the formats are"):
        render(TRACE, "gif")


def test_write_picks_the_format_from_the_extension(tmp_path: Path) -> None:
    assert format_for("t.puml") == "plantuml" and format_for("t.mmd") == "mermaid"
    assert format_for("T.PNG") == "png" and format_for("t.txt") == "text"
    with pytest.raises(ValueError, match="extension"):
        format_for("t.doc")
    path = write(TRACE, tmp_path / "t.json")
    assert json.loads(path.read_text())["property"] == "no-loss"
    assert write(TRACE, tmp_path / "t.png").read_bytes().startswith(b"\x89PNG")


CRASH_LOSES = Trace(
    "no-loss",
    "at_end",
    {"in_flight": [["b", "a", {"type": "OffsetCommit"}]]},
    (Step("crash", "b", None, None, "crash:b", "crash", {"in_flight": []}),),
)


@pytest.mark.parametrize(
    ("fmt", "arrow"),
    [
        ("plantuml", "b -[#CC0000]>x a : lost: OffsetCommit"),
        ("mermaid", "b-xa: lost: OffsetCommit"),
    ],
)
def test_a_crash_draws_what_its_sender_had_on_the_way_as_lost(fmt: str, arrow: str) -> None:
    assert arrow in render(CRASH_LOSES, fmt)


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_pictures_draw_a_crash_with_its_lost_messages(fmt: str) -> None:
    assert render(CRASH_LOSES, fmt)
