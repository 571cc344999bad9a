"""KIP-320 on the consumer's side: a fetch names the leader epoch the consumer knows,
and after a leader change the consumer validates its position with
OffsetsForLeaderEpoch before it fetches again; a consumer from before it does not."""

import dataclasses

import pytest

from kmodel.core.actors import Out
from kmodel.kafka.broker import Broker, ReplicaState
from kmodel.kafka.config import DEFAULT_BROKER, ConsumerConfig
from kmodel.kafka.consumer import AWAIT_VALIDATION, FETCHING, VALIDATING, Consumer
from kmodel.kafka.messages import (
    Entry,
    Fetch,
    FetchResponse,
    MetadataRequest,
    OffsetsForLeaderEpoch,
    OffsetsForLeaderEpochResponse,
    UpdateMetadata,
)
from kmodel.kafka.topic import Topic

TOPIC = Topic("topic", 1, 2)


def consumer(validate: bool) -> Consumer:
    config = ConsumerConfig(
        auto_commit=False,
        offset_reset="earliest",
        commit="after-processing",
        commit_async=False,
        read_committed=False,
        process_after_failed_commit=False,
        worker_pool=False,
        retry_async_commits=False,
        validate_positions=validate,
        sink_give_up=False,
    )
    return Consumer(config, TOPIC)


def after_failover(validate: bool):
    """A consumer that read r1 and r2 (offsets 0 and 1, leader epoch 0) from broker 0 and
    now hears that broker 1 leads in epoch 1."""
    reader = consumer(validate)
    state = reader.first_state()._replace(
        positions=(2,), offset_epochs=(0,), processed=((0, 0), (0, 1)), asking=(1,)
    )
    state = reader.on_message(state, "controller", UpdateMetadata(1, 1, "topic-0"), Out())
    return reader, state


def test_a_new_leader_epoch_makes_the_consumer_validate_before_it_fetches() -> None:
    reader, state = after_failover(validate=True)
    assert state.validation == (AWAIT_VALIDATION,)
    out = Out()
    state = reader.on_step(state, ("poll",), out)
    assert out.sends == [("broker1", OffsetsForLeaderEpoch(0, 1))]
    assert state.validation == (VALIDATING,) and state.fetching == (False,)


def validated(end_offset: int):
    """After the failover, the new leader says epoch 0 ends at `end_offset`."""
    reader, state = after_failover(validate=True)
    state = reader.on_step(state, ("poll",), Out())
    answer = OffsetsForLeaderEpochResponse(end_offset=end_offset, leader_epoch=0)
    return reader, reader.on_message(state, "broker1", answer, Out())


def test_a_log_cut_under_the_position_moves_it_to_where_the_logs_diverge() -> None:
    reader, state = validated(end_offset=1)
    assert (state.positions, state.validation, state.truncations) == ((1,), (FETCHING,), 1)
    out = Out()
    reader.on_step(state, ("poll",), out)
    assert out.sends == [("broker1", Fetch(1, 1, False, 0))]


def test_a_position_the_new_leader_holds_stays() -> None:
    _, state = validated(end_offset=2)
    assert (state.positions, state.validation, state.truncations) == ((2,), (FETCHING,), 0)


def test_a_refused_validation_asks_for_the_leader_and_validates_again() -> None:
    reader, state = after_failover(validate=True)
    state = reader.on_step(state, ("poll",), Out())
    out = Out()
    refused = OffsetsForLeaderEpochResponse(-1, -1, "FENCED_LEADER_EPOCH")
    state = reader.on_message(state, "broker1", refused, out)
    assert state.validation == (AWAIT_VALIDATION,)
    assert out.sends == [("controller", MetadataRequest("topic-0"))]


def test_before_kip_320_the_consumer_fetches_on_and_hears_only_out_of_range() -> None:
    reader, state = after_failover(validate=False)
    assert state.validation == (FETCHING,)
    out = Out()
    state = reader.on_step(state, ("poll",), out)
    assert out.sends == [("broker1", Fetch(2, -1, False, 0))]  # no epoch named
    out_of_range = FetchResponse(1, (), 1, "OFFSET_OUT_OF_RANGE", 0)
    state = reader.on_message(state, "broker1", out_of_range, Out())
    assert state.positions == (0,)  # auto.offset.reset=earliest: r1 again


@pytest.mark.parametrize(
    ("epoch", "error"),
    [(0, "FENCED_LEADER_EPOCH"), (2, "UNKNOWN_LEADER_EPOCH"), (1, "NONE"), (-1, "NONE")],
)
def test_a_leader_checks_the_epoch_a_consumer_fetch_names(epoch: int, error: str) -> None:
    config = dataclasses.replace(DEFAULT_BROKER, replicas=2)
    leader = Broker(1, config, TOPIC, verify=False)
    state = ReplicaState(
        log=(Entry(1, 0, -1, 0),), role="leader", leader=1, leader_epoch=1, high_watermark=1
    )
    out = Out()
    leader.on_message(state, "consumer", Fetch(0, epoch, False), out)
    [(to, answer)] = out.sends
    assert to == "consumer" and answer.error == error
