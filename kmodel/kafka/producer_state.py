"""What a partition knows of each producer id, rebuilt from its log as Kafka rebuilds it.

A partition leader checks every idempotent or transactional write against the
producer's state: the latest producer epoch (writes of an older epoch are
fenced), the sequence numbers of its last batches (a retry of one of them is a
duplicate, anything but the next number is out of order) and whether a
transaction of it is open. Kafka keeps this state beside the log and rebuilds it
from the log after a restart or on a new leader; here it is read from the log
every time, so every replica that holds the log holds the state, and it survives
every failover exactly as far as the log does.

A replica counts only the batches from its log start offset on (retention
deletes the rest), and can also forget a producer: once `producer.id.expiration.ms` pass
with no write of it (and no transaction of it open), Kafka drops its entry, so
the replica's state of that producer counts only the batches appended since.
With no state of a producer, a leader of Kafka 2.5 or later accepts its next
batch with any sequence number (KIP-360); earlier leaders answer
UNKNOWN_PRODUCER_ID unless the sequence number is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from kmodel.kafka.messages import Entry, ProduceRequest

DUPLICATE_WINDOW = 5  # batches per producer id the broker remembers to drop retries


class ProducerEntry(NamedTuple):
    epoch: int
    last_sequence: int  # of the current epoch; -1: no batch in it yet
    open: bool  # a transaction of this producer is open in the log
    recent: tuple[tuple[int, int, int], ...]  # (offset, epoch, sequence) of the last batches


def producer_entry(log: Sequence[Entry], producer_id: int, since: int = 0) -> ProducerEntry | None:
    """The state of `producer_id` after `log` counting the batches from offset `since` on,
    or None if there is none of it."""
    entry = None
    for offset, batch in enumerate(log):
        if offset < since or batch.producer_id != producer_id:
            continue
        if entry is None:
            entry = ProducerEntry(batch.producer_epoch, -1, False, ())
        if batch.producer_epoch > entry.epoch:
            entry = ProducerEntry(batch.producer_epoch, -1, False, entry.recent)
        if batch.control:
            entry = entry._replace(open=False)
            continue
        recent = (entry.recent + ((offset, batch.producer_epoch, batch.sequence),))[
            -DUPLICATE_WINDOW:
        ]
        entry = ProducerEntry(entry.epoch, batch.sequence, batch.transactional, recent)
    return entry


def check_write(
    known: ProducerEntry | None, epoch: int, sequence: int, unknown_producer_error: bool = False
) -> tuple[str, int]:
    """Kafka's checks of an idempotent write: ("", offset of the batch it repeats),
    ("", -1) for a new batch, or the error that refuses it. `unknown_producer_error`:
    the leader is older than Kafka 2.5 and refuses to guess a forgotten producer's
    next sequence number."""
    if known is None:
        if sequence == 0 or not unknown_producer_error:
            return "", -1
        return "UNKNOWN_PRODUCER_ID", -1
    if epoch < known.epoch:
        return "INVALID_PRODUCER_EPOCH", -1
    repeated = next((offset for offset, e, s in known.recent if (e, s) == (epoch, sequence)), None)
    if repeated is not None:
        return "", repeated
    if epoch == known.epoch and known.last_sequence < 0 and sequence and unknown_producer_error:
        return "UNKNOWN_PRODUCER_ID", -1  # only a marker of this epoch is left
    expected = known.last_sequence + 1 if epoch == known.epoch else 0
    return ("", -1) if sequence == expected else ("OUT_OF_ORDER_SEQUENCE_NUMBER", -1)


def repeats(log: Sequence[Entry], start: int, end: int, request: ProduceRequest) -> int:
    """The offset in [`start`, `end`) of the batch in `log` that `request` is a retry of,
    or -1. Known by the record it carries (a ghost): a new batch may well reuse the
    producer id, epoch and sequence number of one the leader deleted."""
    key = (request.record, request.producer_id, request.producer_epoch, request.sequence)
    for offset in range(start, min(end, len(log))):
        batch = log[offset]
        if not batch.control and (
            (batch.record, batch.producer_id, batch.producer_epoch, batch.sequence) == key
        ):
            return offset
    return -1
