"""A broker holding one replica of a partition: leader or follower.

The leader appends ProduceRequests to its log, answers fetches, keeps the
in-sync replica set (ISR) and the high watermark (HW: the offset below which
every ISR member has the record). `acks=all` is answered once the HW passes
the record. Followers fetch from the leader; they learn the HW one fetch
after the leader advanced it, as in Kafka. On becoming a follower a replica
truncates its log as the configured generation of Kafka's protocol does (see
`truncation`): to its own HW, or by leader epoch with OffsetsForLeaderEpoch.

The leader also checks idempotent and transactional writes against the
producer's state (`producer_state`), appends the transaction coordinator's
COMMIT and ABORT markers (WriteTxnMarkers), and, with partition verification
(KIP-890 part 1, `transaction.partition.verification.enable`), asks the
coordinator whether a transaction is ongoing before its first write; without
verification any write opens a transaction, the coordinator knowing or not,
which is how a late write hangs a partition. Markers and transactional batches
are replicated like any batch, so the last stable offset and the aborted
transactions, read from the log, survive a failover as far as the log does.

A controlled shutdown (a fault of its own, distinct from a crash) asks the
controller to move the broker's leaderships away; once it answers, the broker
flushes its log, writes its clean-shutdown file with its broker epoch
(KIP-966) and stops. On restart it registers with the controller (in
ZooKeeper mode: creates its znode), giving that epoch if it shut down cleanly.
A KRaft broker acts on no LeaderAndIsr before its registration is answered:
the controller registers a new incarnation only once the previous one's
session has expired, so what it sent before is about a broker it has since
fenced.

Durable: the log (all of it, or only its flushed part when a crash is a
machine crash or a power cut), the HW checkpoint, the leader epoch, the
clean-shutdown file, and the ghost list of records it committed as leader,
which contracts read. Everything else (role, ISR view, parked requests, the
broker epoch) is rebuilt from the controller on restart. When a follower may
join the ISR and which replicas the HW waits for are the rules of
`kmodel.kafka.isr`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.core.tuples import replace_at
from kmodel.kafka.config import RESTART_BUDGET, BrokerConfig
from kmodel.kafka.isolation import aborted_transactions, stable_end
from kmodel.kafka.isr import follower_in_sync, high_watermark_may_advance, high_watermark_waits_for
from kmodel.kafka.messages import (
    AlterPartition,
    AlterPartitionResponse,
    BrokerRegistration,
    BrokerRegistrationResponse,
    BrokerZnode,
    ControlledShutdown,
    ControlledShutdownResponse,
    Entry,
    Fetch,
    FetchResponse,
    LeaderAndIsr,
    OffsetsForLeaderEpoch,
    OffsetsForLeaderEpochResponse,
    ProduceRequest,
    ProduceResponse,
    VerifyTxn,
    VerifyTxnResponse,
    WriteTxnMarkers,
    WriteTxnMarkersResponse,
)
from kmodel.kafka.producer_state import ProducerEntry, check_write, producer_entry, repeats
from kmodel.kafka.topic import Topic
from kmodel.kafka.truncation import (
    HIGH_WATERMARK,
    UNDEFINED,
    asks_again,
    epoch_end_offset,
    fences_by_epoch,
    latest_epoch,
    truncation_point,
)

CONTROLLER = "controller"
TXN_COORDINATOR = "txn-coordinator"
VERIFY_RETRY = "retry.backoff.ms"
FOLLOWING = ("follower", "truncating")
UNREGISTERED = -1  # a KRaft broker's epoch from its restart until the controller registers it
STEP_FAULTS = {
    "shrink": "isr-shrink",
    "fetch-wait": "fetch-wait",
    "controlled-shutdown": "controlled-shutdown",
    "expire-producer": "producer-expiry",
    "retention": "log-retention",
}


def broker_name(broker: int) -> str:
    return f"broker{broker}"


class Parked(NamedTuple):
    """A fetch waiting at the leader for data (Kafka's long poll, fetch.max.wait.ms)."""

    requester: str
    offset: int
    replica: bool
    session: int
    read_committed: bool = False


class PendingAck(NamedTuple):
    """An acks=all ProduceRequest or a marker, appended and waiting for the HW to pass it."""

    offset: int
    requester: str
    response: ProduceResponse | WriteTxnMarkersResponse


class ReplicaState(NamedTuple):
    # Durable. Entries below `log_start` are deleted: no fetch reads them and no producer
    # state counts them; they stay here, as ghosts, for the contracts to tell a deletion
    # from a loss.
    log: tuple[Entry, ...] = ()
    log_start: int = 0  # the log start offset (durable)
    flushed: int = 0  # entries fsynced to disk (durable)
    high_watermark: int = 0  # the HW checkpoint (durable)
    leader_epoch: int = 0  # durable
    role: str = "none"  # leader | follower | truncating | none (waits for the controller)
    leader: int = -1
    isr: tuple[int, ...] = ()
    follower_end: tuple[int, ...] = ()  # the leader's view of each replica's log end offset
    told_hw: tuple[int, ...] = ()  # the HW the leader last sent each follower
    parked: tuple[Parked, ...] = ()
    pending: tuple[PendingAck, ...] = ()
    # The ISR an AlterPartition asked the controller for, until it answers. Meanwhile
    # the HW may count the union of both ("maximal ISR", KIP-497), so a follower the
    # controller may already count as in sync is never left behind the HW.
    requested_isr: tuple[int, ...] = ()
    fetching: bool = False  # a follower's Fetch or OffsetsForLeaderEpoch is outstanding
    verifying: tuple[tuple[str, ProduceRequest], ...] = ()  # first writes being verified
    # Per producer id being verified: (producer id, epoch, lowest sequence number seen),
    # until a transactional batch of it is appended (Kafka's VerificationStateEntry).
    verification: tuple[tuple[int, int, int], ...] = ()
    committed: tuple[int, ...] = ()  # records it saw below its HW while leading (ghost, durable)
    broker_epoch: int = 0  # given by the controller at registration (UNREGISTERED until then)
    epoch_start: int = 0  # a leader's log end when its leader epoch began
    replica_epochs: tuple[int, ...] = ()  # the leader's view: each follower's broker epoch
    shutting_down: bool = False  # a controlled shutdown was asked for
    clean_shutdown_epoch: int = -1  # the clean-shutdown file's broker epoch (durable)
    # Producer ids whose state this replica expired (producer.id.expiration.ms), each with
    # the log end offset then: its state counts only the batches appended since (durable,
    # as Kafka's producer state snapshots are).
    forgotten: tuple[tuple[int, int], ...] = ()
    wrote_for_forgotten: bool = False  # appended for a producer it had forgotten (ghost)


class Broker(Actor[ReplicaState]):
    """Broker `broker`, holding a replica of the topic's partition `topic.partition_of`."""

    durable = (
        "log",
        "log_start",
        "flushed",
        "high_watermark",
        "leader_epoch",
        "committed",
        "clean_shutdown_epoch",
        "forgotten",
        "wrote_for_forgotten",
    )

    def __init__(self, broker: int, config: BrokerConfig, topic: Topic, verify: bool) -> None:
        super().__init__(broker_name(broker), kind="broker")
        self.broker = broker
        self.config = config
        self.partition = topic.partition_name(topic.partition_of(broker))
        self.replicas = topic.replicas(topic.partition_of(broker))
        self.cluster = tuple(range(topic.brokers))  # what follower_end and told_hw index
        self.verify = verify

    # -- life cycle -------------------------------------------------------------

    def initial_state(self) -> ReplicaState:
        # The partition was created with broker 0 leading and every replica in sync.
        leader = self.replicas[0]
        return ReplicaState(
            role="leader" if self.broker == leader else "follower",
            leader=leader,
            isr=self.replicas if self.broker == leader else (),
            follower_end=(0,) * len(self.cluster),
            told_hw=(-1,) * len(self.cluster),
            replica_epochs=(0,) * len(self.cluster),
        )

    def on_start(self, state: ReplicaState, out: Out) -> ReplicaState:
        if state.role == "follower":
            return self._fetch(state, out)
        if state.role == "none":
            out.send(CONTROLLER, self._registration(state))
            return state._replace(clean_shutdown_epoch=-1)  # read, then deleted at startup
        return state

    def _registration(self, state: ReplicaState) -> BrokerRegistration | BrokerZnode:
        if self.config.zookeeper:
            return BrokerZnode(self.broker)
        return BrokerRegistration(self.broker, state.clean_shutdown_epoch)

    def after_crash(self, state: ReplicaState) -> ReplicaState:
        return self._restarted(state, self.config.crash_loses_page_cache)

    def after_power_loss(self, state: ReplicaState) -> ReplicaState:
        return self._restarted(state, True)

    def _restarted(self, state: ReplicaState, page_cache_lost: bool) -> ReplicaState:
        """What a restart finds on disk: the unflushed tail goes with the page cache."""
        log, flushed = state.log, state.flushed
        if page_cache_lost and not self.config.flush_every_write:
            log = log[:flushed]
        return ReplicaState(
            log=log,
            flushed=min(flushed, len(log)),
            high_watermark=min(state.high_watermark, len(log)),
            leader_epoch=state.leader_epoch,
            committed=state.committed,
            clean_shutdown_epoch=state.clean_shutdown_epoch,
            broker_epoch=0 if self.config.zookeeper else UNREGISTERED,
            forgotten=_forgotten_within(state.forgotten, len(log)),
            log_start=min(state.log_start, len(log)),
            wrote_for_forgotten=state.wrote_for_forgotten,
        )

    def steps(self, state: ReplicaState) -> Iterable[Hashable]:
        if state.role == "leader" and not state.requested_isr:
            for follower in state.isr:
                if follower != self.broker and state.follower_end[follower] < len(state.log):
                    yield ("shrink", follower)
        if self.config.page_cache_matters and state.flushed < len(state.log):
            yield ("flush",)
        if state.role == "leader":
            for index, parked in enumerate(state.parked):
                if not parked.replica:
                    yield ("fetch-wait", index)
        if state.role != "none" and not state.shutting_down:
            yield ("controlled-shutdown",)
        if self.config.log_retentions and state.role == "leader":
            for start in range(state.log_start + 1, state.high_watermark + 1):
                yield ("retention", start)
        if self.config.producer_expiries:
            for producer_id in sorted({e.producer_id for e in state.log if e.producer_id}):
                known = self._producer_entry(state, producer_id)
                if known is not None and not known.open:
                    yield ("expire-producer", producer_id)

    def step_fault(self, state: ReplicaState, step: Hashable) -> str | None:
        return STEP_FAULTS.get(step[0])

    def restart_fault(self, state: ReplicaState) -> str | None:
        return RESTART_BUDGET if self.config.restarts_counted else None

    def describe_step(self, state: ReplicaState, step: Hashable) -> str:
        if step[0] == "controlled-shutdown":
            return "begins a controlled shutdown"
        if step[0] == "shrink":
            return f"drops lagging broker{step[1]} from the ISR (replica.lag.time.max.ms)"
        if step[0] == "fetch-wait":
            parked = state.parked[step[1]]
            return f"fetch.max.wait.ms expires: answers the {parked.requester}'s fetch empty"
        if step[0] == "retention":
            return (
                f"sees log.retention.ms pass for its oldest segments: deletes offsets "
                f"{state.log_start}..{step[1] - 1}, so the log starts at {step[1]}"
            )
        if step[0] == "expire-producer":
            return (
                f"sees producer.id.expiration.ms pass with no write of producer id {step[1]}: "
                "forgets its epoch and sequence numbers"
            )
        return f"flushes the log to disk (offsets {state.flushed}..{len(state.log) - 1})"

    def on_step(self, state: ReplicaState, step: Hashable, out: Out) -> ReplicaState:
        if step[0] == "controlled-shutdown":
            out.send(CONTROLLER, ControlledShutdown(self.broker, not self.config.zookeeper))
            return state._replace(shutting_down=True)
        if step[0] == "flush":
            return state._replace(flushed=len(state.log))
        if step[0] == "retention":
            return state._replace(log_start=step[1])
        if step[0] == "expire-producer":
            kept = tuple(f for f in state.forgotten if f[0] != step[1])
            return state._replace(forgotten=kept + ((step[1], len(state.log)),))
        if step[0] == "fetch-wait":
            # The long poll times out: an empty answer carrying the current HW.
            parked = state.parked[step[1]]
            out.send(parked.requester, _consumer_answer(state, parked, parked.offset))
            return state._replace(parked=state.parked[: step[1]] + state.parked[step[1] + 1 :])
        return self._alter_partition(state, tuple(b for b in state.isr if b != step[1]), out)

    # -- messages ---------------------------------------------------------------

    def on_message(self, state: ReplicaState, sender: str, message: Hashable, out: Out):
        if isinstance(message, ProduceRequest):
            return self._produce(state, sender, message, out)
        if isinstance(message, WriteTxnMarkers):
            return self._write_marker(state, sender, message, out)
        if isinstance(message, VerifyTxnResponse):
            return self._verified(state, message, out)
        if isinstance(message, Fetch):
            return self._serve_fetch(state, sender, message, out)
        if isinstance(message, FetchResponse):
            return self._fetched(state, sender, message, out)
        if isinstance(message, LeaderAndIsr):
            if state.broker_epoch == UNREGISTERED:
                # KRaft: a restarted broker acts on the metadata only once the controller
                # has registered it, which it does after fencing the broker's previous life
                # (DuplicateBrokerRegistrationException until then). What the controller
                # sent before is stale; the registration response brings the partition.
                return state
            return self._leader_and_isr(state, message, out)
        if isinstance(message, ControlledShutdownResponse):
            # The controller moved its leaderships away: flush, write the clean-shutdown
            # file, stop.
            out.stop()
            return state._replace(flushed=len(state.log), clean_shutdown_epoch=state.broker_epoch)
        if isinstance(message, BrokerRegistrationResponse):
            state = state._replace(broker_epoch=message.broker_epoch)
            return self._leader_and_isr(state, message.partition, out)
        if isinstance(message, OffsetsForLeaderEpoch):
            return self._answer_epoch_query(state, sender, message, out)
        if isinstance(message, OffsetsForLeaderEpochResponse):
            return self._epoch_answered(state, sender, message, out)
        if isinstance(message, AlterPartitionResponse):
            if state.role != "leader" or not state.requested_isr:
                return state
            if message.error == "INELIGIBLE_REPLICA":
                # As Kafka's Partition: the change was not applied, so the leader goes back
                # to the committed ISR and asks again at the follower's next fetch.
                return self._isr_settled(state._replace(requested_isr=()), out)
            if message.error != "NONE":
                # Fenced, perhaps for a request of an earlier term as leader: as Kafka, keep
                # the change pending (the HW counts it) until the controller's LeaderAndIsr.
                return state
            return self._isr_settled(state._replace(requested_isr=(), isr=message.isr), out)
        return state

    def _produce(
        self,
        state: ReplicaState,
        sender: str,
        request: ProduceRequest,
        out: Out,
        verified: bool = False,
    ) -> ReplicaState:
        def answer(error: str, offset: int = -1) -> None:
            if request.acks != "0":
                # An error names the log start offset: after UNKNOWN_PRODUCER_ID a client
                # before KIP-360 compares it with its last acknowledged offset.
                start = state.log_start if error != "NONE" else 0
                out.send(sender, _produce_response(request, error, offset, start))

        if state.role != "leader":
            answer("NOT_LEADER_OR_FOLLOWER")
            return state
        if request.acks == "all" and len(state.isr) < self.config.min_insync:
            answer("NOT_ENOUGH_REPLICAS")
            return state
        offset = len(state.log)
        if request.producer_id:
            known = self._producer_entry(state, request.producer_id)
            error, repeated = check_write(
                known,
                request.producer_epoch,
                request.sequence,
                self.config.unknown_producer_id_error,
            )
            for start, end in self._outlived(state, request.producer_id):
                # The leader forgot or deleted these batches only after every retry of them
                # had timed out (log.retention.ms or producer.id.expiration.ms at least
                # delivery.timeout.ms): a retry of one arrived before, and was recognised
                # as the duplicate it is.
                earlier = repeats(state.log, start, end, request)
                error, repeated = ("", earlier) if earlier >= 0 else (error, repeated)
            lowest = next((v for v in state.verification if v[0] == request.producer_id), None)
            if not error and repeated < 0 and lowest and request.sequence > lowest[2]:
                # A lower sequence number is being verified: this batch would leave a gap.
                error = "OUT_OF_ORDER_SEQUENCE_NUMBER"
            if error:
                answer(error)
                return state
            opens = request.transactional_id and not (known and known.open)
            if repeated < 0 and opens and self.verify and not verified:
                out.send(TXN_COORDINATOR, self._verify_request(request))
                verification = _lowest_sequence(state.verification, request)
                verifying = state.verifying + ((sender, request),)
                return state._replace(verifying=verifying, verification=verification)
            offset = offset if repeated < 0 else repeated
        if offset == len(state.log):
            forgetting = self.config.producer_expiries or self.config.log_retentions
            if request.producer_id and known is None and forgetting:
                # A ghost for the witness: the leader writes for a producer it no longer
                # knows, though its log held batches of it.
                forgot = any(e.producer_id == request.producer_id for e in state.log)
                state = state._replace(wrote_for_forgotten=state.wrote_for_forgotten or forgot)
            entry = Entry(
                request.record,
                request.producer_id,
                request.sequence,
                state.leader_epoch,
                request.producer_epoch,
                bool(request.transactional_id),
                transaction=request.transaction,
            )
            state = self._append(state, entry)
        if request.acks == "all":
            pending = PendingAck(offset, sender, _produce_response(request, "NONE", offset))
            state = state._replace(pending=state.pending + (pending,))
        else:
            answer("NONE", offset)
        return self._advance(state, out)

    def _append(self, state: ReplicaState, entry: Entry) -> ReplicaState:
        log = state.log + (entry,)
        flushed = len(log) if self.config.flush_every_write else state.flushed
        verification = _verified_by(state.verification, (entry,))
        return state._replace(log=log, flushed=flushed, verification=verification)

    def _verified(self, state: ReplicaState, answer: VerifyTxnResponse, out: Out) -> ReplicaState:
        """The coordinator's answer: the waiting first writes go in, or are refused."""
        key = (answer.producer_id, answer.epoch)
        waiting = [
            (sender, request)
            for sender, request in state.verifying
            if (request.producer_id, request.producer_epoch) == key
        ]
        state = state._replace(verifying=tuple(w for w in state.verifying if w not in waiting))
        for sender, request in waiting:
            if answer.ongoing:
                state = self._produce(state, sender, request, out, verified=True)
            else:
                out.send(sender, _produce_response(request, "INVALID_TXN_STATE", -1))
        return state

    def on_timer(self, state: ReplicaState, timer: Hashable, out: Out) -> ReplicaState:
        for _, request in state.verifying:
            out.send(TXN_COORDINATOR, self._verify_request(request))
        return state

    def _verify_request(self, request: ProduceRequest) -> VerifyTxn:
        """AddPartitionsToTxn (verify only) for a transaction's first write here."""
        return VerifyTxn(
            request.transactional_id, request.producer_id, request.producer_epoch, self.partition
        )

    def describe_timer(self, state: ReplicaState, timer: Hashable) -> str:
        return "the transaction coordinator is asked again (verification)"

    def _write_marker(
        self, state: ReplicaState, sender: str, marker: WriteTxnMarkers, out: Out
    ) -> ReplicaState:
        """Append a COMMIT or ABORT marker, answered once replicated as acks=all writes are;
        a marker of a fenced epoch is not written."""
        done = WriteTxnMarkersResponse(
            marker.partition, marker.producer_id, marker.epoch, marker.commit
        )
        if state.role != "leader":
            out.send(sender, dataclasses.replace(done, error="NOT_LEADER_OR_FOLLOWER"))
            return state
        known = self._producer_entry(state, marker.producer_id)
        if known is not None and marker.epoch < known.epoch:
            out.send(sender, done)
            return state
        entry = Entry(
            0,
            marker.producer_id,
            -1,
            state.leader_epoch,
            marker.epoch,
            True,
            "COMMIT" if marker.commit else "ABORT",
            marker.attempt,
        )
        state = self._append(state, entry)
        pending = PendingAck(len(state.log) - 1, sender, done)
        return self._advance(state._replace(pending=state.pending + (pending,)), out)

    def _serve_fetch(self, state: ReplicaState, sender: str, fetch: Fetch, out: Out):
        error = self._request_error(state, fetch.leader_epoch)
        if error != "NONE":
            out.send(sender, FetchResponse(fetch.offset, (), 0, error, fetch.session))
            return state
        stable = stable_end(state.log, state.high_watermark, fetch.read_committed)
        offset = stable if fetch.offset < 0 else fetch.offset
        # A follower behind the log start goes on from there (Kafka's follower truncates
        # fully and starts at the leader's log start offset).
        deleted = offset < state.log_start and not fetch.replica
        if offset > len(state.log) or deleted:
            out_of_range = FetchResponse(
                len(state.log),
                (),
                state.high_watermark,
                "OFFSET_OUT_OF_RANGE",
                fetch.session,
                log_start=state.log_start,
            )
            out.send(sender, out_of_range)
            return state
        if fetch.replica:
            follower = _broker_number(sender)
            state = state._replace(
                follower_end=replace_at(state.follower_end, follower, offset),
                replica_epochs=replace_at(state.replica_epochs, follower, fetch.broker_epoch),
            )
            state = self._maybe_expand(state, follower, out)
            state = self._advance(state, out)
        parked = Parked(sender, offset, fetch.replica, fetch.session, fetch.read_committed)
        return self._answer_or_park(state, parked, out, latest=fetch.offset < 0)

    def _answer_or_park(
        self, state: ReplicaState, parked: Parked, out: Out, latest: bool = False
    ) -> ReplicaState:
        """Answer a fetch that has news for its requester; park it otherwise (long poll)."""
        hw, offset = state.high_watermark, parked.offset
        if parked.replica:
            follower = _broker_number(parked.requester)
            if len(state.log) > offset or hw > state.told_hw[follower]:
                response = FetchResponse(
                    offset,
                    state.log[offset:],
                    hw,
                    "NONE",
                    parked.session,
                    log_start=state.log_start,
                )
                out.send(parked.requester, response)
                return state._replace(told_hw=replace_at(state.told_hw, follower, hw))
        else:
            end = stable_end(state.log, hw, parked.read_committed)
            if end > offset or latest:
                out.send(parked.requester, _consumer_answer(state, parked, end))
                return state
        return state._replace(parked=state.parked + (parked,))

    def _fetched(
        self, state: ReplicaState, sender: str, response: FetchResponse, out: Out
    ) -> ReplicaState:
        if state.role != "follower" or sender != broker_name(state.leader):
            return state  # an answer to a fetch from another leader's time
        state = state._replace(fetching=False)
        if response.error == "OFFSET_OUT_OF_RANGE":
            return self._fetch(self._truncate(state, response.offset), out)
        if response.error == "FENCED_LEADER_EPOCH":
            return state  # wait for the controller's LeaderAndIsr
        if response.error != "NONE":
            return self._fetch(state, out)  # not (yet) the leader of our epoch: retry
        if response.offset != len(state.log):
            return self._fetch(state, out)  # an answer to a fetch from before a truncation
        log = state.log + response.entries
        flushed = len(log) if self.config.flush_every_write else state.flushed
        high_watermark = max(state.high_watermark, min(response.high_watermark, len(log)))
        verification = _verified_by(state.verification, response.entries)
        log_start = max(state.log_start, min(response.log_start, len(log)))
        state = state._replace(
            log=log,
            flushed=flushed,
            high_watermark=high_watermark,
            verification=verification,
            log_start=log_start,
        )
        return self._fetch(state, out)

    def _leader_and_isr(self, state: ReplicaState, update: LeaderAndIsr, out: Out):
        if update.leader_epoch == state.leader_epoch and state.role == "leader":
            # The controller changed the ISR alone (a fenced follower left it): the leader
            # takes it, keeping a change it asked for pending, and may now advance its HW.
            if update.leader != self.broker or update.isr == state.isr:
                return state
            return self._isr_settled(state._replace(isr=update.isr), out)
        if (
            update.leader_epoch > state.leader_epoch
            and update.leader == self.broker
            and state.role == "leader"
        ):
            # ZooKeeper's controller took a broker out of the ISR in a new epoch: the
            # leader stays, and so do the requests waiting on it; the epoch starts at its
            # log end.
            state = state._replace(
                leader_epoch=update.leader_epoch,
                isr=update.isr,
                requested_isr=(),
                epoch_start=len(state.log),
            )
            return self._isr_settled(state, out)
        if update.leader_epoch < state.leader_epoch or (
            update.leader_epoch == state.leader_epoch and state.role != "none"
        ):
            return state
        if not fences_by_epoch(self.config.truncation) and state.role in FOLLOWING:
            # Before KIP-320 a follower kept its fetcher through a LeaderAndIsr that named
            # no live leader (ignored) or the leader it follows (the epoch changes, the log
            # is not truncated).
            if update.leader < 0:
                return state
            if update.leader == state.leader:
                return self._resume(state._replace(leader_epoch=update.leader_epoch), out)
        for pending in state.pending:
            response = dataclasses.replace(pending.response, error="NOT_LEADER_OR_FOLLOWER")
            out.send(pending.requester, response)
        for parked in state.parked:
            if not parked.replica:
                out.send(
                    parked.requester,
                    FetchResponse(parked.offset, (), 0, "NOT_LEADER_OR_FOLLOWER", parked.session),
                )
        base = state._replace(
            leader_epoch=update.leader_epoch,
            leader=update.leader,
            pending=(),
            parked=(),
            verifying=(),
            requested_isr=(),
            fetching=False,
        )
        if update.leader == self.broker:
            ends = tuple(len(state.log) if b == self.broker else 0 for b in self.cluster)
            told = (-1,) * len(self.cluster)
            state = base._replace(role="leader", isr=update.isr, follower_end=ends, told_hw=told)
            unknown = (-1,) * len(self.cluster)  # until each follower fetches again
            return state._replace(epoch_start=len(state.log), replica_epochs=unknown)
        if update.leader < 0:
            return base._replace(role="none", isr=())
        follower = base._replace(role="truncating", isr=())
        if self.config.truncation == HIGH_WATERMARK or not state.log:
            # Before KIP-101, or with no epoch to ask about: truncate to the HW.
            return self._fetch(self._truncate(follower, state.high_watermark), out)
        return self._ask_epoch_end(follower, out)

    def on_connection_lost(self, state: ReplicaState, peer: str, out: Out) -> ReplicaState:
        if peer == TXN_COORDINATOR and state.verifying:
            out.set_timer(VERIFY_RETRY)  # ask again once the coordinator is back
        state = state._replace(
            verifying=tuple(v for v in state.verifying if v[0] != peer),
            # A fetch of a peer gone waits for nothing: its answer would go nowhere.
            parked=tuple(p for p in state.parked if p.requester != peer),
        )
        if state.role in FOLLOWING and peer == broker_name(state.leader):
            return state._replace(fetching=False)  # the leader's crash took the request
        return state

    # -- truncation --------------------------------------------------------------

    def _request_error(self, state: ReplicaState, current_epoch: int) -> str:
        """Why a leader refuses a Fetch or an OffsetsForLeaderEpoch: it does not lead, or
        (KIP-320) the requester, a follower or a consumer, names an older or a newer
        current leader epoch than its own (a request that names none is not checked)."""
        if state.role == "none":
            return "NOT_LEADER_OR_FOLLOWER"
        if fences_by_epoch(self.config.truncation) and current_epoch != UNDEFINED:
            if current_epoch < state.leader_epoch:
                return "FENCED_LEADER_EPOCH"
            if current_epoch > state.leader_epoch:
                return "UNKNOWN_LEADER_EPOCH"
        return "NONE" if state.role == "leader" else "NOT_LEADER_OR_FOLLOWER"

    def _answer_epoch_query(
        self, state: ReplicaState, sender: str, query: OffsetsForLeaderEpoch, out: Out
    ) -> ReplicaState:
        error = self._request_error(state, query.current_epoch)
        if error != "NONE":
            out.send(sender, OffsetsForLeaderEpochResponse(UNDEFINED, UNDEFINED, error))
            return state
        epoch, end = epoch_end_offset(state.log, query.leader_epoch, state.leader_epoch)
        if not asks_again(self.config.truncation):
            epoch = UNDEFINED  # KIP-101's answer is the offset alone
        out.send(sender, OffsetsForLeaderEpochResponse(end, epoch))
        return state

    def _ask_epoch_end(self, state: ReplicaState, out: Out) -> ReplicaState:
        """Ask the leader where the epoch of our last entry ends (OffsetsForLeaderEpoch)."""
        current = state.leader_epoch if fences_by_epoch(self.config.truncation) else UNDEFINED
        query = OffsetsForLeaderEpoch(latest_epoch(state.log), current)
        out.send(broker_name(state.leader), query)
        return state._replace(role="truncating", fetching=True)

    def _epoch_answered(
        self, state: ReplicaState, sender: str, answer: OffsetsForLeaderEpochResponse, out: Out
    ) -> ReplicaState:
        if state.role != "truncating" or sender != broker_name(state.leader):
            return state  # an answer from another leader's time
        state = state._replace(fetching=False)
        if answer.error == "FENCED_LEADER_EPOCH":
            return state  # wait for the controller's LeaderAndIsr
        if answer.error != "NONE":
            return self._ask_epoch_end(state, out)  # not (yet) the leader of our epoch: retry
        end, done = truncation_point(
            state.log, (answer.leader_epoch, answer.end_offset), state.high_watermark
        )
        state = self._truncate(state, end)
        if done or not state.log:
            return self._fetch(state, out)
        return self._ask_epoch_end(state, out)

    def _resume(self, state: ReplicaState, out: Out) -> ReplicaState:
        """Send again the request a follower lost with its leader's connection."""
        if state.role == "truncating" and not state.fetching:
            return self._ask_epoch_end(state, out)
        return self._fetch(state, out)

    # -- helpers -----------------------------------------------------------------

    def _fetch(self, state: ReplicaState, out: Out) -> ReplicaState:
        if state.fetching:
            return state
        epoch = state.leader_epoch if fences_by_epoch(self.config.truncation) else UNDEFINED
        fetch = Fetch(len(state.log), epoch, True, broker_epoch=state.broker_epoch)
        out.send(broker_name(state.leader), fetch)
        return state._replace(role="follower", fetching=True)

    def _truncate(self, state: ReplicaState, end: int) -> ReplicaState:
        end = min(end, len(state.log))
        return state._replace(
            role="follower",
            log=state.log[:end],
            flushed=min(state.flushed, end),
            high_watermark=min(state.high_watermark, end),
            forgotten=_forgotten_within(state.forgotten, end),
            log_start=min(state.log_start, end),
        )

    def _producer_entry(self, state: ReplicaState, producer_id: int) -> ProducerEntry | None:
        """What this replica knows of `producer_id`: its batches in the log, since it last
        forgot it."""
        since = max(state.log_start, _forgotten_since(state.forgotten, producer_id))
        return producer_entry(state.log, producer_id, since)

    def _outlived(self, state: ReplicaState, producer_id: int) -> list[tuple[int, int]]:
        """The offset ranges of batches of `producer_id` this replica no longer counts,
        and forgot or deleted only once no retry of them could still arrive."""
        ranges = []
        if self.config.retention_after_delivery_timeout:
            ranges.append((0, state.log_start))
        if self.config.producer_expiry_after_delivery_timeout:
            since = _forgotten_since(state.forgotten, producer_id)
            ranges.append((state.log_start, since))
        return [(start, end) for start, end in ranges if start < end]

    def _maybe_expand(self, state: ReplicaState, follower: int, out: Out) -> ReplicaState:
        if follower in state.isr or state.requested_isr:
            return state
        end = state.follower_end[follower]
        if not follower_in_sync(self.config, end, state.high_watermark, state.epoch_start):
            return state
        return self._alter_partition(state, tuple(sorted(state.isr + (follower,))), out)

    def _alter_partition(self, state: ReplicaState, isr: tuple[int, ...], out: Out) -> ReplicaState:
        """Ask the controller for a new ISR, with each member's broker epoch (KIP-903)."""
        epochs = tuple(
            state.broker_epoch if b == self.broker else state.replica_epochs[b] for b in isr
        )
        out.send(CONTROLLER, AlterPartition(isr, state.leader_epoch, epochs))
        return state._replace(requested_isr=isr)

    def _isr_settled(self, state: ReplicaState, out: Out) -> ReplicaState:
        """The leader's ISR changed: a caught-up follower out of it whose fetch waits here
        is asked back, as at its next fetch once this one expires
        (replica.fetch.wait.max.ms); then the HW may move."""
        for parked in state.parked:
            if parked.replica:
                state = self._maybe_expand(state, _broker_number(parked.requester), out)
        return self._advance(state, out)

    def _advance(self, state: ReplicaState, out: Out) -> ReplicaState:
        """Move the HW to what every replica it waits for has; answer whatever that unblocks."""
        if state.role != "leader":
            return state
        high_watermark = state.high_watermark
        if high_watermark_may_advance(self.config, state.isr):
            members = high_watermark_waits_for(self.config, state.isr, state.requested_isr)
            ends = [len(state.log) if b == self.broker else state.follower_end[b] for b in members]
            high_watermark = max(high_watermark, min(ends, default=len(state.log)))
        if high_watermark > state.high_watermark:
            records = {e.record for e in state.log[:high_watermark]}
            committed = tuple(sorted(records.union(state.committed)))
            state = state._replace(high_watermark=high_watermark, committed=committed)
        still_pending = []
        # As Kafka's DelayedProduce: written, but the ISR shrank below min.insync.replicas.
        enough = len(state.isr) >= self.config.min_insync
        error = "NONE" if enough else "NOT_ENOUGH_REPLICAS_AFTER_APPEND"
        for pending in state.pending:
            if pending.offset < high_watermark:
                response = pending.response
                if isinstance(response, ProduceResponse):
                    response = dataclasses.replace(response, error=error)
                out.send(pending.requester, response)
            else:
                still_pending.append(pending)
        parked, state = state.parked, state._replace(pending=tuple(still_pending), parked=())
        for waiting in parked:
            state = self._answer_or_park(state, waiting, out)
        return state


def _consumer_answer(state: ReplicaState, parked: Parked, end: int) -> FetchResponse:
    """A consumer's fetch answered with the entries up to `end` (its isolation level's
    bound) and, for read_committed, the aborted transactions among them."""
    entries = state.log[parked.offset : end]
    aborted = aborted_transactions(state.log, parked.offset, end) if parked.read_committed else ()
    hw = state.high_watermark
    return FetchResponse(
        parked.offset, entries, hw, "NONE", parked.session, aborted, state.log_start
    )


def _broker_number(name: str) -> int:
    return int(name.removeprefix("broker"))


def _lowest_sequence(
    verification: tuple[tuple[int, int, int], ...], request: ProduceRequest
) -> tuple[tuple[int, int, int], ...]:
    """VerificationStateEntry.maybeUpdateLowestSequenceAndEpoch: a lower sequence number
    of the same epoch, or any of a later epoch, becomes the one to wait for."""
    pid, epoch, sequence = request.producer_id, request.producer_epoch, request.sequence
    known = next((v for v in verification if v[0] == pid), None)
    if known is not None and not ((epoch == known[1] and sequence < known[2]) or epoch > known[1]):
        return verification
    return tuple(v for v in verification if v[0] != pid) + ((pid, epoch, sequence),)


def _verified_by(
    verification: tuple[tuple[int, int, int], ...], entries: tuple[Entry, ...]
) -> tuple[tuple[int, int, int], ...]:
    """A transactional batch or marker appended ends its producer's verification."""
    done = {e.producer_id for e in entries if e.transactional}
    return tuple(v for v in verification if v[0] not in done) if done else verification


def _forgotten_since(forgotten: tuple[tuple[int, int], ...], producer_id: int) -> int:
    return next((since for pid, since in forgotten if pid == producer_id), 0)


def _forgotten_within(
    forgotten: tuple[tuple[int, int], ...], end: int
) -> tuple[tuple[int, int], ...]:
    """A producer forgotten stays forgotten when the log is cut to `end`: what the replica
    appends after the cut counts again."""
    return tuple((pid, min(since, end)) for pid, since in forgotten)


def _produce_response(
    request: ProduceRequest, error: str, offset: int, log_start: int = 0
) -> ProduceResponse:
    return ProduceResponse(
        request.record,
        request.attempt,
        request.session,
        error,
        offset if error == "NONE" else -1,
        request.producer_epoch,
        request.sequence,
        request.connection,
        log_start,
    )
