"""The controller: each partition's leader, leader epoch, ISR and ELR, and elections.

It hears a broker's crash when the broker's session expires (the broker is
fenced), and its return when the broker registers again with a new broker
epoch. When a partition's leader is gone it elects a new one from the live
members of the ISR, or, with `unclean.leader.election.enable=true`, from any
live replica; each election bumps the partition's leader epoch. How the ISR,
the Eligible Leader Replicas and the leader change together is
`kmodel.kafka.election`. An AlterPartition that would put a fenced broker
(KIP-841) or a broker epoch other than the registered one (KIP-903) into the
ISR is refused with INELIGIBLE_REPLICA. Its state is the replicated metadata
log of KRaft, so it is durable and the controller itself does not crash in
these models.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.core.tuples import replace_at
from kmodel.kafka.broker import CONTROLLER, broker_name
from kmodel.kafka.config import BrokerConfig
from kmodel.kafka.election import NO_LEADER, PartitionRegistration, change_partition
from kmodel.kafka.messages import (
    AlterPartition,
    AlterPartitionResponse,
    BrokerRegistration,
    BrokerRegistrationResponse,
    LeaderAndIsr,
    MetadataRequest,
    SessionExpired,
    UpdateMetadata,
)
from kmodel.kafka.topic import Topic


class PartitionLeadership(NamedTuple):
    leader: int = 0  # -1: offline, no replica can lead
    leader_epoch: int = 0
    isr: tuple[int, ...] = ()
    elr: tuple[int, ...] = ()  # Eligible Leader Replicas (KIP-966)
    last_known_leader: int = NO_LEADER  # the leader when the ISR became empty (KIP-966)


class ControllerState(NamedTuple):
    partitions: tuple[PartitionLeadership, ...] = ()
    alive: tuple[bool, ...] = ()  # per broker
    broker_epochs: tuple[int, ...] = ()  # each broker's, a new one at each registration
    elections: int = 0
    unclean_elections: int = 0


class Controller(Actor[ControllerState]):
    durable = ("partitions", "alive", "broker_epochs", "elections", "unclean_elections")

    def __init__(self, config: BrokerConfig, topic: Topic, clients: tuple[str, ...]) -> None:
        super().__init__(CONTROLLER)
        self.config = config
        self.topic = topic
        self.clients = clients  # who hears of every new leader (UpdateMetadata)

    def initial_state(self) -> ControllerState:
        partitions = tuple(
            PartitionLeadership(leader=replicas[0], isr=replicas)
            for replicas in map(self.topic.replicas, range(self.topic.partitions))
        )
        brokers = self.topic.brokers
        return ControllerState(partitions, alive=(True,) * brokers, broker_epochs=(0,) * brokers)

    def on_message(self, state: ControllerState, sender: str, message: Hashable, out: Out):
        if isinstance(message, SessionExpired):
            broker = int(message.name.removeprefix("broker"))
            partition = self.topic.partition_of(broker)
            state = state._replace(alive=replace_at(state.alive, broker, False))
            isr = state.partitions[partition].isr
            if broker not in isr:
                return state
            # A fenced broker leaves the ISR; without ELR not the last member (Kafka keeps it).
            target = tuple(b for b in isr if b != broker)
            return self._change(
                state, partition, target, lambda b: b != broker and state.alive[b], out
            )
        if isinstance(message, BrokerRegistration):
            return self._register(state, message.broker, out)
        if isinstance(message, AlterPartition):
            partition = self.topic.partition_of(int(sender.removeprefix("broker")))
            error = self._alter_partition_error(state, partition, sender, message)
            if error != "NONE":
                out.send(sender, AlterPartitionResponse((), error))
                return state
            state = self._change(state, partition, message.isr, lambda b: state.alive[b], out)
            out.send(sender, AlterPartitionResponse(state.partitions[partition].isr))
            return state
        if isinstance(message, MetadataRequest):
            for partition, leadership in enumerate(state.partitions):
                out.send(sender, self._metadata(partition, leadership))
        return state

    def _register(self, state: ControllerState, broker: int, out: Out) -> ControllerState:
        """A broker back after a crash: a new broker epoch; with ELR, it leaves the ISR and
        the ELR, since every crash here is an unclean shutdown; it may then lead."""
        partition = self.topic.partition_of(broker)
        epochs = replace_at(state.broker_epochs, broker, state.broker_epochs[broker] + 1)
        state = state._replace(broker_epochs=epochs)
        leadership = state.partitions[partition]
        if self.config.eligible_leader_replicas and (
            broker in leadership.isr or broker in leadership.elr
        ):
            target = tuple(b for b in leadership.isr if b != broker)
            state = self._change(
                state, partition, target, lambda b: b != broker and state.alive[b], out, broker
            )
        state = state._replace(alive=replace_at(state.alive, broker, True))
        leadership = state.partitions[partition]
        if leadership.leader == NO_LEADER:
            state = self._change(
                state, partition, leadership.isr, lambda b: state.alive[b], out, skip=broker
            )
        update = _leader_and_isr(state.partitions[partition])
        out.send(broker_name(broker), BrokerRegistrationResponse(epochs[broker], update))
        return state

    def _alter_partition_error(
        self, state: ControllerState, partition: int, sender: str, request: AlterPartition
    ) -> str:
        """Why the controller refuses an AlterPartition, or NONE."""
        leadership = state.partitions[partition]
        if request.leader_epoch != leadership.leader_epoch or sender != broker_name(
            leadership.leader
        ):
            return "FENCED_LEADER_EPOCH"
        for broker, epoch in zip(request.isr, request.broker_epochs, strict=True):
            if not self.config.fenced_replicas_join_isr and not state.alive[broker]:
                return "INELIGIBLE_REPLICA"
            stale = epoch != -1 and epoch != state.broker_epochs[broker]
            if not self.config.stale_broker_epoch_joins_isr and stale:
                return "INELIGIBLE_REPLICA"
        return "NONE"

    def _change(
        self,
        state: ControllerState,
        partition: int,
        target_isr: tuple[int, ...],
        acceptable: Callable[[int], bool],
        out: Out,
        unclean_shutdown: int = NO_LEADER,
        skip: int = NO_LEADER,
    ) -> ControllerState:
        """Apply a change to a partition; a new leader gets a new leader epoch, and every
        live replica (but `skip`, answered apart) and the clients hear of it."""
        leadership = state.partitions[partition]
        current = PartitionRegistration(
            leadership.leader, leadership.isr, leadership.elr, leadership.last_known_leader
        )
        replicas = self.topic.replicas(partition)
        changed, unclean = change_partition(
            self.config, replicas, current, target_isr, acceptable, unclean_shutdown
        )
        leadership = leadership._replace(
            isr=changed.isr, elr=changed.elr, last_known_leader=changed.last_known_leader
        )
        if changed.leader == leadership.leader:
            return _put(state, partition, leadership)  # no election: the leader epoch stays
        leader = changed.leader
        leadership = leadership._replace(leader=leader, leader_epoch=leadership.leader_epoch + 1)
        state = _put(state, partition, leadership)._replace(
            elections=state.elections + (leader >= 0),
            unclean_elections=state.unclean_elections + unclean,
        )
        update = _leader_and_isr(leadership)
        for broker in replicas:
            if state.alive[broker] and broker != skip:
                out.send(broker_name(broker), update)
        for client in self.clients:
            out.send(client, self._metadata(partition, leadership))
        return state

    def _metadata(self, partition: int, leadership: PartitionLeadership) -> UpdateMetadata:
        return UpdateMetadata(
            leadership.leader, leadership.leader_epoch, self.topic.partition_name(partition)
        )


def _leader_and_isr(leadership: PartitionLeadership) -> LeaderAndIsr:
    return LeaderAndIsr(leadership.leader, leadership.leader_epoch, leadership.isr)


def _put(
    state: ControllerState, partition: int, leadership: PartitionLeadership
) -> ControllerState:
    return state._replace(partitions=replace_at(state.partitions, partition, leadership))
