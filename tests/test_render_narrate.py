"""Narration: one numbered sentence per step, then one naming the contract."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from kmodel.core.trace import Step, Trace
from kmodel.render.narrate import narrate

GOLDEN = Path(__file__).parent / "golden"


def kafka() -> tuple[Trace, dict]:
    data = json.loads((GOLDEN / "kafka_trace.json").read_text(encoding="utf-8"))
    return Trace.from_json(data["trace"]), data


def test_one_numbered_sentence_per_step_then_the_verdict() -> None:
    trace, data = kafka()
    lines = narrate(trace, data["description"])
    assert len(lines) == len(trace.steps) + 1
    for number, line in enumerate(lines[:-1], 1):
        assert re.match(rf"{number}\. [A-Z].*\.$", line), line
    last = lines[-1]
    assert not re.match(r"\d+\.", last)
    assert "no-duplicate-effect" in last and "no record takes effect in the sink twice" in last
    assert "6 faults" in last


def test_golden_narration() -> None:
    trace, data = kafka()
    text = "\n".join(narrate(trace, data["description"])) + "\n"
    path = GOLDEN / "kafka_trace.txt"
    if os.environ.get("KMODEL_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_sentences_for_each_kind_of_step() -> None:
    trace, _ = kafka()
    lines = narrate(trace)
    assert lines[2] == "3. The producer sends ProduceRequest(r1, acks=all) to broker0."
    assert lines[3].startswith("4. The network loses ProduceResponse(r1 at offset 0)")
    assert lines[5].startswith("6. Broker0 crashes; it keeps only what it stored durably")
    assert "on behalf of broker0, which is down" in lines[6]
    assert lines[8] == (
        "9. The connection between the producer and broker1 breaks; "
        "the messages in flight on it are lost."
    )
    assert lines[9] == "10. Broker0 restarts from what it stored durably."


def test_kinds_of_verdict() -> None:
    step = Step("OffsetCommit(offset 1, generation 1)", "coordinator", "consumer", "coordinator",
                None, "deliver", {})  # fmt: skip
    always = narrate(Trace("no-skip", "always", {}, (step,)))
    assert always[0] == (
        "1. The consumer sends OffsetCommit(offset 1, generation 1) to the coordinator."
    )
    assert "contract no-skip" in always[-1] and "every state" in always[-1]
    assert "No fault was needed" in always[-1]
    at_end = narrate(Trace("no-loss", "at_end", {}, (step,)), "every record reaches the sink")
    assert "come to rest" in at_end[-1] and "“every record reaches the sink”" in at_end[-1]
    witness = narrate(Trace("all-delivered", "sometimes", {}, (step,)), "witness: it can")
    assert "the witness all-delivered (“it can”) is reached" in witness[-1]
    empty = narrate(Trace("all-delivered", "sometimes", {}, ()))
    assert len(empty) == 1 and empty[0].startswith("Already in the initial state")


def test_other_models_read_well() -> None:
    steps = (
        Step("TMCommit", "TM", None, None, None, "step", {}),
        Step("RMRcvCommitMsg(0)", "RM0", "TM", "RM0", None, "step", {}),
    )
    lines = narrate(Trace("all-committed", "sometimes", {}, steps))
    assert lines[0] == "1. The TM takes the step TMCommit."
    assert lines[1] == "2. RM0 receives a message from the TM: RMRcvCommitMsg(0)."


def test_a_crash_names_the_messages_its_reset_connections_lose_both_ways() -> None:
    commit = {"type": "OffsetCommit", "offsets": [1], "generation": 1}
    fetch = {"type": "FetchResponse"}
    before = {"in_flight": [["consumer", "coordinator", commit], ["broker0", "consumer", fetch]]}
    steps = (
        Step("crash", "consumer", None, None, "crash:consumer", "crash", {"in_flight": []}),
        Step("crash", "producer", None, None, "crash:producer", "crash", {"in_flight": []}),
    )
    first, second, _ = narrate(Trace("no-loss", "at_end", before, steps))
    assert first == (
        "1. The consumer crashes; it keeps only what it stored durably, and its connections "
        "reset: the OffsetCommit from the consumer to the coordinator and the FetchResponse "
        "from broker0 to the consumer are lost."
    )
    assert second.endswith("and no message was on its way to or from it.")


def test_a_timer_of_a_kafka_actor_reads_as_a_sentence() -> None:
    """A timer's sentence starts "At <actor>," and goes on with a clause of its own: the
    consumer's write to a sink whose acknowledgement a crash lost is sent again."""
    from kmodel.report.decisions import COMPONENT_CHECKS, derive

    derived = derive(COMPONENT_CHECKS["Kafka Connect"][0])
    (item,) = [item for item in derived.evidence if item.link == "sink"]
    lines = narrate(item.trace, item.description)
    wanted = "At the consumer, the connection to the sink was lost, so the write is sent again."
    assert any(line.endswith(wanted) for line in lines), lines
