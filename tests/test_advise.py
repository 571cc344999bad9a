"""`kmodel advise`: the smallest change that gives the wanted guarantee, found by z3's
optimiser over Kafka's rules and checked by the fault menu, each rejected candidate with
the trace that ruled it out."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import z3
from click.testing import CliRunner

from kmodel.advise import smallest_change as advise_module
from kmodel.advise.classify import classify, load_configuration
from kmodel.advise.space import Space
from kmodel.cli import main
from kmodel.core.trace import breaks
from kmodel.kafka.model import KAFKA

LATENCY_FIRST = "acks=1\nenable.idempotence=false\nretries=3\n"


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _advise(*args: str):
    return CliRunner().invoke(main, ["advise", *args])


def test_the_fewest_changes_that_give_at_least_once(tmp_path: Path) -> None:
    """The consumer starts at the latest offset, past what was written before it: one
    change, proved under the fault menu, after the configuration as it is was ruled out
    by its trace."""
    producer = _write(tmp_path, "producer.properties", LATENCY_FIRST)
    consumer = _write(tmp_path, "consumer.properties", "enable.auto.commit=true\n")
    result = _advise("--producer", producer, "--consumer", consumer, "--want", "at-least-once",
                     "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    advice = json.loads(result.stdout)
    assert advice["changes"] == {"consumer.auto.offset.reset": {"from": "latest", "to": "earliest"}}
    first = advice["candidates"][0]
    assert first["changes"] == {} and first["ruled_out_by"] == "no-loss"
    assert first["trace"]["steps"]
    # Its trace reads the consumer's auto.offset.reset and rules out every configuration
    # that keeps it as it is, however the settings the trace never reads are set.
    assert first["rules_out"]["configurations"] > 1
    assert first["rules_out"]["keeping"]["consumer.auto.offset.reset"] == "latest"
    assert advice["candidates"][-1]["ruled_out_by"] is None
    assert advice["candidates"][-1]["delivers"] in ("at-least-once", "exactly-once")
    text = _advise("--producer", producer, "--consumer", consumer, "--want", "at-least-once")
    assert 'consumer.auto.offset.reset: "latest" → "earliest"' in text.stdout


def test_a_configuration_that_already_gives_it_changes_nothing(tmp_path: Path) -> None:
    consumer = _write(
        tmp_path, "consumer.properties", "enable.auto.commit=true\nauto.offset.reset=earliest\n"
    )
    result = _advise("--consumer", consumer, "--want", "at-least-once")
    assert result.exit_code == 0
    assert "already gives at-least-once; change nothing" in result.stdout


def test_a_budget_spent_is_no_answer_and_not_a_proof(tmp_path: Path) -> None:
    producer = _write(tmp_path, "producer.properties", LATENCY_FIRST)
    result = _advise("--producer", producer, "--want", "exactly-once", "--max-candidates", "2")
    assert result.exit_code == 1
    assert "No change giving exactly-once was found within 2 candidates" in result.stdout


def test_no_candidate_left_is_said_so(tmp_path: Path, monkeypatch) -> None:
    """When Kafka's rules leave no candidate, the answer says no configuration within the
    model's choices gives it."""
    monkeypatch.setattr(Space, "kafka_rules", lambda self: [z3.BoolVal(False)])
    producer = _write(tmp_path, "producer.properties", LATENCY_FIRST)
    configuration = load_configuration({"producer": Path(producer)}, None)
    advice = advise_module.advise(configuration, "exactly-once")
    assert advice.exhausted and advice.answer is None and advice.candidates == ()


def test_a_counterexample_rules_out_the_configurations_that_repeat_it(tmp_path: Path) -> None:
    """The consumer that starts at the latest offset loses a record without any fault:
    that trace replays to the same loss whatever the sink does, and not once the consumer
    starts at the earliest offset."""
    producer = _write(tmp_path, "producer.properties", LATENCY_FIRST)
    configuration = load_configuration({"producer": Path(producer)}, None)
    finding = classify(configuration).finding("no-loss")
    assert finding.trace is not None and not finding.fault

    def run(section: str, name: str, value) -> bool:
        settings = copy.deepcopy(configuration.settings)
        settings["bounds"].update(records=1, **{finding.run: 1})
        settings[section][name] = value
        return breaks(KAFKA.build(settings), finding.trace, "no-loss")

    assert run("sink", "write", "append") and run("sink", "write", "upsert")
    assert not run("consumer", "auto.offset.reset", "earliest")


def test_a_streams_application_needs_an_idempotent_sink_for_exactly_once(
    tmp_path: Path,
) -> None:
    """exactly_once_v2 keeps Kafka's side exactly once; the plain appending sink after
    the output's consumer duplicates after its crash, and making it upsert is the one
    change (settings of the other application kind are never proposed)."""
    streams = _write(
        tmp_path, "streams.properties", "application.id=app\nprocessing.guarantee=exactly_once_v2\n"
    )
    consumer = _write(
        tmp_path,
        "consumer.properties",
        "isolation.level=read_committed\nenable.auto.commit=false\nauto.offset.reset=earliest\n",
    )
    result = _advise("--streams", streams, "--consumer", consumer, "--want", "exactly-once",
                     "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    advice = json.loads(result.stdout)
    assert advice["changes"] == {"sink.write": {"from": "append", "to": "upsert"}}
    assert advice["candidates"][0]["ruled_out_by"] == "no-duplicate-effect"


@pytest.mark.parametrize(
    "wanted",
    [
        "at-most-once",
        "at-least-once",
        pytest.param("exactly-once", marks=pytest.mark.slow),  # 65 candidates, ~2 minutes
    ],
)
def test_each_row_of_the_reference_table_is_reached_from_a_pipeline_with_none(
    tmp_path: Path, wanted: str
) -> None:
    """From acks=1 without idempotence and auto commit at the latest offset (no
    guarantee), advise finds a change for each row, and the fault menu proves it."""
    producer = _write(tmp_path, "producer.properties", LATENCY_FIRST)
    consumer = _write(tmp_path, "consumer.properties", "enable.auto.commit=true\n")
    configuration = load_configuration(
        {"producer": Path(producer), "consumer": Path(consumer)}, None
    )
    assert classify(configuration).row == "none"
    advice = advise_module.advise(configuration, wanted, max_candidates=100)
    assert advice.answer is not None and advice.answer.changes
    assert advice.answer.classification.gives(wanted)
    # Some candidates were settled by replaying an earlier trace, without a search.
    assert any(candidate.classification is None for candidate in advice.candidates)
