"""The controller: each partition's leader, leader epoch, ISR and ELR, and elections.

It hears a broker's crash when the broker's session expires (the broker is
fenced), and its return when the broker registers again. When a partition's
leader is gone it elects a new one from the live members of the ISR, or, with
`unclean.leader.election.enable=true`, from any live replica; each election
bumps the partition's leader epoch. How the ISR, the Eligible Leader Replicas
and the leader change together is `kmodel.kafka.election`. An AlterPartition
that would put a fenced broker (KIP-841) or a broker epoch other than the
registered one (KIP-903) into the ISR is refused with INELIGIBLE_REPLICA. A
broker that asks for a controlled shutdown leaves the ISR and its leaderships
first, as a fenced broker does, and is then told it may stop.

`controller.mode` chooses the generation:

- KRaft (KIP-500, KIP-631): the session expires as the broker crashes (it
  stops heartbeating), and every registration gives a new broker epoch. With
  ELR, a broker that registers without the broker epoch of a clean shutdown
  (KIP-966's clean-shutdown file) had an unclean shutdown and leaves ISR and
  ELR.
- ZooKeeper: a crashed broker's ephemeral znode lasts until its session
  expires (`zookeeper.session.timeout.ms`, a step of its own); a broker back
  before that is not seen as having failed and stays in the ISR, as the
  controller missed such bounces before KIP-380's broker epochs (Kafka 2.2).
  A registration is answered with LeaderAndIsr, which the channel to a broker
  may lose.

Clients learn leaders only by asking (a MetadataRequest), as Kafka's clients
do: the controller never pushes metadata to them. A client that asks while a
partition has no leader keeps asking every `retry.backoff.ms` until one is
elected; the answers in between change nothing, so the controller answers
that partition once its next leader is elected (`waiting_for_leader`), and a
run in which no leader ever returns comes to rest with the client waiting.

An administrator may add a partition to the topic while it runs
(CreatePartitions, a fault with its own budget, "partition-expansion"): the
topic starts with one partition fewer, and clients find the new one when they
refresh their metadata (metadata.max.age.ms). The new partition's replicas
stand ready from the start; no client writes or reads them before it exists.

Its state is the replicated metadata log of KRaft (or ZooKeeper's znodes), so
it is durable and the controller itself does not crash in these models.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
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
    BrokerZnode,
    ControlledShutdown,
    ControlledShutdownResponse,
    LeaderAndIsr,
    MetadataRequest,
    SessionExpired,
    TopicMetadata,
    TopicMetadataRequest,
    UpdateMetadata,
    ZooKeeperConnectionLost,
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
    # ZooKeeper mode: crashed brokers whose session (and znode) has not expired yet.
    live_sessions_of_crashed: tuple[int, ...] = ()
    # (client, partition): asked for the partition's leader while it had none.
    waiting_for_leader: tuple[tuple[str, int], ...] = ()
    partition_count: int = 0  # the partitions the topic has so far


class Controller(Actor[ControllerState]):
    durable = (
        "partitions",
        "alive",
        "broker_epochs",
        "elections",
        "unclean_elections",
        "live_sessions_of_crashed",
        "waiting_for_leader",
        "partition_count",
    )

    def __init__(self, config: BrokerConfig, topic: Topic, first_partitions: int = 0) -> None:
        """`first_partitions`: how many partitions the topic has at the start (0: all)."""
        super().__init__(CONTROLLER)
        self.config = config
        self.topic = topic
        self.first_partitions = first_partitions or topic.partitions

    def initial_state(self) -> ControllerState:
        partitions = tuple(
            PartitionLeadership(leader=replicas[0], isr=replicas)
            for replicas in map(self.topic.replicas, range(self.topic.partitions))
        )
        brokers = self.topic.brokers
        return ControllerState(
            partitions,
            alive=(True,) * brokers,
            broker_epochs=(0,) * brokers,
            partition_count=self.first_partitions,
        )

    def steps(self, state: ControllerState) -> Iterable[Hashable]:
        for broker in state.live_sessions_of_crashed:
            yield ("session-expires", broker)
        if state.partition_count < self.topic.partitions:
            yield ("create-partitions",)

    def step_fault(self, state: ControllerState, step: Hashable) -> str | None:
        return "partition-expansion" if step[0] == "create-partitions" else None

    def describe_step(self, state: ControllerState, step: Hashable) -> str:
        if step[0] == "create-partitions":
            return (
                f"adds a partition to the topic (CreatePartitions): it has "
                f"{self.topic.partitions} now"
            )
        return (
            f"sees the ZooKeeper session of {broker_name(step[1])} expire "
            "(zookeeper.session.timeout.ms) and its znode go"
        )

    def on_step(self, state: ControllerState, step: Hashable, out: Out) -> ControllerState:
        if step[0] == "create-partitions":
            return state._replace(partition_count=self.topic.partitions)
        broker = step[1]
        sessions = tuple(b for b in state.live_sessions_of_crashed if b != broker)
        return self._fence(state._replace(live_sessions_of_crashed=sessions), broker, out)

    def on_message(self, state: ControllerState, sender: str, message: Hashable, out: Out):
        if isinstance(message, SessionExpired):
            return self._fence(state, int(message.name.removeprefix("broker")), out)
        if isinstance(message, ZooKeeperConnectionLost):
            broker = int(message.name.removeprefix("broker"))
            sessions = tuple(sorted((*state.live_sessions_of_crashed, broker)))
            return state._replace(live_sessions_of_crashed=sessions)
        if isinstance(message, BrokerRegistration):
            unclean = message.previous_broker_epoch != state.broker_epochs[message.broker]
            return self._register(state, message.broker, unclean, out)
        if isinstance(message, BrokerZnode):
            return self._register_znode(state, message.broker, out)
        if isinstance(message, ControlledShutdown):
            state = self._fence(state, message.broker, out)
            out.send(sender, ControlledShutdownResponse(message.kraft))
            return state
        if isinstance(message, AlterPartition):
            partition = self.topic.partition_of(int(sender.removeprefix("broker")))
            error = self._alter_partition_error(state, partition, sender, message)
            if error != "NONE":
                out.send(sender, AlterPartitionResponse((), error))
                return state
            state = self._change(
                state, partition, message.isr, lambda b: state.alive[b], out, asked=True
            )
            out.send(sender, AlterPartitionResponse(state.partitions[partition].isr))
            return state
        if isinstance(message, MetadataRequest):
            partition = self.topic.partition_names().index(message.partition)
            return self._answer_metadata(state, sender, partition, out)
        if isinstance(message, TopicMetadataRequest):
            out.send(sender, TopicMetadata(state.partition_count))
        return state

    def _answer_metadata(
        self, state: ControllerState, client: str, partition: int, out: Out
    ) -> ControllerState:
        """The partition's leader; a partition without one is answered once elected."""
        leadership = state.partitions[partition]
        if leadership.leader != NO_LEADER:
            out.send(client, self._metadata(partition, leadership))
            return state
        waiting = {*state.waiting_for_leader, (client, partition)}
        return state._replace(waiting_for_leader=tuple(sorted(waiting)))

    def _fence(self, state: ControllerState, broker: int, out: Out) -> ControllerState:
        """The broker is gone (its session expired) or shutting down: it may neither lead
        nor stay in the ISR; without ELR the last member stays (Kafka keeps it)."""
        partition = self.topic.partition_of(broker)
        state = state._replace(alive=replace_at(state.alive, broker, False))
        isr = state.partitions[partition].isr
        if broker not in isr:
            return state
        target = tuple(b for b in isr if b != broker)
        return self._change(state, partition, target, lambda b: b != broker and state.alive[b], out)

    def _register(
        self, state: ControllerState, broker: int, unclean: bool, out: Out
    ) -> ControllerState:
        """A broker back in KRaft mode: a new broker epoch; with ELR, after an unclean
        shutdown it leaves the ISR and the ELR; it may then lead."""
        partition = self.topic.partition_of(broker)
        epochs = replace_at(state.broker_epochs, broker, state.broker_epochs[broker] + 1)
        state = state._replace(broker_epochs=epochs)
        leadership = state.partitions[partition]
        if (
            unclean
            and self.config.eligible_leader_replicas
            and (broker in leadership.isr or broker in leadership.elr)
        ):
            target = tuple(b for b in leadership.isr if b != broker)
            state = self._change(
                state, partition, target, lambda b: b != broker and state.alive[b], out, broker
            )
        state = self._back(state, broker, out)
        update = _leader_and_isr(state.partitions[partition])
        out.send(broker_name(broker), BrokerRegistrationResponse(epochs[broker], update))
        return state

    def _register_znode(self, state: ControllerState, broker: int, out: Out) -> ControllerState:
        """A broker's znode in ZooKeeper mode: within its old session the broker is not seen
        as having failed; either way it gets the partition's LeaderAndIsr (onBrokerStartup)."""
        sessions = state.live_sessions_of_crashed
        state = state._replace(live_sessions_of_crashed=tuple(b for b in sessions if b != broker))
        state = self._back(state, broker, out)
        out.send(
            broker_name(broker), _leader_and_isr(state.partitions[self.topic.partition_of(broker)])
        )
        return state

    def _back(self, state: ControllerState, broker: int, out: Out) -> ControllerState:
        """The broker may lead again: a partition left without a leader elects."""
        partition = self.topic.partition_of(broker)
        state = state._replace(alive=replace_at(state.alive, broker, True))
        leadership = state.partitions[partition]
        if leadership.leader == NO_LEADER:
            state = self._change(
                state, partition, leadership.isr, lambda b: state.alive[b], out, skip=broker
            )
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
        asked: bool = False,
    ) -> ControllerState:
        """Apply a change to a partition; a new leader gets a new leader epoch, and every
        live replica (but `skip`, answered apart) and the clients waiting for a leader
        hear of it. An ISR the controller changes alone (a fenced broker leaves it) reaches
        the leader in its epoch, as the metadata log's partition change does, or in
        ZooKeeper mode in a new epoch every live replica hears (newLeaderAndIsr); one the
        leader `asked` for is answered apart."""
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
        alone = not asked and changed.isr != current.isr and leadership.leader >= 0
        if changed.leader == leadership.leader and not (alone and self.config.zookeeper):
            state = _put(state, partition, leadership)  # no election: the leader epoch stays
            leader = leadership.leader
            if alone and state.alive[leader]:
                out.send(broker_name(leader), _leader_and_isr(leadership))
            return state
        leader = changed.leader
        leadership = leadership._replace(leader=leader, leader_epoch=leadership.leader_epoch + 1)
        state = _put(state, partition, leadership)._replace(
            elections=state.elections + (leader >= 0 and leader != current.leader),
            unclean_elections=state.unclean_elections + unclean,
        )
        update = _leader_and_isr(leadership)
        for broker in replicas:
            if state.alive[broker] and broker != skip:
                out.send(broker_name(broker), update)
        if leader == NO_LEADER:
            return state
        waiting = state.waiting_for_leader
        for client, asked in waiting:
            if asked == partition:
                out.send(client, self._metadata(partition, leadership))
        still = tuple((client, asked) for client, asked in waiting if asked != partition)
        return state._replace(waiting_for_leader=still)

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
