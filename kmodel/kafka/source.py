"""The upstream system the producer application reads from.

It holds records 1..N and the position the application has stored (durable:
after a crash the application resumes from there, so whatever it read past
that position is read again). The input of a read-process-write application
may have two partitions: record r sits in partition (r - 1) mod partitions.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.kafka.messages import SourceCommit, SourceRead, SourceRecord

NAME = "source"


def input_record(position: int, partition: int, partitions: int) -> int:
    """The record at `position` of input `partition`."""
    return position * partitions + partition + 1


def partition_records(records: int, partition: int, partitions: int) -> int:
    """How many of records 1..`records` sit in input `partition`."""
    return len(range(partition, records, partitions))


class SourceState(NamedTuple):
    stored: int = 0  # the position the application stored (durable)


class Source(Actor[SourceState]):
    durable = ("stored",)

    def __init__(self, records: int, name: str = NAME, partitions: int = 1) -> None:
        super().__init__(name)
        self.records = records
        self.partitions = partitions

    def initial_state(self) -> SourceState:
        return SourceState()

    def on_message(self, state: SourceState, sender: str, message: Hashable, out: Out):
        if isinstance(message, SourceRead):
            position = state.stored if message.position is None else message.position
            record = input_record(position, message.partition, self.partitions)
            if record <= self.records:
                out.send(sender, SourceRecord(position, record=record))
                if message.store:
                    return SourceState(position + 1)
        elif isinstance(message, SourceCommit):
            return SourceState(message.position)
        return state
