"""The partition leader's ISR rules, as `Partition.scala` applies them, each switchable.

- A follower may join the ISR once its log end offset has reached the HW and
  the leader's epoch start offset, the leader's log end when its leader epoch
  began (`isFollowerInSync`, KAFKA-7128, Kafka 2.0.1 and 2.1+); before, the HW
  sufficed, so a new leader whose HW still lagged could take in a follower
  missing records the previous leader had committed.
- While an AlterPartition is pending the HW waits for the maximal ISR, the
  committed members and the asked-for ones (KIP-497, Kafka 2.7+): the
  controller may already count a joining follower as in sync.
- The HW advances only while the ISR has min.insync.replicas members
  (KAFKA-15583, part of KIP-966, Kafka 3.7+), so a replica that leaves the ISR
  below that size holds everything committed: what the controller's Eligible
  Leader Replicas rely on.
"""

from __future__ import annotations

from kmodel.kafka.config import BrokerConfig


def follower_in_sync(
    config: BrokerConfig, follower_end: int, high_watermark: int, epoch_start: int
) -> bool:
    """Whether a follower whose log ends at `follower_end` may join the ISR."""
    if follower_end < high_watermark:
        return False
    return follower_end >= epoch_start or not config.isr_join_at_epoch_start


def high_watermark_waits_for(
    config: BrokerConfig, isr: tuple[int, ...], requested_isr: tuple[int, ...]
) -> tuple[int, ...]:
    """The replicas whose log ends bound the HW: the maximal ISR, or the committed one."""
    if config.hw_over_maximal_isr:
        return tuple(sorted(set(isr) | set(requested_isr)))
    return isr


def high_watermark_may_advance(config: BrokerConfig, isr: tuple[int, ...]) -> bool:
    """Whether the ISR is large enough for the HW to move (strict min ISR)."""
    return not config.strict_min_isr or len(isr) >= config.min_insync
