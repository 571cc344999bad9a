"""A broker holding one replica of the partition: leader or follower.

The leader appends ProduceRequests to its log, answers fetches, keeps the
in-sync replica set (ISR) and the high watermark (HW: the offset below which
every ISR member has the record). `acks=all` is answered once the HW passes
the record. Followers fetch from the leader; they learn the HW one fetch
after the leader advanced it, as in Kafka. On becoming a follower a replica
truncates its log, by leader epoch (OffsetsForLeaderEpoch, today's Kafka) or
to its own HW (the protocol before KIP-101).

Durable: the log (all of it, or only its flushed part when a crash is a
machine crash or a power cut), the HW checkpoint and the leader epoch.
Everything else (role, ISR view, parked requests, the broker epoch) is rebuilt
from the controller on restart. When a follower may join the ISR and which
replicas the HW waits for are the rules of `kmodel.kafka.isr`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.core.tuples import replace_at
from kmodel.kafka.config import BrokerConfig
from kmodel.kafka.isr import follower_in_sync, high_watermark_may_advance, high_watermark_waits_for
from kmodel.kafka.messages import (
    AlterPartition,
    AlterPartitionResponse,
    BrokerRegistration,
    BrokerRegistrationResponse,
    Entry,
    Fetch,
    FetchResponse,
    LeaderAndIsr,
    OffsetsForLeaderEpoch,
    OffsetsForLeaderEpochResponse,
    ProduceRequest,
    ProduceResponse,
)

CONTROLLER = "controller"
PRODUCER = "producer"
DUPLICATE_WINDOW = 5  # batches per producer id the broker remembers to drop retries


def broker_name(broker: int) -> str:
    return f"broker{broker}"


class Parked(NamedTuple):
    """A fetch waiting at the leader for data (Kafka's long poll, fetch.max.wait.ms)."""

    requester: str
    offset: int
    replica: bool
    leader_epoch: int
    session: int
    broker_epoch: int = -1  # a follower's, as its fetch said


class PendingAck(NamedTuple):
    """An acks=all ProduceRequest appended and waiting for the HW to pass it."""

    record: int
    attempt: int
    offset: int
    session: int


class ReplicaState(NamedTuple):
    log: tuple[Entry, ...] = ()  # durable
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
    epoch_queries: tuple[tuple[str, OffsetsForLeaderEpoch], ...] = ()  # asked before it led
    fetching: bool = False  # a follower's Fetch is outstanding
    broker_epoch: int = 0  # given by the controller at registration
    epoch_start: int = 0  # a leader's log end when its leader epoch began
    replica_epochs: tuple[int, ...] = ()  # the leader's view: each follower's broker epoch


class Broker(Actor[ReplicaState]):
    """Replica `broker` of the partition; broker 0 leads at the start."""

    durable = ("log", "flushed", "high_watermark", "leader_epoch")

    def __init__(self, broker: int, config: BrokerConfig) -> None:
        super().__init__(broker_name(broker), kind="broker")
        self.broker = broker
        self.config = config
        self.replicas = tuple(range(config.replicas))

    # -- life cycle -------------------------------------------------------------

    def initial_state(self) -> ReplicaState:
        # The partition was created with broker 0 leading and every replica in sync.
        role = "leader" if self.broker == 0 else "follower"
        return ReplicaState(
            role=role,
            leader=0,
            isr=self.replicas if self.broker == 0 else (),
            follower_end=(0,) * len(self.replicas),
            told_hw=(-1,) * len(self.replicas),
            replica_epochs=(0,) * len(self.replicas),
        )

    def on_start(self, state: ReplicaState, out: Out) -> ReplicaState:
        if state.role == "follower":
            return self._fetch(state, out)
        if state.role == "none":
            out.send(CONTROLLER, BrokerRegistration(self.broker))
        return state

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

    def step_fault(self, state: ReplicaState, step: Hashable) -> str | None:
        return {"shrink": "isr-shrink", "fetch-wait": "fetch-wait"}.get(step[0])

    def describe_step(self, state: ReplicaState, step: Hashable) -> str:
        if step[0] == "shrink":
            return f"drops lagging broker{step[1]} from the ISR (replica.lag.time.max.ms)"
        if step[0] == "fetch-wait":
            parked = state.parked[step[1]]
            return f"fetch.max.wait.ms expires: answers the {parked.requester}'s fetch empty"
        return f"flushes the log to disk (offsets {state.flushed}..{len(state.log) - 1})"

    def on_step(self, state: ReplicaState, step: Hashable, out: Out) -> ReplicaState:
        if step[0] == "flush":
            return state._replace(flushed=len(state.log))
        if step[0] == "fetch-wait":
            # The long poll times out: an empty answer carrying the current HW.
            parked = state.parked[step[1]]
            empty = FetchResponse(parked.offset, (), state.high_watermark, "NONE", parked.session)
            out.send(parked.requester, empty)
            return state._replace(parked=state.parked[: step[1]] + state.parked[step[1] + 1 :])
        return self._alter_partition(state, tuple(b for b in state.isr if b != step[1]), out)

    # -- messages ---------------------------------------------------------------

    def on_message(self, state: ReplicaState, sender: str, message: Hashable, out: Out):
        if isinstance(message, ProduceRequest):
            return self._produce(state, message, out)
        if isinstance(message, Fetch):
            return self._serve_fetch(state, sender, message, out)
        if isinstance(message, FetchResponse):
            return self._fetched(state, message, out)
        if isinstance(message, LeaderAndIsr):
            return self._leader_and_isr(state, message, out)
        if isinstance(message, BrokerRegistrationResponse):
            state = state._replace(broker_epoch=message.broker_epoch)
            return self._leader_and_isr(state, message.partition, out)
        if isinstance(message, OffsetsForLeaderEpoch):
            if state.role == "leader" and state.leader_epoch == message.current_epoch:
                out.send(sender, OffsetsForLeaderEpochResponse(self._end_offset(state, message)))
            elif state.leader_epoch < message.current_epoch:
                # Not told yet that it leads this epoch: answer once it is.
                return state._replace(epoch_queries=state.epoch_queries + ((sender, message),))
            return state
        if isinstance(message, OffsetsForLeaderEpochResponse):
            if state.role != "truncating":
                return state
            return self._fetch(self._truncate(state, message.end_offset), out)
        if isinstance(message, AlterPartitionResponse):
            if state.role != "leader" or not state.requested_isr:
                return state
            state = state._replace(requested_isr=())
            if message.error == "NONE":
                state = state._replace(isr=message.isr)
                state = self._advance(state, out)
            return state
        return state

    def _produce(self, state: ReplicaState, request: ProduceRequest, out: Out) -> ReplicaState:
        def answer(error: str, offset: int = -1) -> None:
            if request.acks != "0":
                response = ProduceResponse(
                    request.record, request.attempt, request.session, error, offset
                )
                out.send(PRODUCER, response)

        if state.role != "leader":
            answer("NOT_LEADER_OR_FOLLOWER")
            return state
        if request.acks == "all" and len(state.isr) < self.config.min_insync:
            answer("NOT_ENOUGH_REPLICAS")
            return state
        offset = len(state.log)
        if request.producer_id:
            known = [
                (o, e) for o, e in enumerate(state.log) if e.producer_id == request.producer_id
            ][-DUPLICATE_WINDOW:]
            duplicate = next((o for o, e in known if e.sequence == request.sequence), None)
            last = known[-1][1].sequence if known else -1
            if duplicate is not None:
                offset = duplicate
            elif request.sequence != last + 1:
                answer("OUT_OF_ORDER_SEQUENCE_NUMBER")
                return state
        if offset == len(state.log):
            entry = Entry(request.record, request.producer_id, request.sequence, state.leader_epoch)
            log = state.log + (entry,)
            flushed = len(log) if self.config.flush_every_write else state.flushed
            state = state._replace(log=log, flushed=flushed)
        if request.acks == "all":
            state = state._replace(
                pending=state.pending
                + (PendingAck(request.record, request.attempt, offset, request.session),),
            )
        else:
            answer("NONE", offset)
        return self._advance(state, out)

    def _serve_fetch(self, state: ReplicaState, sender: str, fetch: Fetch, out: Out):
        if fetch.replica and fetch.leader_epoch > state.leader_epoch:
            # The follower heard of the new epoch first; answer once we hear of it too.
            parked = Parked(
                sender, fetch.offset, True, fetch.leader_epoch, fetch.session, fetch.broker_epoch
            )
            return state._replace(parked=state.parked + (parked,))
        if state.role != "leader":
            out.send(
                sender, FetchResponse(fetch.offset, (), 0, "NOT_LEADER_OR_FOLLOWER", fetch.session)
            )
            return state
        if fetch.replica and fetch.leader_epoch < state.leader_epoch:
            out.send(
                sender, FetchResponse(fetch.offset, (), 0, "FENCED_LEADER_EPOCH", fetch.session)
            )
            return state
        offset = state.high_watermark if fetch.offset < 0 else fetch.offset
        if offset > len(state.log):
            out.send(
                sender,
                FetchResponse(
                    len(state.log), (), state.high_watermark, "OFFSET_OUT_OF_RANGE", fetch.session
                ),
            )
            return state
        if fetch.replica:
            follower = _broker_number(sender)
            state = state._replace(
                follower_end=replace_at(state.follower_end, follower, offset),
                replica_epochs=replace_at(state.replica_epochs, follower, fetch.broker_epoch),
            )
            state = self._maybe_expand(state, follower, out)
            state = self._advance(state, out)
        parked = Parked(sender, offset, fetch.replica, state.leader_epoch, fetch.session)
        return self._answer_or_park(state, parked, out, latest=fetch.offset < 0)

    def _answer_or_park(
        self, state: ReplicaState, parked: Parked, out: Out, latest: bool = False
    ) -> ReplicaState:
        """Answer a fetch that has news for its requester; park it otherwise (long poll)."""
        hw, offset = state.high_watermark, parked.offset
        if parked.replica:
            follower = _broker_number(parked.requester)
            if len(state.log) > offset or hw > state.told_hw[follower]:
                response = FetchResponse(offset, state.log[offset:], hw, "NONE", parked.session)
                out.send(parked.requester, response)
                return state._replace(told_hw=replace_at(state.told_hw, follower, hw))
        elif hw > offset or latest:
            response = FetchResponse(offset, state.log[offset:hw], hw, "NONE", parked.session)
            out.send(parked.requester, response)
            return state
        return state._replace(parked=state.parked + (parked,))

    def _fetched(self, state: ReplicaState, response: FetchResponse, out: Out) -> ReplicaState:
        if state.role != "follower":
            return state
        state = state._replace(fetching=False)
        if response.error == "OFFSET_OUT_OF_RANGE":
            return self._fetch(self._truncate(state, response.offset), out)
        if response.error != "NONE":
            return state  # wait for the controller's LeaderAndIsr
        if response.offset != len(state.log):
            return self._fetch(state, out)  # an answer to a fetch from before a truncation
        log = state.log + response.entries
        flushed = len(log) if self.config.flush_every_write else state.flushed
        high_watermark = max(state.high_watermark, min(response.high_watermark, len(log)))
        state = state._replace(log=log, flushed=flushed, high_watermark=high_watermark)
        return self._fetch(state, out)

    def _leader_and_isr(self, state: ReplicaState, update: LeaderAndIsr, out: Out):
        if update.leader_epoch < state.leader_epoch or (
            update.leader_epoch == state.leader_epoch and state.role != "none"
        ):
            return state
        for pending in state.pending:
            out.send(
                PRODUCER,
                ProduceResponse(
                    pending.record, pending.attempt, pending.session, "NOT_LEADER_OR_FOLLOWER"
                ),
            )
        waiting = [p for p in state.parked if p.leader_epoch == update.leader_epoch and p.replica]
        queries = [q for q in state.epoch_queries if q[1].current_epoch == update.leader_epoch]
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
            epoch_queries=(),
            requested_isr=(),
            fetching=False,
        )
        if update.leader == self.broker:
            ends = tuple(len(state.log) if b == self.broker else 0 for b in self.replicas)
            told = (-1,) * len(self.replicas)
            state = base._replace(role="leader", isr=update.isr, follower_end=ends, told_hw=told)
            unknown = (-1,) * len(self.replicas)  # until each follower fetches again
            state = state._replace(epoch_start=len(state.log), replica_epochs=unknown)
            for parked in waiting:
                fetch = Fetch(
                    parked.offset, parked.leader_epoch, True, parked.session, parked.broker_epoch
                )
                state = self._serve_fetch(state, parked.requester, fetch, out)
            for requester, query in queries:
                out.send(requester, OffsetsForLeaderEpochResponse(self._end_offset(state, query)))
            return state
        if update.leader < 0:
            return base._replace(role="none", isr=())
        if self.config.truncate_by_epoch:
            last_epoch = state.log[-1].leader_epoch if state.log else -1
            query = OffsetsForLeaderEpoch(last_epoch, update.leader_epoch)
            out.send(broker_name(update.leader), query)
            return base._replace(role="truncating", isr=())
        follower = base._replace(role="follower", isr=())
        return self._fetch(self._truncate(follower, state.high_watermark), out)

    # -- helpers -----------------------------------------------------------------

    def _fetch(self, state: ReplicaState, out: Out) -> ReplicaState:
        if state.fetching:
            return state
        fetch = Fetch(len(state.log), state.leader_epoch, True, broker_epoch=state.broker_epoch)
        out.send(broker_name(state.leader), fetch)
        return state._replace(role="follower", fetching=True)

    def _truncate(self, state: ReplicaState, end: int) -> ReplicaState:
        end = min(end, len(state.log))
        return state._replace(
            role="follower",
            log=state.log[:end],
            flushed=min(state.flushed, end),
            high_watermark=min(state.high_watermark, end),
        )

    def _end_offset(self, state: ReplicaState, request: OffsetsForLeaderEpoch) -> int:
        """The first offset of a later epoch than the one asked about (KIP-101/279)."""
        for offset, entry in enumerate(state.log):
            if entry.leader_epoch > request.leader_epoch:
                return offset
        return len(state.log)

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

    def _advance(self, state: ReplicaState, out: Out) -> ReplicaState:
        """Move the HW to what every replica it waits for has; answer whatever that unblocks."""
        if state.role != "leader":
            return state
        high_watermark = state.high_watermark
        if high_watermark_may_advance(self.config, state.isr):
            members = high_watermark_waits_for(self.config, state.isr, state.requested_isr)
            ends = [len(state.log) if b == self.broker else state.follower_end[b] for b in members]
            high_watermark = max(high_watermark, min(ends, default=len(state.log)))
        state = state._replace(high_watermark=high_watermark)
        still_pending = []
        # As Kafka's DelayedProduce: written, but the ISR shrank below min.insync.replicas.
        enough = len(state.isr) >= self.config.min_insync
        error = "NONE" if enough else "NOT_ENOUGH_REPLICAS_AFTER_APPEND"
        for pending in state.pending:
            if pending.offset < high_watermark:
                out.send(
                    PRODUCER,
                    ProduceResponse(
                        pending.record, pending.attempt, pending.session, error, pending.offset
                    ),
                )
            else:
                still_pending.append(pending)
        parked, state = state.parked, state._replace(pending=tuple(still_pending), parked=())
        for waiting in parked:
            if waiting.leader_epoch != state.leader_epoch:
                state = state._replace(parked=state.parked + (waiting,))
            else:
                state = self._answer_or_park(state, waiting, out)
        return state


def _broker_number(name: str) -> int:
    return int(name.removeprefix("broker"))
