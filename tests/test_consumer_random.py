"""Random consumer-side fault mixes against a correct at-least-once consumer (process,
then commit; earliest reset; Kafka's handling of failed and retriable commits): no
record is lost or skipped and the committed offset never goes back, whatever faults
hypothesis picks (within small bounds). `-m slow` draws five times as many mixes."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmodel.core.bfs import check_bfs
from kmodel.core.result import Status
from kmodel.kafka.config import CONSUMER_FAULTS
from kmodel.kafka.model import KAFKA

SAFETY = ("no-loss", "no-skip", "committed-never-back")
FAULT_MIXES = st.lists(st.sampled_from(CONSUMER_FAULTS), min_size=1, max_size=2, unique=True)


def at_least_once(faults: list[str], commit_mode: str) -> dict:
    chosen = copy.deepcopy(KAFKA.defaults())
    chosen["consumer"]["auto.offset.reset"] = "earliest"
    chosen["consumer"]["enable.auto.commit"] = False
    chosen["application"]["commit.mode"] = commit_mode
    chosen["bounds"]["records"] = 1
    for fault in faults:
        chosen["bounds"][fault] = 1
    return chosen


def check_safety_holds(faults: list[str], commit_mode: str) -> None:
    result = check_bfs(KAFKA.build(at_least_once(faults, commit_mode)))
    assert result.complete
    verdicts = {p.name: p.status for p in result.properties}
    assert {name: verdicts[name] for name in SAFETY} == dict.fromkeys(SAFETY, Status.HOLDS)
    witnessed = {p.name: p.status for p in result.properties if p.name.startswith("witness:")}
    assert len(witnessed) == len(faults)  # one witness per fault drawn, each reached
    assert set(witnessed.values()) == {Status.REACHED}


@settings(max_examples=6, deadline=None)
@given(faults=FAULT_MIXES, commit_mode=st.sampled_from(["sync", "async"]))
def test_correct_at_least_once_consumer_under_random_faults(faults, commit_mode) -> None:
    check_safety_holds(faults, commit_mode)


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(faults=FAULT_MIXES, commit_mode=st.sampled_from(["sync", "async"]))
def test_correct_at_least_once_consumer_under_more_random_faults(faults, commit_mode) -> None:
    check_safety_holds(faults, commit_mode)
