"""The matplotlib drawing of a trace: valid SVG holding every label, a real PNG."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kmodel.core.trace import Step, Trace
from kmodel.render.svg import draw_trace, to_png, to_svg

GOLDEN = Path(__file__).parent / "golden"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def kafka() -> tuple[Trace, dict]:
    data = json.loads((GOLDEN / "kafka_trace.json").read_text(encoding="utf-8"))
    return Trace.from_json(data["trace"]), data


def svg_words(svg: str) -> str:
    """All the text of an SVG, one space between pieces (wrapped labels join up again)."""
    root = ET.fromstring(svg)
    pieces = [
        " ".join(element.itertext()) for element in root.iter("{http://www.w3.org/2000/svg}text")
    ]
    return " ".join(" ".join(pieces).split())


def test_svg_parses_and_holds_every_label() -> None:
    trace, data = kafka()
    svg = to_svg(
        trace,
        data["title"],
        settings=data["settings"],
        defaults=data["defaults"],
        contract_description=data["description"],
    )
    words = svg_words(svg)
    for step in trace.steps:
        message = step.label.removeprefix("lose ").removeprefix("duplicate ")
        assert " ".join(message.split()) in words, message
    assert "contract no-duplicate-effect broken" in words
    assert data["title"] in words
    assert "enable.auto.commit=false" in words
    assert "no record takes effect in the sink twice" in words


def test_svg_is_reproducible() -> None:
    trace = Trace("p", "always", {}, (Step("crash", "a", None, None, "crash:a", "crash", {}),))
    assert to_svg(trace) == to_svg(trace)


def test_png_bytes_and_files(tmp_path: Path) -> None:
    trace, data = kafka()
    png = to_png(trace, data["title"], dpi=60)
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    small = Trace("p", "always", {}, trace.steps[:2])
    written = draw_trace(small, tmp_path / "trace.png", data["title"], dpi=40)
    assert written.read_bytes().startswith(PNG_MAGIC)
    svg_file = draw_trace(small, tmp_path / "trace.svg")
    ET.parse(svg_file)
    with pytest.raises(ValueError, match=r"\.svg or \.png"):
        draw_trace(trace, tmp_path / "trace.gif")


def test_height_grows_with_steps() -> None:
    def height(count: int) -> float:
        steps = tuple(Step(f"Ping({i})", "b", "a", "b", None, "deliver", {}) for i in range(count))
        root = ET.fromstring(to_svg(Trace("p", "always", {}, steps)))
        return float(root.attrib["height"].removesuffix("pt"))

    assert height(12) > height(3) + 2.5 * 72  # inches in points


def test_any_actor_names_and_empty_traces() -> None:
    steps = (
        Step("TMCommit", "TM", None, None, None, "step", {}),
        Step("RMRcvCommitMsg(0)", "RM0", "TM", "RM0", None, "step", {}),
        Step("tick", None, None, None, None, "step", {}),  # a step that names no actor
    )
    words = svg_words(to_svg(Trace("all-committed", "sometimes", {}, steps)))
    assert "TMCommit" in words and "RMRcvCommitMsg(0)" in words and "tick" in words
    assert "witness all-committed reached" in words
    assert "witness" in svg_words(to_svg(Trace("w", "sometimes", {}, ())))
