"""The state of every step, read off real traces: the facts a person looks at, and the
sentences for what each step did."""

from __future__ import annotations

import doctest
import importlib
import itertools
from functools import cache
from pathlib import Path

import pytest

from kmodel.core.trace import Trace
from kmodel.jobs.run import run_job
from kmodel.jobs.spec import load_job
from kmodel.render.mermaid import to_mermaid
from kmodel.render.narrate import narrate
from kmodel.render.plantuml import to_plantuml
from kmodel.render.state import effects, facts
from kmodel.render.svg import to_svg

SPECS = Path(__file__).resolve().parent.parent / "specs"


@cache
def trace_of(spec: str, contract: str) -> Trace:
    trace = run_job(load_job(SPECS / f"{spec}.toml")).verdict(contract).trace
    assert trace is not None
    return trace


def states(trace: Trace) -> list:
    return [trace.initial, *(step.state for step in trace.steps)]


def all_effects(trace: Trace) -> list[list[str]]:
    """The sentences of each step, in order."""
    return [effects(before, after) for before, after in itertools.pairwise(states(trace))]


def told(trace: Trace) -> list[str]:
    """Every step's sentences in one list."""
    return list(itertools.chain.from_iterable(all_effects(trace)))


def fact(state, actor: str, label: str, before=None):
    return next(f for f in facts(state, before)[actor] if f.label == label)


@pytest.mark.parametrize("module", ["kmodel.render.state", "kmodel.render.step_effects"])
def test_module_examples(module: str) -> None:
    failed, tried = doctest.testmod(importlib.import_module(module))
    assert tried and not failed


def test_acks1_failover_truncates_the_acknowledged_record() -> None:
    trace = trace_of("acks1-leader-failover", "no-acked-loss")
    per_step, flat = all_effects(trace), told(trace)
    truncation = "Broker0 truncates its log to offset 0: record 1 is gone."
    where = [number for number, sentences in enumerate(per_step) if truncation in sentences]
    assert where == [len(trace.steps) - 1]  # the last step, where the contract breaks
    assert any("The producer has r1 acknowledged" in s for s in flat)
    assert any("elects broker 1 leader of partition 0" in s for s in flat)
    before, after = trace.steps[-2].state, trace.steps[-1].state
    assert fact(before, "broker0", "log").value == "0:r1@e0 · HW 0 · LEO 1"
    log = fact(after, "broker0", "log", before)
    assert (log.value, log.changed) == ("empty · HW 0 · LEO 0", True)
    assert not fact(after, "broker1", "log", before).changed
    assert fact(after, "broker1", "role").value == "leader in leader epoch 1"
    assert fact(after, "controller", "partition 0").value == (
        "leader broker 1 · leader epoch 1 · ISR 1"
    )


def test_a_crashed_broker_is_down_and_keeps_its_log() -> None:
    trace = trace_of("acks1-leader-failover", "no-acked-loss")
    crash = next(i for i, step in enumerate(trace.steps) if step.kind == "crash")
    before, after = states(trace)[crash], trace.steps[crash].state
    shown = facts(after, before)["broker0"]
    assert shown[0].label == "status" and shown[0].value == "down" and shown[0].changed
    assert fact(after, "broker0", "log").value == "0:r1@e0 · HW 0 · LEO 1"
    assert all(f.label != "status" for f in facts(before)["broker0"])


def test_without_a_state_before_nothing_is_changed() -> None:
    trace = trace_of("acks1-leader-failover", "no-acked-loss")
    end = trace.steps[-1].state
    shown = facts(end)
    assert list(shown) == [name for name in end if name not in ("in_flight", "faults_used")]
    assert sorted(shown) == ["broker0", "broker1", "controller", "producer", "source"]
    assert not any(f.changed for actor in shown.values() for f in actor)


def test_transactions_read_as_the_coordinator_keeps_them() -> None:
    trace = trace_of("eos-read-process-write", "committed")
    flat = told(trace)
    assert (
        "The transaction of producer id 1 goes from Empty to Ongoing: the transaction is open."
        in flat
    )
    assert any(
        s.startswith("The transaction of producer id 1 goes from Ongoing to PrepareCommit")
        for s in flat
    )
    end = trace.steps[-1].state
    assert fact(end, "txn-coordinator", "producer id 1").value.startswith("PrepareCommit")
    # The record is in the log, its transaction still open: the LSO stays below it.
    assert fact(end, "broker0", "log").value == "0:r1@e0 · HW 1 · LEO 1 · LSO 0"
    assert fact(end, "group-coordinator", "offsets in a transaction").value == (
        "offset 1 from producer id 1"
    )
    assert fact(end, "app-1", "producer").value == "id 1 · epoch 0"


def test_a_redelivery_shows_the_duplicate_in_the_sink() -> None:
    trace = trace_of("alo-duplicate-consumer-redelivery", "no-duplicate-effect")
    per_step, flat = all_effects(trace), told(trace)
    assert per_step[-1] == ["The sink applies r1 a second time: a duplicate effect."]
    assert "The consumer's position moves to 1." in flat
    end = trace.steps[-1].state
    assert fact(end, "sink", "contents").value == "r1 r1"
    assert fact(end, "coordinator", "committed offset").value == "none"
    assert fact(end, "consumer", "position").value == "1"


def test_retention_and_unclean_elections_are_told() -> None:
    retention = told(trace_of("retention-outruns-consumer", "no-loss"))
    assert (
        "Broker0 deletes its log below offset 2 (retention): r1 and r2 can no longer be read."
        in retention
    )
    unclean = told(trace_of("min-isr-1-unclean-election", "no-acked-loss"))
    assert any("an unclean election, broker 1 was not in the ISR" in s for s in unclean)


def test_another_model_shows_its_fields_as_they_are() -> None:
    before = {"tm": "init", "rm": ["working", "working"]}
    after = {"tm": "init", "rm": ["aborted", "working"]}
    shown = facts(after, before)
    assert [(f.label, f.value, f.changed) for f in shown["rm"]] == [
        ("value", '["aborted","working"]', True)
    ]
    assert effects(before, after) == []


# -- the state in the narration and the diagrams -------------------------------------------


def test_the_narration_says_what_each_step_did() -> None:
    lines = narrate(trace_of("acks1-leader-failover", "no-acked-loss"))
    assert lines[-2].startswith("12. Broker1 sends OffsetsForLeaderEpochResponse")
    assert lines[-2].endswith("Broker0 truncates its log to offset 0: record 1 is gone.")
    assert lines[2].endswith("Broker0 appends r1 at offset 0 (leader epoch 0).")
    # A crashed broker sends nothing: the controller notices its session expire.
    assert lines[5].startswith(
        "6. The controller notices that broker0 is gone: session of broker0 expired. "
        "The controller elects broker 1 leader of partition 0"
    )


def test_diagrams_note_the_state_where_it_changes() -> None:
    trace = trace_of("acks1-leader-failover", "no-acked-loss")
    puml = to_plantuml(trace)
    assert "note over broker0 #FFF8C4: log: 0:r1@e0 · HW 0 · LEO 1" in puml
    assert puml.index("OffsetsForLeaderEpochResponse") < puml.index("log: empty · HW 0 · LEO 0")
    assert "broker0 -> controller : session" not in puml
    assert "controller -> controller : notices: session of broker0 expired" in puml
    mermaid = to_mermaid(trace)
    assert "Note over broker1: role: leader in leader epoch 1<br/>ISR: 1" in mermaid
    assert "broker0->>controller: session" not in mermaid
    svg = to_svg(trace)
    assert "log: empty · HW 0 · LEO 0" in svg and "state change" in svg


def test_a_broken_connection_draws_the_message_it_lost() -> None:
    trace = trace_of("amo-network-failure-during-send", "no-loss")
    puml = to_plantuml(trace)
    assert "producer -[#CC0000]>x broker0 : lost: ProduceRequest (the connection breaks)" in puml
    assert "producer-xbroker0: lost: ProduceRequest (the connection breaks)" in to_mermaid(trace)
    assert "lost: ProduceRequest (the" in to_svg(trace)  # wrapped to the room it has
    lines = narrate(trace)
    assert "breaks; the ProduceRequest from the producer to broker0 is lost." in lines[5]
    # The model lets the controller answer a MetadataRequest: the diagram says so.
    assert "simplification: a Kafka client asks any broker for metadata" in puml
    assert sum("Simplification:" in line for line in lines) == 1


def test_transactions_in_the_diagram_and_success_reads_ok() -> None:
    trace = trace_of("eos-read-process-write", "committed")
    puml = to_plantuml(trace)
    for lifeline in ("app_1", "broker0", "txn_coordinator", "group_coordinator"):
        assert f" as {lifeline}\n" in puml
    assert "note over txn_coordinator #FFF8C4: producer id 1: Ongoing · epoch 0" in puml
    assert "TxnOffsetCommitResponse(ok)" in puml and "NONE" not in puml
