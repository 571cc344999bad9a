"""One partition of a level-synchronous breadth-first search.

The states of a search are split among partitions by a hash of their
content: a partition owns the states that hash to it, keeps their parents and
expands them, one breadth-first level at a time. A successor owned by another
partition goes into an outbox, handed over between levels. With a single
partition this is plain breadth-first search; with several, each runs in a
process of its own (`kmodel.core.parallel`) and the levels stay in lock step,
so the first violation found is still a shortest one.

Among paths of equal length the one with the fewest faults wins, then the
first in breadth-first order. A single partition meets states in that order;
several meet them out of order, so each state carries its *rank*: its parent's
rank followed by its place among the parent's successors, as one integer.

The visited set keeps whole states until the search switches it, between two
levels, to their 64-bit hashes (fingerprints): less memory, at a collision
risk the result states.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from kmodel.core.search import CLOCK_EVERY, PropertyTracker
from kmodel.core.system import System

RANK_BITS = 12  # a state's successors are numbered below 2**12 in its successors' ranks
Ref = Any  # a parent: its key (one partition) or (partition, key); None for an initial state


class Stop(Exception):
    """A partition hit a limit in the middle of a level."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Partition:
    """The states one partition owns, their parents, and its part of the frontier."""

    def __init__(
        self,
        system: System,
        *,
        index: int = 0,
        count: int = 1,
        fingerprints: bool = False,
        ranked: bool | None = None,
    ) -> None:
        """`ranked`: rank states and decide by rank at each level's end, as one of several
        partitions does (default: when there are several)."""
        self.system = system
        self.index = index
        self.count = count
        self.fingerprints = fingerprints
        ranked = count > 1 if ranked is None else ranked
        self.tracker = PropertyTracker(
            system.properties(), capture=lambda key: key, defer=True, ordered=not ranked
        )
        # Judges a state met for the first time (a subclass may judge later).
        self.visit: Callable[..., None] = self.tracker.visit
        self.parents: dict[Hashable, Ref] = {}
        self.frontier: list[Hashable] = []
        self.faults: dict[Hashable, int] = {}  # of frontier states reached with faults
        self.ranks: dict[Hashable, int] = {}  # of frontier states (several partitions only)
        self.next: list[Hashable] = []
        self.next_faults: dict[Hashable, int] = {}
        self.next_ranks: dict[Hashable, int] = {}
        self.outboxes: list[list[tuple]] = [[] for _ in range(count)]
        # Per other partition: every state ever sent to it, by fingerprint, numbered in
        # sending order, and how many were sent before this level.
        self.sent: list[dict[int, int]] = [{} for _ in range(count)]
        self.sent_count = [0] * count
        self.transitions = 0
        owner_hash = system.owner_hash
        if type(system).owner_hash is System.owner_hash:
            owner_hash = hash  # the same, without a method call per state
        self.owner: Callable[[Hashable], int] | None = owner_hash if ranked else None
        # Partial-order reduction: stubborn sets, used where the cycle proviso allows.
        self.reduce = system.reduced_successors if system.stubborn else None
        self.next_keys: set[Hashable] = set()  # the next level's keys, kept while reducing
        self.level = 0  # the depth of the frontier
        self.reduced_at = float("inf")  # the first level where a stubborn set left steps out
        if self.reduce is not None:
            system.watch(self.tracker.pending)
        # Limits and progress: called once the visited set holds `threshold` states, it
        # raises `Stop` or returns the next threshold.
        self.tick: Callable[[int], int] = lambda found: found + CLOCK_EVERY
        self.threshold = CLOCK_EVERY

    # -- keys -------------------------------------------------------------------

    def key(self, state: Hashable) -> Hashable:
        return hash(state) if self.fingerprints else state

    def switch_to_fingerprints(self) -> None:
        """Keep only fingerprints from now on; what is stored is converted once."""
        if self.fingerprints:
            return
        self.fingerprints = True

        def convert(ref: Ref) -> Ref:
            if ref is None:
                return None
            if self.owner is None:
                return hash(ref)
            return (ref[0], ref[1] if isinstance(ref[1], int) else hash(ref[1]))

        self.parents = {hash(key): convert(ref) for key, ref in self.parents.items()}
        self.faults = {hash(key): faults for key, faults in self.faults.items()}
        self.ranks = {hash(key): rank for key, rank in self.ranks.items()}
        self.next_faults = {hash(key): faults for key, faults in self.next_faults.items()}
        self.next_ranks = {hash(key): rank for key, rank in self.next_ranks.items()}
        self.tracker.rekey(hash)

    # -- one level ----------------------------------------------------------------

    def seed(self, states: Sequence[tuple[Hashable, int]]) -> None:
        """Take the initial states this partition owns, each with its rank, as the level
        `end_level` then makes the first frontier."""
        for state, rank in states:
            key = self.key(state)
            if key not in self.parents:
                self.parents[key] = None
                self.next.append(state)
                if self.owner is not None:
                    self.next_ranks[key] = rank
                self.visit(state, key)

    def expand(self) -> None:
        """Expand this partition's frontier: successors it owns go to the next level,
        the others to outboxes. Raises `Stop` when `tick` says a limit is reached."""
        successors = self.system.successors
        tracker = self.tracker
        checks_ends = tracker.checks_ends
        parents = self.parents
        faults, next_faults = self.faults, self.next_faults
        owner, me, count = self.owner, self.index, self.count
        ranks, next_ranks = self.ranks, self.next_ranks
        fingerprints = self.fingerprints
        is_terminal = self.system.is_terminal
        rank = 0
        reduce, arrive = self.reduce, self._arrival()
        # Next-level states a second path may improve: with one partition only those
        # reached with faults (fewer is better), with several all (a lower rank is too).
        improvable = next_faults if owner is None else next_ranks
        for state in self.frontier:
            key = hash(state) if fingerprints else state
            base = faults.get(key, 0) if faults else 0
            found = None if reduce is None else reduce(state)
            if found is None:
                explored = successors(state)
                normal = explored[0]
            else:
                reduced_normal, reduced_faulty, everything = found
                if self._postponable(reduced_normal + reduced_faulty):
                    explored = reduced_normal, reduced_faulty
                    # An end needs every normal step to change nothing: ask all only then.
                    ends = any(nxt != state for nxt in reduced_normal)
                    normal = reduced_normal if ends else everything()[0]
                    self.reduced_at = min(self.reduced_at, self.level)
                else:
                    explored = everything()
                    normal = explored[0]
            self.transitions += len(explored[0]) + len(explored[1])
            if owner is None:
                ref = key
            else:
                ref, rank = (me, key), ranks[key] << RANK_BITS
            if checks_ends and is_terminal(state, normal):
                tracker.visit_terminal(state, key, base, rank >> RANK_BITS)
            number = 0
            for batch, cost in ((explored[0], base), (explored[1], base + 1)):
                for nxt in batch:
                    number += 1
                    if owner is not None:
                        target = owner(nxt) % count
                        if target != me:
                            self._send(target, nxt, ref, cost, rank | number)
                            continue
                    nkey = hash(nxt) if fingerprints else nxt
                    if nkey not in parents:
                        arrive(nxt, nkey, ref, cost, rank | number)
                    elif nkey in improvable:
                        self._better_path(nxt, nkey, ref, cost, rank | number)

    def _postponable(self, successors: list[Hashable]) -> bool:
        """The cycle proviso: the steps a stubborn set leaves out may wait only if every
        world it leads to is new or on the next level, so no cycle can postpone them for
        good. A world another partition owns cannot be told here: it fails the proviso."""
        owner, fingerprints, parents = self.owner, self.fingerprints, self.parents
        level = self.next_keys if owner is None else self.next_ranks
        for nxt in successors:
            if owner is not None and owner(nxt) % self.count != self.index:
                return False
            nkey = hash(nxt) if fingerprints else nxt
            if nkey in parents and nkey not in level:
                return False
        return True

    def absorb(self, arrivals: Sequence[tuple[Hashable, Ref, int, int]]) -> None:
        """Take successors other partitions found for states this partition owns."""
        parents, fingerprints, arrive = self.parents, self.fingerprints, self._arrival()
        for nxt, ref, cost, rank in arrivals:
            nkey = hash(nxt) if fingerprints else nxt
            if nkey not in parents:
                arrive(nxt, nkey, ref, cost, rank)
            elif nkey in self.next_ranks:
                self._better_path(nxt, nkey, ref, cost, rank)

    def _arrival(self) -> Callable[[Hashable, Hashable, Ref, int, int], None]:
        """What happens to a state met for the first time, for one level's use: it joins
        the next level with its parent, its faults and its rank (several partitions), the
        properties judge it, and the limits are looked at every so often."""
        parents, next_level, next_faults = self.parents, self.next, self.next_faults
        next_ranks, next_keys = self.next_ranks, self.next_keys
        visit = self.visit
        ranked, keyed = self.owner is not None, self.reduce is not None

        def arrive(state: Hashable, key: Hashable, ref: Ref, cost: int, rank: int) -> None:
            parents[key] = ref
            next_level.append(state)
            if cost:
                next_faults[key] = cost
            if ranked:
                next_ranks[key] = rank
            elif keyed:
                next_keys.add(key)
            visit(state, key, cost)
            if len(parents) >= self.threshold:
                self.threshold = self.tick(len(parents))

        return arrive

    def _better_path(self, state: Hashable, nkey: Hashable, ref: Ref, cost: int, rank: int) -> None:
        """A state of the next level met again: keep the path with fewer faults, then
        (several partitions) the lower rank, which is also its place in the level. In
        one process the properties judge the state again on its better path, so a trace
        through it is weighed where that path is met, as several partitions weigh it by
        rank at the level's end."""
        faults = self.next_faults.get(nkey, 0)
        if self.owner is None:
            better = cost < faults
        else:
            known = self.next_ranks[nkey]
            better = (cost, rank) < (faults, known)
            if rank < known:
                self.next_ranks[nkey] = rank
        if better:
            self.parents[nkey] = ref
            if cost:
                self.next_faults[nkey] = cost
            else:
                self.next_faults.pop(nkey, None)
            if self.owner is None:
                self.tracker.visit(state, nkey, cost)

    def end_level(self) -> dict[str, tuple[int, int, Any]]:
        """Close the level: decide properties at their best candidates, move the next
        level into the frontier. Returns what was decided: name -> (faults, rank, key)."""
        next_faults, next_ranks = self.next_faults, self.next_ranks

        def faults_of(key: Hashable) -> int:
            return next_faults.get(key, 0)

        rank_of = None if self.owner is None else next_ranks.__getitem__
        decided = self.tracker.settle(faults_of, rank_of)
        self.frontier, self.next = self.next, []
        self.faults, self.next_faults = next_faults, {}
        self.ranks, self.next_ranks = next_ranks, {}
        self.next_keys = set()
        if self.frontier:
            self.level += 1
        return decided

    def _send(self, target: int, state: Hashable, ref: Ref, cost: int, rank: int) -> None:
        """Put a successor another partition owns into its outbox, once: a state sent in
        an earlier level is known to its owner already, and of one met twice in this
        level only the better path (fewer faults, then lower rank) travels."""
        fingerprint = hash(state)
        sent = self.sent[target]
        number = sent.get(fingerprint)
        box = self.outboxes[target]
        if number is None:
            sent[fingerprint] = self.sent_count[target] + len(box)
            box.append((state, ref, cost, rank))
            return
        position = number - self.sent_count[target]
        if position >= 0 and (cost, rank) < box[position][2:]:
            box[position] = (state, ref, cost, rank)

    def take_outboxes(self) -> list[list[tuple]]:
        boxes, self.outboxes = self.outboxes, [[] for _ in range(self.count)]
        for target, box in enumerate(boxes):
            self.sent_count[target] += len(box)
        return boxes

    def fault_profile(self, sample: int = 4096) -> tuple[int, dict[str, int]]:
        """Of up to `sample` frontier states: how many were looked at, and how many of
        them had spent each fault budget."""
        states = self.frontier[:: max(1, len(self.frontier) // sample)][:sample]
        spent: dict[str, int] = {}
        for state in states:
            for key, used in self.system.faults_spent(state).items():
                if used:
                    spent[key] = spent.get(key, 0) + 1
        return len(states), spent

    # -- traces ---------------------------------------------------------------------

    def parent(self, key: Hashable) -> Ref:
        if self.fingerprints and not isinstance(key, int):
            key = hash(key)
        return self.parents[key]

    def successor_with_key(self, state: Hashable, key: Hashable) -> Hashable:
        """The successor of `state` whose key (here) is `key`: rebuilds a path."""
        wanted = hash(key) if self.fingerprints and not isinstance(key, int) else key
        normal, faulty = self.system.successors(state)
        return next(nxt for nxt in normal + faulty if self.key(nxt) == wanted)

    def initial_with_key(self, key: Hashable) -> Hashable:
        wanted = hash(key) if self.fingerprints and not isinstance(key, int) else key
        return next(s for s in self.system.initial_states() if self.key(s) == wanted)
