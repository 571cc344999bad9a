"""The upstream system the producer application reads from.

It holds records 1..N and the position the application has stored (durable:
after a crash the application resumes from there, so whatever it read past
that position is read again).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.kafka.messages import SourceCommit, SourceRead, SourceRecord

NAME = "source"


class SourceState(NamedTuple):
    stored: int = 0  # the position the application stored (durable)


class Source(Actor[SourceState]):
    durable = ("stored",)

    def __init__(self, records: int, name: str = NAME) -> None:
        super().__init__(name)
        self.records = records

    def initial_state(self) -> SourceState:
        return SourceState()

    def on_message(self, state: SourceState, sender: str, message: Hashable, out: Out):
        if isinstance(message, SourceRead):
            position = state.stored if message.position is None else message.position
            if position < self.records:
                out.send(sender, SourceRecord(position, record=position + 1))
                if message.store:
                    return SourceState(position + 1)
        elif isinstance(message, SourceCommit):
            return SourceState(message.position)
        return state
