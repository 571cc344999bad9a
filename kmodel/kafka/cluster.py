"""The brokers of a topic and their controller: the part every Kafka pipeline shares.

Each broker holds one replica of one partition (`Topic`); the controller elects
the leaders. A crashed broker's session expires at the controller (in ZooKeeper
mode, ZooKeeper first loses its connection and the session expires later), and a power
cut takes down a set of brokers at once (those sharing a rack or a data
centre), each losing what it had not flushed.
"""

from __future__ import annotations

from collections.abc import Hashable
from itertools import combinations
from typing import NamedTuple

from kmodel.core.actors import Actor
from kmodel.kafka.broker import CONTROLLER, Broker
from kmodel.kafka.config import BrokerConfig
from kmodel.kafka.controller import Controller
from kmodel.kafka.messages import SessionExpired, ZooKeeperConnectionLost
from kmodel.kafka.topic import Topic


class Cluster(NamedTuple):
    actors: list[Actor]  # the brokers, then the controller
    crash_notices: dict[str, list[tuple[str, Hashable]]]
    crash_groups: dict[str, list[tuple[str, ...]]]


def cluster(
    config: BrokerConfig, topic: Topic, power_cut: str, verify: bool, first_partitions: int = 0
) -> Cluster:
    """The brokers of `topic` and their controller (the topic having `first_partitions`
    of its partitions at the start; 0: all)."""
    brokers = [Broker(b, config, topic, verify=verify) for b in range(topic.brokers)]
    names = [broker.name for broker in brokers]
    return Cluster(
        actors=[*brokers, Controller(config, topic, first_partitions)],
        crash_notices={name: [(CONTROLLER, _crash_notice(config, name))] for name in names},
        crash_groups={"power-loss": _power_cuts(names, power_cut)},
    )


def _crash_notice(config: BrokerConfig, broker: str) -> Hashable:
    """What the controller hears of a broker's crash: its session expired (KRaft), or
    ZooKeeper lost its connection and the session expires later."""
    if config.zookeeper:
        return ZooKeeperConnectionLost(broker)
    return SessionExpired(broker)


def _power_cuts(brokers: list[str], scope: str) -> list[tuple[str, ...]]:
    """The sets of brokers one power cut may take down: any one, all, or any set at all
    (which brokers share a rack is left open)."""
    sizes = {"one": [1], "all": [len(brokers)]}.get(scope, range(1, len(brokers) + 1))
    return [cut for size in sizes for cut in combinations(brokers, size)]
