"""Where a follower's log stops matching its leader's: Kafka's truncation generations.

A replica that becomes a follower may hold entries its new leader never had. Each
generation of Kafka's replication protocol finds the point to cut them differently:

- ``high-watermark`` (before 0.11): to the follower's own high watermark;
- ``kip-101`` (0.11 to 1.1): the follower asks OffsetsForLeaderEpoch for the epoch of
  its last entry; the leader answers where that epoch ends, and the follower cuts there;
- ``kip-279`` (2.0): the answer names the largest epoch the leader has at or below the
  one asked; a follower that does not have that epoch cuts to where its own earlier
  epoch ends and asks again, until the logs match;
- ``kip-320`` (2.1 and later): KIP-279, with the current leader epoch in Fetch and
  OffsetsForLeaderEpoch, and truncation on every leader epoch change.

The functions here are pure: logs in, offsets out. A replica's epoch cache is read off
the epochs stamped on its entries (plus, for a leader, the epoch it leads).

>>> from kmodel.kafka.messages import Entry
>>> leader = (Entry(1, 0, -1, 0), Entry(2, 0, -1, 0))  # r1, r2 written in epoch 0
>>> follower = (Entry(1, 0, -1, 0), Entry(2, 0, -1, 1))  # r2 rewritten in epoch 1
>>> epoch_end_offset(leader, 1, current_epoch=2)  # epoch 0 is the largest up to 1
(0, 2)
>>> truncation_point(follower, (0, 2), high_watermark=0)  # epoch 0 ends at 1 here
(1, True)
"""

from __future__ import annotations

from kmodel.kafka.messages import Entry

HIGH_WATERMARK = "high-watermark"
KIP_101 = "kip-101"
KIP_279 = "kip-279"
KIP_320 = "kip-320"
GENERATIONS = (HIGH_WATERMARK, KIP_101, KIP_279, KIP_320)
UNDEFINED = -1  # Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET

Log = tuple[Entry, ...]


def latest_epoch(log: Log) -> int:
    """The epoch of the last entry: what a follower asks about (UNDEFINED if empty)."""
    return log[-1].leader_epoch if log else UNDEFINED


def epoch_end_offset(log: Log, requested: int, current_epoch: int) -> tuple[int, int]:
    """The largest epoch at or below `requested` in the epoch cache, and the offset where
    it ends (LeaderEpochFileCache.endOffsetFor); `current_epoch` is the cache's latest."""
    if requested == UNDEFINED or requested > current_epoch:
        return UNDEFINED, UNDEFINED
    if requested == current_epoch:
        return requested, len(log)
    end = next((o for o, e in enumerate(log) if e.leader_epoch > requested), len(log))
    # Epochs never decrease along a log: the entry before `end` holds the floor epoch.
    return (log[end - 1].leader_epoch if end else requested), end


def truncation_point(log: Log, answer: tuple[int, int], high_watermark: int) -> tuple[int, bool]:
    """Where a follower cuts its log after the leader answered (epoch, end offset), and
    whether the logs then match (AbstractFetcherThread.getOffsetTruncationState).
    KIP-101's answer carries no epoch (UNDEFINED): one cut, at the leader's offset."""
    epoch, end = answer
    if end == UNDEFINED:
        return min(high_watermark, len(log)), True
    if epoch == UNDEFINED:
        return min(end, len(log)), True
    own_epoch, own_end = epoch_end_offset(log, epoch, latest_epoch(log))
    if own_end == UNDEFINED:
        return min(end, len(log)), True
    if own_epoch != epoch:
        # The follower lacks the leader's epoch: cut where its own earlier one ends, ask again.
        return min(own_end, len(log)), False
    return min(own_end, end, len(log)), True


def asks_again(generation: str) -> bool:
    """Whether a follower repeats OffsetsForLeaderEpoch until the logs match (KIP-279)."""
    return generation in (KIP_279, KIP_320)


def fences_by_epoch(generation: str) -> bool:
    """Whether requests carry the current leader epoch, and a follower truncates on every
    epoch change, even when the leader stays the same (KIP-320)."""
    return generation == KIP_320
