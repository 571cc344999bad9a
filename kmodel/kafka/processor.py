"""The read-process-write application: a consumer and a transactional producer as one actor.

    producer.initTransactions()
    loop: record = poll(); beginTransaction(); send(output, record) to every output
          partition; sendOffsetsToTransaction(position + 1, groupMetadata);
          commitTransaction()    — on an abortable error: abortTransaction() and
          rewind to the committed position (unless `seek.after.abort` is false,
          a common mistake: it then polls on past the aborted record); on a
          write's timeout it aborts (unless `on.send.timeout` is "resend", the
          mistake of sending the record again in the same transaction); when
          commitTransaction() times out it calls it again (`on.commit.timeout`:
          or aborts, or makes the mistake of going on as if committed)

One input record per transaction. The input may have two partitions: then two
instances run at the same time, each owning one for good, each with its own
transactional.id, and both write to every output partition, so their
transactions interleave there. Where the input position is stored is the
`offsets` setting: in the transaction (sendOffsetsToTransaction), committed
to the group after the transaction commits, or (with an external sink as the
output) in the sink, atomically with the result.

Errors are handled as the Java client makes an application handle them:
PRODUCER_FENCED closes the producer (a newer instance owns the
transactional.id); a rejected offset commit (ILLEGAL_GENERATION, the group
moved on) aborts the transaction first. Either way the instance rejoins the
group, and gets the partition back only if no live member owns it; so does an
instance whose transaction the coordinator aborted on transaction.timeout.ms,
which fences it. Anything else aborts and rewinds. A request timeout while a
write is unanswered is a budgeted fault ("a slow broker"): the client drops
the connection, ignores late answers and aborts, though the write may still
land. After such an abort the producer needs a new epoch to restart its
sequence numbers: EndTxn gives it one under KIP-890, otherwise it asks with
InitProducerId (KIP-360). So it does after a write met UNKNOWN_PRODUCER_ID or
OUT_OF_ORDER_SEQUENCE_NUMBER (the leader forgot the producer); a client with
`bump_in_transaction` instead bumps the epoch at once and goes on with the
transaction, unaware that the InitProducerId aborted it. After an abort the
application rewinds to the committed position. A second instance may stand by
in the group: it is assigned the partition when the owner's session expires,
because the owner hung for good (a budgeted fault, "hang") or was only paused
(the group coordinator's "takeover" fault), in which case the owner lives on
as a zombie.

Ghosts: every transaction attempt gets a number (`attempt`) carried with its
writes, and `fenced` records that the instance was told it is fenced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.core.tuples import replace_at
from kmodel.kafka import metadata
from kmodel.kafka.broker import TXN_COORDINATOR, broker_name
from kmodel.kafka.messages import (
    GROUP,
    AddPartitionsToTxn,
    EndTxn,
    InitProducerId,
    InitProducerIdResponse,
    JoinGroup,
    JoinGroupResponse,
    OffsetCommit,
    OffsetCommitResponse,
    OffsetFetch,
    OffsetFetchResponse,
    ProduceRequest,
    ProduceResponse,
    SessionExpired,
    SinkAck,
    SinkOffsetFetch,
    SinkOffsetFetchResponse,
    SinkWrite,
    SourceRead,
    SourceRecord,
    TxnOffsetCommit,
    TxnOffsetCommitResponse,
    TxnResponse,
    UpdateMetadata,
)
from kmodel.kafka.sink import NAME as SINK
from kmodel.kafka.source import partition_records
from kmodel.kafka.topic import Topic

INPUT = "input"
REQUEST_TIMEOUT = "request.timeout.ms"
# A request of the transaction to a coordinator (to the transaction coordinator, or the
# offsets to the group coordinator) times out: the client closes the connection and
# sends the request again on a new one, while the first copy may still arrive.
COORDINATOR_TIMEOUT = ("request.timeout.ms", "coordinator")
# The phases that wait for answers to the transaction's writes: all of them, before it
# ends or (draining to bump, `bump_in_transaction`) bumps the epoch.
WRITING = ("producing", "draining-to-abort", "draining-to-bump")
# The phases that wait for an InitProducerId answer.
BUMPS = ("init", "bumping", "bumping-in-transaction")
RETRY = "retry.backoff.ms"
# Errors after which a write goes again, unchanged, to the partition's leader.
RETRIABLE = ("NOT_LEADER_OR_FOLLOWER", "NOT_ENOUGH_REPLICAS", "NOT_ENOUGH_REPLICAS_AFTER_APPEND")
# Errors that say the leader does not know the producer's sequence numbers: they start
# again only under a new producer epoch.
NEEDS_NEW_EPOCH = ("UNKNOWN_PRODUCER_ID", "OUT_OF_ORDER_SEQUENCE_NUMBER")


@dataclass(frozen=True, slots=True)
class ProcessorConfig:
    output: Topic | None  # the output topic; None when the output is the sink
    offsets: str  # transaction | after-commit | sink
    group_metadata: bool  # sendOffsetsToTransaction with the consumer's group metadata
    seek_after_abort: bool  # rewind to the committed position after an abort (else poll on)
    resend_on_timeout: bool  # a write timed out: send it again as a new one (else abort)
    require_stable: bool  # OffsetFetch waits for offsets a transaction has pending
    bump_on_end: bool  # the brokers' transaction.version is 2: EndTxn bumps the epoch
    records: int  # records in the input
    input_partitions: int = 1  # partitions of the input, one per running instance
    # An error that needs a new epoch, met by a write: bump it at once and go on with the
    # transaction (librdkafka before its issue 3575 was fixed), else abort first.
    bump_in_transaction: bool = False
    # commitTransaction() timed out: retry it, abort, or (the mistake) go on as if done.
    on_commit_timeout: str = "retry"

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.output.partition_names() if self.output else ()


class ProcessorState(NamedTuple):
    phase: str = "init"
    producer_id: int = -1
    epoch: int = -1
    generation: int = -1  # -1: not in the group yet
    position: int = 0  # the next input offset to process
    record: int = 0  # the record the current transaction processes
    attempt: int = 0  # the current transaction attempt (ghost)
    attempts: int = 0  # attempts begun by this incarnation
    sequences: tuple[int, ...] = ()  # the next sequence number per output partition
    requests: tuple[tuple[str, Hashable], ...] = ()  # (destination, request) unanswered
    lost: tuple[str, ...] = ()  # destinations whose connection broke: resend after a backoff
    session: int = 0  # the connection to the outputs (a request timeout drops it)
    leaving: bool = False  # the group moved on: leave once the abort is done
    incarnation: int = 1  # durable
    fenced: bool = False  # told PRODUCER_FENCED or ILLEGAL_GENERATION (ghost, durable)
    # Acted on a PRODUCER_FENCED that no newer instance or timeout stood behind (ghost,
    # durable).
    falsely_fenced: bool = False
    # Connections opened to the transaction coordinator and to the group coordinator,
    # beyond the first.
    coordinator_connection: int = 0
    group_connection: int = 0
    restarts: int = 0  # (ghost, durable)
    # The output partitions' leaders and leader epochs the client knows (its metadata).
    leaders: tuple[tuple[int, int], ...] = ()
    asking: metadata.Asking = ()  # per output partition: the metadata request on its way
    # The output partitions whose writes go again once an epoch bumped in the middle of
    # the transaction comes back (`bump_in_transaction`).
    rewrites: tuple[str, ...] = ()


class Processor(Actor[ProcessorState]):
    # The connection count too: a restarted client opens new connections, never old ones.
    durable = (
        "incarnation",
        "fenced",
        "falsely_fenced",
        "restarts",
        "coordinator_connection",
        "group_connection",
    )

    def __init__(
        self,
        instance: int,
        config: ProcessorConfig,
        transactional_id: str,
        standby: bool,
        input_partition: int = 0,
    ) -> None:
        super().__init__(f"app-{instance}", kind="processor")
        self.instance = instance
        self.config = config
        self.transactional_id = transactional_id
        self.standby = standby
        self.input_partition = input_partition
        self.input_records = partition_records(
            config.records, input_partition, config.input_partitions
        )

    # -- life cycle ---------------------------------------------------------------

    def initial_state(self) -> ProcessorState:
        output = self.config.output
        partitions = output.partitions if output else 0
        return ProcessorState(
            leaders=tuple((output.replicas(p)[0], 0) for p in range(partitions)),
            asking=metadata.nothing_asked(partitions),
        )

    def first_state(self) -> ProcessorState:
        """The first instance starts in the group (generation 1); a second one stands by."""
        if self.standby:
            return self.initial_state()._replace(phase="standby")
        return self.initial_state()._replace(generation=1)

    def on_start(self, state: ProcessorState, out: Out) -> ProcessorState:
        if state.phase == "init":
            return self._init(state, out)
        return state

    def after_crash(self, state: ProcessorState) -> ProcessorState:
        kept = super().after_crash(state)
        return kept._replace(incarnation=kept.incarnation + 1, restarts=kept.restarts + 1)

    def steps(self, state: ProcessorState) -> Iterable[Hashable]:
        if state.phase not in ("hung", "standby", "fenced", "done"):
            yield ("hang",)

    def step_fault(self, state: ProcessorState, step: Hashable) -> str | None:
        return "hang"

    def describe_step(self, state: ProcessorState, step: Hashable) -> str:
        return "hangs for good (a stuck process): sends nothing ever again"

    def on_step(self, state: ProcessorState, step: Hashable, out: Out) -> ProcessorState:
        # Its group session expires: the world tells the coordinator, as a session timeout.
        out.send(GROUP, SessionExpired(self.name))
        for timer in (REQUEST_TIMEOUT, COORDINATOR_TIMEOUT, RETRY):
            out.cancel_timer(timer)
        return state._replace(phase="hung", requests=(), lost=())

    # -- requests ------------------------------------------------------------------

    def _ask(
        self, state: ProcessorState, phase: str, destination: str, request: Hashable, out: Out
    ) -> ProcessorState:
        out.send(destination, request)
        if destination == TXN_COORDINATOR or isinstance(request, TxnOffsetCommit):
            out.set_timer(COORDINATOR_TIMEOUT)
        else:
            out.cancel_timer(COORDINATOR_TIMEOUT)
        return state._replace(phase=phase, requests=((destination, request),), lost=())

    def _join(self, state: ProcessorState, phase: str, out: Out) -> ProcessorState:
        return self._ask(state, phase, GROUP, JoinGroup(state.group_connection), out)

    def _init(self, state: ProcessorState, out: Out, phase: str = "init") -> ProcessorState:
        """initTransactions, or (with a producer id) a bump of this producer's own epoch
        (`phase` "bumping": after an abort, KIP-360). "bumping-in-transaction": in the
        middle of a transaction, with a plain InitProducerId as a client before KIP-360
        sends it, which the coordinator answers as it answers a new instance: it aborts
        the open transaction and gives out a new epoch."""
        epoch = -1 if phase == "bumping-in-transaction" else state.epoch
        request = InitProducerId(
            self.transactional_id, epoch, connection=state.coordinator_connection
        )
        return self._ask(state, phase, TXN_COORDINATOR, request, out)

    def _after_abort(self, state: ProcessorState, out: Out) -> ProcessorState:
        """Seek back to the committed position, or (the mistake) poll on past the record
        of the aborted transaction, which is then never processed."""
        if self.config.seek_after_abort:
            return self._fetch_offsets(state, out)
        return self._next(state._replace(position=state.position + 1), out)

    def _fetch_offsets(self, state: ProcessorState, out: Out) -> ProcessorState:
        if self.config.offsets == "sink":
            return self._ask(state, "offsets", SINK, SinkOffsetFetch(), out)
        request = OffsetFetch(
            self.config.require_stable, state.group_connection, self.input_partition
        )
        return self._ask(state, "offsets", GROUP, request, out)

    def _next(self, state: ProcessorState, out: Out) -> ProcessorState:
        """Poll the next input record, or rest once the input is used up."""
        if state.position >= self.input_records:
            return state._replace(phase="done", requests=(), lost=())
        read = SourceRead(state.position, partition=self.input_partition)
        return self._ask(state, "reading", INPUT, read, out)

    def _add(self, state: ProcessorState, phase: str, partitions, out: Out) -> ProcessorState:
        request = AddPartitionsToTxn(
            self.transactional_id,
            state.producer_id,
            state.epoch,
            partitions,
            state.attempt,
            connection=state.coordinator_connection,
        )
        return self._ask(state, phase, TXN_COORDINATOR, request, out)

    def _end(self, state: ProcessorState, commit: bool, out: Out) -> ProcessorState:
        request = EndTxn(
            self.transactional_id,
            state.producer_id,
            state.epoch,
            commit,
            state.attempt,
            connection=state.coordinator_connection,
        )
        out.cancel_timer(REQUEST_TIMEOUT)
        state = state._replace(rewrites=())
        return self._ask(state, "ending" if commit else "aborting", TXN_COORDINATOR, request, out)

    def _commit_offsets(self, state: ProcessorState, out: Out) -> ProcessorState:
        none = (-1,) * self.config.input_partitions  # the other instance's partition: as is
        offsets = replace_at(none, self.input_partition, state.position + 1)
        request = OffsetCommit(offsets, state.generation, state.group_connection)
        return self._ask(state, "committing", GROUP, request, out)

    # -- answers ---------------------------------------------------------------------

    def on_message(self, state: ProcessorState, sender: str, message: Hashable, out: Out):
        if isinstance(message, JoinGroupResponse) and state.phase != "hung":
            return self._assigned(state, message.generation, out)
        if isinstance(message, UpdateMetadata):
            return self._learned_leader(state, message, out)
        sender = self._partition_led_by(sender)
        if not any(destination == sender for destination, _ in state.requests):
            return state  # not an answer to anything this instance is waiting for
        if sender in (TXN_COORDINATOR, GROUP) and message.connection != _connection(state, sender):
            return state  # on a connection the client closed: it never arrives
        if isinstance(message, InitProducerIdResponse | TxnResponse | TxnOffsetCommitResponse):
            out.cancel_timer(COORDINATOR_TIMEOUT)
        if getattr(message, "unfounded", False):
            state = state._replace(falsely_fenced=True)
        if isinstance(message, ProduceResponse):
            return self._produced(state, sender, message, out)
        phase = state.phase
        if isinstance(message, InitProducerIdResponse) and phase in BUMPS:
            if message.error != "NONE":
                return self._failed(state, message.error, out)
            state = state._replace(
                producer_id=message.producer_id,
                epoch=message.epoch,
                sequences=(0,) * len(self.config.outputs),
            )
            if phase == "bumping-in-transaction":
                # The client carries on as if its transaction were still open.
                return self._produce(state._replace(rewrites=()), out, state.rewrites)
            if phase == "bumping":
                return self._after_abort(state, out)
            if state.generation < 0:
                return self._join(state, "joining", out)
            return self._fetch_offsets(state, out)
        if isinstance(message, OffsetFetchResponse):
            position = max(message.offsets[self.input_partition], 0)
            return self._next(state._replace(position=position), out)
        if isinstance(message, SinkOffsetFetchResponse):
            return self._next(state._replace(position=max(message.offset, 0)), out)
        if isinstance(message, SourceRecord) and phase == "reading":
            return self._begin(state, message.record, out)
        if isinstance(message, SinkAck) and phase == "writing":
            return self._after_writes(state, out)
        if isinstance(message, TxnResponse):
            return self._coordinator_answered(state, message, out)
        if isinstance(message, TxnOffsetCommitResponse):
            if message.error == "NONE":
                return self._end(state, commit=True, out=out)
            if message.error == "ILLEGAL_GENERATION":  # the group moved on: abort and leave
                return self._end(state._replace(leaving=True, fenced=True), False, out)
            return self._failed(state, message.error, out)
        if isinstance(message, OffsetCommitResponse):
            if message.error == "NONE":
                return self._next(state._replace(position=state.position + 1), out)
            return self._rejoin(state, out)
        return state

    def _assigned(self, state: ProcessorState, generation: int, out: Out) -> ProcessorState:
        """A rebalance's answer: without the partition, wait; with it, go on as its owner
        (a member that was idle starts a new producer)."""
        if generation < 0:
            return state._replace(phase="standby", generation=-1, requests=(), lost=())
        state = state._replace(generation=generation)
        if state.phase == "joining":
            return self._fetch_offsets(state, out)
        if state.phase in ("standby", "fenced"):
            return self._init(state._replace(producer_id=-1, epoch=-1), out)
        return state  # busy: it carries on in the new generation

    def _rejoin(self, state: ProcessorState, out: Out, fenced: bool = True) -> ProcessorState:
        """Fenced (or failed fatally): close the producer and rejoin the group (it may get
        the partition back)."""
        out.cancel_timer(REQUEST_TIMEOUT)
        state = state._replace(fenced=state.fenced or fenced, leaving=False, rewrites=())
        return self._join(state, "fenced", out)

    def _begin(self, state: ProcessorState, record: int, out: Out) -> ProcessorState:
        attempts = state.attempts + 1
        attempt = self.instance * 1000 + state.incarnation * 100 + attempts
        state = state._replace(record=record, attempts=attempts, attempt=attempt)
        if self.config.outputs:
            return self._add(state, "adding", self.config.outputs, out)
        store = self.config.offsets == "sink"
        return self._ask(state, "writing", SINK, SinkWrite(record, state.position, store), out)

    def _coordinator_answered(self, state: ProcessorState, answer: TxnResponse, out: Out):
        if answer.error == "INVALID_TXN_STATE" and answer.request == "end":
            # Fatal to the Java client: the application closes the producer and rejoins;
            # its new producer's InitProducerId completes whatever is left open.
            return self._rejoin(state, out, fenced=False)
        if answer.error != "NONE":
            return self._failed(state, answer.error, out)
        if state.phase == "adding":
            return self._produce(state, out)
        if state.phase == "adding-offsets":
            commit = TxnOffsetCommit(
                state.producer_id,
                state.epoch,
                state.position + 1,
                state.generation if self.config.group_metadata else -1,
                state.attempt,
                member_generation=state.generation,
                connection=state.group_connection,
                partition=self.input_partition,
            )
            return self._ask(state, "offsets-commit", GROUP, commit, out)
        if answer.epoch != state.epoch:  # KIP-890: a new epoch starts its sequences at 0
            state = state._replace(epoch=answer.epoch, sequences=(0,) * len(state.sequences))
        if state.phase == "aborting":
            if state.leaving:
                return self._rejoin(state, out)
            if not self.config.bump_on_end:
                # A write's fate is unknown: bump the epoch to restart the sequence
                # numbers (KIP-360), then rewind.
                return self._init(state, out, phase="bumping")
            return self._after_abort(state, out)
        return self._committed(state, out)

    def _committed(self, state: ProcessorState, out: Out) -> ProcessorState:
        """The transaction committed (or the application takes it as committed)."""
        if self.config.offsets == "after-commit":
            return self._commit_offsets(state, out)
        return self._next(state._replace(position=state.position + 1), out)

    def _failed(self, state: ProcessorState, error: str, out: Out) -> ProcessorState:
        out.cancel_timer(REQUEST_TIMEOUT)
        if error == "PRODUCER_FENCED":
            return self._rejoin(state, out)
        return self._end(state, commit=False, out=out)

    # -- writes -----------------------------------------------------------------------

    def _partition_led_by(self, sender: str) -> str:
        """The output partition an answer from broker `sender` is about (or `sender`)."""
        output = self.config.output
        if output is None or not sender.startswith("broker"):
            return sender
        return output.partition_name(output.partition_of(int(sender.removeprefix("broker"))))

    def _send(self, state: ProcessorState, destination: str, request: Hashable, out: Out) -> None:
        """Send `request` to `destination`, or to an output partition's leader as the
        client knows it."""
        if destination in self.config.outputs:
            destination = broker_name(state.leaders[self.config.outputs.index(destination)][0])
        out.send(destination, request)

    def _ask_leader(self, state: ProcessorState, partition: str, out: Out) -> ProcessorState:
        index = self.config.outputs.index(partition)
        return state._replace(asking=metadata.ask(state.asking, index, partition, out))

    def _learned_leader(self, state: ProcessorState, update: UpdateMetadata, out: Out):
        """Metadata it asked for: writes waiting for this partition's leader go to
        it now."""
        index = self.config.outputs.index(update.partition)
        asking = metadata.answered(state.asking, index, update.partition, out)
        state = state._replace(asking=asking)
        if update.leader_epoch < state.leaders[index][1]:
            return state
        leaders = replace_at(state.leaders, index, (update.leader, update.leader_epoch))
        state = state._replace(leaders=leaders)
        if update.partition not in state.lost:
            return state
        for destination, request in state.requests:
            if destination == update.partition:
                self._send(state, destination, request, out)
        return state._replace(lost=tuple(p for p in state.lost if p != update.partition))

    def _produce(
        self, state: ProcessorState, out: Out, partitions: tuple[str, ...] | None = None
    ) -> ProcessorState:
        """Write the record to every output partition (or to `partitions` only)."""
        partitions = self.config.outputs if partitions is None else partitions
        requests = tuple(
            (
                partition,
                ProduceRequest(
                    state.record,
                    state.producer_id,
                    state.sequences[i],
                    attempt=0,
                    acks="all",
                    session=_session(state),
                    producer_epoch=state.epoch,
                    transactional_id=self.transactional_id,
                    transaction=state.attempt,
                    connection=state.session,
                ),
            )
            for i, partition in enumerate(self.config.outputs)
            if partition in partitions
        )
        for partition, request in requests:
            self._send(state, partition, request, out)
        out.set_timer(REQUEST_TIMEOUT)
        sequences = tuple(
            s + (partition in partitions)
            for s, partition in zip(state.sequences, self.config.outputs, strict=True)
        )
        state = state._replace(phase="producing", requests=requests, sequences=sequences)
        return state._replace(lost=())

    def _produced(self, state: ProcessorState, sender: str, answer: ProduceResponse, out):
        if state.phase not in WRITING or not any(
            destination == sender
            and (request.producer_epoch, request.sequence, request.session)
            == (answer.producer_epoch, answer.sequence, answer.session)
            for destination, request in state.requests
        ):
            return state  # a late answer to a request the client gave up on
        if answer.error in RETRIABLE:
            # The partition's leader moved: ask where it is now, and send the write again
            # when the answer comes.
            state = self._ask_leader(state, sender, out)
            return state._replace(lost=tuple(sorted(set(state.lost) | {sender})))
        if answer.error == "PRODUCER_FENCED":
            return self._failed(state, answer.error, out)
        phase, rewrites = state.phase, state.rewrites
        if answer.error in NEEDS_NEW_EPOCH and self.config.bump_in_transaction:
            if phase != "draining-to-abort":
                phase, rewrites = "draining-to-bump", tuple(sorted(rewrites + (sender,)))
        elif answer.error != "NONE":
            phase = "draining-to-abort"
        remaining = tuple(r for r in state.requests if r[0] != sender)
        state = state._replace(phase=phase, requests=remaining, rewrites=rewrites)
        if remaining:
            # As the Java client holds EndTxn, and librdkafka an epoch bump, until every
            # write of the transaction is answered.
            return state
        out.cancel_timer(REQUEST_TIMEOUT)
        if phase == "draining-to-bump":
            return self._init(state, out, "bumping-in-transaction")
        if phase == "draining-to-abort":
            return self._end(state, commit=False, out=out)
        return self._after_writes(state, out)

    def _after_writes(self, state: ProcessorState, out: Out) -> ProcessorState:
        offsets = self.config.offsets
        if offsets == "transaction":
            return self._add(state, "adding-offsets", (GROUP,), out)
        if offsets == "sink":
            return self._next(state._replace(position=state.position + 1), out)
        if self.config.outputs:
            return self._end(state, commit=True, out=out)
        return self._commit_offsets(state, out)

    # -- faults ------------------------------------------------------------------------

    def timer_fault(self, state: ProcessorState, timer: Hashable) -> str | None:
        if timer == COORDINATOR_TIMEOUT:
            return "coordinator-timeout"
        return "timeout" if timer == REQUEST_TIMEOUT else None

    def on_timer(self, state: ProcessorState, timer: Hashable, out: Out) -> ProcessorState:
        if timer == COORDINATOR_TIMEOUT:
            # A new connection; the request goes again on it, and the first copy may
            # still arrive on the old one, whose answers the client never sees.
            ((destination, request),) = state.requests
            connection = _connection(state, destination) + 1
            field = (
                "coordinator_connection" if destination == TXN_COORDINATOR else "group_connection"
            )
            state = state._replace(**{field: connection})
            choice = self._on_timeout_of(request)
            if choice == "abort":
                return self._end(state, commit=False, out=out)
            if choice == "next":
                return self._committed(state, out)
            request = dataclasses.replace(request, connection=connection)
            return self._ask(state, state.phase, destination, request, out)
        if timer == REQUEST_TIMEOUT:
            # The client drops the connection: late answers are ignored; abort.
            state = state._replace(session=state.session + 1, requests=())
            if self.config.resend_on_timeout and state.phase == "producing":
                # The mistake: the record goes again as a new one (its next sequence
                # numbers), in the same transaction, though the first copy may land.
                return self._produce(state, out)
            return self._end(state, commit=False, out=out)
        for destination, request in state.requests:
            if destination in state.lost:
                self._send(state, destination, request, out)
        return state._replace(lost=())

    def _on_timeout_of(self, request: Hashable) -> str:
        """What the application does when `request` to a coordinator times out: only a
        commit's timeout reaches it (`on_commit_timeout`); the client retries the rest."""
        if isinstance(request, EndTxn) and request.commit:
            return self.config.on_commit_timeout
        return "retry"

    def describe_timer(self, state: ProcessorState, timer: Hashable) -> str:
        if timer == COORDINATOR_TIMEOUT:
            ((destination, request),) = state.requests
            expires = f"request.timeout.ms expires for a request to the {destination}: "
            choice = self._on_timeout_of(request)
            if choice == "abort":
                return expires + "commitTransaction() fails; the application aborts"
            if choice == "next":
                return expires + "the application takes the commit as done and goes on"
            return expires + "closes the connection and sends the request again on a new one"
        if timer == REQUEST_TIMEOUT and self.config.resend_on_timeout:
            return "request.timeout.ms expires: drops the connection and sends the record again"
        if timer == REQUEST_TIMEOUT:
            return "request.timeout.ms expires: drops the connection and aborts"
        return f"sends again to {', '.join(state.lost)}, or asks where their leaders are"

    def on_connection_lost(self, state: ProcessorState, peer: str, out: Out) -> ProcessorState:
        peer = self._partition_led_by(peer)
        if peer in state.lost or not any(d == peer for d, _ in state.requests):
            return state
        if peer in self.config.outputs:
            # Find the partition's leader again, and send the write once it is known.
            state = self._ask_leader(state, peer, out)
            return state._replace(lost=tuple(sorted(state.lost + (peer,))))
        out.set_timer(RETRY)
        if state.phase == "writing" and self.config.offsets == "sink":
            # Whether the write (and the position with it) happened is unknown: read the
            # stored position back rather than write again.
            state = state._replace(phase="offsets", requests=((SINK, SinkOffsetFetch()),))
        return state._replace(lost=tuple(sorted(state.lost + (peer,))))


def _connection(state: ProcessorState, peer: str) -> int:
    """The connection to a coordinator the client uses now (0 to any other peer)."""
    if peer == TXN_COORDINATOR:
        return state.coordinator_connection
    return state.group_connection if peer == GROUP else 0


def _session(state: ProcessorState) -> int:
    """The client connection a write went out on: a new one per incarnation and timeout."""
    return state.incarnation * 100 + state.session
