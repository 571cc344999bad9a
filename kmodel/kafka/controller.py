"""The controller: the partition's leader, leader epoch and ISR, and elections.

It hears a broker's crash when the broker's session expires (the broker is
fenced), and its return when the broker registers again with a new broker
epoch. When the leader is gone it elects a new one from the live members of
the ISR, or, with `unclean.leader.election.enable=true`, from any live
replica; each election bumps the leader epoch. How the ISR, the Eligible
Leader Replicas and the leader change together is `kmodel.kafka.election`.
An AlterPartition that would put a fenced broker (KIP-841) or a broker epoch
other than the registered one (KIP-903) into the ISR is refused with
INELIGIBLE_REPLICA. Its state is the replicated metadata log of KRaft, so it
is durable and the controller itself does not crash in these models.
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


class ControllerState(NamedTuple):
    leader: int = 0  # -1: offline, no replica can lead
    leader_epoch: int = 0
    isr: tuple[int, ...] = ()
    alive: tuple[bool, ...] = ()
    elections: int = 0
    unclean_elections: int = 0
    broker_epochs: tuple[int, ...] = ()  # each broker's, a new one at each registration
    elr: tuple[int, ...] = ()  # Eligible Leader Replicas (KIP-966)
    last_known_leader: int = NO_LEADER  # the leader when the ISR became empty (KIP-966)


class Controller(Actor[ControllerState]):
    durable = (
        "leader",
        "leader_epoch",
        "isr",
        "alive",
        "elections",
        "unclean_elections",
        "broker_epochs",
        "elr",
        "last_known_leader",
    )

    def __init__(self, config: BrokerConfig, clients: tuple[str, ...]) -> None:
        super().__init__(CONTROLLER)
        self.config = config
        self.clients = clients  # who hears of every new leader (UpdateMetadata)
        self.replicas = tuple(range(config.replicas))

    def initial_state(self) -> ControllerState:
        count = len(self.replicas)
        return ControllerState(isr=self.replicas, alive=(True,) * count, broker_epochs=(0,) * count)

    def on_message(self, state: ControllerState, sender: str, message: Hashable, out: Out):
        if isinstance(message, SessionExpired):
            broker = int(message.name.removeprefix("broker"))
            state = state._replace(alive=replace_at(state.alive, broker, False))
            if broker not in state.isr:
                return state
            # A fenced broker leaves the ISR; without ELR not the last member (Kafka keeps it).
            target = tuple(b for b in state.isr if b != broker)
            return self._change(state, target, lambda b: b != broker and state.alive[b], out)
        if isinstance(message, BrokerRegistration):
            return self._register(state, message.broker, out)
        if isinstance(message, AlterPartition):
            error = self._alter_partition_error(state, sender, message)
            if error != "NONE":
                out.send(sender, AlterPartitionResponse((), error))
                return state
            state = self._change(state, message.isr, lambda b: state.alive[b], out)
            out.send(sender, AlterPartitionResponse(state.isr))
            return state
        if isinstance(message, MetadataRequest):
            out.send(sender, UpdateMetadata(state.leader, state.leader_epoch))
        return state

    def _register(self, state: ControllerState, broker: int, out: Out) -> ControllerState:
        """A broker back after a crash: a new broker epoch; with ELR, it leaves the ISR and
        the ELR, since every crash here is an unclean shutdown; it may then lead."""
        epochs = replace_at(state.broker_epochs, broker, state.broker_epochs[broker] + 1)
        state = state._replace(broker_epochs=epochs)
        if self.config.eligible_leader_replicas and (broker in state.isr or broker in state.elr):
            target = tuple(b for b in state.isr if b != broker)
            state = self._change(
                state, target, lambda b: b != broker and state.alive[b], out, broker
            )
        state = state._replace(alive=replace_at(state.alive, broker, True))
        if state.leader == NO_LEADER:
            state = self._change(state, state.isr, lambda b: state.alive[b], out, skip=broker)
        response = BrokerRegistrationResponse(epochs[broker], self._leader_and_isr(state))
        out.send(broker_name(broker), response)
        return state

    def _alter_partition_error(
        self, state: ControllerState, sender: str, request: AlterPartition
    ) -> str:
        """Why the controller refuses an AlterPartition, or NONE."""
        if request.leader_epoch != state.leader_epoch or sender != broker_name(state.leader):
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
        target_isr: tuple[int, ...],
        acceptable: Callable[[int], bool],
        out: Out,
        unclean_shutdown: int = NO_LEADER,
        skip: int = NO_LEADER,
    ) -> ControllerState:
        """Apply a partition change; a new leader gets a new leader epoch, and every live
        replica (but `skip`, answered apart) and the clients hear of it."""
        current = PartitionRegistration(state.leader, state.isr, state.elr, state.last_known_leader)
        partition, unclean = change_partition(
            self.config, current, target_isr, acceptable, unclean_shutdown
        )
        state = state._replace(
            isr=partition.isr, elr=partition.elr, last_known_leader=partition.last_known_leader
        )
        if partition.leader == state.leader:
            return state  # no election: the leader epoch stays
        leader = partition.leader
        state = state._replace(
            leader=leader,
            leader_epoch=state.leader_epoch + 1,
            elections=state.elections + (leader >= 0),
            unclean_elections=state.unclean_elections + unclean,
        )
        update = self._leader_and_isr(state)
        for broker in self.replicas:
            if state.alive[broker] and broker != skip:
                out.send(broker_name(broker), update)
        for client in self.clients:
            out.send(client, UpdateMetadata(state.leader, state.leader_epoch))
        return state

    def _leader_and_isr(self, state: ControllerState) -> LeaderAndIsr:
        return LeaderAndIsr(state.leader, state.leader_epoch, state.isr)
