"""Retention moves a leader's log start offset: what a consumer, a follower and the
producer state see of the deleted records."""

import dataclasses

from kmodel.core.actors import Out
from kmodel.kafka.broker import Broker, ReplicaState
from kmodel.kafka.config import DEFAULT_BROKER
from kmodel.kafka.messages import Entry, Fetch, FetchResponse, ProduceRequest, ProduceResponse
from kmodel.kafka.topic import Topic

LOG = (Entry(1, 7, 0, 0), Entry(2, 7, 1, 0))


def broker(number: int, **changes) -> Broker:
    config = dataclasses.replace(DEFAULT_BROKER, replicas=2, log_retentions=True, **changes)
    return Broker(number, config, Topic("topic", 1, 2), verify=False)


LEADER = ReplicaState(
    log=LOG,
    high_watermark=2,
    role="leader",
    leader=0,
    isr=(0, 1),
    follower_end=(2, 2),
    told_hw=(2, 2),
    replica_epochs=(0, 0),
)


def test_retention_deletes_up_to_the_high_watermark() -> None:
    steps = [s for s in broker(0).steps(LEADER) if s[0] == "retention"]
    assert steps == [("retention", 1), ("retention", 2)]
    assert broker(0).on_step(LEADER, ("retention", 1), Out()).log_start == 1


def test_a_consumer_below_the_log_start_is_out_of_range() -> None:
    deleted = LEADER._replace(log_start=1)
    out = Out()
    broker(0).on_message(deleted, "consumer", Fetch(0, 0, False, session=1), out)
    assert out.sends == [
        ("consumer", FetchResponse(2, (), 2, "OFFSET_OUT_OF_RANGE", 1, log_start=1))
    ]


def test_a_follower_takes_the_leaders_log_start() -> None:
    follower = ReplicaState(log=LOG[:1], role="follower", leader=0, fetching=True)
    answer = FetchResponse(1, LOG[1:], 2, "NONE", log_start=2)
    state = broker(1).on_message(follower, "broker0", answer, Out())
    assert (len(state.log), state.log_start) == (2, 2)


def test_the_producer_state_counts_only_what_the_log_keeps() -> None:
    """Retention before 2.5 brokers: UNKNOWN_PRODUCER_ID, naming the log start offset."""
    deleted = LEADER._replace(log_start=2)
    out = Out()
    next_batch = ProduceRequest(3, 7, 2, 0, "1", session=1)
    broker(0, unknown_producer_id_error=True).on_message(deleted, "producer", next_batch, out)
    assert out.sends == [
        ("producer", ProduceResponse(3, 0, 1, "UNKNOWN_PRODUCER_ID", -1, 0, 2, log_start=2))
    ]
