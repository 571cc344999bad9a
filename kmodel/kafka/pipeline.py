"""Assemble the non-transactional pipeline: source → producer → partition → consumer → sink."""

from __future__ import annotations

from collections.abc import Hashable
from itertools import combinations

from kmodel.core.network import FifoNetwork
from kmodel.core.schema import Model, Settings
from kmodel.core.world import ActorSystem
from kmodel.kafka.broker import Broker, broker_name
from kmodel.kafka.config import (
    FAULT_BUDGETS,
    SECTIONS,
    PipelineConfig,
    kafka_rules,
    pipeline_config,
)
from kmodel.kafka.consumer import Consumer
from kmodel.kafka.contracts import contracts
from kmodel.kafka.controller import Controller
from kmodel.kafka.coordinator import GroupCoordinator
from kmodel.kafka.messages import LeaderAndIsr, SessionExpired, ZooKeeperConnectionLost
from kmodel.kafka.producer import Producer
from kmodel.kafka.sink import Sink
from kmodel.kafka.source import Source
from kmodel.kafka.topic import Topic

CLIENT_LINKS = ("producer", "consumer")


class Pipeline(ActorSystem):
    """The pipeline's actors on TCP-like connections. Network failures break the
    connections of the clients to the brokers, where Kafka's clients live with them.
    A power cut takes down any set of brokers at once (those sharing a rack or a data
    centre), each losing what it had not flushed."""

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        topic = Topic("topic", 1, config.broker.replicas)
        brokers = [Broker(b, config.broker, topic, verify=False) for b in range(topic.brokers)]
        actors = [
            Source(config.records),
            Producer(
                config.producer,
                commit_before_send=config.source_commit_before_send,
                resend_on_failure=config.resend_on_failure,
                max_resends=1,
            ),
            *brokers,
            Controller(config.broker, topic, clients=CLIENT_LINKS[: 1 + config.consumers]),
        ]
        if config.consumers:
            actors += [
                GroupCoordinator(),
                Consumer(config.consumer),
                Sink(config.sink_upsert, config.sink_dedup),
            ]
        super().__init__(
            actors,
            network=FifoNetwork(),
            budget=config.budget,
            crash_notices={
                b.name: [("controller", _crash_notice(config, b.name))] for b in brokers
            },
            properties=lambda system: contracts(system, config.records, config.broker.replicas),
            topology=_topology([actor.name for actor in actors]),
            crash_groups={"power-loss": _power_cuts([b.name for b in brokers], config.power_cut)},
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


def _crash_notice(config: PipelineConfig, broker: str) -> Hashable:
    """What the controller hears of a broker's crash: its session expired (KRaft), or
    ZooKeeper lost its connection and the session expires later."""
    if config.broker.zookeeper:
        return ZooKeeperConnectionLost(broker)
    return SessionExpired(broker)


def _topology(names: list[str]) -> dict[str, list[str]]:
    """Who sends to whom: clients and brokers both ways, the controller to brokers and
    clients, the source and the sink only to their application."""
    brokers = [name for name in names if name.startswith("broker")]
    clients = [name for name in CLIENT_LINKS if name in names]
    talks = {
        "source": ["producer"],
        "producer": [*brokers, "controller", "source"],
        "controller": [*brokers, *clients],
        "coordinator": ["consumer"],
        "consumer": [*brokers, "controller", "coordinator", "sink"],
        "sink": ["consumer"],
    }
    talks.update({broker: [*brokers, *clients, "controller"] for broker in brokers})
    return {name: [to for to in talks[name] if to in names and to != name] for name in names}


def _power_cuts(brokers: list[str], scope: str) -> list[tuple[str, ...]]:
    """The sets of brokers one power cut may take down: any one, all, or any set at all
    (which brokers share a rack is left open)."""
    sizes = {"one": [1], "all": [len(brokers)]}.get(scope, range(1, len(brokers) + 1))
    return [cut for size in sizes for cut in combinations(brokers, size)]


def build_pipeline(settings: Settings) -> Pipeline:
    return Pipeline(pipeline_config(settings))


PIPELINE = Model(
    name="kafka-pipeline",
    summary="Source → producer → partition replicas → consumer → sink, without transactions",
    sections=SECTIONS,
    build=build_pipeline,
    rules=kafka_rules,
    budget_bounds={key: f"bounds.{bound}" for bound, key in FAULT_BUDGETS.items()},
)

__all__ = ["PIPELINE", "Pipeline", "broker_name", "build_pipeline"]
