"""Committed offsets that expire: before KIP-211 even while the group consumes, since
KIP-211 only once the group has no member."""

from __future__ import annotations

import pytest

from kmodel.core.actors import Out
from kmodel.kafka.coordinator import GroupCoordinator
from kmodel.kafka.messages import OffsetCommit

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
