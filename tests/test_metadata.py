"""Metadata refreshes as Kafka's clients make them: one MetadataRequest on its way per
partition, a refresh wanted meanwhile sent when the answer comes, and a producer that
leaves its in-flight batches where they are when the leader moves."""

from kmodel.core.actors import Out
from kmodel.kafka import metadata
from kmodel.kafka.config import ProducerConfig
from kmodel.kafka.messages import MetadataRequest, ProduceRequest, UpdateMetadata
from kmodel.kafka.producer import Batch, Producer
from kmodel.kafka.topic import Topic

TOPIC = Topic("topic", 1, 2)


def test_a_second_refresh_waits_for_the_request_on_its_way() -> None:
    out = Out()
    asking = metadata.ask(metadata.nothing_asked(2), 1, "topic-1", out)
    assert asking == (metadata.IDLE, metadata.ASKED)
    asking = metadata.ask(asking, 1, "topic-1", out)
    assert asking == (metadata.IDLE, metadata.ASKED_AGAIN)
    assert out.sends == [("controller", MetadataRequest("topic-1"))]


def test_an_answer_sends_the_refresh_wanted_since_and_then_rests() -> None:
    out = Out()
    asking = metadata.answered((metadata.ASKED_AGAIN,), 0, "topic-0", out)
    assert asking == (metadata.ASKED,)
    assert out.sends == [("controller", MetadataRequest("topic-0"))]
    later = Out()
    assert metadata.answered(asking, 0, "topic-0", later) == (metadata.IDLE,)
    assert later.sends == []


def _producer() -> Producer:
    config = ProducerConfig(acks="all", attempts=3, max_in_flight=5, idempotence=True)
    return Producer(config, TOPIC, commit_before_send=False, resend_on_failure=False, max_resends=0)


def test_the_producer_leaves_an_in_flight_batch_alone_when_the_leader_moves() -> None:
    """Kafka's Sender does not resend a batch on its way to a former leader: that
    broker answers NOT_LEADER_OR_FOLLOWER (or the connection breaks) first."""
    producer = _producer()
    on_its_way = Batch(record=1, position=0, sequence=0, attempt=0, resent=0, broker=0)
    state = producer.initial_state()._replace(
        batches=(on_its_way,), asking=(metadata.ASKED,), reading=True
    )
    out = Out()
    state = producer.on_message(state, "controller", UpdateMetadata(1, 1, "topic-0"), out)
    assert state.batches == (on_its_way,) and state.leaders == ((1, 1),)
    assert out.sends == [] and state.asking == (metadata.IDLE,)


def test_the_producer_sends_a_batch_waiting_for_the_leader_to_the_new_one() -> None:
    producer = _producer()
    waiting = Batch(record=1, position=0, sequence=0, attempt=1, resent=0, waiting_metadata=True)
    state = producer.initial_state()._replace(
        batches=(waiting,), asking=(metadata.ASKED,), reading=True
    )
    out = Out()
    state = producer.on_message(state, "controller", UpdateMetadata(1, 1, "topic-0"), out)
    assert [(to, type(m)) for to, m in out.sends] == [("broker1", ProduceRequest)]
    assert not state.batches[0].waiting_metadata and state.batches[0].broker == 1
