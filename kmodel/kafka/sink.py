"""The external system the consumer writes to.

Its table of effects is durable (it is a database). An `append` sink is like
INCREMENT: every write is a new effect. An `upsert` sink is like SET by key:
writing a record again changes nothing. A deduplication table of processed
record ids may sit in front of it, kept in memory (lost when the sink
crashes) or durably. A writer may store its input position in the same
atomic write as the result and read it back after a crash.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.kafka.messages import SinkAck, SinkOffsetFetch, SinkOffsetFetchResponse, SinkWrite

NAME = "sink"


class SinkState(NamedTuple):
    # Records are keyed (partition, record): the same record read from two partitions is
    # two results (a read-process-write application writes each record to every partition).
    effects: tuple[tuple[int, int], ...] = ()  # the visible result, in write order (durable)
    writes: tuple[tuple[int, int], ...] = ()  # every write that arrived, applied or not
    seen: tuple[tuple[int, int], ...] = ()  # the deduplication table, sorted
    position: int = 0  # the input position stored with the results (durable)


class Sink(Actor[SinkState]):
    def __init__(self, upsert: bool, dedup: str) -> None:
        super().__init__(NAME)
        self.upsert = upsert
        self.dedup = dedup
        kept = ("effects", "writes", "position")
        self.durable = kept + (("seen",) if dedup == "durable" else ())

    def initial_state(self) -> SinkState:
        return SinkState()

    def on_message(self, state: SinkState, sender: str, message: Hashable, out: Out):
        if isinstance(message, SinkOffsetFetch):
            out.send(sender, SinkOffsetFetchResponse(state.position))
            return state
        if not isinstance(message, SinkWrite):
            return state
        record = (message.partition, message.record)
        out.send(sender, SinkAck(message.record, message.partition))
        position = message.offset + 1 if message.store_offset else state.position
        writes = state.writes + (record,)
        if self.dedup != "none" and record in state.seen:
            return SinkState(state.effects, writes, state.seen, position)
        seen = tuple(sorted(state.seen + (record,))) if self.dedup != "none" else ()
        effects = state.effects
        if not (self.upsert and record in effects):
            effects += (record,)
        return SinkState(effects, writes, seen, position)

    def describe_message(self, message: Hashable) -> str:
        return str(message)
