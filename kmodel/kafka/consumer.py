"""The consumer application: poll → process → commit, in the order its settings say.

- `consumer.commit = before-processing`: commit the polled position, then
  process (at-most-once: a crash after the commit skips what was not processed).
- `consumer.commit = after-processing`: process, then commit (at-least-once:
  a crash before the commit processes the records again).
- `enable.auto.commit`: each poll first commits the position the previous poll
  returned, without waiting for the answer.
- A commit answered with a retriable error (the coordinator is loading its
  offsets) is sent again by commitSync; commitAsync leaves it to the next
  commit unless `commit.async.retry` (a common mistake) retries it.
- `processing = worker-pool`: the records of a poll go to a worker pool and the
  loop polls on, so auto commit can store a position past records still being
  processed.
- A commit that fails with CommitFailedException (the group moved on) makes it
  rejoin and drop what it polled; with `commit.failed = process`, a common
  mistake, it processes that first.

Processing a record is one step: write it to the sink and wait for the sink's
acknowledgement, so a crash can fall between two records of one poll. The
consumer keeps nothing across a crash: it rejoins the group and resumes from
the committed offsets (or `auto.offset.reset` where there is none). Ghost
fields record what it processed and which high watermarks it saw, for the
contracts.

It reads every partition of its topic: a poll sends a fetch to the leader of
each partition that has none outstanding, as Kafka's fetcher does, and the
records of each answer are processed as it arrives; a commit carries the
positions of all partitions. With
`isolation.level = read_committed` the leader answers up to the last stable
offset with the aborted transactions there, and the consumer drops their
records and every control marker (`isolation.consumable`).

Position validation (KIP-320, `consumer.position.validation = kip-320`): a fetch
names the leader epoch the consumer knows, so a leader of another epoch refuses
it (FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH) and the consumer refreshes its
metadata. When it learns of a new leader epoch it validates its position before
fetching again: it asks the leader, with OffsetsForLeaderEpoch, where the epoch of
the last record it read ends, and if that is below its position the log was
truncated under it and it moves back to where the logs diverge
(SubscriptionState.maybeCompleteValidation). Without validation (`none`) it
notices a truncation only as OFFSET_OUT_OF_RANGE and applies `auto.offset.reset`,
and a position still inside the new log passes over the records written there.
Committed offsets carry no leader epoch here, so a position from an OffsetFetch
is not validated until the consumer reads a record.

In a group of several consumers each reads and commits only the partitions the
group coordinator assigned it, and a new assignment starts it over from the
committed offsets. A partition added to the topic while it runs is found at a
metadata refresh (metadata.max.age.ms); the consumer then rejoins, and is
assigned the new partition, where `auto.offset.reset` says it starts.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.core.tuples import replace_at
from kmodel.kafka import metadata
from kmodel.kafka.broker import CONTROLLER, broker_name
from kmodel.kafka.config import ConsumerConfig
from kmodel.kafka.coordinator import NAME as COORDINATOR
from kmodel.kafka.isolation import consumable
from kmodel.kafka.messages import (
    Fetch,
    FetchResponse,
    JoinGroup,
    JoinGroupResponse,
    OffsetCommit,
    OffsetCommitResponse,
    OffsetFetch,
    OffsetFetchResponse,
    OffsetsForLeaderEpoch,
    OffsetsForLeaderEpochResponse,
    RebalanceInProgress,
    SinkAck,
    SinkWrite,
    TopicMetadata,
    TopicMetadataRequest,
    UpdateMetadata,
)
from kmodel.kafka.sink import NAME as SINK
from kmodel.kafka.topic import Topic
from kmodel.kafka.truncation import UNDEFINED

NAME = "consumer"
WRITE_RETRY = "retry.backoff.ms"
RETRIABLE_COMMIT_ERRORS = ("COORDINATOR_LOAD_IN_PROGRESS",)
# A partition's position, as SubscriptionState's fetch states: fetching, awaiting
# validation after a leader change, or validating (OffsetsForLeaderEpoch on its way).
FETCHING, AWAIT_VALIDATION, VALIDATING = 0, 1, 2


class ConsumerState(NamedTuple):
    phase: str = "joining"  # joining | offsets | polling | committing
    generation: int = -1
    leaders: tuple[tuple[int, int], ...] = ()  # per partition: (leader, leader epoch)
    asking: metadata.Asking = ()  # per partition: the metadata request on its way
    positions: tuple[int, ...] = ()  # per partition, the next offset (-1: the latest)
    fetching: tuple[bool, ...] = ()  # per partition: a fetch is outstanding
    # per partition: the leader epoch of the last entry read (-1: none since the position
    # was set), and FETCHING, AWAIT_VALIDATION or VALIDATING (KIP-320)
    offset_epochs: tuple[int, ...] = ()
    validation: tuple[int, ...] = ()
    in_hand: tuple[tuple[int, int, int], ...] = ()  # (partition, offset, record) not processed
    writing: bool = False  # a SinkWrite is waiting for its acknowledgement
    commit_after: bool = False  # a commit is due once the records in hand are processed
    rejoin_after: bool = False  # a commit failed: rejoin once the records in hand are processed
    auto_commit_from: tuple[int, ...] = ()  # the positions the previous poll returned
    # (partition, offset) processed, or passed over as a marker or aborted (ghost, durable)
    processed: tuple[tuple[int, int], ...] = ()
    skipped: bool = False  # resumed past an offset it never processed (ghost, durable)
    # per partition: (highest high watermark seen, regressions) (ghost, durable)
    high_watermarks: tuple[tuple[int, int], ...] = ()
    restarts: int = 0  # (ghost, durable)
    truncations: int = 0  # positions moved after the log was truncated under them (ghost, durable)
    assigned: tuple[bool, ...] = ()  # per partition: assigned to this member
    # In a group of several consumers: each (partition, position) it started from, for the
    # contract to check against what any member processed (ghost, durable).
    starts: tuple[tuple[int, int], ...] = ()
    partitions_known: int = 0  # the topic's partitions as its metadata says
    refreshing: bool = False  # a metadata refresh (metadata.max.age.ms) is on its way
    # Rejoin the group at the next poll: "rebalance" (its heartbeat heard
    # REBALANCE_IN_PROGRESS) or "new-partition" (a refresh found one); "" otherwise.
    rejoin_due: str = ""


class Consumer(Actor[ConsumerState]):
    durable = ("processed", "skipped", "high_watermarks", "restarts", "truncations", "starts")

    def __init__(
        self,
        config: ConsumerConfig,
        topic: Topic,
        name: str = NAME,
        first_partitions: tuple[int, ...] | None = None,
        topic_partitions: int = 0,
    ) -> None:
        """`first_partitions`: in a group of several consumers, the partitions this member
        owns at the start (None: the only member, which reads them all).
        `topic_partitions`: the topic's partitions at the start, if one may be added
        while it runs (0: all, and none is added)."""
        super().__init__(name, kind=NAME)
        self.config = config
        self.topic = topic
        self.first_partitions = first_partitions
        self.shared = first_partitions is not None
        self.topic_partitions = topic_partitions or topic.partitions

    def initial_state(self) -> ConsumerState:
        """Knowing only where each partition was created: its first replica leads."""
        partitions = range(self.topic.partitions)
        return ConsumerState(
            leaders=tuple((self.topic.replicas(p)[0], 0) for p in partitions),
            asking=metadata.nothing_asked(self.topic.partitions),
            positions=(-1,) * self.topic.partitions,
            fetching=(False,) * self.topic.partitions,
            offset_epochs=(UNDEFINED,) * self.topic.partitions,
            validation=(FETCHING,) * self.topic.partitions,
            high_watermarks=((0, 0),) * self.topic.partitions,
            assigned=tuple(
                not self.shared and p < self.topic_partitions for p in range(self.topic.partitions)
            ),
            partitions_known=self.topic_partitions,
        )

    def first_state(self) -> ConsumerState:
        """The pipeline starts with the consumer already in the group (generation 1)
        and no committed offset, so it starts where auto.offset.reset says."""
        fresh = self.initial_state()
        fresh = fresh._replace(assigned=self._mask(fresh, self.first_partitions))
        reset = (self._reset_position(),) * self.topic.partitions
        if self.topic_partitions < self.topic.partitions:
            # A group that has been running: it committed the (empty) partitions it reads.
            reset = tuple(0 if p < self.topic_partitions else -1 for p in range(len(reset)))
        return fresh._replace(phase="polling", generation=1, positions=reset)

    def _mask(self, state: ConsumerState, partitions: tuple[int, ...] | None) -> tuple[bool, ...]:
        """Which partitions are assigned, from a list of them (None: all it knows of)."""
        every = range(self.topic.partitions)
        if partitions is None:
            return tuple(p < state.partitions_known for p in every)
        return tuple(p in partitions for p in every)

    def on_start(self, state: ConsumerState, out: Out) -> ConsumerState:
        if state.phase == "joining":
            out.send(COORDINATOR, self._join_request(state))
        return state

    def on_connection_lost(self, state: ConsumerState, peer: str, out: Out) -> ConsumerState:
        if peer == SINK and state.writing:
            if self.config.sink_give_up:
                return self._written(state)  # taken or not, the application goes on
            out.set_timer(WRITE_RETRY)  # the write may be lost: write again after a backoff
        else:
            lost = [
                (fetching or validation == VALIDATING) and broker_name(leader) == peer
                for fetching, validation, (leader, _) in zip(
                    state.fetching, state.validation, state.leaders, strict=True
                )
            ]
            if any(lost):  # the requests are gone: find the leaders
                fetching = tuple(
                    f and not gone for f, gone in zip(state.fetching, lost, strict=True)
                )
                validation = tuple(
                    AWAIT_VALIDATION if gone and v == VALIDATING else v
                    for v, gone in zip(state.validation, lost, strict=True)
                )
                state = state._replace(fetching=fetching, validation=validation)
                for partition in (p for p, gone in enumerate(lost) if gone):
                    state = self._ask_leader(state, partition, out)
        return state

    def _reset_position(self) -> int:
        return 0 if self.config.offset_reset == "earliest" else -1

    def after_crash(self, state: ConsumerState) -> ConsumerState:
        kept = self._fresh(state)
        return kept._replace(restarts=kept.restarts + 1)

    def _fresh(self, state: ConsumerState) -> ConsumerState:
        """A fresh state keeping only the durable (ghost) fields."""
        return super().after_crash(state)

    def _written(self, state: ConsumerState) -> ConsumerState:
        """The record in hand is done with: the application moves to the next."""
        partition, offset, _ = state.in_hand[0]
        return state._replace(
            writing=False,
            in_hand=state.in_hand[1:],
            processed=state.processed + ((partition, offset),),
        )

    # -- the poll loop as steps ------------------------------------------------------

    def steps(self, state: ConsumerState) -> Iterable[Hashable]:
        if state.phase != "polling" or any(state.asking):
            return
        if state.in_hand:
            if not state.writing:
                yield ("process", state.in_hand[0])
            if not self.config.worker_pool:
                return  # the poll loop processes what it polled before it polls again
        elif state.rejoin_after:
            yield ("rejoin",)
            return
        elif state.commit_after:
            yield ("commit",)
            return
        elif state.rejoin_due:
            yield ("rejoin-at-poll",)
            return
        if self._to_fetch(state) or self._to_validate(state):
            yield ("poll",)
        if state.partitions_known < self.topic.partitions and not state.refreshing:
            yield ("refresh",)

    def _to_fetch(self, state: ConsumerState) -> list[int]:
        """The partitions a poll sends a fetch for: a leader known, the position valid,
        none outstanding."""
        return [
            p
            for p, (fetching, validation, (leader, _)) in enumerate(
                zip(state.fetching, state.validation, state.leaders, strict=True)
            )
            if not fetching and validation == FETCHING and leader >= 0 and state.assigned[p]
        ]

    def _to_validate(self, state: ConsumerState) -> list[int]:
        """The partitions whose position a poll validates first (KIP-320)."""
        return [
            p for p, v in enumerate(state.validation) if v == AWAIT_VALIDATION and state.assigned[p]
        ]

    def describe_step(self, state: ConsumerState, step: Hashable) -> str:
        if step[0] == "process":
            partition, offset, record = step[1]
            return f"processes r{record} ({self._where(partition)}offset {offset})"
        if step[0] == "commit":
            return f"commits {_shown(state.positions)}"
        if step[0] == "rejoin":
            return "rejoins the group, having processed what the failed commit covered"
        if step[0] == "refresh":
            return "sees metadata.max.age.ms pass: refreshes the topic's metadata"
        if step[0] == "rejoin-at-poll" and state.rejoin_due == "new-partition":
            return "polls: the topic has a new partition, so it rejoins the group"
        if step[0] == "rejoin-at-poll":
            return "polls: the group is rebalancing, so it rejoins"
        wheres = []
        for p in self._to_fetch(state):
            position = state.positions[p]
            where = "latest" if position < 0 else f"offset {position}"
            wheres.append(f"{self._where(p)}from {where}")
        parts = [
            f"validates {self._where(p)}offset {state.positions[p]}"
            for p in self._to_validate(state)
        ]
        if wheres:
            parts.append(f"polls {' and '.join(wheres)}")
        return " and ".join(parts)

    def _where(self, partition: int) -> str:
        """The partition's name where the topic has several, for the narration."""
        if self.topic.partitions == 1:
            return ""
        return f"{self.topic.partition_name(partition)} "

    def on_step(self, state: ConsumerState, step: Hashable, out: Out) -> ConsumerState:
        if step[0] == "process":
            partition, offset, record = step[1]
            out.send(SINK, SinkWrite(record, offset, partition=partition))
            return state._replace(writing=True)
        if step[0] == "commit":
            return self._commit(state._replace(commit_after=False), state.positions, out)
        if step[0] == "rejoin":
            return self._rejoin(state, out)
        if step[0] == "refresh":
            out.send(CONTROLLER, TopicMetadataRequest())
            return state._replace(refreshing=True)
        if step[0] == "rejoin-at-poll":
            return self._rejoin(state._replace(rejoin_due=""), out)
        if self.config.auto_commit and state.auto_commit_from:
            offsets = self._own(state, state.auto_commit_from)
            out.send(COORDINATOR, OffsetCommit(offsets, state.generation))
            state = state._replace(auto_commit_from=())
        validation = list(state.validation)
        for p in self._to_validate(state):
            leader, epoch = state.leaders[p]
            out.send(broker_name(leader), OffsetsForLeaderEpoch(state.offset_epochs[p], epoch))
            validation[p] = VALIDATING
        fetching = list(state.fetching)
        for p in self._to_fetch(state):
            leader, epoch = state.leaders[p]
            fetch = Fetch(
                state.positions[p],
                epoch if self.config.validate_positions else UNDEFINED,
                False,
                state.restarts,
                read_committed=self.config.read_committed,
            )
            out.send(broker_name(leader), fetch)
            fetching[p] = True
        return state._replace(fetching=tuple(fetching), validation=tuple(validation))

    def on_timer(self, state: ConsumerState, timer: Hashable, out: Out) -> ConsumerState:
        if state.writing:
            partition, offset, record = state.in_hand[0]
            out.send(SINK, SinkWrite(record, offset, partition=partition))
        return state

    def describe_timer(self, state: ConsumerState, timer: Hashable) -> str:
        return "the connection to the sink was lost, so the write is sent again"

    # -- answers -------------------------------------------------------------------------

    def on_message(self, state: ConsumerState, sender: str, message: Hashable, out: Out):
        if isinstance(message, JoinGroupResponse):
            return self._take_assignment(state, message.generation, message.partitions, out)
        if isinstance(message, RebalanceInProgress):
            if state.phase == "joining":
                return state  # already rejoining
            return state._replace(rejoin_due=state.rejoin_due or "rebalance")
        if isinstance(message, OffsetFetchResponse) and state.phase == "offsets":
            reset = self._reset_position()
            starts = tuple(offset if offset >= 0 else reset for offset in message.offsets)
            return self._resume(state._replace(phase="polling"), starts)
        if isinstance(message, FetchResponse):
            partition = self.topic.partition_of(int(sender.removeprefix("broker")))
            if (
                state.fetching[partition]
                and message.session == state.restarts
                and not _stale(state, partition, message)
            ):
                fetching = replace_at(state.fetching, partition, False)
                return self._fetched(state._replace(fetching=fetching), partition, message, out)
            return state
        if isinstance(message, SinkAck) and state.writing and state.in_hand:
            partition, _, record = state.in_hand[0]
            if (message.partition, message.record) != (partition, record):
                return state
            out.cancel_timer(WRITE_RETRY)
            return self._written(state)
        if isinstance(message, OffsetCommitResponse):
            if self.shared and message.generation != state.generation:
                return state  # of a generation it has already left for a newer one
            if message.error in RETRIABLE_COMMIT_ERRORS:
                # commitSync retries until it succeeds; a commitAsync callback hears the
                # error, and a later commit covers it unless the application retries.
                if state.phase == "committing" or self.config.retry_async_commits:
                    out.send(COORDINATOR, OffsetCommit(message.offsets, state.generation))
                return state
            if message.error != "NONE":
                # CommitFailedException: the group moved on; rejoin and start over, or
                # (the mistake) process what was polled first.
                if self.config.process_after_failed_commit and state.in_hand:
                    return state._replace(phase="polling", rejoin_after=True)
                return self._rejoin(state, out)
            if state.phase == "committing":
                return state._replace(phase="polling")
            return state
        if isinstance(message, OffsetsForLeaderEpochResponse):
            return self._validated(state, sender, message, out)
        if isinstance(message, UpdateMetadata):
            return self._learned_leader(state, message, out)
        if isinstance(message, TopicMetadata):
            added = message.partitions > state.partitions_known
            known = max(state.partitions_known, message.partitions)
            due = state.rejoin_due or ("new-partition" if added else "")
            return state._replace(partitions_known=known, refreshing=False, rejoin_due=due)
        return state

    def _ask_leader(self, state: ConsumerState, partition: int, out: Out) -> ConsumerState:
        name = self.topic.partition_name(partition)
        return state._replace(asking=metadata.ask(state.asking, partition, name, out))

    def _learned_leader(self, state: ConsumerState, update: UpdateMetadata, out: Out):
        partition = self.topic.partition_names().index(update.partition)
        asking = metadata.answered(state.asking, partition, update.partition, out)
        state = state._replace(asking=asking)
        if update.leader_epoch > state.leaders[partition][1]:
            leaders = replace_at(state.leaders, partition, (update.leader, update.leader_epoch))
            state = state._replace(leaders=leaders)
            # fetch again, from the new leader, once the position is validated there
            state = state._replace(fetching=replace_at(state.fetching, partition, False))
            if (
                self.config.validate_positions
                and state.positions[partition] >= 0
                and state.offset_epochs[partition] != UNDEFINED
            ):
                validation = replace_at(state.validation, partition, AWAIT_VALIDATION)
                state = state._replace(validation=validation)
        return state

    def _validated(
        self, state: ConsumerState, sender: str, answer: OffsetsForLeaderEpochResponse, out: Out
    ) -> ConsumerState:
        """Where the epoch of the last record read ends on the leader: below the position,
        the log was truncated under it, so move back to where the logs diverge; an epoch
        the leader does not know leaves only auto.offset.reset."""
        partition = self.topic.partition_of(int(sender.removeprefix("broker")))
        if state.validation[partition] != VALIDATING:
            return state  # an answer from before a crash or a newer leader change
        if answer.error != "NONE":  # not the leader of the epoch it knows: ask again
            validation = replace_at(state.validation, partition, AWAIT_VALIDATION)
            return self._ask_leader(state._replace(validation=validation), partition, out)
        state = state._replace(validation=replace_at(state.validation, partition, FETCHING))
        if answer.end_offset == UNDEFINED:
            return self._moved(state, partition, self._reset_position(), UNDEFINED)
        if answer.end_offset < state.positions[partition]:
            return self._moved(state, partition, answer.end_offset, answer.leader_epoch)
        return state

    def _moved(self, state: ConsumerState, partition: int, position: int, epoch: int):
        """Move `partition`'s position (read in `epoch`) away from one the log no longer
        holds: to where the logs diverge, or where auto.offset.reset says."""
        state = state._replace(
            offset_epochs=replace_at(state.offset_epochs, partition, epoch),
            truncations=state.truncations + 1,
        )
        return self._resume(state, replace_at(state.positions, partition, position))

    def _fetched(self, state: ConsumerState, partition: int, response: FetchResponse, out: Out):
        if response.error == "OFFSET_OUT_OF_RANGE":
            # auto.offset.reset: earliest is the leader's log start offset (retention may
            # have deleted the records before it), latest its end.
            earliest = self.config.offset_reset == "earliest"
            position = response.log_start if earliest else -1
            return self._moved(state, partition, position, UNDEFINED)
        if response.error != "NONE":
            return self._ask_leader(state, partition, out)
        seen, regressions = state.high_watermarks[partition]
        if response.high_watermark < seen:
            regressions += 1
        watermark = (max(seen, response.high_watermark), regressions)
        state = state._replace(
            high_watermarks=replace_at(state.high_watermarks, partition, watermark)
        )
        if state.positions[partition] < 0:  # "latest" resolved to an offset
            state = self._resume(state, replace_at(state.positions, partition, response.offset))
        records = consumable(response.offset, response.entries, response.aborted)
        end = response.offset + len(response.entries)
        kept = {offset for offset, _ in records}
        passed = tuple((partition, o) for o in range(response.offset, end) if o not in kept)
        positions = replace_at(state.positions, partition, end)
        if response.entries:
            last_epoch = response.entries[-1].leader_epoch
            state = state._replace(
                offset_epochs=replace_at(state.offset_epochs, partition, last_epoch)
            )
        state = state._replace(
            positions=positions,
            in_hand=state.in_hand
            + tuple((partition, offset, record) for offset, record in records),
            processed=state.processed + passed,
        )
        if self.config.auto_commit:
            return state._replace(auto_commit_from=positions)
        if not records:
            return state
        if self.config.commit == "before-processing":
            return self._commit(state, positions, out)
        return state._replace(commit_after=True)

    def _take_assignment(
        self,
        state: ConsumerState,
        generation: int,
        partitions: tuple[int, ...] | None,
        out: Out,
    ) -> ConsumerState:
        """A new generation starts over from the committed offsets; the ghost fields (the
        durable ones) and the known leaders carry over."""
        out.send(COORDINATOR, OffsetFetch())
        return self._fresh(state)._replace(
            phase="offsets",
            generation=generation,
            leaders=state.leaders,
            assigned=self._mask(state, partitions),
            partitions_known=state.partitions_known,
        )

    def _rejoin(self, state: ConsumerState, out: Out) -> ConsumerState:
        """Join the group again, dropping what was polled and not processed."""
        out.send(COORDINATOR, self._join_request(state))
        return state._replace(
            phase="joining", in_hand=(), writing=False, commit_after=False, rejoin_after=False
        )

    def _join_request(self, state: ConsumerState) -> JoinGroup:
        """In a group of several, a member's join names the partitions it knows of."""
        return JoinGroup(partitions=state.partitions_known if self.shared else 0)

    def _own(self, state: ConsumerState, offsets: tuple[int, ...]) -> tuple[int, ...]:
        """The offsets a member commits: its own partitions' (-1: not committed here)."""
        if all(state.assigned):
            return offsets
        return tuple(o if mine else -1 for o, mine in zip(offsets, state.assigned, strict=True))

    def _resume(self, state: ConsumerState, positions: tuple[int, ...]) -> ConsumerState:
        """Move to `positions`, noting whether that passes an offset never processed: by
        this consumer, or (in a group of several) where it started, for the contract to
        judge against every member."""
        if self.shared:
            started = {
                (p, position)
                for p, position in enumerate(positions)
                if position > 0 and state.assigned[p]
            }
            return state._replace(
                positions=positions, starts=tuple(sorted(set(state.starts) | started))
            )
        missed = any(
            position > 0 and not {(p, o) for o in range(position)} <= set(state.processed)
            for p, position in enumerate(positions)
        )
        return state._replace(positions=positions, skipped=state.skipped or missed)

    def _commit(self, state: ConsumerState, offsets: tuple[int, ...], out: Out) -> ConsumerState:
        out.send(COORDINATOR, OffsetCommit(self._own(state, offsets), state.generation))
        if self.config.commit_async:
            return state
        return state._replace(phase="committing")


def _stale(state: ConsumerState, partition: int, response: FetchResponse) -> bool:
    """An answer to an earlier fetch the consumer gave up on (it asked again since)."""
    position = state.positions[partition]
    return position >= 0 and response.offset != position and response.error == "NONE"


def _shown(positions: tuple[int, ...]) -> str:
    if len(positions) == 1:
        return f"offset {positions[0]}"
    return f"offsets {list(positions)}"
