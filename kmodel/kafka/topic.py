"""Where a topic's partitions live: their names, and which brokers hold their replicas.

Each broker holds one replica of one partition, so a topic of P partitions
with replication factor R runs on P × R brokers: partition p has brokers
p·R … p·R + R − 1, and the first of them leads at the start. This is an
assignment Kafka itself makes on a cluster that large, and it keeps every
broker's state that of a single replica.
"""

from __future__ import annotations

from typing import NamedTuple


class Topic(NamedTuple):
    name: str
    partitions: int
    replication_factor: int

    def partition_name(self, partition: int) -> str:
        return f"{self.name}-{partition}"

    def partition_names(self) -> tuple[str, ...]:
        return tuple(self.partition_name(p) for p in range(self.partitions))

    def replicas(self, partition: int) -> tuple[int, ...]:
        """The brokers holding `partition`; the first is its leader at the start."""
        first = partition * self.replication_factor
        return tuple(range(first, first + self.replication_factor))

    def partition_of(self, broker: int) -> int:
        return broker // self.replication_factor

    @property
    def brokers(self) -> int:
        return self.partitions * self.replication_factor
