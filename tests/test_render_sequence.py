"""PlantUML and Mermaid sequence diagrams of traces: golden files, escaping, ordering.

The traces are saved under tests/golden/ rather than produced by a model, so
the expected diagrams change only when the renderers do. After a deliberate
change, regenerate them with ``KMODEL_UPDATE_GOLDEN=1 pytest tests/test_render_sequence.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kmodel.core.trace import Step, Trace
from kmodel.render import events as ev
from kmodel.render.mermaid import escape as mermaid_escape
from kmodel.render.mermaid import to_mermaid
from kmodel.render.plantuml import escape as plantuml_escape
from kmodel.render.plantuml import to_plantuml

GOLDEN = Path(__file__).parent / "golden"


def fixture(name: str) -> tuple[Trace, dict[str, Any]]:
    data = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    return Trace.from_json(data["trace"]), data


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("KMODEL_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs; see the module docstring"


def kafka_plantuml() -> str:
    trace, data = fixture("kafka_trace.json")
    return to_plantuml(trace, data["title"], data["settings"], defaults=data["defaults"])


def kafka_mermaid() -> str:
    trace, data = fixture("kafka_trace.json")
    return to_mermaid(trace, data["title"], data["settings"], defaults=data["defaults"])


def two_phase_commit(render: Any) -> str:
    trace, data = fixture("two_phase_commit_trace.json")
    return render(trace, data["title"], data["settings"])


def test_plantuml_golden() -> None:
    check_golden("kafka_trace.puml", kafka_plantuml())
    check_golden("two_phase_commit_trace.puml", two_phase_commit(to_plantuml))


def test_mermaid_golden() -> None:
    check_golden("kafka_trace.mmd", kafka_mermaid())
    check_golden("two_phase_commit_trace.mmd", two_phase_commit(to_mermaid))


def test_kafka_participants_stand_in_pipeline_order() -> None:
    trace, _ = fixture("kafka_trace.json")
    assert ev.participants(trace) == [
        "source", "producer", "broker0", "broker1", "controller", "coordinator", "consumer", "sink",
    ]  # fmt: skip
    text = kafka_plantuml()
    assert 'participant "Broker 0" as broker0' in text
    assert 'participant "Coordinator" as coordinator' in text


def test_unknown_actors_follow_in_order_of_appearance() -> None:
    steps = (
        Step("hello", "zeta", "alpha", "zeta", None, "deliver", {}),
        Step("x", "RM1", None, None, None, "step", {}),
        Step("y", "RM0", None, None, None, "step", {}),
        Step("z", "consumer", None, None, None, "step", {}),
    )
    trace = Trace("p", "always", {}, steps)
    assert ev.participants(trace) == ["consumer", "alpha", "zeta", "RM0", "RM1"]
    assert ev.display_name("RM1") == "RM1"
    assert ev.display_name("broker2") == "Broker 2"


def test_plantuml_shapes() -> None:
    text = kafka_plantuml()
    assert text.startswith("@startuml\n") and text.endswith("@enduml\n")
    assert "broker0 -[#CC0000]>x producer : lost: ProduceResponse(r1 at offset 0)" in text
    assert "producer -[#CC0000]>x broker1 : connection breaks" in text
    assert "note over broker0 #FFAAAA: crash" in text
    assert "note over broker0 #AAFFAA: restart" in text
    assert "controller -[#1F5FBF]> broker1" in text  # a failover step stands out
    assert text.splitlines()[-2] == (
        "note over consumer, sink #FF6666: contract no-duplicate-effect broken here"
    )
    # Only the settings that differ from the defaults are listed.
    assert "enable.auto.commit=false" in text and "retries=" not in text


def test_mermaid_shapes() -> None:
    text = kafka_mermaid()
    assert text.startswith("sequenceDiagram\n")
    assert "    participant broker0 as Broker 0" in text
    assert "    broker0-xproducer: lost: ProduceResponse(r1 at offset 0)" in text
    assert "    producer->>source: read next and store the position" in text
    assert "Note over broker0: crash" in text
    assert "Note over consumer,sink: contract no-duplicate-effect broken here" in text


def test_witness_is_green() -> None:
    assert "#88DD88: witness all-committed reached here" in two_phase_commit(to_plantuml)
    assert "rect rgb(160, 225, 160)" in two_phase_commit(to_mermaid)


def test_escaping() -> None:
    assert plantuml_escape("a **b** <i>c</i> ~ [[d]]\nx\\y") == (
        "a &#42;*b&#42;* &#60;i>c&#60;/i> &#126; &#91;[d]]\\nx\\\\y"
    )
    assert mermaid_escape("a; #b <c>\nd") == "a#59; #35;b #lt;c#gt;<br/>d"


def test_odd_actor_names_get_safe_aliases() -> None:
    steps = (Step("go", "end", "my actor", "end", None, "deliver", {}),)
    trace = Trace("p", "always", {}, steps)
    assert 'participant "My actor" as my_actor' in to_plantuml(trace)
    mermaid = to_mermaid(trace)
    assert "participant end_2 as End" in mermaid and "my_actor->>end_2: go" in mermaid


def test_empty_trace() -> None:
    trace = Trace("all-quiet", "sometimes", {}, ())
    assert to_plantuml(trace).startswith("@startuml")
    assert to_mermaid(trace).startswith("sequenceDiagram")


def test_plantuml_accepts_the_diagrams() -> None:
    if shutil.which("plantuml") is None:
        pytest.skip("plantuml is not installed")
    # One run for both diagrams: starting Java is the slow part.
    text = kafka_plantuml() + two_phase_commit(to_plantuml)
    done = subprocess.run(
        ["plantuml", "-tsvg", "-pipe"], input=text.encode(), capture_output=True, timeout=120
    )
    output = done.stdout.decode("utf-8", "replace")
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert "Syntax Error" not in output
    assert output.count("<svg") == 2
