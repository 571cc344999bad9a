"""A follower replica under each truncation generation: when it truncates, what it
asks, and how a leader answers a follower of another epoch (KIP-320)."""

import dataclasses

import pytest

from kmodel.core.actors import Out
from kmodel.kafka.broker import Broker, ReplicaState
from kmodel.kafka.config import DEFAULT_BROKER
from kmodel.kafka.messages import (
    Entry,
    Fetch,
    FetchResponse,
    LeaderAndIsr,
    OffsetsForLeaderEpoch,
    OffsetsForLeaderEpochResponse,
)
from kmodel.kafka.topic import Topic


def broker(number: int, truncation: str) -> Broker:
    config = dataclasses.replace(DEFAULT_BROKER, replicas=2, truncation=truncation)
    return Broker(number, config, Topic("topic", 1, config.replicas), verify=False)


FOLLOWING_BROKER0 = ReplicaState(
    log=(Entry(1, 0, -1, 0),), role="follower", leader=0, leader_epoch=0, high_watermark=0
)


def test_before_kip_320_a_new_epoch_under_the_same_leader_keeps_the_log() -> None:
    out = Out()
    state = broker(1, "kip-279").on_message(
        FOLLOWING_BROKER0, "controller", LeaderAndIsr(0, 2, (0,)), out
    )
    assert (state.role, state.leader_epoch, state.log) == ("follower", 2, FOLLOWING_BROKER0.log)
    ignored = broker(1, "kip-279").on_message(
        FOLLOWING_BROKER0, "controller", LeaderAndIsr(-1, 1, (0,)), Out()
    )
    assert ignored == FOLLOWING_BROKER0


def test_kip_320_truncates_again_under_the_same_leader() -> None:
    out = Out()
    state = broker(1, "kip-320").on_message(
        FOLLOWING_BROKER0, "controller", LeaderAndIsr(0, 2, (0,)), out
    )
    assert state.role == "truncating"
    assert out.sends == [("broker0", OffsetsForLeaderEpoch(0, 2))]


@pytest.mark.parametrize(
    ("current_epoch", "error"),
    [(1, "FENCED_LEADER_EPOCH"), (3, "UNKNOWN_LEADER_EPOCH"), (2, "NONE")],
)
def test_kip_320_leader_answers_a_follower_of_another_epoch(current_epoch, error) -> None:
    leader = ReplicaState(
        log=(Entry(1, 0, -1, 0),),
        role="leader",
        leader=0,
        leader_epoch=2,
        isr=(0, 1),
        follower_end=(1, 0),
        told_hw=(-1, -1),
    )
    out = Out()
    broker(0, "kip-320").on_message(leader, "broker1", OffsetsForLeaderEpoch(0, current_epoch), out)
    [(_, answer)] = out.sends
    assert answer.error == error
    out = Out()
    broker(0, "kip-320").on_message(leader, "broker1", Fetch(0, current_epoch, True), out)
    fetched = [m for _, m in out.sends if isinstance(m, FetchResponse)]
    assert [m.error for m in fetched] == [error]


def test_follower_retries_unknown_epoch_and_waits_when_fenced() -> None:
    truncating = FOLLOWING_BROKER0._replace(role="truncating", leader_epoch=2, fetching=True)
    out = Out()
    unknown = OffsetsForLeaderEpochResponse(-1, -1, "UNKNOWN_LEADER_EPOCH")
    broker(1, "kip-320").on_message(truncating, "broker0", unknown, out)
    assert out.sends == [("broker0", OffsetsForLeaderEpoch(0, 2))]
    out = Out()
    fenced = OffsetsForLeaderEpochResponse(-1, -1, "FENCED_LEADER_EPOCH")
    state = broker(1, "kip-320").on_message(truncating, "broker0", fenced, out)
    assert out.sends == [] and not state.fetching


def test_kip_101_answer_carries_no_epoch_and_kip_279_does() -> None:
    leader = ReplicaState(log=(Entry(1, 0, -1, 0),), role="leader", leader=0, leader_epoch=3)
    for truncation, epoch in (("kip-101", -1), ("kip-279", 0)):
        out = Out()
        broker(0, truncation).on_message(leader, "broker1", OffsetsForLeaderEpoch(1, -1), out)
        assert out.sends == [("broker1", OffsetsForLeaderEpochResponse(1, epoch))]
