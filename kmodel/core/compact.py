"""A partition whose visited set costs 18 bytes a state: for searches past one machine.

A `Partition` keeps its visited set in a dictionary: well over 100 bytes a
state. `CompactPartition` keeps it in a `FingerprintTable` instead: numpy
arrays of 64-bit fingerprints, each with its parent's fingerprint and
partition (8 + 8 + 2 bytes). Looking a single state up in numpy costs far
more than in a dictionary, so the table is asked once per level, for every
state the level met: during a level, arrivals collect in a dictionary of
their own (which also keeps the best path to each), and `end_level` drops
those the table already holds, judges the properties on the rest and adds
them to the table. The states and levels visited, and the paths kept, are
those of `Partition`.

>>> import numpy as np
>>> table = FingerprintTable()
>>> table.add(np.array([7, 3]), np.array([0, 7]), np.array([NO_PARENT, 1], dtype=np.int16))
>>> table.known(np.array([3, 5, 7])).tolist(), table.parent(3), table.nbytes // len(table)
([True, False, True], (1, 7), 18)
"""

from __future__ import annotations

from collections.abc import Hashable
from itertools import compress
from typing import Any

import numpy as np

from kmodel.core.partition import Partition, Ref
from kmodel.core.system import System

Run = tuple[np.ndarray, np.ndarray, np.ndarray]  # sorted keys, parent keys, parent partitions
NO_PARENT = -1  # the parent partition of an initial state


class FingerprintTable:
    """Fingerprints with their parents, in sorted runs that merge as they grow.

    Each batch of new states becomes a run sorted by fingerprint; a run merges
    with the one before while that one is no larger (as the runs of a
    log-structured merge tree), so there are at most log₂ n runs, a lookup is
    a binary search in each, and a state is copied O(log n) times in all."""

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self.count = 0

    def __len__(self) -> int:
        return self.count

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for run in self.runs for array in run)

    def known(self, keys: np.ndarray) -> np.ndarray:
        """Which of `keys` the table holds, as a boolean mask."""
        found = np.zeros(len(keys), dtype=bool)
        for run_keys, _, _ in self.runs:
            at = np.minimum(np.searchsorted(run_keys, keys), len(run_keys) - 1)
            found |= run_keys[at] == keys
        return found

    def add(self, keys: np.ndarray, parent_keys: np.ndarray, parents: np.ndarray) -> None:
        """Add states the table does not hold yet (distinct `keys`), each with its parent's
        key and partition (`NO_PARENT` for an initial state)."""
        if not len(keys):
            return
        self.count += len(keys)
        order = np.argsort(keys, kind="stable")
        run = (keys[order], parent_keys[order], parents[order])
        while self.runs and len(self.runs[-1][0]) <= len(run[0]):
            older = self.runs.pop()
            merged = np.concatenate((older[0], run[0]))
            # Two sorted runs: the stable sort (timsort) merges them in linear time.
            order = np.argsort(merged, kind="stable")
            parent_keys = np.concatenate((older[1], run[1]))[order]
            run = (merged[order], parent_keys, np.concatenate((older[2], run[2]))[order])
        self.runs.append(run)

    def parent(self, key: int) -> tuple[int, int] | None:
        """The (partition, key) of the parent of the state with `key`; None for an initial
        state. A KeyError if the table does not hold `key`."""
        for run_keys, parent_keys, parents in self.runs:
            at = int(np.searchsorted(run_keys, key))
            if at < len(run_keys) and run_keys[at] == key:
                if parents[at] == NO_PARENT:
                    return None
                return int(parents[at]), int(parent_keys[at])
        raise KeyError(key)


class Arrivals(dict):
    """The states a level met so far, by fingerprint, with the path to each: the
    `parents` of a `CompactPartition`, whose length counts the table's states too,
    as a partition's limits count every state it owns."""

    def __init__(self, table: FingerprintTable) -> None:
        super().__init__()
        self.table = table

    def __len__(self) -> int:
        return dict.__len__(self) + len(self.table)


class CompactPartition(Partition):
    """A partition with fingerprints from the start, its visited set a `FingerprintTable`.

    It always ranks its states, as one of several partitions does, so the trace
    found is the same however many partitions share the search. Partial-order
    reduction's cycle proviso asks whether each successor is new as it is met,
    which this partition only learns at the end of the level: no reduced model."""

    def __init__(self, system: System, *, index: int = 0, count: int = 1) -> None:
        if system.stubborn:
            raise ValueError("a compact partition cannot search with partial-order reduction")
        super().__init__(system, index=index, count=count, fingerprints=True, ranked=True)
        self.table = FingerprintTable()
        self.parents = Arrivals(self.table)
        self.visit = _judged_later

    def end_level(self) -> dict[str, tuple[int, int, Any]]:
        self._settle_arrivals()
        return super().end_level()

    def _settle_arrivals(self) -> None:
        """Keep of this level's arrivals those the table does not hold: judge them, add
        them to the table, and let only them make the next frontier."""
        arrivals = self.parents
        size = dict.__len__(arrivals)
        keys = np.fromiter(arrivals.keys(), dtype=np.int64, count=size)
        new = ~self.table.known(keys)
        if not new.all():
            old = new.tolist()
            faults, ranks = self.next_faults, self.next_ranks
            for key in compress(arrivals.keys(), [not n for n in old]):
                faults.pop(key, None)
                del ranks[key]
            # A level's states are in `next` in the order they arrived, as in `parents`.
            self.next = list(compress(self.next, old))
            keys = keys[new]
            refs = list(compress(arrivals.values(), old))
        else:
            refs = list(arrivals.values())
        parents = np.fromiter((NO_PARENT if r is None else r[0] for r in refs), np.int16, len(refs))
        parent_keys = np.fromiter((0 if r is None else r[1] for r in refs), np.int64, len(refs))
        self.table.add(keys, parent_keys, parents)
        self.parents = Arrivals(self.table)
        visit, faults = self.tracker.visit, self.next_faults
        for state, key in zip(self.next, keys.tolist(), strict=True):
            visit(state, key, faults.get(key, 0))

    def take_outboxes(self) -> list[list[tuple]]:
        # Only a level's own repeats are held back: remembering every state ever sent
        # would cost more than the table. The owner drops what it already holds.
        boxes = super().take_outboxes()
        self.sent = [{} for _ in range(self.count)]
        self.sent_count = [0] * self.count
        return boxes

    def parent(self, key: Hashable) -> Ref:
        if not isinstance(key, int):
            key = hash(key)
        if dict.__contains__(self.parents, key):
            return self.parents[key]
        return self.table.parent(key)

    @property
    def visited_bytes(self) -> int:
        return self.table.nbytes


def _judged_later(state: Hashable, key: Hashable, faults: int = 0) -> None:
    """Arrivals are judged once the level tells which are new (`_settle_arrivals`)."""
