"""Committed offsets that expire: before KIP-211 even while the group consumes, since
KIP-211 only once the group has no member."""

from __future__ import annotations

import pytest

from kmodel.core.actors import Out
from kmodel.kafka.coordinator import GroupCoordinator, sticky_assignment
from kmodel.kafka.messages import (
    JoinGroup,
    JoinGroupResponse,
    OffsetCommit,
    RebalanceInProgress,
)

RETENTION = ("retention",)


def _committed(retention: str):
    coordinator = GroupCoordinator(offsets_retention=retention)
    state = coordinator.first_state()
    assert RETENTION not in coordinator.steps(state)  # nothing committed: nothing to expire
    state = coordinator.on_message(state, "consumer", OffsetCommit((1,), state.generation), Out())
    assert state.committed == (1,)
    assert coordinator.step_fault(state, RETENTION) == "offset-expiry"
    return coordinator, state


@pytest.mark.parametrize(("retention", "kept"), [("since-commit", (-1,)), ("group-empty", (1,))])
def test_retention_passing_while_the_group_has_a_member(retention: str, kept) -> None:
    coordinator, state = _committed(retention)
    assert RETENTION in coordinator.steps(state)
    assert coordinator.on_step(state, RETENTION, Out()).committed == kept


def test_an_empty_group_loses_its_offsets_under_kip_211() -> None:
    coordinator, state = _committed("group-empty")
    state = coordinator.on_step(state, ("evict",), Out())
    assert not state.member
    assert coordinator.on_step(state, RETENTION, Out()).committed == (-1,)


@pytest.mark.parametrize(
    ("owners", "live", "partitions", "assignment"),
    [
        ((), ("consumer", "consumer-2"), 1, ("consumer",)),
        ((), ("consumer", "consumer-2"), 2, ("consumer", "consumer-2")),
        (("consumer", "consumer-2"), ("consumer-2",), 2, ("consumer-2", "consumer-2")),
        (("consumer-2", "consumer-2"), ("consumer", "consumer-2"), 2, ("consumer-2", "consumer")),
        (("consumer",), ("consumer", "consumer-2"), 1, ("consumer",)),
        (("consumer",), (), 1, ("",)),
    ],
)
def test_a_sticky_assignment_keeps_live_owners_and_balances(
    owners, live, partitions, assignment
) -> None:
    assert sticky_assignment(owners, live, partitions) == assignment


def test_a_group_of_two_gives_an_evicted_members_partition_to_the_other() -> None:
    """The eager protocol's two phases: the live member hears of the rebalance, rejoins
    (committing meanwhile in its generation), and only then is a new generation formed."""
    coordinator = GroupCoordinator(consumers=("consumer", "consumer-2"))
    state = coordinator.first_state()
    assert state.owners == ("consumer",)
    out = Out()
    state = coordinator.on_step(state, ("evict", "consumer"), out)
    assert out.sends == [("consumer-2", RebalanceInProgress())]
    assert (state.live, state.generation, state.rebalancing) == (("consumer-2",), 1, True)
    out = Out()
    coordinator.on_message(state, "consumer-2", OffsetCommit((-1,), 1), out)
    assert out.sends[0][1].error == "NONE"
    out = Out()
    state = coordinator.on_message(state, "consumer-2", JoinGroup(), out)
    assert (state.owners, state.generation, state.rebalancing) == (("consumer-2",), 2, False)
    assert out.sends == [("consumer-2", JoinGroupResponse(2, 0, (0,)))]
    # The evicted member's commit is refused; rejoining starts a rebalance of its own.
    out = Out()
    state = coordinator.on_message(state, "consumer", OffsetCommit((1,), 1), out)
    assert out.sends[0][1].error == "ILLEGAL_GENERATION"
    out = Out()
    state = coordinator.on_message(state, "consumer", JoinGroup(), out)
    assert out.sends == [("consumer-2", RebalanceInProgress())]
    out = Out()
    state = coordinator.on_message(state, "consumer-2", JoinGroup(), out)
    assert state.generation == 3 and state.owners == ("consumer-2",)
    assert ("consumer", JoinGroupResponse(3, 0, ())) in out.sends
