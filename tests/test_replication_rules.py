"""The ISR and HW rules of the leader, the controller's ISR, ELR and elections, and
power cuts that take several actors down in one fault."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.core.bfs import check_bfs
from kmodel.core.result import Status
from kmodel.core.system import Property
from kmodel.core.world import ActorSystem
from kmodel.kafka.config import DEFAULT_BROKER, BrokerConfig
from kmodel.kafka.controller import Controller, ControllerState
from kmodel.kafka.election import PartitionRegistration, change_partition
from kmodel.kafka.isr import follower_in_sync, high_watermark_may_advance, high_watermark_waits_for
from kmodel.kafka.messages import (
    AlterPartition,
    AlterPartitionResponse,
    BrokerRegistration,
    BrokerRegistrationResponse,
    SessionExpired,
)
from kmodel.kafka.topic import Topic

TODAY = dataclasses.replace(DEFAULT_BROKER, replicas=2, min_insync=2, power_failures=True)


def older(**changes: bool) -> BrokerConfig:
    return dataclasses.replace(TODAY, **changes)


# -- the leader's rules ---------------------------------------------------------------


def test_a_follower_joins_at_the_hw_and_the_epoch_start_offset() -> None:
    # A new leader whose HW (1) lags its epoch start offset (2): a follower at 1 waits.
    assert not follower_in_sync(TODAY, 1, 1, 2)
    assert follower_in_sync(TODAY, 2, 1, 2)
    assert follower_in_sync(older(isr_join_at_epoch_start=False), 1, 1, 2)
    assert not follower_in_sync(older(isr_join_at_epoch_start=False), 0, 1, 2)


def test_the_hw_waits_for_the_maximal_isr_and_min_insync() -> None:
    assert high_watermark_waits_for(TODAY, (0,), (0, 1)) == (0, 1)
    assert high_watermark_waits_for(older(hw_over_maximal_isr=False), (0,), (0, 1)) == (0,)
    assert not high_watermark_may_advance(TODAY, (0,))
    assert high_watermark_may_advance(TODAY, (0, 1))
    assert high_watermark_may_advance(older(strict_min_isr=False), (0,))


# -- the controller ---------------------------------------------------------------------


def _deliver(controller: Controller, state: ControllerState, sender: str, message):
    out = Out()
    return controller.on_message(state, sender, message, out), out.sends


def _with_broker1_fenced(config: BrokerConfig) -> tuple[Controller, ControllerState]:
    controller = Controller(config, Topic("topic", 1, config.replicas))
    state = controller.initial_state()
    state = state._replace(partitions=(state.partitions[0]._replace(isr=(0,)),))
    state, _ = _deliver(controller, state, "broker1", SessionExpired("broker1"))
    return controller, state


def test_a_fenced_broker_is_ineligible_for_the_isr() -> None:
    """KIP-841: the leader's AlterPartition adding a fenced broker is refused."""
    request = AlterPartition((0, 1), 0, (0, 0))
    controller, state = _with_broker1_fenced(TODAY)
    after, sends = _deliver(controller, state, "broker0", request)
    assert after.partitions[0].isr == (0,)
    assert sends == [("broker0", AlterPartitionResponse((), "INELIGIBLE_REPLICA"))]
    controller, state = _with_broker1_fenced(older(fenced_replicas_join_isr=True))
    after, sends = _deliver(controller, state, "broker0", request)
    assert after.partitions[0].isr == (0, 1) and sends == [
        ("broker0", AlterPartitionResponse((0, 1)))
    ]


def test_an_alter_partition_from_an_earlier_broker_epoch_is_refused() -> None:
    """KIP-903: the fetch that made the leader ask was from broker1's previous life."""
    stale = AlterPartition((0, 1), 0, (0, 0))
    for config, isr in ((TODAY, (0,)), (older(stale_broker_epoch_joins_isr=True), (0, 1))):
        controller, state = _with_broker1_fenced(config)
        state, sends = _deliver(controller, state, "broker1", BrokerRegistration(1))
        assert state.broker_epochs == (0, 1)
        assert isinstance(sends[-1][1], BrokerRegistrationResponse)
        assert sends[-1][1].broker_epoch == 1
        after, _ = _deliver(controller, state, "broker0", stale)
        assert after.partitions[0].isr == isr
    current = AlterPartition((0, 1), 0, (0, 1))
    after, _ = _deliver(controller, state, "broker0", current)
    assert after.partitions[0].isr == (0, 1)


# -- partition changes: ISR, ELR, elections --------------------------------------------


REPLICAS = (0, 1)


def _alive_but(*fenced: int):
    return lambda broker: broker not in fenced


def test_below_min_isr_the_replicas_that_leave_join_the_elr() -> None:
    both = PartitionRegistration(leader=0, isr=(0, 1))
    shrunk = change_partition(TODAY, REPLICAS, both, (0,), _alive_but()).partition
    assert shrunk == PartitionRegistration(0, (0,), elr=(1,))
    grown = change_partition(TODAY, REPLICAS, shrunk, (0, 1), _alive_but()).partition
    assert grown.elr == ()
    assert change_partition(
        older(eligible_leader_replicas=False), REPLICAS, both, (0,), _alive_but()
    )[0] == PartitionRegistration(0, (0,))


def test_the_last_isr_member_fenced_leaves_the_isr_and_the_elr_elects() -> None:
    shrunk = PartitionRegistration(0, (0,), elr=(1,))
    change = change_partition(TODAY, REPLICAS, shrunk, (), _alive_but(0))
    assert change == (PartitionRegistration(1, (1,), elr=(0,)), False)
    # Without ELR the last member stays in the ISR and the partition waits for it.
    kept = change_partition(
        older(eligible_leader_replicas=False), REPLICAS, shrunk, (), _alive_but(0)
    )
    assert kept == (PartitionRegistration(-1, (0,)), False)


def test_an_unclean_shutdown_leaves_the_elr_and_the_last_leader_may_come_back() -> None:
    offline = PartitionRegistration(-1, (), elr=(0,), last_known_leader=0)
    after = change_partition(TODAY, REPLICAS, offline, (), _alive_but(0, 1), unclean_shutdown=0)
    assert after == (PartitionRegistration(-1, (), last_known_leader=0), False)
    back = change_partition(TODAY, REPLICAS, after.partition, (), _alive_but(1))
    assert back == (PartitionRegistration(0, (0,)), True)


# -- power cuts --------------------------------------------------------------------------


class Disk(NamedTuple):
    writes: int = 0  # ghost: how often the writer wrote (survives everything)
    cached: int = 0  # written but still in the page cache


class Writer(Actor[Disk]):
    """Writes once to its page cache; a process crash keeps the cache, a power cut not."""

    durable = ("writes", "cached")

    def initial_state(self) -> Disk:
        return Disk()

    def steps(self, state: Disk):
        return ("write",) if not state.writes else ()

    def on_step(self, state: Disk, step, out: Out) -> Disk:
        return state._replace(writes=1, cached=1)

    def after_power_loss(self, state: Disk) -> Disk:
        return state._replace(cached=0)


def _writers(crashes: int, power_cuts: int) -> ActorSystem:
    writers = [Writer("a", kind="writer"), Writer("b", kind="writer")]
    system: ActorSystem

    def both_written_then_lost(world) -> bool:
        states = [system.state_of(world, name) for name in ("a", "b")]
        up = all(system.is_up(world, name) for name in ("a", "b"))
        return up and all(s.writes and not s.cached for s in states)

    system = ActorSystem(
        writers,
        budget={"crash:writer": crashes, "power-loss": power_cuts},
        crash_groups={"power-loss": [("a", "b")]},
        properties=[Property.sometimes("lost-together", both_written_then_lost, "")],
    )
    return system


def test_a_power_cut_takes_a_group_down_in_one_step_and_each_restarts_on_its_own() -> None:
    system = _writers(crashes=0, power_cuts=1)
    result = check_bfs(system)
    assert result.status_of("lost-together") is Status.REACHED
    kinds = [step.kind for step in result.property("lost-together").trace.steps]
    assert kinds.count("crash-group") == 1 and kinds.count("restart") == 2
    cut = next(s for s in result.property("lost-together").trace.steps if s.kind == "crash-group")
    assert cut.label == "power fails at a and b" and cut.fault == "power-loss"


def test_a_power_cut_is_not_a_process_crash() -> None:
    # Two process crashes keep what the page cache holds; no power cut, no loss.
    assert check_bfs(_writers(crashes=2, power_cuts=0)).status_of("lost-together") is (
        Status.UNREACHED
    )
