"""A leader's checks of idempotent and transactional writes: a producer it forgot
(producer.id.expiration.ms) under each broker generation, and the lowest sequence
number it waits for while verifying a transaction (KIP-890)."""

import dataclasses

import pytest

from kmodel.core.actors import Out
from kmodel.kafka.broker import Broker, ReplicaState
from kmodel.kafka.config import DEFAULT_BROKER
from kmodel.kafka.messages import Entry, ProduceRequest, ProduceResponse, VerifyTxn
from kmodel.kafka.producer_state import ProducerEntry, check_write
from kmodel.kafka.topic import Topic


@pytest.mark.parametrize(
    ("sequence", "before_2_5", "answer"),
    [(3, False, ("", -1)), (3, True, ("UNKNOWN_PRODUCER_ID", -1)), (0, True, ("", -1))],
)
def test_a_producer_the_leader_does_not_know(sequence, before_2_5, answer) -> None:
    assert check_write(None, 0, sequence, unknown_producer_error=before_2_5) == answer


def test_only_a_marker_left_of_the_epoch() -> None:
    marker_only = ProducerEntry(epoch=1, last_sequence=-1, open=False, recent=())
    assert check_write(marker_only, 1, 2)[0] == "OUT_OF_ORDER_SEQUENCE_NUMBER"
    assert check_write(marker_only, 1, 2, unknown_producer_error=True)[0] == "UNKNOWN_PRODUCER_ID"


def leader(**changes) -> Broker:
    config = dataclasses.replace(DEFAULT_BROKER, **changes)
    return Broker(0, config, Topic("topic", 1, 1), verify=True)


LEADING = ReplicaState(role="leader", leader=0, isr=(0,), follower_end=(0,), told_hw=(-1,))
WRITTEN = LEADING._replace(log=(Entry(1, 7, 0, 0),), high_watermark=1)


def produce(broker: Broker, state: ReplicaState, request: ProduceRequest):
    out = Out()
    return broker.on_message(state, "producer", request, out), out.sends


@pytest.mark.parametrize(
    ("after_delivery_timeout", "written_twice"), [(False, True), (True, False)]
)
def test_a_retry_after_the_leader_forgot_the_producer(
    after_delivery_timeout, written_twice
) -> None:
    broker = leader(
        producer_expiries=True, producer_expiry_after_delivery_timeout=after_delivery_timeout
    )
    step = ("expire-producer", 7)
    assert step in list(broker.steps(WRITTEN))
    forgot = broker.on_step(WRITTEN, step, Out())
    assert forgot.forgotten == ((7, 1),)
    retry = ProduceRequest(1, 7, 0, 1, "1", session=1)
    state, sends = produce(broker, forgot, retry)
    assert (len(state.log) == 2) is written_twice
    assert sends == [("producer", ProduceResponse(1, 1, 1, "NONE", len(state.log) - 1, 0, 0))]


def test_verification_holds_back_a_higher_sequence() -> None:
    broker = leader()
    first = ProduceRequest(2, 7, 1, 0, "all", session=1, transactional_id="app")
    lower = dataclasses.replace(first, record=1, sequence=0)
    state, sends = produce(broker, LEADING, first)
    assert sends == [("txn-coordinator", VerifyTxn("app", 7, 0, "topic-0"))]
    state, _ = produce(broker, state, lower)
    assert state.verification == ((7, 0, 0),)
    # The coordinator confirms: the batch with sequence 1 would leave a gap before 0.
    state, sends = produce(broker, state._replace(verifying=()), first)
    assert sends == [
        ("producer", ProduceResponse(2, 0, 1, "OUT_OF_ORDER_SEQUENCE_NUMBER", -1, 0, 1))
    ]


def test_a_producer_with_an_open_transaction_does_not_expire() -> None:
    open_transaction = WRITTEN._replace(log=(Entry(1, 7, 0, 0, 0, True),))
    steps = list(leader(producer_expiries=True).steps(open_transaction))
    assert not [s for s in steps if s[0] == "expire-producer"]
