"""Random consumer-side fault mixes against a correct at-least-once consumer (process,
then commit; earliest reset; Kafka's handling of failed and retriable commits): no
record is lost or skipped and the committed offset never goes back, whatever faults
hypothesis picks (within small bounds), with the consumer alone in its group or one
of two members. `-m slow` draws five times as many mixes."""

from __future__ import annotations

import pytest
from fault_mixes import check_safety_holds as check_faults
from fault_mixes import with_faults
from hypothesis import given, settings
from hypothesis import strategies as st

from kmodel.kafka.config import CONSUMER_FAULTS

SAFETY = ("no-loss", "no-skip", "committed-never-back")
FAULT_MIXES = st.lists(st.sampled_from(CONSUMER_FAULTS), min_size=1, max_size=2, unique=True)


def at_least_once(faults: list[str], commit_mode: str, members: int) -> dict:
    changes = {
        "consumer": {"auto.offset.reset": "earliest", "enable.auto.commit": False},
        "application": {"commit.mode": commit_mode},
        "bounds": {"records": 1, "consumers": members},
    }
    return with_faults(changes, faults)


def check_safety_holds(faults: list[str], commit_mode: str, members: int) -> None:
    check_faults(at_least_once(faults, commit_mode, members), SAFETY, faults)


MODES = st.sampled_from(["sync", "async"])
MEMBERS = st.sampled_from([1, 2])


@settings(max_examples=8, deadline=None)
@given(faults=FAULT_MIXES, commit_mode=MODES, members=MEMBERS)
def test_correct_at_least_once_consumer_under_random_faults(faults, commit_mode, members) -> None:
    check_safety_holds(faults, commit_mode, members)


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(faults=FAULT_MIXES, commit_mode=MODES, members=MEMBERS)
def test_correct_at_least_once_consumer_under_more_random_faults(
    faults, commit_mode, members
) -> None:
    check_safety_holds(faults, commit_mode, members)
