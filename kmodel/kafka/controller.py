"""The controller: the partition's leader, leader epoch and ISR, and elections.

It hears a broker's crash when the broker's session expires, and its return
when the broker registers again. When the leader is gone it elects a new one
from the live members of the ISR, or, with
`unclean.leader.election.enable=true`, from any live replica; each election
bumps the leader epoch. Its state is the replicated metadata log of KRaft,
so it is durable and the controller itself does not crash in these models.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.core.tuples import replace_at
from kmodel.kafka.broker import CONTROLLER, broker_name
from kmodel.kafka.config import BrokerConfig
from kmodel.kafka.messages import (
    AlterPartition,
    AlterPartitionResponse,
    BrokerRegistration,
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


class Controller(Actor[ControllerState]):
    durable = ("leader", "leader_epoch", "isr", "alive", "elections", "unclean_elections")

    def __init__(self, config: BrokerConfig, clients: tuple[str, ...]) -> None:
        super().__init__(CONTROLLER)
        self.config = config
        self.clients = clients  # who hears of every new leader (UpdateMetadata)
        self.replicas = tuple(range(config.replicas))

    def initial_state(self) -> ControllerState:
        return ControllerState(isr=self.replicas, alive=(True,) * len(self.replicas))

    def on_message(self, state: ControllerState, sender: str, message: Hashable, out: Out):
        if isinstance(message, SessionExpired):
            broker = int(message.name.removeprefix("broker"))
            alive = replace_at(state.alive, broker, False)
            # A fenced broker leaves the ISR, unless it is the last member (Kafka keeps it).
            isr = tuple(b for b in state.isr if b != broker) or state.isr
            state = state._replace(alive=alive, isr=isr)
            if state.leader == broker:
                state = self._elect(state, out)
            return state
        if isinstance(message, BrokerRegistration):
            broker = message.broker
            state = state._replace(alive=replace_at(state.alive, broker, True))
            if state.leader < 0:
                before = state.leader_epoch
                state = self._elect(state, out)
                if state.leader_epoch != before:
                    return state
            out.send(broker_name(broker), self._leader_and_isr(state))
            return state
        if isinstance(message, AlterPartition):
            if message.leader_epoch != state.leader_epoch or sender != broker_name(state.leader):
                out.send(sender, AlterPartitionResponse((), "FENCED_LEADER_EPOCH"))
                return state
            out.send(sender, AlterPartitionResponse(message.isr))
            return state._replace(isr=message.isr)
        if isinstance(message, MetadataRequest):
            out.send(sender, UpdateMetadata(state.leader, state.leader_epoch))
        return state

    def _elect(self, state: ControllerState, out: Out) -> ControllerState:
        """Choose a leader and tell every live replica and the clients."""
        in_sync = [b for b in state.isr if state.alive[b] and b != state.leader]
        if state.leader >= 0 and state.alive[state.leader]:
            in_sync.insert(0, state.leader)
        unclean = False
        if in_sync:
            leader = in_sync[0]
        elif self.config.unclean_election and any(state.alive):
            leader, unclean = state.alive.index(True), True
        else:
            leader = -1
        if leader == state.leader:
            return state  # still offline: nothing changes, no new epoch
        isr = (leader,) if unclean else state.isr
        state = state._replace(
            leader=leader,
            leader_epoch=state.leader_epoch + 1,
            isr=isr,
            elections=state.elections + (leader >= 0),
            unclean_elections=state.unclean_elections + unclean,
        )
        update = self._leader_and_isr(state)
        for broker in self.replicas:
            if state.alive[broker]:
                out.send(broker_name(broker), update)
        for client in self.clients:
            out.send(client, UpdateMetadata(state.leader, state.leader_epoch))
        return state

    def _leader_and_isr(self, state: ControllerState) -> LeaderAndIsr:
        return LeaderAndIsr(state.leader, state.leader_epoch, state.isr)
