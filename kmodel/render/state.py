"""The state of a trace as Kafka people draw it: logs, high watermarks, ISR, offsets.

A trace records, after every step, each actor's whole state as plain data
(`Trace.initial`, `Step.state`): a replica's log as a list of entries, a
producer's batches, a coordinator's transactions. `facts` reads off that data
what a person looks at — a replica's log with offsets, records and leader
epochs, its HW and LEO; the leader and ISR; the producer's in-flight batches
and sequences; the consumer's position and the committed offset; the
transactions; the sink's contents — and marks what changed since the state
before. `effects` says in sentences what a step did that bears on a contract
(a truncation and the records it took, a high watermark that moves, an
election, a commit).

Actors are told apart by the fields of their state, not by their names, so
every pipeline of the Kafka model reads alike; an actor of any other model
shows its fields as they are.

>>> before = {"broker0": {"log": [], "log_start": 0, "high_watermark": 0, "leader_epoch": 0,
...                       "role": "leader", "leader": 0, "isr": [0], "pending": [],
...                       "flushed": 0}}
>>> entry = {"record": 1, "leader_epoch": 0, "control": "", "producer_id": 0,
...          "transactional": False}
>>> after = {"broker0": {**before["broker0"], "log": [entry]}}
>>> for fact in facts(after, before)["broker0"]:
...     print(fact)
role: leader in leader epoch 0
ISR: 0
log: 0:r1@e0 · HW 0 · LEO 1 (changed)
>>> effects(before, after)
['Broker0 appends r1 at offset 0 (leader epoch 0).']
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kmodel.render.kafka_view import (
    ByKind,
    Entry,
    actors,
    batch_text,
    kind_of,
    log_text,
    numbers,
    partition_text,
    sink_text,
    transaction_text,
)
from kmodel.render.step_effects import effects


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing a person reads off an actor's state, e.g. label "log", value
    "0:r1@e0 1:r2@e1 · HW 1 · LEO 2"."""

    label: str
    value: str
    changed: bool  # differs from the state before (False without one)

    def __str__(self) -> str:
        return f"{self.label}: {self.value}" + (" (changed)" if self.changed else "")


def facts(
    state: Mapping[str, Any], before: Mapping[str, Any] | None = None
) -> dict[str, tuple[Fact, ...]]:
    """Per actor name (in the order of the state), the facts that matter, in display order;
    an actor that is down has a fact saying so."""
    shown: dict[str, tuple[Fact, ...]] = {}
    for name, entry in actors(state).items():
        now = _pairs(entry, state)
        old = None
        if before is not None and name in actors(before):
            old = dict(_pairs(actors(before)[name], before))
        shown[name] = tuple(
            Fact(label, value, old is not None and old.get(label) != value) for label, value in now
        )
    return shown


def _pairs(entry: Any, state: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of each fact of one actor's state."""
    kind = kind_of(entry)
    down = [("status", "down")] if isinstance(entry, Mapping) and entry.get("crashed") else []
    if kind is None:
        return down + _generic(entry)
    return down + list(_READERS[kind](entry, state))


# -- one reader per kind of actor -----------------------------------------------------


_READERS: ByKind = ByKind()


@_READERS("replica")
def _replica(replica: Entry, state: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    role, epoch = replica["role"], replica["leader_epoch"]
    if role == "leader":
        yield "role", f"leader in leader epoch {epoch}"
        yield "ISR", numbers(replica.get("isr", ()))
    elif role in ("follower", "truncating"):
        doing = ", truncating" if role == "truncating" else ""
        yield "role", f"follower of broker {replica['leader']} in leader epoch {epoch}{doing}"
    else:
        yield "role", f"no role (waits for the controller) · leader epoch {epoch}"
    yield "log", log_text(replica, state.get("faults_used"))
    waiting = [str(ack["offset"]) for ack in replica.get("pending", ())]
    if waiting:
        yield "waiting for the HW", "offsets " + ", ".join(waiting)


@_READERS("controller")
def _controller(controller: Entry, state: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    count = controller.get("partition_count") or len(controller["partitions"])
    for number, partition in enumerate(controller["partitions"][:count]):
        yield f"partition {number}", partition_text(partition)
    alive = controller["alive"]
    if alive:
        yield (
            "brokers",
            " · ".join(f"{broker} {'up' if up else 'down'}" for broker, up in enumerate(alive)),
        )
    if controller.get("unclean_elections"):
        yield "unclean elections", str(controller["unclean_elections"])


@_READERS("producer")
def _producer(producer: Entry, state: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    batches = producer["batches"]
    several = len(producer.get("next_sequences", ())) > 1
    yield "in flight", ", ".join(batch_text(b, several) for b in batches) or "none"
    sequences = producer.get("next_sequences", ())
    if any(seq > 0 for seq in sequences) or any(b["sequence"] >= 0 for b in batches):
        yield "next sequence", numbers(sequences)
    yield "acknowledged", _records(producer["acked"])
    if producer.get("failed"):
        yield "failed", _records(producer["failed"])
    yield "leaders known", _leaders(producer.get("leaders", ()))


@_READERS("consumer")
def _consumer(consumer: Entry, state: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    yield "phase", consumer["phase"]
    yield "generation", str(consumer.get("generation", -1))
    positions = consumer["positions"]
    assigned = consumer.get("assigned") or [True] * len(positions)
    mine = [(p, pos) for p, (pos, own) in enumerate(zip(positions, assigned, strict=False)) if own]
    yield "position", _per_partition(mine, len(positions), _offset)
    in_hand = consumer["in_hand"]
    several = len(positions) > 1
    yield (
        "in hand",
        ", ".join(
            (f"p{p} " if several else "") + f"offset {offset} (r{record})"
            for p, offset, record in in_hand
        )
        or "none",
    )


@_READERS("group-coordinator")
def _group_coordinator(group: Entry, state: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    committed = group["committed"]
    yield "committed offset", _per_partition(list(enumerate(committed)), len(committed), _offset)
    yield "generation", str(group["generation"])
    if group.get("owner"):
        yield "owner", group["owner"]
    if group.get("owners"):
        yield "owners", ", ".join(group["owners"])
    if group.get("pending"):
        yield (
            "offsets in a transaction",
            ", ".join(
                f"offset {p['offset']} from producer id {p['producer_id']}"
                for p in group["pending"]
            ),
        )
    if group.get("rebalancing"):
        yield "rebalance", "under way"


@_READERS("txn-coordinator")
def _txn_coordinator(coordinator: Entry, state: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for txn in coordinator["transactions"]:
        yield f"producer id {txn['producer_id']}", transaction_text(txn)


@_READERS("application")
def _application(app: Entry, state: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    yield "phase", app["phase"]
    yield "producer", f"id {app['producer_id']} · epoch {app['epoch']}"
    yield "generation", str(app["generation"])
    yield "input position", str(app["position"])
    if app.get("fenced"):
        yield "fenced", "yes"


@_READERS("sink")
def _sink(sink: Entry, state: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    yield "contents", sink_text(sink["effects"])
    if sink.get("position"):
        yield "stored position", str(sink["position"])


@_READERS("source")
def _source(source: Entry, state: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    yield "stored position", str(source["stored"])


def _generic(entry: Any) -> list[tuple[str, str]]:
    """Any other model's actor: its fields as they are."""
    if not isinstance(entry, Mapping):
        return [("value", _compact(entry))]
    return [(str(key), _compact(value)) for key, value in entry.items() if key != "crashed"]


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


# -- small formats ------------------------------------------------------------------------


def _records(records: Sequence[int]) -> str:
    return " ".join(f"r{record}" for record in records) or "none"


def _offset(offset: int) -> str:
    return "none" if offset < 0 else str(offset)


def _per_partition(items: Sequence[tuple[int, int]], count: int, show: Callable[[int], str]) -> str:
    """One partition's value bare; several as ``p0 1 · p1 none``."""
    if count == 1 and items:
        return show(items[0][1])
    return " · ".join(f"p{p} {show(value)}" for p, value in items) or "none"


def _leaders(leaders: Sequence[Sequence[int]]) -> str:
    several = len(leaders) > 1
    shown = [
        (f"p{p} " if several else "") + f"broker {leader} (leader epoch {epoch})"
        for p, (leader, epoch) in enumerate(leaders)
    ]
    return ", ".join(shown) or "none"


__all__ = ["Fact", "effects", "facts"]
