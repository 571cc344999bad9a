"""How the KRaft controller changes a partition: ISR, Eligible Leader Replicas, leader.

One function, as Kafka's `PartitionChangeBuilder.build` is one: every change
of the partition (a broker fenced, an AlterPartition, a registration after an
unclean shutdown, a broker back) goes through it, so the ELR and the leader
follow the ISR the same way whatever changed it.

With Eligible Leader Replicas (KIP-966, `eligible.leader.replicas.version=1`)
the ISR may become empty. While it has fewer than min.insync.replicas members
the replicas that leave it join the ELR (the HW cannot advance meanwhile, so
they hold everything committed), unless they had an unclean shutdown. An
election takes an ISR member, else an unfenced ELR member, else the last known
leader once it is back (an unclean election). Without ELR the last member of
the ISR stays in it, however it shut down.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from kmodel.kafka.config import BrokerConfig

NO_LEADER = -1


class PartitionRegistration(NamedTuple):
    """The partition as the controller's metadata log holds it."""

    leader: int
    isr: tuple[int, ...]
    elr: tuple[int, ...] = ()
    last_known_leader: int = NO_LEADER  # Kafka's LastKnownElr, holding the last leader


class PartitionChange(NamedTuple):
    partition: PartitionRegistration
    unclean: bool  # the new leader was not known to hold every committed record


def change_partition(
    config: BrokerConfig,
    replicas: Sequence[int],
    current: PartitionRegistration,
    target_isr: tuple[int, ...],
    acceptable: Callable[[int], bool],
    unclean_shutdown: int = NO_LEADER,
) -> PartitionChange:
    """The partition (held by `replicas`) after asking for `target_isr`; `acceptable` says
    which brokers may lead (registered, unfenced); `unclean_shutdown` names a broker that
    lost its ISR and ELR places by shutting down uncleanly."""
    elr_enabled = config.eligible_leader_replicas
    elr = _target_elr(config, current, target_isr, unclean_shutdown)

    def valid(replica: int) -> bool:
        in_sync = replica in target_isr or (not target_isr and replica in elr)
        return in_sync and acceptable(replica)

    leader, unclean = _elect(config, replicas, current, target_isr, elr, valid, acceptable)
    isr = target_isr if target_isr or elr_enabled else current.isr
    if leader != current.leader and leader in elr:
        isr, elr = (leader,), tuple(b for b in elr if b != leader)
    if unclean:
        isr, elr = (leader,), ()
    last_known = current.last_known_leader
    if elr_enabled and not isr and current.isr and current.leader != NO_LEADER:
        last_known = current.leader  # the first time the partition has no leader
    elif leader != NO_LEADER:
        last_known = NO_LEADER
    partition = PartitionRegistration(leader, isr, elr if elr_enabled else (), last_known)
    return PartitionChange(partition, unclean)


def _target_elr(
    config: BrokerConfig,
    current: PartitionRegistration,
    target_isr: tuple[int, ...],
    unclean_shutdown: int,
) -> tuple[int, ...]:
    """The ELR: empty at min.insync.replicas members or more, else whoever was in the ISR
    or ELR and is not in the new ISR, but no replica that shut down uncleanly."""
    if not config.eligible_leader_replicas or len(target_isr) >= config.min_insync:
        return ()
    candidates = (set(current.elr) | set(current.isr)) - set(target_isr) - {unclean_shutdown}
    return tuple(sorted(candidates))


def _elect(
    config: BrokerConfig,
    replicas: Sequence[int],
    current: PartitionRegistration,
    target_isr: tuple[int, ...],
    elr: tuple[int, ...],
    valid: Callable[[int], bool],
    acceptable: Callable[[int], bool],
) -> tuple[int, bool]:
    """The leader and whether its election was unclean (`electAnyLeader`)."""
    if current.leader != NO_LEADER and valid(current.leader):
        return current.leader, False
    clean = next((b for b in replicas if valid(b)), NO_LEADER)
    if clean != NO_LEADER:
        return clean, False
    last_known = current.last_known_leader
    if (
        config.eligible_leader_replicas
        and not target_isr
        and not elr
        and last_known != NO_LEADER
        and acceptable(last_known)
    ):
        return last_known, True
    if config.unclean_election:
        unclean = next((b for b in replicas if acceptable(b)), NO_LEADER)
        return unclean, unclean != NO_LEADER
    return NO_LEADER, False
