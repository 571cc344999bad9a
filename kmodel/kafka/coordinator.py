"""The group coordinator: committed offsets and group generations.

Committed offsets are durable (the __consumer_offsets topic), one per
partition of the topic the group reads. Every join starts a new generation
and assigns the partitions to the joiner. The
coordinator may evict the member (its session timed out, or it exceeded
max.poll.interval.ms), a fault with its own budget: the generation moves on,
and a commit from the old generation is rejected with ILLEGAL_GENERATION,
though the evicted consumer may still be processing what it polled.

Committed offsets expire once `offsets.retention.minutes` pass without a
commit, a fault with its own budget (`offsets_retention` names the
generation): since KIP-211 (Kafka 2.1) only while the group has no member
(here: its consumer was evicted and has not joined again), before it even
while the group consumes. A member that then fetches its offsets finds none
and starts where `auto.offset.reset` says.

The coordinator may be loading its offsets partition (it moved to this broker,
a fault with its own budget, "coordinator-load"): until it has loaded, an
OffsetCommit gets COORDINATOR_LOAD_IN_PROGRESS, a retriable error, and is not
stored, and offset fetches wait. `regressions` counts commits that stored an
offset below the one committed before (a ghost, for the contract that a
group's committed offset never goes back).

Transactional offset commits (TxnOffsetCommit) stay pending per producer id
until the transaction coordinator's marker commits or discards them; like
any partition, the offsets log rejects a producer epoch older than one it
has seen. With
the consumer group metadata of KIP-447 the commit carries the member's
generation and a stale one is rejected; an OffsetFetch that requires stable
offsets waits while a transactional commit of a partition it asks for is
pending, so one producer's open transaction holds up only the fetches of the
partitions it commits.

A group of several consumers (`consumers`) shares the partitions, in the
eager protocol's two phases. A rebalance begins when a member joins that is
not in the group (or knows of more partitions), or when one is evicted: the
live members hear REBALANCE_IN_PROGRESS at their heartbeat, and each rejoins
at its next poll, after processing and committing what it polled (their
commits of the current generation are still accepted meanwhile). Once every
live member has rejoined, a new generation assigns the partitions as a sticky
assignor does (a partition stays with its owner while the owner is live; an
orphaned one goes to the member with the fewest), and each member starts over
from the committed offsets. An evicted member is not told: it finds out when
its next commit is rejected, and meanwhile processes what it polled, while
the partition's new owner reads it from the committed offset. Each member
commits the offsets of its own partitions.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import NamedTuple

from kmodel.core.actors import Actor, Out
from kmodel.core.tuples import replace_at
from kmodel.kafka.messages import (
    JoinGroup,
    JoinGroupResponse,
    OffsetCommit,
    OffsetCommitResponse,
    OffsetFetch,
    OffsetFetchResponse,
    RebalanceInProgress,
    SessionExpired,
    TxnOffsetCommit,
    TxnOffsetCommitResponse,
    WriteTxnMarkers,
    WriteTxnMarkersResponse,
)

NAME = "coordinator"


class PendingOffsets(NamedTuple):
    producer_id: int
    offset: int
    partition: int = 0  # the input partition the offset is of


class CoordinatorState(NamedTuple):
    committed: tuple[int, ...] = (-1,)  # per partition; -1: no committed offset
    generation: int = 0
    member: bool = False  # whether the partition is assigned in this generation
    rebalances: int = 0  # evictions so far (ghost)
    pending: tuple[PendingOffsets, ...] = ()  # transactional commits awaiting their marker
    stale_commits: tuple[int, ...] = ()  # attempts that committed from an old generation (ghost)
    # (requester, connection, partition asked for) of each OffsetFetch waiting for
    # stable (or loaded) offsets
    waiting: tuple[tuple[str, int, int], ...] = ()
    producer_epochs: tuple[tuple[int, int], ...] = ()  # (producer id, latest epoch) seen
    owner: str = ""  # the member that owns the partition (groups of several members)
    expired: tuple[str, ...] = ()  # members whose session expired
    loading: bool = False  # loading the offsets partition: commits fail retriably
    regressions: int = 0  # commits that moved a committed offset back (ghost)
    # A group of several consumers: who owns each partition, and the live members.
    owners: tuple[str, ...] = ()
    live: tuple[str, ...] = ()
    reassignments: int = 0  # partitions moved from one live owner to another (ghost)
    partitions_known: int = 0  # a group of several: the topic's partitions its members know
    # A group of several, during a rebalance: the live members that have rejoined, with the
    # connection of their JoinGroup; () when no rebalance is under way.
    rejoined: tuple[tuple[str, int], ...] = ()
    rebalancing: bool = False


class GroupCoordinator(Actor[CoordinatorState]):
    durable = (
        "committed",
        "generation",
        "member",
        "rebalances",
        "pending",
        "stale_commits",
        "producer_epochs",
        "owner",
        "expired",
        "regressions",
        "owners",
        "live",
        "reassignments",
        "partitions_known",
        "rejoined",
        "rebalancing",
    )

    def __init__(
        self,
        name: str = NAME,
        members: tuple[str, ...] = (),
        partitions: int = 1,
        offsets_retention: str = "",
        consumers: tuple[str, ...] = (),
        committed_at_start: int = 0,
        sessions_expire: bool = True,
    ) -> None:
        """`committed_at_start`: the first partitions whose offset 0 the group has
        committed when the run starts (a group that has been running). Without
        `sessions_expire`, the members of a group of several keep their partitions."""
        super().__init__(name)
        self.members = members  # the group's members, when more than one may own the partition
        self.consumers = consumers  # a consumer group of several members sharing partitions
        self.sessions_expire = sessions_expire
        self.committed_at_start = committed_at_start
        self.partitions = partitions
        self.offsets_retention = offsets_retention  # "": offsets never expire here

    def initial_state(self) -> CoordinatorState:
        committed = tuple(0 if p < self.committed_at_start else -1 for p in range(self.partitions))
        return CoordinatorState(committed=committed)

    def first_state(self) -> CoordinatorState:
        """The (first) consumer starts as the member of generation 1; a group of several
        consumers starts with all of them, the partitions shared."""
        state = self.initial_state()._replace(
            generation=1, member=True, owner=(self.members[:1] and self.members[0]) or ""
        )
        if self.consumers:
            known = self.committed_at_start or self.partitions
            owners = _padded(sticky_assignment((), self.consumers, known), self.partitions)
            state = state._replace(owners=owners, live=self.consumers, partitions_known=known)
        return state

    def on_message(self, state: CoordinatorState, sender: str, message: Hashable, out: Out):
        if isinstance(message, JoinGroup) and self.consumers:
            return self._joined(state, sender, message, out)
        if isinstance(message, JoinGroup):
            if self.members and state.owner not in (sender, *state.expired):
                # In the group, without the partition.
                out.send(sender, JoinGroupResponse(-1, message.connection))
                return state._replace(expired=tuple(m for m in state.expired if m != sender))
            return self._assign(state, sender, out, message.connection)
        if isinstance(message, SessionExpired) and self.members:
            return self._expire(state, message.name, out)
        if isinstance(message, OffsetFetch):
            if state.loading or (message.require_stable and _pending(state, message.partition)):
                asked = (sender, message.connection, message.partition)
                return state._replace(waiting=state.waiting + (asked,))
            out.send(sender, OffsetFetchResponse(state.committed, message.connection))
            return state
        if isinstance(message, TxnOffsetCommit):
            return self._txn_commit(state, sender, message, out)
        if isinstance(message, WriteTxnMarkers):
            return self._marker(state, sender, message, out)
        if isinstance(message, OffsetCommit):
            error = "NONE"
            member = sender in state.live if self.consumers else state.member
            if not member or message.generation != state.generation:
                error = "ILLEGAL_GENERATION"
            elif state.loading:
                error = "COORDINATOR_LOAD_IN_PROGRESS"
            generation = message.generation if self.consumers else -1
            answer = OffsetCommitResponse(message.offsets, error, message.connection, generation)
            out.send(sender, answer)
            if error != "NONE":
                return state
            offsets = message.offsets
            if self.consumers:  # a member commits its own partitions' offsets
                offsets = tuple(
                    new if new >= 0 else old
                    for new, old in zip(offsets, state.committed, strict=True)
                )
            back = any(new < old for new, old in zip(offsets, state.committed, strict=True))
            return state._replace(committed=offsets, regressions=state.regressions + back)
        return state

    def _joined(
        self, state: CoordinatorState, member: str, join: JoinGroup, out: Out
    ) -> CoordinatorState:
        """A JoinGroup in a group of several: a member new to the group (or knowing of more
        partitions) begins a rebalance; during one, it counts as rejoined; otherwise a
        member of this generation is only catching up with it (as a restarted member with
        its group.instance.id would) and gets its assignment again."""
        grown = join.partitions > state.partitions_known
        state = state._replace(partitions_known=max(state.partitions_known, join.partitions))
        if member in state.live and not grown and not state.rebalancing:
            mine = tuple(p for p, owner in enumerate(state.owners) if owner == member)
            out.send(member, JoinGroupResponse(state.generation, join.connection, mine))
            return state
        live = tuple(sorted(set(state.live) | {member}))
        rejoined = tuple(sorted({*state.rejoined, (member, join.connection)}))
        state = self._begin_rebalance(state._replace(live=live, rejoined=rejoined), out)
        return self._complete_rebalance(state, out)

    def _begin_rebalance(self, state: CoordinatorState, out: Out) -> CoordinatorState:
        """Tell the live members that have not rejoined yet to rejoin (at their heartbeat)."""
        if not state.rebalancing:
            done = {m for m, _ in state.rejoined}
            for member in state.live:
                if member not in done:
                    out.send(member, RebalanceInProgress())
        return state._replace(rebalancing=True)

    def _complete_rebalance(self, state: CoordinatorState, out: Out) -> CoordinatorState:
        """Once every live member has rejoined: a new generation, the partitions assigned
        to them, each told what it owns."""
        rejoined = dict(state.rejoined)
        if not state.rebalancing or not set(state.live) <= set(rejoined):
            return state
        known, live = state.partitions_known, state.live
        owners = _padded(sticky_assignment(state.owners[:known], live, known), self.partitions)
        moved = sum(
            1 for old, new in zip(state.owners, owners, strict=True) if old and new and old != new
        )
        generation = state.generation + 1
        for member in live:
            mine = tuple(p for p, owner in enumerate(owners) if owner == member)
            out.send(member, JoinGroupResponse(generation, rejoined[member], mine))
        return state._replace(
            generation=generation,
            member=bool(live),
            owners=owners,
            rejoined=(),
            rebalancing=False,
            reassignments=state.reassignments + moved,
        )

    def _assign(
        self, state: CoordinatorState, member: str, out: Out, connection: int = 0
    ) -> CoordinatorState:
        """A rebalance that gives the partition to `member` (answering its JoinGroup on
        `connection`): a new generation."""
        generation = state.generation + 1
        out.send(member, JoinGroupResponse(generation, connection))
        expired = tuple(m for m in state.expired if m != member)
        owner = member if self.members else ""
        return state._replace(generation=generation, member=True, owner=owner, expired=expired)

    def _expire(self, state: CoordinatorState, member: str, out: Out) -> CoordinatorState:
        """A member stopped heartbeating; if it owned the partition, another member gets it."""
        state = state._replace(expired=tuple(sorted(set(state.expired) | {member})))
        heirs = [m for m in self.members if m not in state.expired]
        if state.owner != member or not heirs:
            return state
        return self._assign(state, heirs[0], out)

    def _txn_commit(
        self, state: CoordinatorState, sender: str, commit: TxnOffsetCommit, out: Out
    ) -> CoordinatorState:
        known = dict(state.producer_epochs).get(commit.producer_id, -1)
        stale = commit.member_generation != state.generation
        error = "NONE"
        if commit.epoch < known:
            error = "INVALID_PRODUCER_EPOCH"
        elif commit.generation >= 0 and stale:
            error = "ILLEGAL_GENERATION"
        out.send(sender, TxnOffsetCommitResponse(error, commit.connection))
        if error != "NONE":
            return state
        if stale:
            state = state._replace(stale_commits=state.stale_commits + (commit.attempt,))
        others = tuple(p for p in state.pending if p.producer_id != commit.producer_id)
        pending = PendingOffsets(commit.producer_id, commit.offset, commit.partition)
        state = _saw_epoch(state, commit.producer_id, commit.epoch)
        return state._replace(pending=tuple(sorted(others + (pending,))))

    def _marker(
        self, state: CoordinatorState, sender: str, marker: WriteTxnMarkers, out: Out
    ) -> CoordinatorState:
        """Commit or discard the producer's pending offsets; answer waiting fetches."""
        done = WriteTxnMarkersResponse(
            marker.partition, marker.producer_id, marker.epoch, marker.commit
        )
        out.send(sender, done)
        state = _saw_epoch(state, marker.producer_id, marker.epoch)
        mine = [p for p in state.pending if p.producer_id == marker.producer_id]
        if not mine:
            return state
        state = state._replace(pending=tuple(p for p in state.pending if p not in mine))
        if marker.commit:
            (offsets,) = mine
            committed = replace_at(state.committed, offsets.partition, offsets.offset)
            state = state._replace(committed=committed)
        return _answer_waiting(state, out)

    def on_connection_lost(self, state: CoordinatorState, peer: str, out: Out):
        return state._replace(waiting=tuple(w for w in state.waiting if w[0] != peer))

    def steps(self, state: CoordinatorState) -> Iterable[Hashable]:
        if self.consumers:
            if self.sessions_expire:
                for member in state.live:
                    yield ("evict", member)
        elif self.members:
            if state.owner not in state.expired:
                yield ("expire", state.owner)
        elif state.member:
            yield ("evict",)
        if self.offsets_retention and any(offset >= 0 for offset in state.committed):
            yield ("retention",)
        if self.offsets_retention:  # the consumer's group: its coordinator may move
            yield ("loaded",) if state.loading else ("load",)

    def step_fault(self, state: CoordinatorState, step: Hashable) -> str | None:
        if step[0] == "loaded":
            return None
        faults = {"expire": "takeover", "retention": "offset-expiry", "load": "coordinator-load"}
        return faults.get(step[0], "rebalance")

    def describe_step(self, state: CoordinatorState, step: Hashable) -> str:
        if step[0] == "expire":
            return f"expires the session of {step[1]}, which is only paused: rebalance"
        if step[0] == "load":
            return "moves to another broker and loads the offsets partition"
        if step[0] == "loaded":
            return "has loaded the offsets partition"
        if step[0] == "retention":
            passed = "sees offsets.retention.minutes pass with no commit"
            if self._offsets_expire(state):
                return f"{passed}: the committed offsets expire"
            return f"{passed}: the group has a member (KIP-211), so its offsets stay"
        if len(step) > 1:
            return f"evicts {step[1]} (session timeout): rebalance to a new generation"
        return "evicts the consumer (session timeout): rebalance to a new generation"

    def _offsets_expire(self, state: CoordinatorState) -> bool:
        return self.offsets_retention == "since-commit" or not state.member

    def on_step(self, state: CoordinatorState, step: Hashable, out: Out) -> CoordinatorState:
        if step[0] == "expire":
            return self._expire(state, step[1], out)
        if step[0] in ("load", "loaded"):
            return _answer_waiting(state._replace(loading=step[0] == "load"), out)
        if step[0] == "retention":
            if not self._offsets_expire(state):
                return state
            return state._replace(committed=(-1,) * self.partitions)
        if self.consumers:
            live = tuple(m for m in state.live if m != step[1])
            rejoined = tuple(r for r in state.rejoined if r[0] != step[1])
            state = state._replace(live=live, rejoined=rejoined, rebalances=state.rebalances + 1)
            if not live:  # the group is empty: its partitions have no owner
                return state._replace(member=False, owners=("",) * self.partitions)
            return self._complete_rebalance(self._begin_rebalance(state, out), out)
        return state._replace(
            generation=state.generation + 1, member=False, rebalances=state.rebalances + 1
        )


def sticky_assignment(
    owners: tuple[str, ...], live: tuple[str, ...], partitions: int
) -> tuple[str, ...]:
    """Each partition's owner among the `live` members, as a sticky assignor balances
    them: owners that are still live keep what they can, orphaned partitions go to the
    member with the fewest (by name on a tie), and a member with more than its share
    hands its last partitions to one with fewer. "" where no member is live."""
    if not live:
        return ("",) * partitions
    kept = [o if o in live else "" for o in (owners or ("",) * partitions)]
    share = -(-partitions // len(live))  # the most any member may own
    for p, owner in enumerate(kept):
        if owner and kept[: p + 1].count(owner) > share:
            kept[p] = ""
    for p, owner in enumerate(kept):
        if not owner:
            kept[p] = min(live, key=lambda m: (kept.count(m), m))
    for member in live:  # one with none gets a partition from one with several
        richest = max(live, key=lambda m: (kept.count(m), m))
        if kept.count(member) == 0 and kept.count(richest) > 1:
            kept[max(p for p, o in enumerate(kept) if o == richest)] = member
    return tuple(kept)


def _padded(owners: tuple[str, ...], partitions: int) -> tuple[str, ...]:
    """Owners for every partition: none for those the group does not know of yet."""
    return owners + ("",) * (partitions - len(owners))


def _saw_epoch(state: CoordinatorState, producer_id: int, epoch: int) -> CoordinatorState:
    """Remember a producer's newest epoch: the offsets log fences older ones, as any
    partition does."""
    epochs = dict(state.producer_epochs)
    epochs[producer_id] = max(epochs.get(producer_id, -1), epoch)
    return state._replace(producer_epochs=tuple(sorted(epochs.items())))


def _pending(state: CoordinatorState, partition: int) -> bool:
    """Whether a transactional commit of `partition` (-1: of any) awaits its marker."""
    return any(partition in (-1, pending.partition) for pending in state.pending)


def _answer_waiting(state: CoordinatorState, out: Out) -> CoordinatorState:
    """Once the offsets are loaded, answer the fetches whose offsets are stable now."""
    if state.loading:
        return state
    still = []
    for requester, connection, partition in state.waiting:
        if _pending(state, partition):
            still.append((requester, connection, partition))
        else:
            out.send(requester, OffsetFetchResponse(state.committed, connection))
    return state._replace(waiting=tuple(still))
