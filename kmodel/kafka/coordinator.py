"""The group coordinator: committed offsets and group generations.

Committed offsets are durable (the __consumer_offsets topic). Every join
starts a new generation and assigns the partition to the joiner. The
coordinator may evict the member (its session timed out, or it exceeded
max.poll.interval.ms), a fault with its own budget: the generation moves on,
and a commit from the old generation is rejected with ILLEGAL_GENERATION,
though the evicted consumer may still be processing what it polled.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.kafka.messages import (
    JoinGroup,
    JoinGroupResponse,
    OffsetCommit,
    OffsetCommitResponse,
    OffsetFetch,
    OffsetFetchResponse,
)

NAME = "coordinator"


class CoordinatorState(NamedTuple):
    committed: int = -1  # -1: no committed offset
    generation: int = 0
    member: bool = False  # whether the partition is assigned in this generation
    rebalances: int = 0  # evictions so far (ghost)


class GroupCoordinator(Actor[CoordinatorState]):
    durable = ("committed", "generation", "member", "rebalances")

    def __init__(self) -> None:
        super().__init__(NAME)

    def initial_state(self) -> CoordinatorState:
        return CoordinatorState()

    def first_state(self) -> CoordinatorState:
        """The consumer starts as the member of generation 1."""
        return CoordinatorState(generation=1, member=True)

    def on_message(self, state: CoordinatorState, sender: str, message: Hashable, out: Out):
        if isinstance(message, JoinGroup):
            generation = state.generation + 1
            out.send(sender, JoinGroupResponse(generation))
            return state._replace(generation=generation, member=True)
        if isinstance(message, OffsetFetch):
            out.send(sender, OffsetFetchResponse(state.committed))
            return state
        if isinstance(message, OffsetCommit):
            if not state.member or message.generation != state.generation:
                out.send(sender, OffsetCommitResponse(message.offset, "ILLEGAL_GENERATION"))
                return state
            out.send(sender, OffsetCommitResponse(message.offset))
            return state._replace(committed=message.offset)
        return state

    def steps(self, state: CoordinatorState) -> Iterable[Hashable]:
        if state.member:
            yield ("evict",)

    def step_fault(self, state: CoordinatorState, step: Hashable) -> str | None:
        return "rebalance"

    def describe_step(self, state: CoordinatorState, step: Hashable) -> str:
        return "evicts the consumer (session timeout): rebalance to a new generation"

    def on_step(self, state: CoordinatorState, step: Hashable, out: Out) -> CoordinatorState:
        return state._replace(
            generation=state.generation + 1, member=False, rebalances=state.rebalances + 1
        )
