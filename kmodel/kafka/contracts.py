"""The delivery contracts of a pipeline, and the witnesses that keep a pass honest.

Every contract reads ghost fields the actors keep (what the producer was
told, what the consumer processed, what the sink applied) or the logs of the
replicas. Witnesses (`sometimes`) show that the faults a spec allows were
really reached and that the pipeline can deliver at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kmodel.core.system import Property
from kmodel.core.world import ActorSystem, World
from kmodel.kafka.broker import broker_name

# The contracts that say whether a message can be lost or duplicated: the columns of
# the semantic matrix (at-most-once demands no duplicate, at-least-once no loss).
LOSS_CONTRACTS = ("no-loss", "no-acked-loss")
DUPLICATE_CONTRACTS = ("no-duplicate-effect", "no-duplicate-in-log")


def contracts(system: ActorSystem, records: int, replicas: int) -> list[Property[World]]:
    """All contracts and witnesses of a pipeline with `records` records."""

    def of(name: str) -> Callable[[World], object]:
        index = system.part(name)
        return lambda world: system.local_state(world, index)

    producer, controller = of("producer"), of("controller")
    brokers = [of(broker_name(b)) for b in range(replicas)]
    names = [broker_name(b) for b in range(replicas)]
    broker_logs = system.reads(*(f"{name}.log" for name in names))
    broker_hws = system.reads(*(f"{name}.high_watermark" for name in names))
    everything = set(range(1, records + 1))

    def logs(world: World) -> list[tuple]:
        return [b(world).log for b in brokers]

    def acked_survive(world: World) -> bool:
        kept = {entry.record for log in logs(world) for entry in log}
        return set(producer(world).acked) <= kept

    def no_log_duplicate(world: World) -> bool:
        return all(len({e.record for e in log}) == len(log) for log in logs(world))

    def in_order(world: World) -> bool:
        return all(_first_occurrences_increase([e.record for e in log]) for log in logs(world))

    def replicas_agree(world: World) -> bool:
        states = [b(world) for b in brokers]
        for i, a in enumerate(states):
            for b in states[i + 1 :]:
                below = min(a.high_watermark, b.high_watermark, len(a.log), len(b.log))
                if a.log[:below] != b.log[:below]:
                    return False
        return True

    properties: list[Property[World]] = [
        Property.always(
            "no-acked-loss",
            acked_survive,
            "every write the broker acknowledged stays in some replica's log",
            reads=[*system.reads("producer.acked"), *broker_logs],
        ),
        Property.always(
            "no-duplicate-in-log",
            no_log_duplicate,
            "no record is written to the partition log twice",
            reads=broker_logs,
        ),
        Property.always(
            "producer-order",
            in_order,
            "the producer's records appear in the log in the order it sent them",
            reads=broker_logs,
        ),
        Property.always(
            "replicas-agree",
            replicas_agree,
            "replicas hold the same record at every offset below both their HWs",
            reads=[*broker_logs, *broker_hws],
        ),
        Property.sometimes(
            "failover",
            lambda w: controller(w).elections > 0,
            "witness: the controller elects a new leader",
            reads=system.reads("controller.elections"),
        ),
    ]
    if "consumer" in system.index:
        properties += _consumer_contracts(system, of, everything)
    properties += witnesses_of_faults(system)
    return properties


def _consumer_contracts(
    system: ActorSystem, of: Callable[[str], Callable[[World], Any]], everything: set[int]
) -> list[Property[World]]:
    """The contracts that need the consuming side of the pipeline."""
    consumer, sink = of("consumer"), of("sink")
    return [
        Property.at_end(
            "no-loss",
            lambda w: set(sink(w).effects) >= everything,
            "once the pipeline is quiet, every source record is in the sink",
            reads=system.reads("sink.effects"),
        ),
        Property.always(
            "no-duplicate-effect",
            lambda w: len(set(sink(w).effects)) == len(sink(w).effects),
            "no record takes effect in the sink twice",
            reads=system.reads("sink.effects"),
        ),
        Property.always(
            "hw-monotonic",
            lambda w: consumer(w).high_watermarks[1] == 0,
            "the high watermark the consumer sees never goes back",
            reads=system.reads("consumer.high_watermarks"),
        ),
        Property.always(
            "no-skip",
            lambda w: not consumer(w).skipped,
            "the consumer never moves past an offset it did not process",
            reads=system.reads("consumer.skipped"),
        ),
        Property.sometimes(
            "all-delivered",
            lambda w: set(sink(w).effects) >= everything,
            "witness: every record can reach the sink",
            reads=system.reads("sink.effects"),
        ),
        Property.sometimes(
            "redelivered",
            lambda w: len(set(sink(w).writes)) < len(sink(w).writes),
            "witness: a record reaches the sink a second time",
            reads=system.reads("sink.writes"),
        ),
    ]


def witnesses_of_faults(system: ActorSystem) -> Sequence[Property[World]]:
    """One witness per fault a spec allows: the fault really happens in some run."""
    return [
        Property.sometimes(
            f"witness:{key}",
            lambda w, key=key: system.faults_used(w, key) > 0,
            f"witness: the fault {key} happens",
            reads=system.reads("faults"),
        )
        for key in system.budget_keys
    ]


def _first_occurrences_increase(records: list[int]) -> bool:
    seen: set[int] = set()
    last = 0
    for record in records:
        if record in seen:
            continue
        if record < last:
            return False
        seen.add(record)
        last = record
    return True
