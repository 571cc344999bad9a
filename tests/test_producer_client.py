"""The idempotent producer's bookkeeping of a partition's batches: a new batch waits
behind one waiting to be sent again, batches held back go once the one they waited for
fails, and UNKNOWN_PRODUCER_ID under each client generation."""

import pytest

from kmodel.core.actors import Out
from kmodel.kafka.config import ProducerConfig
from kmodel.kafka.messages import ProduceRequest, ProduceResponse, SourceRecord
from kmodel.kafka.producer import Batch, Producer
from kmodel.kafka.topic import Topic


def producer(bump_epoch: bool = True) -> Producer:
    config = ProducerConfig("all", 2, 5, True, bump_epoch_on_unknown_producer=bump_epoch)
    return Producer(
        config,
        Topic("topic", 1, 1),
        commit_before_send=False,
        resend_on_failure=False,
        max_resends=0,
    )


def sent(out: Out) -> list[ProduceRequest]:
    return [message for _, message in out.sends if isinstance(message, ProduceRequest)]


def test_a_new_batch_waits_behind_one_waiting_for_its_leader() -> None:
    waiting = Batch(1, 0, 0, 1, 0, waiting_metadata=True)
    state = (
        producer().initial_state()._replace(batches=(waiting,), next_sequences=(1,), reading=True)
    )
    out = Out()
    state = producer().on_message(state, "source", SourceRecord(1, 2), out)
    assert sent(out) == []
    assert [(b.record, b.waiting_metadata) for b in state.batches] == [(1, True), (2, True)]


def test_held_back_batches_go_once_the_earlier_one_fails() -> None:
    earlier = Batch(1, 0, 0, 1, 0, broker=0)
    held = Batch(2, 1, 1, 0, 0, broker=0, held_back=True)
    state = (
        producer()
        .initial_state()
        ._replace(batches=(earlier, held), next_sequences=(2,), next_position=2, reading=True)
    )
    out = Out()
    refused = ProduceResponse(1, 1, 1, "INVALID_PRODUCER_EPOCH", -1, 0, 0)
    state = producer().on_message(state, "broker0", refused, out)
    assert [(r.record, r.sequence) for r in sent(out)] == [(2, 1)]
    assert state.failed == (1,)


@pytest.mark.parametrize(
    ("bump_epoch", "acked_offset", "log_start", "retried"),
    [
        (True, 0, 0, (1, 0)),  # KIP-360: a new epoch, sequences from 0
        (False, -1, 0, (0, 0)),  # 1.0-2.4: nothing acknowledged, start again at 0
        (False, 0, 1, (0, 0)),  # 1.0-2.4: retention passed the last acknowledged offset
        (False, 0, 0, None),  # 1.0-2.4: otherwise the send fails
    ],
)
def test_unknown_producer_id_by_client_generation(
    bump_epoch, acked_offset, log_start, retried
) -> None:
    client = producer(bump_epoch)
    batch = Batch(2, 1, 1, 0, 0, broker=0)
    state = client.initial_state()._replace(
        batches=(batch,),
        next_sequences=(2,),
        next_position=2,
        reading=True,
        acked_offsets=(acked_offset,),
    )
    out = Out()
    answer = ProduceResponse(2, 0, 1, "UNKNOWN_PRODUCER_ID", -1, 0, 1, log_start=log_start)
    state = client.on_message(state, "broker0", answer, out)
    if retried is None:
        assert sent(out) == [] and state.failed == (2,)
    else:
        assert [(r.producer_epoch, r.sequence) for r in sent(out)] == [retried]
