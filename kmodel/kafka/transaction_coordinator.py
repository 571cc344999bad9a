"""The transaction coordinator: producer ids, epochs and the transaction state machine.

Per `transactional.id` it keeps, in its durable transaction log, the producer
id, the epoch, the state (Empty, Ongoing, PrepareCommit, PrepareAbort,
CompleteCommit, CompleteAbort) and the partitions in the transaction.

- InitProducerId bumps the epoch, which fences the previous instance; a
  transaction that instance left Ongoing is aborted first (with a bumped
  epoch), and a prepared one is completed first. A running producer may bump
  its own epoch this way (KIP-360), but not once another instance has.
- AddPartitionsToTxn / AddOffsetsToTxn make the transaction Ongoing.
- EndTxn writes PrepareCommit or PrepareAbort, answers, then sends
  WriteTxnMarkers to every partition of the transaction (over the
  coordinator's own connections, so markers race the producer's data) and
  completes once all are written. With `transaction.version=2` (KIP-890
  part 2) every EndTxn bumps the epoch, so nothing sent under the old epoch
  can land in a later transaction.
- A transaction Ongoing for longer than `transaction.timeout.ms` is aborted
  with a bumped epoch: always, once nothing else can happen (an eventual
  step), and earlier as a budgeted fault ("transaction-timeout"). The bump
  fences the producer as a new instance would: its next request under the old
  epoch hears PRODUCER_FENCED, as Kafka answers (KIP-588's recovery from a
  timeout was never finished), and the application starts a new producer.
- It answers the partitions' verification (KIP-890 part 1).
- Markers go to each partition's leader as its metadata cache knows it (the
  controller's UpdateMetadata). A marker that meets a broker no longer leading
  or a broken connection goes again once fresh metadata names the leader; one
  to the group's offsets goes again after `retry.backoff.ms`.

A crash loses only the requests parked until a transaction completes; on
restart it reloads the log and sends the markers of prepared transactions
again.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.core.tuples import replace_at
from kmodel.kafka import metadata
from kmodel.kafka.broker import TXN_COORDINATOR, broker_name
from kmodel.kafka.messages import (
    AddPartitionsToTxn,
    EndTxn,
    InitProducerId,
    InitProducerIdResponse,
    TxnResponse,
    UpdateMetadata,
    VerifyTxn,
    VerifyTxnResponse,
    WriteTxnMarkers,
    WriteTxnMarkersResponse,
)
from kmodel.kafka.topic import Topic

MARKER_RETRY = "retry.backoff.ms"
TIMEOUT_FIRES = "transaction.timeout.ms"  # the eventual timeout of a stuck transaction
PREPARED = ("PrepareCommit", "PrepareAbort")
# The states a transaction is in once an EndTxn that commits (True) or aborts it began.
_ENDED_BY = {True: ("PrepareCommit", "CompleteCommit"), False: ("PrepareAbort", "CompleteAbort")}


class TxnMetadata(NamedTuple):
    producer_id: int
    epoch: int = -1
    status: str = "Empty"
    partitions: tuple[str, ...] = ()
    attempt: int = 0  # ghost: the application's attempt this transaction is
    pending: tuple[str, ...] = ()  # partitions whose marker is not yet written
    last_epoch: int = -1  # the epoch before a running producer's bump (lastProducerEpoch)
    # The oldest epoch no new instance and no transaction timeout has fenced: fencing it
    # or a later one fences the current instance for nothing (ghost).
    owner_epoch: int = 0


class TxnCoordinatorState(NamedTuple):
    transactions: tuple[TxnMetadata, ...]  # durable: the __transaction_state log
    outcomes: tuple[tuple[int, bool], ...] = ()  # (attempt, committed), decided (ghost)
    parked: tuple[tuple[str, Hashable], ...] = ()  # requests waiting for a completion
    # The markers, as (partition, producer id), that wait to go again: one at a time per
    # transaction and partition, as Kafka's marker channel keeps them.
    unreachable: tuple[tuple[str, int], ...] = ()
    # The output partitions' leaders and leader epochs, as the metadata cache has them.
    leaders: tuple[tuple[int, int], ...] = ()
    asking: metadata.Asking = ()  # per output partition: the metadata request on its way
    answered_retry: bool = False  # a retried bump got the current epoch back (ghost)
    # Per client, the newest connection a request came on (ghost), and whether a request
    # came on an older one after that: a timed-out copy overtaken by its resend (ghost).
    newest: tuple[tuple[str, int], ...] = ()
    overtaken: bool = False


class TransactionCoordinator(Actor[TxnCoordinatorState]):
    # The metadata cache is rebuilt from the controller at once after a restart.
    durable = ("transactions", "outcomes", "leaders", "answered_retry", "newest", "overtaken")

    def __init__(
        self,
        transactional_ids: tuple[str, ...],
        bump_on_end: bool,
        output: Topic | None,
        logs_last_epoch: bool = True,
    ) -> None:
        super().__init__(TXN_COORDINATOR, kind="txn-coordinator")
        self.transactional_ids = transactional_ids
        self.bump_on_end = bump_on_end
        self.output = output
        self.logs_last_epoch = logs_last_epoch
        # A fence (prepareFenceProducerEpoch) bumps the epoch, and under KIP-890 the abort
        # it begins bumps it again, so no epoch a client was given ends a transaction.
        self.fence_bump = 1 + bump_on_end

    def after_crash(self, state: TxnCoordinatorState) -> TxnCoordinatorState:
        """It reloads its transaction log: before inter-broker protocol 2.4 the log has
        no last producer epoch."""
        state = super().after_crash(state)
        if self.logs_last_epoch:
            return state
        forgotten = tuple(meta._replace(last_epoch=-1) for meta in state.transactions)
        return state._replace(transactions=forgotten)

    def initial_state(self) -> TxnCoordinatorState:
        output = self.output
        partitions = output.partitions if output else 0
        return TxnCoordinatorState(
            tuple(TxnMetadata(producer_id=i + 1) for i in range(len(self.transactional_ids))),
            leaders=tuple((output.replicas(p)[0], 0) for p in range(partitions)),
            asking=metadata.nothing_asked(partitions),
        )

    def on_start(self, state: TxnCoordinatorState, out: Out) -> TxnCoordinatorState:
        return self._send_markers(state, out)

    # -- requests ------------------------------------------------------------------

    def on_message(self, state: TxnCoordinatorState, sender: str, message: Hashable, out: Out):
        if isinstance(message, WriteTxnMarkersResponse):
            if message.error != "NONE":
                key = (message.partition, message.producer_id)
                return self._retry_markers(state, (key,), out)
            return self._marker_written(state, message, out)
        if isinstance(message, UpdateMetadata):
            return self._learned_leader(state, message, out)
        if isinstance(message, VerifyTxn):
            meta = self._meta(state, message.transactional_id)
            ongoing = (
                meta.epoch == message.epoch
                and meta.status == "Ongoing"
                and message.partition in meta.partitions
            )
            out.send(sender, VerifyTxnResponse(message.producer_id, message.epoch, ongoing))
            return state
        if not isinstance(message, InitProducerId | AddPartitionsToTxn | EndTxn):
            return state
        state = _heard_on(state, sender, message.connection)
        index = self.transactional_ids.index(message.transactional_id)
        meta = state.transactions[index]
        if isinstance(message, InitProducerId):
            return self._init(state, index, sender, message, out)
        request = "add" if isinstance(message, AddPartitionsToTxn) else "end"
        connection = message.connection  # answers go back on it
        retried = self._retried_end(meta, message) if isinstance(message, EndTxn) else None
        if retried is not None:
            # A retry after its epoch bump (its answer was lost): it succeeded, and an end
            # of the other kind is one the transaction can no longer have.
            error = "NONE" if retried else "INVALID_TXN_STATE"
            out.send(sender, TxnResponse("end", error, meta.epoch, connection))
            return state
        if _epoch_error(meta, message.epoch):
            fenced = TxnResponse(
                request,
                "PRODUCER_FENCED",
                connection=connection,
                unfounded=_unfounded(meta, message.epoch),
            )
            out.send(sender, fenced)
            return state
        if isinstance(message, EndTxn) and not _may_end(meta, message.commit):
            # Nothing open to end, or the transaction ends the other way.
            out.send(sender, TxnResponse("end", "INVALID_TXN_STATE", connection=connection))
            return state
        if meta.status in PREPARED:  # CONCURRENT_TRANSACTIONS: retried once it completes
            return state._replace(parked=state.parked + ((sender, message),))
        if isinstance(message, AddPartitionsToTxn):
            partitions = tuple(sorted(set(meta.partitions) | set(message.partitions)))
            attempt = _label(state, meta, message.attempt)
            meta = meta._replace(status="Ongoing", partitions=partitions, attempt=attempt)
            out.send(sender, TxnResponse("add", epoch=meta.epoch, connection=connection))
            return _put(state, index, meta)
        if meta.status != "Ongoing":  # the same end again: it completed
            out.send(sender, TxnResponse("end", epoch=meta.epoch, connection=connection))
            return state
        if not _decided(state, message.attempt):
            # The attempt that ends the transaction decides it, though a later attempt of
            # the same producer may have joined it (the ghost the markers carry).
            state = _put(state, index, meta._replace(attempt=message.attempt))
        state = self._end(state, index, message.commit, bump=int(self.bump_on_end))
        epoch = state.transactions[index].epoch
        out.send(sender, TxnResponse("end", epoch=epoch, connection=connection))
        return self._send_markers(state, out, only=index)

    def _retried_end(self, meta: TxnMetadata, request: EndTxn) -> bool | None:
        """Under KIP-890, an EndTxn of the epoch before the bump its end made: whether it
        asks for the end the transaction got (None: it is no such retry)."""
        ending = meta.status in PREPARED + ("CompleteCommit", "CompleteAbort")
        if not (self.bump_on_end and request.epoch == meta.epoch - 1 and ending):
            return None
        return meta.status in _ENDED_BY[request.commit]

    def _init(
        self, state: TxnCoordinatorState, index: int, sender: str, request: InitProducerId, out
    ) -> TxnCoordinatorState:
        meta = state.transactions[index]
        connection = request.connection  # answers go back on it
        running = request.epoch >= 0  # a running producer bumps its own epoch (KIP-360)
        if running and request.epoch == meta.last_epoch and meta.status not in PREPARED:
            # A retry of a bump whose answer was lost: the epoch it got then.
            answer = InitProducerIdResponse(meta.producer_id, meta.epoch, connection=connection)
            out.send(sender, answer)
            return state._replace(answered_retry=True)
        if running and _epoch_error(meta, request.epoch):
            fenced = InitProducerIdResponse(
                meta.producer_id,
                -1,
                "PRODUCER_FENCED",
                connection=connection,
                unfounded=_unfounded(meta, request.epoch),
            )
            out.send(sender, fenced)
            return state
        if not running:  # a new instance: every epoch given out so far is fenced from now
            state = _put(state, index, meta._replace(owner_epoch=meta.epoch + 1))
        if meta.status == "Ongoing":
            # The previous instance left a transaction open: abort it under a new epoch.
            state = self._end(state, index, commit=False, bump=self.fence_bump)
            state = self._send_markers(state, out, only=index)
        if state.transactions[index].status in PREPARED:
            return state._replace(parked=state.parked + ((sender, request),))
        meta = state.transactions[index]
        epoch = meta.epoch + 1
        meta = meta._replace(
            epoch=epoch,
            status="Empty",
            last_epoch=request.epoch,
        )
        answer = InitProducerIdResponse(meta.producer_id, meta.epoch, connection=connection)
        out.send(sender, answer)
        return _put(state, index, meta)

    def _end(
        self, state: TxnCoordinatorState, index: int, commit: bool, bump: int
    ) -> TxnCoordinatorState:
        """Write PrepareCommit or PrepareAbort, the epoch `bump` higher; the markers go out
        from `_send_markers`."""
        meta = state.transactions[index]
        meta = meta._replace(
            epoch=meta.epoch + bump,
            status="PrepareCommit" if commit else "PrepareAbort",
            pending=meta.partitions,
        )
        outcomes = state.outcomes + ((meta.attempt, commit),)
        return _put(state, index, meta)._replace(outcomes=outcomes)

    # -- markers ---------------------------------------------------------------------

    def _send_markers(
        self,
        state: TxnCoordinatorState,
        out: Out,
        only: int | None = None,
        to: tuple[tuple[str, int], ...] | None = None,
    ) -> TxnCoordinatorState:
        """Send the due markers: of one transaction (`only`), or those named (`to`, as
        partition and producer id); those of a partition with no leader known wait."""
        waiting = set()
        for index, meta in enumerate(state.transactions):
            if only is not None and index != only:
                continue
            for partition in meta.pending:
                if to is not None and (partition, meta.producer_id) not in to:
                    continue
                marker = WriteTxnMarkers(
                    partition,
                    meta.producer_id,
                    meta.epoch,
                    meta.status == "PrepareCommit",
                    meta.attempt,
                )
                destination = self._leader_of(state, partition)
                if destination:
                    out.send(destination, marker)
                else:
                    waiting.add((partition, meta.producer_id))
        return self._retry_markers(state, tuple(sorted(waiting)), out)

    def _leader_of(self, state: TxnCoordinatorState, partition: str) -> str:
        """Where `partition`'s marker goes: the group's offsets to the group coordinator,
        an output partition to its leader ("" while it has none)."""
        if not self._is_output(partition):
            return partition
        leader = state.leaders[self.output.partition_names().index(partition)][0]
        return broker_name(leader) if leader >= 0 else ""

    def _retry_markers(
        self, state: TxnCoordinatorState, keys: tuple[tuple[str, int], ...], out: Out
    ) -> TxnCoordinatorState:
        """Send the markers named by `keys` (partition, producer id) again: to an output
        partition once fresh metadata names its leader, to the group's offsets after
        `retry.backoff.ms`."""
        due = [
            (partition, producer_id)
            for partition, producer_id in keys
            if (partition, producer_id) not in state.unreachable
            and any(
                partition in m.pending and m.producer_id == producer_id for m in state.transactions
            )
        ]
        asking = state.asking
        for partition in sorted({partition for partition, _ in due if self._is_output(partition)}):
            index = self.output.partition_names().index(partition)
            asking = metadata.ask(asking, index, partition, out)
        if any(not self._is_output(partition) for partition, _ in due):
            out.set_timer(MARKER_RETRY)
        unreachable = tuple(sorted({*state.unreachable, *due}))
        return state._replace(unreachable=unreachable, asking=asking)

    def _is_output(self, partition: str) -> bool:
        return self.output is not None and partition in self.output.partition_names()

    def _learned_leader(
        self, state: TxnCoordinatorState, update: UpdateMetadata, out: Out
    ) -> TxnCoordinatorState:
        """Metadata it asked for: markers waiting for this partition go now."""
        index = self.output.partition_names().index(update.partition)
        asking = metadata.answered(state.asking, index, update.partition, out)
        state = state._replace(asking=asking)
        if update.leader_epoch < state.leaders[index][1]:
            return state
        leader = (update.leader, update.leader_epoch)
        state = state._replace(leaders=replace_at(state.leaders, index, leader))
        due = tuple(key for key in state.unreachable if key[0] == update.partition)
        if not due:
            return state
        waiting = tuple(key for key in state.unreachable if key not in due)
        return self._send_markers(state._replace(unreachable=waiting), out, to=due)

    def _marker_written(
        self, state: TxnCoordinatorState, answer: WriteTxnMarkersResponse, out: Out
    ) -> TxnCoordinatorState:
        index, partition = answer.producer_id - 1, answer.partition
        meta = state.transactions[index]
        current = (meta.epoch, meta.status == "PrepareCommit")
        if partition not in meta.pending or (answer.epoch, answer.commit) != current:
            return state  # a late answer to a marker of an earlier transaction
        pending = tuple(p for p in meta.pending if p != partition)
        meta = meta._replace(pending=pending)
        if not pending:
            status = "CompleteCommit" if meta.status == "PrepareCommit" else "CompleteAbort"
            meta = meta._replace(status=status, partitions=())
        state = _put(state, index, meta)
        if pending:
            return state
        # Requests that waited for this transaction to complete are handled now.
        transactional_id = self.transactional_ids[index]
        waiting = [p for p in state.parked if p[1].transactional_id == transactional_id]
        state = state._replace(parked=tuple(p for p in state.parked if p not in waiting))
        for sender, request in waiting:
            state = self.on_message(state, sender, request, out)
        return state

    def on_connection_lost(self, state: TxnCoordinatorState, peer: str, out: Out):
        """Requests parked for `peer` die with its connection; markers to it go again later."""
        state = state._replace(parked=tuple(p for p in state.parked if p[0] != peer))
        keys = {
            (partition, meta.producer_id)
            for meta in state.transactions
            for partition in meta.pending
            if self._leader_of(state, partition) == peer
        }
        return self._retry_markers(state, tuple(sorted(keys)), out)

    def on_timer(self, state: TxnCoordinatorState, timer: Hashable, out: Out):
        return self._send_markers(state._replace(unreachable=()), out, to=state.unreachable)

    def describe_timer(self, state: TxnCoordinatorState, timer: Hashable) -> str:
        partitions = sorted({partition for partition, _ in state.unreachable})
        return f"the markers for {', '.join(partitions)} are sent again"

    # -- transaction timeout ------------------------------------------------------------

    def steps(self, state: TxnCoordinatorState) -> Iterable[Hashable]:
        for index, meta in enumerate(state.transactions):
            if meta.status == "Ongoing":
                yield ("expire", index)  # early: the application is slow (a fault)
                yield ("expire", index, "stuck")  # nothing else can happen: it always fires

    def step_fault(self, state: TxnCoordinatorState, step: Hashable) -> str | None:
        return TIMEOUT_FIRES if len(step) > 2 else "transaction-timeout"

    def describe_step(self, state: TxnCoordinatorState, step: Hashable) -> str:
        name = self.transactional_ids[step[1]]
        when = "early (a slow application)" if len(step) == 2 else "(nothing else happens)"
        return f"transaction.timeout.ms expires for {name} {when}: aborts with a new epoch"

    def on_step(self, state: TxnCoordinatorState, step: Hashable, out: Out):
        state = self._end(state, step[1], commit=False, bump=self.fence_bump)
        # The bump fences the producer (prepareFenceProducerEpoch): no last epoch to retry.
        meta = state.transactions[step[1]]
        state = _put(state, step[1], meta._replace(last_epoch=-1, owner_epoch=meta.epoch))
        return self._send_markers(state, out, only=step[1])

    def _meta(self, state: TxnCoordinatorState, transactional_id: str) -> TxnMetadata:
        return state.transactions[self.transactional_ids.index(transactional_id)]


def _may_end(meta: TxnMetadata, commit: bool) -> bool:
    """Whether an EndTxn that commits (or aborts) finds a transaction to end, or the same
    end already begun (a retry, answered once it completes)."""
    return meta.status == "Ongoing" or meta.status in _ENDED_BY[commit]


def _epoch_error(meta: TxnMetadata, epoch: int) -> str:
    return "" if epoch == meta.epoch else "PRODUCER_FENCED"


def _label(state: TxnCoordinatorState, meta: TxnMetadata, attempt: int) -> int:
    """The ghost naming the application's attempt a transaction is: the newest that
    joined it. A late copy of a request from an attempt already decided (one that timed
    out) names none: a transaction it begins is labelled apart from every attempt."""
    if meta.status == "Ongoing":
        return max(meta.attempt, attempt)
    if _decided(state, attempt):
        return -attempt
    return attempt


def _decided(state: TxnCoordinatorState, attempt: int) -> bool:
    """Whether a transaction of the application's `attempt` has been committed or aborted."""
    return any(decided == attempt for decided, _ in state.outcomes)


def _heard_on(state: TxnCoordinatorState, sender: str, connection: int) -> TxnCoordinatorState:
    """Note (ghosts) the newest connection of `sender`, and a request that comes on an
    older one after it."""
    newest = dict(state.newest)
    if connection < newest.get(sender, 0):
        return state if state.overtaken else state._replace(overtaken=True)
    if connection == newest.get(sender, 0):
        return state
    newest[sender] = connection
    return state._replace(newest=tuple(sorted(newest.items())))


def _unfounded(meta: TxnMetadata, epoch: int) -> bool:
    """A PRODUCER_FENCED for `epoch` fences an instance that no newer one has replaced
    and no transaction timeout has fenced (a ghost the answer carries)."""
    return epoch >= meta.owner_epoch


def _put(state: TxnCoordinatorState, index: int, meta: TxnMetadata) -> TxnCoordinatorState:
    return state._replace(transactions=replace_at(state.transactions, index, meta))
