"""Assemble a producer application's pipeline: source → producer → topic → consumer → sink.

The topic has one or two partitions, each with its replicas on brokers; the
producer sends each record to its key's partition and the consumer reads them
all, or (with two consumers) the group shares them out.
"""

from __future__ import annotations

from collections.abc import Hashable

from kmodel.core.network import FifoNetwork
from kmodel.core.world import ActorSystem
from kmodel.kafka.cluster import cluster
from kmodel.kafka.config import PipelineConfig
from kmodel.kafka.consumer import Consumer
from kmodel.kafka.contracts import contracts
from kmodel.kafka.coordinator import GroupCoordinator, sticky_assignment
from kmodel.kafka.messages import LeaderAndIsr
from kmodel.kafka.producer import Producer
from kmodel.kafka.sink import Sink
from kmodel.kafka.source import Source
from kmodel.kafka.topic import Topic

CONSUMERS = ("consumer", "consumer-2")
CLIENT_LINKS = ("producer", *CONSUMERS)


class Pipeline(ActorSystem):
    """The pipeline's actors on TCP-like connections. Network failures break the
    connections of the clients to the brokers, where Kafka's clients live with them."""

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        topic = Topic("topic", config.partitions, config.broker.replicas)
        added = config.first_partitions < topic.partitions  # a partition is added meanwhile
        first = config.first_partitions if added else 0
        brokers = cluster(config.broker, topic, config.power_cut, False, first)
        actors = [
            Source(config.records),
            Producer(
                config.producer,
                topic,
                commit_before_send=config.source_commit_before_send,
                resend_on_failure=config.resend_on_failure,
                max_resends=1,
                first_partitions=first,
            ),
            *brokers.actors,
        ]
        if config.consumers:
            members = CONSUMERS[: config.consumers]
            group = members if len(members) > 1 else ()
            owners = sticky_assignment((), members, first or topic.partitions)
            actors += [
                GroupCoordinator(
                    partitions=topic.partitions,
                    offsets_retention=config.broker.offsets_retention,
                    consumers=group,
                    committed_at_start=first,
                ),
                *(
                    Consumer(
                        config.consumer,
                        topic,
                        name,
                        tuple(p for p, o in enumerate(owners) if o == name) if group else None,
                        first,
                    )
                    for name in members
                ),
                Sink(config.sink_upsert, config.sink_dedup),
            ]
        super().__init__(
            actors,
            network=FifoNetwork(),
            budget=config.budget,
            crash_notices=brokers.crash_notices,
            properties=lambda system: contracts(system, config.records, topic, by_record=added),
            topology=_topology([actor.name for actor in actors]),
            crash_groups=brokers.crash_groups,
            reconnects=[
                pair
                for broker in brokers.actors
                if broker.name.startswith("broker")
                for pair in (("producer", broker.name), (broker.name, "producer"))
            ],
        )

    def loss_class(self, sender: str, receiver: str, message: Hashable) -> str | None:
        """Only the ZooKeeper controller's LeaderAndIsr requests to a broker may be lost."""
        if self.config.broker.zookeeper and isinstance(message, LeaderAndIsr):
            return "leader-and-isr-loss"
        return None

    def break_class(self, sender: str, receiver: str) -> str | None:
        touches_client = sender in CLIENT_LINKS or receiver in CLIENT_LINKS
        touches_broker = sender.startswith("broker") or receiver.startswith("broker")
        return "break" if touches_client and touches_broker else None

    def settings(self) -> dict:
        return {**super().settings(), "records": self.config.records}


def _topology(names: list[str]) -> dict[str, list[str]]:
    """Who sends to whom: clients and brokers both ways, the controller to brokers and
    clients, the source and the sink only to their application."""
    brokers = [name for name in names if name.startswith("broker")]
    clients = [name for name in CLIENT_LINKS if name in names]
    talks = {
        "source": ["producer"],
        "producer": [*brokers, "controller", "source"],
        "controller": [*brokers, *clients],
        "coordinator": list(CONSUMERS),
        "sink": list(CONSUMERS),
    }
    talks.update({name: [*brokers, "controller", "coordinator", "sink"] for name in CONSUMERS})
    talks.update({broker: [*brokers, *clients, "controller"] for broker in brokers})
    return {name: [to for to in talks[name] if to in names and to != name] for name in names}
