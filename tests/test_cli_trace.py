"""`kmodel trace`: one contract's trace in every format, and its errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kmodel.cli import main
from kmodel.core.trace import Trace

SPECS = Path(__file__).resolve().parent.parent / "specs"
SPEC = SPECS / "amo-producer-crash-before-send.toml"


def kmodel(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def trace(*args: str | Path) -> Result:
    return kmodel("trace", SPEC, "--contract", "no-loss", "--quiet", *args)


def test_plantuml() -> None:
    result = trace("--format", "plantuml")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("@startuml")
    assert result.stdout.rstrip().endswith("@enduml")


def test_mermaid() -> None:
    result = trace("--format", "mermaid")
    assert result.exit_code == 0
    assert "sequenceDiagram" in result.stdout


def test_svg_to_stdout_parses_as_xml() -> None:
    result = trace("--format", "svg")
    assert result.exit_code == 0
    root = ET.fromstring(result.stdout.encode("utf-8"))
    assert root.tag.endswith("svg")


def test_png_needs_out_and_writes_png(tmp_path: Path) -> None:
    result = trace("--format", "png")
    assert result.exit_code == 2
    assert "--out" in result.output
    out = tmp_path / "deep" / "trace.png"
    result = trace("--format", "png", "--out", out)
    assert result.exit_code == 0
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_format_from_out_extension(tmp_path: Path) -> None:
    out = tmp_path / "trace.svg"
    assert trace("--out", out).exit_code == 0
    ET.parse(out)
    assert trace("--out", tmp_path / "trace.xyz").exit_code == 2


def test_text_is_the_numbered_narration() -> None:
    result = trace()
    assert result.exit_code == 0
    assert result.stdout.startswith("1. ")
    assert "no-loss" in result.stdout.splitlines()[-1]


def test_json_loads_as_trace() -> None:
    result = trace("--format", "json")
    loaded = Trace.loads(result.stdout)
    assert loaded.property == "no-loss"
    assert json.loads(result.stdout)["kind"]


def test_witness_trace() -> None:
    result = kmodel("trace", SPEC, "--contract", "witness:crash:producer", "--quiet")
    assert result.exit_code == 0
    assert "is reached" in result.stdout


def test_set_override_changes_the_trace() -> None:
    # With the source position stored only after the acknowledgement, nothing is lost.
    result = trace("--set", "application.source.commit=after-ack", "--set", "producer.acks=1")
    assert result.exit_code == 1
    assert "holds" in result.stderr


def test_unknown_contract_lists_the_properties() -> None:
    result = kmodel("trace", SPEC, "--contract", "no-such", "--quiet")
    assert result.exit_code == 2
    assert "no property 'no-such'" in result.stderr
    assert "no-loss" in result.stderr and "all-delivered" in result.stderr


def test_holding_contract_exits_1_naming_the_bounds() -> None:
    result = kmodel("trace", SPEC, "--contract", "no-duplicate-effect", "--quiet")
    assert result.exit_code == 1
    assert "holds under the bounds" in result.stderr
    assert "records=1" in result.stderr and "producer_crashes=1" in result.stderr


@pytest.mark.parametrize("spec", ["missing.toml"])
def test_bad_spec_exits_2(tmp_path: Path, spec: str) -> None:
    result = kmodel("trace", tmp_path / spec, "--contract", "no-loss")
    assert result.exit_code == 2
    assert result.stderr.startswith("kmodel: ")
