"""Reading a transactional partition log as a consumer does.

A transaction's records stay open until its producer id's next control
marker: COMMIT makes them readable, ABORT discards them (Kafka's aborted
transaction index). The last stable offset (LSO) is the first offset of the
earliest open transaction; a `read_committed` consumer reads committed
records below it, a `read_uncommitted` one every record up to the high
watermark (here the log end: the partitions have one replica).
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
            open_by_producer.setdefault(entry.producer_id, []).append(offset)
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
