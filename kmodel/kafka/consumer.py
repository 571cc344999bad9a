"""The consumer application: poll → process → commit, in the order its settings say.

- `consumer.commit = before-processing`: commit the polled position, then
  process (at-most-once: a crash after the commit skips what was not processed).
- `consumer.commit = after-processing`: process, then commit (at-least-once:
  a crash before the commit processes the records again).
- `enable.auto.commit`: each poll first commits the position the previous poll
  returned, without waiting for the answer.

Processing a record is one step: write it to the sink and wait for the sink's
acknowledgement, so a crash can fall between two records of one poll. The
consumer keeps nothing across a crash: it rejoins the group and resumes from
the committed offset (or `auto.offset.reset` when there is none). Ghost fields
record what it processed and which high watermarks it saw, for the contracts.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.kafka.broker import CONTROLLER, broker_name
from kmodel.kafka.config import ConsumerConfig
from kmodel.kafka.coordinator import NAME as COORDINATOR
from kmodel.kafka.messages import (
    Fetch,
    FetchResponse,
    JoinGroup,
    JoinGroupResponse,
    MetadataRequest,
    OffsetCommit,
    OffsetCommitResponse,
    OffsetFetch,
    OffsetFetchResponse,
    SinkAck,
    SinkWrite,
    UpdateMetadata,
)
from kmodel.kafka.sink import NAME as SINK

NAME = "consumer"
WRITE_RETRY = "retry.backoff.ms"


class ConsumerState(NamedTuple):
    phase: str = "joining"  # joining | offsets | polling | fetching | committing
    generation: int = -1
    leader: int = 0
    leader_epoch: int = 0
    awaiting_metadata: bool = False
    position: int = -1  # the next offset to fetch (-1: the latest, per auto.offset.reset)
    in_hand: tuple[tuple[int, int], ...] = ()  # (offset, record) polled, not yet processed
    writing: bool = False  # a SinkWrite is waiting for its acknowledgement
    commit_after: bool = False  # a commit is due once the records in hand are processed
    auto_commit_from: int = -1  # the position the previous poll returned (auto commit)
    processed: tuple[int, ...] = ()  # offsets processed, in order (ghost, durable)
    skipped: bool = False  # resumed past an offset it never processed (ghost, durable)
    high_watermarks: tuple[int, int] = (0, 0)  # (highest seen, regressions) (ghost, durable)
    restarts: int = 0  # (ghost, durable)


class Consumer(Actor[ConsumerState]):
    durable = ("processed", "skipped", "high_watermarks", "restarts")

    def __init__(self, config: ConsumerConfig) -> None:
        super().__init__(NAME)
        self.config = config

    def initial_state(self) -> ConsumerState:
        return ConsumerState()

    def first_state(self) -> ConsumerState:
        """The pipeline starts with the consumer already in the group (generation 1)
        and no committed offset, so it starts where auto.offset.reset says."""
        return ConsumerState(phase="polling", generation=1, position=self._reset_position())

    def on_start(self, state: ConsumerState, out: Out) -> ConsumerState:
        if state.phase == "joining":
            out.send(COORDINATOR, JoinGroup())
        return state

    def on_connection_lost(self, state: ConsumerState, peer: str, out: Out) -> ConsumerState:
        if peer == SINK and state.writing:
            out.set_timer(WRITE_RETRY)  # the write may be lost: write again after a backoff
        elif peer == broker_name(state.leader) and state.phase == "fetching":
            out.send(CONTROLLER, MetadataRequest())  # the fetch is gone: find the leader
            return state._replace(phase="polling", awaiting_metadata=True)
        return state

    def _reset_position(self) -> int:
        return 0 if self.config.offset_reset == "earliest" else -1

    def after_crash(self, state: ConsumerState) -> ConsumerState:
        kept = self._fresh(state)
        return kept._replace(restarts=kept.restarts + 1)

    def _fresh(self, state: ConsumerState) -> ConsumerState:
        """A fresh state keeping only the durable (ghost) fields."""
        return super().after_crash(state)

    # -- the poll loop as steps ------------------------------------------------------

    def steps(self, state: ConsumerState) -> Iterable[Hashable]:
        if state.phase != "polling" or state.awaiting_metadata:
            return
        if state.in_hand:
            if not state.writing:
                yield ("process", state.in_hand[0])
        elif state.commit_after:
            yield ("commit",)
        elif state.leader >= 0:
            yield ("poll",)

    def describe_step(self, state: ConsumerState, step: Hashable) -> str:
        if step[0] == "process":
            offset, record = step[1]
            return f"processes r{record} (offset {offset})"
        if step[0] == "commit":
            return f"commits offset {state.position}"
        where = "latest" if state.position < 0 else f"offset {state.position}"
        return f"polls from {where}"

    def on_step(self, state: ConsumerState, step: Hashable, out: Out) -> ConsumerState:
        if step[0] == "process":
            offset, record = step[1]
            out.send(SINK, SinkWrite(record, offset))
            return state._replace(writing=True)
        if step[0] == "commit":
            return self._commit(state._replace(commit_after=False), state.position, out)
        if self.config.auto_commit and state.auto_commit_from >= 0:
            out.send(COORDINATOR, OffsetCommit(state.auto_commit_from, state.generation))
            state = state._replace(auto_commit_from=-1)
        out.send(
            broker_name(state.leader),
            Fetch(state.position, state.leader_epoch, False, state.restarts),
        )
        return state._replace(phase="fetching")

    def on_timer(self, state: ConsumerState, timer: Hashable, out: Out) -> ConsumerState:
        if state.writing:
            offset, record = state.in_hand[0]
            out.send(SINK, SinkWrite(record, offset))
        return state

    def describe_timer(self, state: ConsumerState, timer: Hashable) -> str:
        return "retries the write to the sink after the connection was lost"

    # -- answers -------------------------------------------------------------------------

    def on_message(self, state: ConsumerState, sender: str, message: Hashable, out: Out):
        if isinstance(message, JoinGroupResponse):
            out.send(COORDINATOR, OffsetFetch())
            # A new generation starts over from the committed offset; the ghost
            # fields (the durable ones) and the known leader carry over.
            return self._fresh(state)._replace(
                phase="offsets",
                generation=message.generation,
                leader=state.leader,
                leader_epoch=state.leader_epoch,
            )
        if isinstance(message, OffsetFetchResponse) and state.phase == "offsets":
            start = message.offset if message.offset >= 0 else self._reset_position()
            return _resume(state._replace(phase="polling"), start)
        if (
            isinstance(message, FetchResponse)
            and state.phase == "fetching"
            and message.session == state.restarts
            and not _stale(state, message)
        ):
            return self._fetched(state._replace(phase="polling"), message, out)
        if isinstance(message, SinkAck) and state.writing and state.in_hand:
            offset, record = state.in_hand[0]
            if message.record != record:
                return state
            out.cancel_timer(WRITE_RETRY)
            state = state._replace(
                writing=False,
                in_hand=state.in_hand[1:],
                processed=state.processed + (offset,),
            )
            return state
        if isinstance(message, OffsetCommitResponse):
            if message.error != "NONE":
                # CommitFailedException: the group moved on; rejoin and start over.
                out.send(COORDINATOR, JoinGroup())
                return state._replace(
                    phase="joining", in_hand=(), writing=False, commit_after=False
                )
            if state.phase == "committing":
                return state._replace(phase="polling")
            return state
        if isinstance(message, UpdateMetadata):
            if message.leader_epoch > state.leader_epoch:
                state = state._replace(leader=message.leader, leader_epoch=message.leader_epoch)
                if state.phase == "fetching":
                    state = state._replace(phase="polling")  # fetch again from the new leader
            return state._replace(awaiting_metadata=False)
        return state

    def _fetched(self, state: ConsumerState, response: FetchResponse, out: Out):
        if response.error == "OFFSET_OUT_OF_RANGE":
            return _resume(state, self._reset_position())
        if response.error != "NONE":
            out.send(CONTROLLER, MetadataRequest())
            return state._replace(awaiting_metadata=True)
        seen, regressions = state.high_watermarks
        if response.high_watermark < seen:
            regressions += 1
        state = state._replace(high_watermarks=(max(seen, response.high_watermark), regressions))
        if state.position < 0:
            state = _resume(state, response.offset)  # "latest" resolved to an offset
        records = tuple((response.offset + i, e.record) for i, e in enumerate(response.entries))
        position = response.offset + len(records)
        state = state._replace(position=position, in_hand=records)
        if self.config.auto_commit:
            return state._replace(auto_commit_from=position)
        if not records:
            return state
        if self.config.commit == "before-processing":
            return self._commit(state, position, out)
        return state._replace(commit_after=True)

    def _commit(self, state: ConsumerState, offset: int, out: Out) -> ConsumerState:
        out.send(COORDINATOR, OffsetCommit(offset, state.generation))
        if self.config.commit_async:
            return state
        return state._replace(phase="committing")


def _resume(state: ConsumerState, position: int) -> ConsumerState:
    """Move to `position`, noting whether that passes an offset never processed."""
    missed = position > 0 and not set(range(position)) <= set(state.processed)
    return state._replace(position=position, skipped=state.skipped or missed)


def _stale(state: ConsumerState, response: FetchResponse) -> bool:
    """An answer to an earlier fetch the consumer gave up on (it asked again since)."""
    return state.position >= 0 and response.offset != state.position and response.error == "NONE"
