"""The producer application and its Kafka client, as one actor.

The application loop reads the next record from the source, hands it to
`send()`, and stores its source position either as it reads, before sending
(so a crash never resends, at-most-once), or after the broker acknowledged the
record (so a crash resends whatever was not acknowledged, at-least-once).

The client keeps up to `max.in.flight.requests.per.connection` requests
outstanding. A request timeout makes the outcome ambiguous, exactly as in
Kafka: the client drops the connection, so every request in flight is retried
(a new attempt) on a new connection and any late answer to an old attempt is
ignored, though the broker may well write it, before or after the retry. With
`enable.idempotence` each record carries the producer id and a per-partition
sequence number, and the broker drops a retry it has already written. Once a
record's retries are used up the send fails, and the application gives up on
it or sends it again as a new record.

Records are keyed: record r goes to partition (r − 1) mod P of the topic, as
a keyed record always goes to its key's partition, P being the partitions
its metadata knows: a partition added while it runs is found at a refresh
(metadata.max.age.ms), and keys move to it from then on. The client knows each
partition's leader (asking the controller after an error or a lost
connection to it), keeps a sequence per partition and sends each batch
to its partition's leader; its request timeout is one timer over every request
in flight, and when it fires every connection with a request in flight is
dropped.

Durable: nothing of the client. The producer id is new for every incarnation
(`incarnation` stands for the id the broker hands out on InitProducerId), and
the ghost fields recording what the application was told survive for the
contracts to read.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.core.tuples import replace_at
from kmodel.kafka import metadata
from kmodel.kafka.broker import CONTROLLER, broker_name
from kmodel.kafka.config import ProducerConfig
from kmodel.kafka.messages import (
    ProduceRequest,
    ProduceResponse,
    SourceCommit,
    SourceRead,
    SourceRecord,
    TopicMetadata,
    TopicMetadataRequest,
    UpdateMetadata,
)
from kmodel.kafka.source import NAME as SOURCE
from kmodel.kafka.topic import Topic

NAME = "producer"
REQUEST_TIMEOUT = "request.timeout.ms"
RETRIABLE = ("NOT_LEADER_OR_FOLLOWER", "NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS_AFTER_APPEND")
SEQUENCE_ERRORS = ("OUT_OF_ORDER_SEQUENCE_NUMBER", "UNKNOWN_PRODUCER_ID")


class Batch(NamedTuple):
    record: int
    position: int  # the record's position in the source
    sequence: int  # -1 without idempotence
    attempt: int  # 0 for the first send
    resent: int  # how often the application already re-sent this record as a new one
    waiting_metadata: bool = False  # to be resent once the new leader is known
    broker: int = -1  # the broker the last attempt went to
    held_back: bool = False  # to be resent once an earlier sequence is written
    partition: int = 0
    epoch: int = 0  # the producer epoch it carries (a KIP-360 bump renumbers it)


class ProducerState(NamedTuple):
    incarnation: int = 1  # the producer id of this incarnation (durable counter)
    leaders: tuple[tuple[int, int], ...] = ()  # per partition: (leader, leader epoch)
    asking: metadata.Asking = ()  # per partition: the metadata request on its way
    reading: bool = False  # a SourceRead is outstanding
    next_position: int = -1  # the next source position to read (-1: ask the source)
    stored_position: int = -1  # the source position last stored
    batches: tuple[Batch, ...] = ()
    next_sequences: tuple[int, ...] = ()  # per partition
    acked: tuple[int, ...] = ()  # records the broker acknowledged (ghost, durable)
    failed: tuple[int, ...] = ()  # records whose send finally failed (ghost, durable)
    restarts: int = 0  # (ghost, durable)
    connection: int = 0  # connections to the brokers dropped on a request timeout so far
    epochs: tuple[int, ...] = ()  # per partition: the producer epoch its batches carry
    # per partition: the offset of the last acknowledged batch (-1: none), which a client
    # before KIP-360 compares with the log start offset on UNKNOWN_PRODUCER_ID
    acked_offsets: tuple[int, ...] = ()
    partitions_known: int = 0  # the topic's partitions as its metadata says
    refreshing: bool = False  # a metadata refresh (metadata.max.age.ms) is on its way


class Producer(Actor[ProducerState]):
    durable = ("incarnation", "acked", "failed", "restarts")

    def __init__(
        self,
        config: ProducerConfig,
        topic: Topic,
        *,
        commit_before_send: bool,
        resend_on_failure: bool,
        max_resends: int,
        first_partitions: int = 0,
    ) -> None:
        """`first_partitions`: the topic's partitions at the start, if one may be added
        while it runs (0: all, and none is added)."""
        super().__init__(NAME)
        self.first_partitions = first_partitions or topic.partitions
        self.config = config
        self.topic = topic
        self.commit_before_send = commit_before_send
        self.resend_on_failure = resend_on_failure
        self.max_resends = max_resends

    def initial_state(self) -> ProducerState:
        """Knowing where each partition was created: its first replica leads."""
        partitions = range(self.topic.partitions)
        return ProducerState(
            leaders=tuple((self.topic.replicas(p)[0], 0) for p in partitions),
            asking=metadata.nothing_asked(self.topic.partitions),
            next_sequences=(0,) * self.topic.partitions,
            epochs=(0,) * self.topic.partitions,
            acked_offsets=(-1,) * self.topic.partitions,
            partitions_known=self.first_partitions,
        )

    def on_start(self, state: ProducerState, out: Out) -> ProducerState:
        out.send(SOURCE, SourceRead(None, self.commit_before_send))
        return state._replace(reading=True)

    def after_crash(self, state: ProducerState) -> ProducerState:
        kept = super().after_crash(state)
        return kept._replace(incarnation=kept.incarnation + 1, restarts=kept.restarts + 1)

    def on_message(self, state: ProducerState, sender: str, message: Hashable, out: Out):
        if isinstance(message, SourceRecord):
            return self._send_new(state._replace(reading=False), message, out)
        if isinstance(message, ProduceResponse):
            return self._answered(state, message, out)
        if isinstance(message, TopicMetadata):
            known = max(state.partitions_known, message.partitions)
            return state._replace(partitions_known=known, refreshing=False)
        if isinstance(message, UpdateMetadata):
            partition = self.topic.partition_names().index(message.partition)
            asking = metadata.answered(state.asking, partition, message.partition, out)
            state = state._replace(asking=asking)
            if message.leader_epoch < state.leaders[partition][1]:
                return state
            leader = (message.leader, message.leader_epoch)
            state = state._replace(leaders=replace_at(state.leaders, partition, leader))
            # Batches waiting for the partition's leader go to it now. Requests on their way
            # stay there until answered (a former leader answers NOT_LEADER_OR_FOLLOWER), as
            # Kafka's Sender leaves in-flight batches alone on a metadata change.
            return self._retry(
                state, lambda b: b.partition == partition and b.waiting_metadata, out
            )
        return state

    def on_connection_lost(self, state: ProducerState, peer: str, out: Out) -> ProducerState:
        """Kafka's client asks for fresh metadata after losing the connection to a
        leader it knows, or one its requests went to (NetworkClient does on every
        disconnection); until the answer comes it still sends to the leader it knows,
        which may be back by then. Requests on a lost (or refused) connection are gone
        both ways, so no late answer can come: they wait for the leader's address,
        then go again as they are. Kafka retries a disconnection until
        delivery.timeout.ms, which the explored bounds never reach, so it uses up no
        explored retry; with retries=0 the send fails at once."""
        lost = [b for b in state.batches if broker_name(b.broker) == peer and not b.held_back]
        for partition, (leader, _) in enumerate(state.leaders):
            if broker_name(leader) == peer or any(b.partition == partition for b in lost):
                state = self._ask_leader(state, partition, out)
        if not lost:
            return state
        if self.config.attempts == 1:
            return self._retry(state, lambda b: b in lost, out)
        batches = tuple(
            b._replace(waiting_metadata=True) if b in lost else b for b in state.batches
        )
        return self._after_change(state._replace(batches=batches), out)

    def steps(self, state: ProducerState) -> Iterable[Hashable]:
        if state.partitions_known < self.topic.partitions and not state.refreshing:
            yield ("refresh",)

    def describe_step(self, state: ProducerState, step: Hashable) -> str:
        return "sees metadata.max.age.ms pass: refreshes the topic's metadata"

    def on_step(self, state: ProducerState, step: Hashable, out: Out) -> ProducerState:
        out.send(CONTROLLER, TopicMetadataRequest())
        return state._replace(refreshing=True)

    def _ask_leader(self, state: ProducerState, partition: int, out: Out) -> ProducerState:
        name = self.topic.partition_name(partition)
        return state._replace(asking=metadata.ask(state.asking, partition, name, out))

    def timer_fault(self, state: ProducerState, timer: Hashable) -> str | None:
        return "timeout"  # fires while the answer is still on its way: a slow broker

    def on_timer(self, state: ProducerState, timer: Hashable, out: Out) -> ProducerState:
        # Kafka closes the connection on a request timeout: all requests in flight fail
        # and go again, on a new connection, to the leader the client knows (one no
        # longer leading answers NOT_LEADER_OR_FOLLOWER, and the client then asks for
        # fresh metadata). A request on the old connection may still be written, before
        # or after its retry.
        state = state._replace(connection=state.connection + 1)
        return self._retry(state, lambda b: not (b.waiting_metadata or b.held_back), out)

    def _retry(
        self,
        state: ProducerState,
        selected: Callable[[Batch], bool],
        out: Out,
        wait: bool = False,
        hold: bool = False,
    ) -> ProducerState:
        """Retry the selected batches as a new attempt: now, once the leader is known
        (`wait`), or once an earlier batch is written (`hold`). A batch whose retries
        are used up fails for good."""
        kept, on_the_wire, failing = [], [], []
        for batch in state.batches:
            if not selected(batch):
                kept.append(batch)
                continue
            if not (batch.waiting_metadata or batch.held_back):  # those counted their attempt
                if batch.attempt + 1 >= self.config.attempts:
                    failing.append(batch)
                    continue
                batch = batch._replace(attempt=batch.attempt + 1)
            if wait or hold:
                kept.append(batch._replace(waiting_metadata=wait, held_back=hold))
            else:
                ready = batch._replace(waiting_metadata=False, held_back=False)
                sent = self._produce(state, ready, out)
                (on_the_wire if self._done_once_sent(sent) else kept).append(sent)
        state = state._replace(batches=tuple(kept))
        for batch in on_the_wire:
            state = self._completed(state, batch, out)
        for batch in failing:
            state = self._failed(state, batch, out)
        return self._after_change(state, out)

    def describe_timer(self, state: ProducerState, timer: Hashable) -> str:
        return "request.timeout.ms expires: the client drops the connection and retries"

    # -- sending --------------------------------------------------------------------

    def _send_new(self, state: ProducerState, read: SourceRecord, out: Out) -> ProducerState:
        state, batch = self._new_batch(state, read.record, read.position, resent=0)
        return self._enqueue(state._replace(next_position=read.position + 1), batch, out)

    def _new_batch(
        self, state: ProducerState, record: int, position: int, resent: int
    ) -> tuple[ProducerState, Batch]:
        """A first attempt of `record` to its key's partition, with that partition's next
        sequence number under idempotence."""
        partition = (record - 1) % state.partitions_known
        sequence = state.next_sequences[partition] if self.config.idempotence else -1
        epoch = state.epochs[partition]
        batch = Batch(record, position, sequence, 0, resent, partition=partition, epoch=epoch)
        following = state.next_sequences[partition] + self.config.idempotence
        return state._replace(
            next_sequences=replace_at(state.next_sequences, partition, following)
        ), batch

    def _enqueue(self, state: ProducerState, batch: Batch, out: Out) -> ProducerState:
        return self._after_change(self._dispatch(state, batch, out), out)

    def _dispatch(self, state: ProducerState, batch: Batch, out: Out) -> ProducerState:
        """Send a new batch; unless it is done once sent, it waits for its answer. Kafka's
        accumulator drains a partition's batches in order, so a new batch waits behind
        one that waits to be sent again."""
        ahead = next(
            (
                b
                for b in state.batches
                if b.partition == batch.partition and (b.waiting_metadata or b.held_back)
            ),
            None,
        )
        if ahead is not None:
            queued = batch._replace(
                waiting_metadata=ahead.waiting_metadata, held_back=ahead.held_back
            )
            return state._replace(batches=state.batches + (queued,))
        batch = self._produce(state, batch, out)
        if self._done_once_sent(batch):
            return self._completed(state, batch, out)
        return state._replace(batches=state.batches + (batch,))

    def _done_once_sent(self, batch: Batch) -> bool:
        """Fire and forget (acks=0): a batch on the wire counts as sent."""
        return self.config.acks == "0" and not batch.waiting_metadata

    def _produce(self, state: ProducerState, batch: Batch, out: Out) -> Batch:
        """Send `batch` to its partition's leader as the client knows it."""
        leader = state.leaders[batch.partition][0]
        producer_id = state.incarnation if self.config.idempotence else 0
        request = ProduceRequest(
            batch.record,
            producer_id,
            batch.sequence,
            batch.attempt,
            self.config.acks,
            session=state.incarnation,
            producer_epoch=batch.epoch,
            connection=state.connection,
        )
        out.send(broker_name(leader), request)
        return batch._replace(broker=leader)

    def _after_change(self, state: ProducerState, out: Out) -> ProducerState:
        """Keep reading while there is room in flight; keep the timer armed while waiting."""
        in_flight = [b for b in state.batches if not (b.waiting_metadata or b.held_back)]
        if in_flight:
            out.set_timer(REQUEST_TIMEOUT)
        else:
            out.cancel_timer(REQUEST_TIMEOUT)
        if not state.reading and len(state.batches) < self.config.max_in_flight:
            position = None if state.next_position < 0 else state.next_position
            out.send(SOURCE, SourceRead(position, self.commit_before_send))
            state = state._replace(reading=True)
        return state

    # -- answers ----------------------------------------------------------------------

    def _answered(self, state: ProducerState, response: ProduceResponse, out: Out):
        if response.session != state.incarnation:
            return state  # an answer to the previous incarnation's connection
        batch = next(
            (
                b
                for b in state.batches
                if b.record == response.record
                and b.attempt == response.attempt
                and not (b.waiting_metadata or b.held_back)
            ),
            None,
        )
        if batch is None:
            return state  # an answer on a connection the client already dropped
        others = tuple(b for b in state.batches if b is not batch)
        if response.error == "NONE":
            state = state._replace(batches=others, acked=_add(state.acked, batch.record))
            if not self.config.bump_epoch_on_unknown_producer:
                last = max(state.acked_offsets[batch.partition], response.offset)
                acked = replace_at(state.acked_offsets, batch.partition, last)
                state = state._replace(acked_offsets=acked)
            state = self._completed(state, batch, out)
            # Batches held back behind this one (out of order) can go now.
            return self._retry(state, lambda b: b.held_back, out)
        renumbered = (response.producer_epoch, response.sequence) != (batch.epoch, batch.sequence)
        if response.error in SEQUENCE_ERRORS and renumbered:
            # Its sequence numbers started again since this attempt went out: send it again
            # as it is now (Kafka retries a batch whose sequence has been reset).
            return self._retry(state, lambda b: b is batch, out)
        if response.error == "OUT_OF_ORDER_SEQUENCE_NUMBER" and any(
            b.partition == batch.partition and b.sequence < batch.sequence for b in others
        ):
            # An earlier batch is still unresolved: retry this one after it (as Kafka's
            # idempotent producer does), holding it back meanwhile.
            return self._retry(state, lambda b: b is batch, out, hold=True)
        if response.error == "UNKNOWN_PRODUCER_ID":
            return self._unknown_producer(state, batch, response.log_start, out)
        if response.error == "NOT_LEADER_OR_FOLLOWER" and self.config.attempts > 1:
            # Leadership moved: wait for the new leader's address and send again. The
            # request was answered, so no late answer can come; Kafka retries this until
            # delivery.timeout.ms, so it does not use up the explored retries.
            state = self._ask_leader(state, batch.partition, out)
            batches = tuple(
                b._replace(waiting_metadata=True) if b is batch else b for b in state.batches
            )
            return self._after_change(state._replace(batches=batches), out)
        if response.error in RETRIABLE:
            return self._retry(state, lambda b: b is batch, out)
        state = self._failed(state._replace(batches=others), batch, out)
        return self._after_change(state, out)

    def _unknown_producer(
        self, state: ProducerState, batch: Batch, log_start: int, out: Out
    ) -> ProducerState:
        """The leader forgot this producer (TransactionManager.canRetry): a KIP-360 client
        bumps its epoch and starts the partition's sequences again at 0; a 1.0-2.4 client
        starts them again only if the log start offset passed its last acknowledged offset
        (retention deleted its batches), and fails the batch otherwise, moving later
        sequence numbers down so they stay contiguous."""
        partition = batch.partition
        if self.config.bump_epoch_on_unknown_producer:
            state = _start_sequences_again(state, partition, max(state.epochs) + 1)
        elif state.acked_offsets[partition] < log_start:
            state = _start_sequences_again(state, partition, state.epochs[partition])
        else:
            later = tuple(
                b._replace(sequence=b.sequence - 1)
                if b.partition == partition and b.sequence > batch.sequence
                else b
                for b in state.batches
                if b is not batch
            )
            following = state.next_sequences[partition] - 1
            state = state._replace(
                batches=later,
                next_sequences=replace_at(state.next_sequences, partition, following),
            )
            return self._after_change(self._failed(state, batch, out), out)
        return self._retry(state, lambda b: b.record == batch.record, out)

    def _completed(self, state: ProducerState, batch: Batch, out: Out) -> ProducerState:
        """After an acknowledgement (or a fire-and-forget send): store the source position
        up to the first record not yet done."""
        if self.commit_before_send:
            return state
        position = min((b.position for b in state.batches), default=state.next_position)
        if position <= state.stored_position:
            return state
        out.send(SOURCE, SourceCommit(position))
        return state._replace(stored_position=position)

    def _failed(self, state: ProducerState, batch: Batch, out: Out) -> ProducerState:
        state = state._replace(failed=_add(state.failed, batch.record))
        held = [b for b in state.batches if b.held_back and b.partition == batch.partition]
        if held:
            # The batch they waited behind failed for good: they go now (Kafka retries
            # the later batches of a partition once an earlier one has failed).
            state = self._retry(state, lambda b: b in held, out)
        if self.resend_on_failure and batch.resent < self.max_resends:
            state, again = self._new_batch(state, batch.record, batch.position, batch.resent + 1)
            return self._dispatch(state, again, out)
        return self._completed(state, batch, out)


def _start_sequences_again(state: ProducerState, partition: int, epoch: int) -> ProducerState:
    """Renumber the partition's unfinished batches from sequence 0, in their order, under
    `epoch` (TxnPartitionEntry.startSequencesAtBeginning)."""
    own = sorted((b for b in state.batches if b.partition == partition), key=lambda b: b.sequence)
    renumbered = {b: b._replace(sequence=n, epoch=epoch) for n, b in enumerate(own)}
    return state._replace(
        batches=tuple(renumbered.get(b, b) for b in state.batches),
        next_sequences=replace_at(state.next_sequences, partition, len(own)),
        epochs=replace_at(state.epochs, partition, epoch),
    )


def _add(records: tuple[int, ...], record: int) -> tuple[int, ...]:
    return records if record in records else tuple(sorted(records + (record,)))
