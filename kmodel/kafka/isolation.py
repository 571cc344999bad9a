"""Reading a transactional partition log as a consumer does.

A transaction's records stay open until its producer id's next control
marker: COMMIT makes them readable, ABORT discards them (Kafka's aborted
transaction index). The last stable offset (LSO) is the first offset of the
earliest open transaction; a `read_committed` consumer reads committed
records below it, a `read_uncommitted` one every record up to the high
watermark. The leader serves a fetch up to that bound with the aborted
transactions it overlaps, and the consumer drops their records and every
control marker (`consumable`), as Kafka's fetcher does.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from kmodel.kafka.messages import Entry


class DataRecord(NamedTuple):
    offset: int
    entry: Entry
    status: str  # committed | aborted | open
    decided_by: int  # the attempt of the marker that decided it (0 while open)


class LogView(NamedTuple):
    records: tuple[DataRecord, ...]
    last_stable_offset: int


@lru_cache(maxsize=4096)
def read_log(log: tuple[Entry, ...]) -> LogView:
    """Every data record with its transaction's outcome so far, and the LSO. Cached: every
    contract reads the same logs of a state, and most states share their logs."""
    decided: dict[int, tuple[str, int]] = {}
    open_by_producer: dict[int, list[int]] = {}
    for offset, entry in enumerate(log):
        if not entry.control:
            if entry.transactional:
                open_by_producer.setdefault(entry.producer_id, []).append(offset)
            else:
                decided[offset] = ("committed", 0)  # outside transactions: readable at once
            continue
        status = "committed" if entry.control == "COMMIT" else "aborted"
        for member in open_by_producer.pop(entry.producer_id, []):
            decided[member] = (status, entry.transaction)
    firsts = [offsets[0] for offsets in open_by_producer.values()]
    records = tuple(
        DataRecord(offset, entry, *decided.get(offset, ("open", 0)))
        for offset, entry in enumerate(log)
        if not entry.control
    )
    return LogView(records, min(firsts, default=len(log)))


@lru_cache(maxsize=4096)
def visible(view: LogView, isolation: str) -> tuple[DataRecord, ...]:
    """The records a consumer with this `isolation.level` can read now."""
    if isolation == "read_uncommitted":
        return view.records
    return tuple(
        r for r in view.records if r.status == "committed" and r.offset < view.last_stable_offset
    )


def stable_end(log: tuple[Entry, ...], high_watermark: int, read_committed: bool) -> int:
    """Where a fetch of this isolation level stops: the high watermark, or the LSO below it."""
    if not read_committed:
        return high_watermark
    return min(high_watermark, read_log(log).last_stable_offset)


def aborted_transactions(
    log: tuple[Entry, ...], start: int, end: int
) -> tuple[tuple[int, int], ...]:
    """The aborted transactions with records in [start, end), as (producer id, first
    offset): what the leader's aborted transaction index answers a read_committed fetch."""
    first_open: dict[int, int] = {}
    aborted = []
    for offset, entry in enumerate(log):
        if not entry.control:
            if entry.transactional:
                first_open.setdefault(entry.producer_id, offset)
            continue
        first = first_open.pop(entry.producer_id, offset)
        if entry.control == "ABORT" and first < end and offset >= start:
            aborted.append((entry.producer_id, first))
    return tuple(aborted)


def consumable(
    offset: int, entries: tuple[Entry, ...], aborted: tuple[tuple[int, int], ...]
) -> tuple[tuple[int, int], ...]:
    """The (offset, record) pairs a consumer hands to the application from fetched entries
    that start at `offset`: control markers are never returned, and a producer's records
    from the first offset of one of its aborted transactions to its ABORT marker are
    dropped (`aborted` is empty for read_uncommitted)."""
    starts = sorted(aborted, key=lambda pair: pair[1])
    dropping: set[int] = set()
    kept = []
    for position, entry in enumerate(entries, start=offset):
        while starts and starts[0][1] <= position:
            dropping.add(starts.pop(0)[0])
        if entry.control:
            if entry.control == "ABORT":
                dropping.discard(entry.producer_id)
        elif not (entry.transactional and entry.producer_id in dropping):
            kept.append((position, entry.record))
    return tuple(kept)
