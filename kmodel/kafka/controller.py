"""The controller: each partition's leader, leader epoch and ISR, and elections.

It hears a broker's crash when the broker's session expires, and its return
when the broker registers again. When a partition's leader is gone it elects
a new one from the live members of the ISR, or, with
`unclean.leader.election.enable=true`, from any live replica; each election
bumps the partition's leader epoch. Its state is the replicated metadata log
of KRaft, so it is durable and the controller itself does not crash in these
models.
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
from kmodel.kafka.topic import Topic


class PartitionLeadership(NamedTuple):
    leader: int = 0  # -1: offline, no replica can lead
    leader_epoch: int = 0
    isr: tuple[int, ...] = ()


class ControllerState(NamedTuple):
    partitions: tuple[PartitionLeadership, ...] = ()
    alive: tuple[bool, ...] = ()  # per broker
    elections: int = 0
    unclean_elections: int = 0


class Controller(Actor[ControllerState]):
    durable = ("partitions", "alive", "elections", "unclean_elections")

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
        return ControllerState(partitions, alive=(True,) * self.topic.brokers)

    def on_message(self, state: ControllerState, sender: str, message: Hashable, out: Out):
        if isinstance(message, SessionExpired):
            broker = int(message.name.removeprefix("broker"))
            partition = self.topic.partition_of(broker)
            leadership = state.partitions[partition]
            # A fenced broker leaves the ISR, unless it is the last member (Kafka keeps it).
            isr = tuple(b for b in leadership.isr if b != broker) or leadership.isr
            state = _put(state, partition, leadership._replace(isr=isr))
            state = state._replace(alive=replace_at(state.alive, broker, False))
            if leadership.leader == broker:
                state = self._elect(state, partition, out)
            return state
        if isinstance(message, BrokerRegistration):
            broker = message.broker
            partition = self.topic.partition_of(broker)
            state = state._replace(alive=replace_at(state.alive, broker, True))
            if state.partitions[partition].leader < 0:
                before = state.partitions[partition].leader_epoch
                state = self._elect(state, partition, out)
                if state.partitions[partition].leader_epoch != before:
                    return state
            out.send(broker_name(broker), _leader_and_isr(state.partitions[partition]))
            return state
        if isinstance(message, AlterPartition):
            partition = self.topic.partition_of(int(sender.removeprefix("broker")))
            leadership = state.partitions[partition]
            if message.leader_epoch != leadership.leader_epoch or sender != broker_name(
                leadership.leader
            ):
                out.send(sender, AlterPartitionResponse((), "FENCED_LEADER_EPOCH"))
                return state
            out.send(sender, AlterPartitionResponse(message.isr))
            return _put(state, partition, leadership._replace(isr=message.isr))
        if isinstance(message, MetadataRequest):
            for partition, leadership in enumerate(state.partitions):
                out.send(sender, self._metadata(partition, leadership))
        return state

    def _elect(self, state: ControllerState, partition: int, out: Out) -> ControllerState:
        """Choose the partition's leader and tell its live replicas and the clients."""
        leadership = state.partitions[partition]
        replicas = self.topic.replicas(partition)
        in_sync = [b for b in leadership.isr if state.alive[b] and b != leadership.leader]
        if leadership.leader >= 0 and state.alive[leadership.leader]:
            in_sync.insert(0, leadership.leader)
        live = [b for b in replicas if state.alive[b]]
        unclean = False
        if in_sync:
            leader = in_sync[0]
        elif self.config.unclean_election and live:
            leader, unclean = live[0], True
        else:
            leader = -1
        if leader == leadership.leader:
            return state  # still offline: nothing changes, no new epoch
        leadership = PartitionLeadership(
            leader, leadership.leader_epoch + 1, (leader,) if unclean else leadership.isr
        )
        state = _put(state, partition, leadership)._replace(
            elections=state.elections + (leader >= 0),
            unclean_elections=state.unclean_elections + unclean,
        )
        for broker in live:
            out.send(broker_name(broker), _leader_and_isr(leadership))
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
