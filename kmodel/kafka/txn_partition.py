"""A partition of the output topic, on its leader, with Kafka's transaction support.

It appends transactional batches, keeps per producer id the epoch, the last
sequence and whether a transaction is open, rejects a stale epoch
(INVALID_PRODUCER_EPOCH) and drops a retried sequence. The transaction
coordinator's WriteTxnMarkers append a COMMIT or ABORT marker that closes
the producer's open transaction; the last stable offset and the aborted
transactions follow from the log (`txn_log`).

With partition verification (KIP-890 part 1, `transaction.partition.
verification.enable`) a producer's first write of a transaction waits until
the coordinator confirms that the transaction is ongoing and includes this
partition; without it any write opens a transaction, the coordinator
knowing or not, which is how a late write hangs the partition.

One replica: a leader crash keeps the log and the producer state (Kafka
rebuilds the latter from the log); what waits for verification is lost.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.kafka.txn_messages import (
    TxnEntry,
    TxnProduce,
    TxnProduceResponse,
    VerifyTxn,
    VerifyTxnResponse,
    WriteTxnMarkers,
    WriteTxnMarkersResponse,
)

TXN_COORDINATOR = "txn-coordinator"
VERIFY_RETRY = "retry.backoff.ms"


def partition_name(index: int) -> str:
    return f"output-{index}"


class ProducerEntry(NamedTuple):
    producer_id: int
    epoch: int
    last_sequence: int
    open: bool  # a transaction of this producer is open in the log


class PartitionState(NamedTuple):
    log: tuple[TxnEntry, ...] = ()  # durable
    producers: tuple[ProducerEntry, ...] = ()  # durable (rebuilt from the log in Kafka)
    verifying: tuple[tuple[str, TxnProduce], ...] = ()  # writes waiting for verification


class TxnPartition(Actor[PartitionState]):
    durable = ("log", "producers")

    def __init__(self, index: int, verify: bool) -> None:
        super().__init__(partition_name(index), kind="broker")
        self.verify = verify

    def initial_state(self) -> PartitionState:
        return PartitionState()

    def on_message(self, state: PartitionState, sender: str, message: Hashable, out: Out):
        if isinstance(message, TxnProduce):
            return self._produce(state, sender, message, out, verified=False)
        if isinstance(message, WriteTxnMarkers):
            return self._write_marker(state, sender, message, out)
        if isinstance(message, VerifyTxnResponse):
            return self._verified(state, message, out)
        return state

    def on_connection_lost(self, state: PartitionState, peer: str, out: Out) -> PartitionState:
        if peer == TXN_COORDINATOR and state.verifying:
            out.set_timer(VERIFY_RETRY)  # ask again once the coordinator is back
        return state._replace(verifying=tuple(v for v in state.verifying if v[0] != peer))

    def on_timer(self, state: PartitionState, timer: Hashable, out: Out) -> PartitionState:
        for _, request in state.verifying:
            out.send(TXN_COORDINATOR, _verify_request(request))
        return state

    def describe_timer(self, state: PartitionState, timer: Hashable) -> str:
        return "asks the transaction coordinator again (verification)"

    # -- writes ----------------------------------------------------------------

    def _produce(
        self, state: PartitionState, sender: str, request: TxnProduce, out: Out, verified: bool
    ) -> PartitionState:
        def answer(error: str) -> None:
            out.send(sender, _response(request, error))

        known = _producer(state, request.producer_id)
        if known is not None and request.epoch < known.epoch:
            answer("INVALID_PRODUCER_EPOCH")
            return state
        same_epoch = known is not None and request.epoch == known.epoch
        if same_epoch and request.sequence <= known.last_sequence:
            answer("NONE")  # a retry of a batch already written
            return state
        expected = known.last_sequence + 1 if same_epoch else 0
        if request.sequence != expected:
            answer("OUT_OF_ORDER_SEQUENCE_NUMBER")
            return state
        opens = known is None or not known.open
        if opens and self.verify and not verified:
            out.send(TXN_COORDINATOR, _verify_request(request))
            return state._replace(verifying=state.verifying + ((sender, request),))
        entry = TxnEntry(
            request.record, request.producer_id, request.epoch, request.sequence, request.attempt
        )
        producer = ProducerEntry(request.producer_id, request.epoch, request.sequence, True)
        answer("NONE")
        return state._replace(log=state.log + (entry,), producers=_put(state, producer))

    def _verified(self, state: PartitionState, answer: VerifyTxnResponse, out: Out):
        waiting = [
            (sender, request)
            for sender, request in state.verifying
            if (request.producer_id, request.epoch) == (answer.producer_id, answer.epoch)
        ]
        state = state._replace(verifying=tuple(w for w in state.verifying if w not in waiting))
        for sender, request in waiting:
            if answer.ongoing:
                state = self._produce(state, sender, request, out, verified=True)
            else:
                out.send(sender, _response(request, "INVALID_TXN_STATE"))
        return state

    def _write_marker(
        self, state: PartitionState, sender: str, marker: WriteTxnMarkers, out: Out
    ) -> PartitionState:
        """Close the producer's open transaction; a repeated marker finds none open."""
        out.send(sender, WriteTxnMarkersResponse(marker.producer_id))
        known = _producer(state, marker.producer_id)
        if known is None or marker.epoch < known.epoch:
            return state
        last_sequence = known.last_sequence if marker.epoch == known.epoch else -1
        producer = ProducerEntry(marker.producer_id, marker.epoch, last_sequence, False)
        state = state._replace(producers=_put(state, producer))
        if not known.open:
            return state
        control = "COMMIT" if marker.commit else "ABORT"
        entry = TxnEntry(0, marker.producer_id, marker.epoch, -1, marker.attempt, control)
        return state._replace(log=state.log + (entry,))


def _response(request: TxnProduce, error: str) -> TxnProduceResponse:
    return TxnProduceResponse(
        request.record, request.epoch, request.sequence, request.session, error
    )


def _verify_request(request: TxnProduce) -> VerifyTxn:
    return VerifyTxn(request.transactional_id, request.producer_id, request.epoch)


def _producer(state: PartitionState, producer_id: int) -> ProducerEntry | None:
    return next((p for p in state.producers if p.producer_id == producer_id), None)


def _put(state: PartitionState, producer: ProducerEntry) -> tuple[ProducerEntry, ...]:
    others = [p for p in state.producers if p.producer_id != producer.producer_id]
    return tuple(sorted(others + [producer]))
