"""Two-phase commit (Gray & Lamport, "Consensus on Transaction Commit").

A transaction manager (TM) and `rms` resource managers (RMs) exchange
messages through a set that never loses anything. The published state counts
of this model are 288 for 3 RMs and 8,832 for 5; the kernel's tests pin them.

A state is one integer made of bit fields, each `rms` bits wide (bit i
belongs to RM i), so hashing and comparing states costs next to nothing:

    PREPARED  COMMITTED  ABORTED   RMs in that state (none of the three: working)
    TM_PREPARED                    RMs whose Prepared message the TM has received
    MSG_PREPARED                   Prepared messages sent
    then one bit each for the Commit and Abort messages and two for the TM state.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from kmodel.core.system import Property, StepInfo, System

TM_INIT, TM_COMMITTED, TM_ABORTED = range(3)
TM_NAMES = ("init", "committed", "aborted")
PREPARED, COMMITTED, ABORTED, TM_PREPARED, MSG_PREPARED = range(5)  # field numbers

Action = tuple[str, int]


class TwoPhaseCommit(System[int, Action]):
    """Gray & Lamport's two-phase commit with `rms` resource managers."""

    def __init__(self, rms: int = 3) -> None:
        if rms < 1:
            raise ValueError("rms must be at least 1")
        self.rms = rms
        self.all = (1 << rms) - 1
        self.commit_msg = 1 << 5 * rms
        self.abort_msg = 1 << 5 * rms + 1
        self.tm_shift = 5 * rms + 2
        self.tm_prepared_shift = TM_PREPARED * rms
        self.tm_commit = TM_COMMITTED << self.tm_shift | self.commit_msg
        self.tm_abort = TM_ABORTED << self.tm_shift | self.abort_msg
        # For every set of RMs (a bit mask): the bits each of its members' step sets.
        self.receive_prepared = [
            [1 << rm << TM_PREPARED * rms for rm in _bits(mask)] for mask in range(1 << rms)
        ]
        self.leave_working = [
            [
                mask_bit
                for rm in _bits(mask)
                for mask_bit in (
                    1 << rm << PREPARED * rms | 1 << rm << MSG_PREPARED * rms,
                    1 << rm << ABORTED * rms,
                )
            ]
            for mask in range(1 << rms)
        ]
        # Per RM: the mask that clears its state, its committed bit, its aborted bit.
        self.decisions = [self._decision(1 << rm) for rm in range(rms)]

    def _decision(self, bit: int) -> tuple[int, int, int]:
        n = self.rms
        committed, aborted = bit << COMMITTED * n, bit << ABORTED * n
        return ~(bit << PREPARED * n | committed | aborted), committed, aborted

    def field(self, state: int, number: int) -> int:
        """The RM bit mask stored in field `number` of `state`."""
        return state >> number * self.rms & self.all

    def tm(self, state: int) -> int:
        return state >> self.tm_shift

    def initial_states(self) -> Sequence[int]:
        return [0]

    def actions(self, state: int) -> Iterator[Action]:
        if self.tm(state) == TM_INIT:
            if self.field(state, TM_PREPARED) == self.all:
                yield ("TMCommit", -1)
            yield ("TMAbort", -1)
            for rm in _bits(self.field(state, MSG_PREPARED)):
                yield ("TMRcvPrepared", rm)
        for rm in _bits(self._working(state)):
            yield ("RMPrepare", rm)
            yield ("RMChooseToAbort", rm)
        for rm in range(self.rms):
            if state & self.commit_msg:
                yield ("RMRcvCommitMsg", rm)
            if state & self.abort_msg:
                yield ("RMRcvAbortMsg", rm)

    def next_state(self, state: int, action: Action) -> int:
        name, rm = action
        if name == "TMCommit":
            return state | self.tm_commit
        if name == "TMAbort":
            return state | self.tm_abort
        bit = 1 << rm
        n = self.rms
        if name == "TMRcvPrepared":
            return state | bit << TM_PREPARED * n
        if name == "RMPrepare":
            return state | bit << PREPARED * n | bit << MSG_PREPARED * n
        keep, committed, aborted = self.decisions[rm]
        return state & keep | (committed if name == "RMRcvCommitMsg" else aborted)

    def successors(self, state: int) -> tuple[list[int], list[int]]:
        # The hot path of large searches: the same transitions as
        # actions/next_state without building labels (the tests compare them),
        # read from tables indexed by RM bit masks.
        n = self.rms
        out = []
        if not state >> self.tm_shift:
            if state >> self.tm_prepared_shift & self.all == self.all:
                out.append(state | self.tm_commit)
            out.append(state | self.tm_abort)
            out += [state | m for m in self.receive_prepared[state >> MSG_PREPARED * n & self.all]]
        out += [state | m for m in self.leave_working[self._working(state)]]
        if state & self.commit_msg:
            out += [state & keep | committed for keep, committed, _ in self.decisions]
        if state & self.abort_msg:
            out += [state & keep | aborted for keep, _, aborted in self.decisions]
        return out, []

    # -- symmetry: the resource managers are interchangeable ---------------------------

    symmetric = True

    def canonical(self, state: int) -> int:
        """The state with its RMs reordered by what each is (its bit in every field), so
        states that differ only in which RM is which share one representative."""
        n, fields = self.rms, 5
        rest = state >> fields * n << fields * n  # messages to all and the TM's state
        signatures = sorted(
            (sum((state >> (f * n + rm) & 1) << f for f in range(fields)) for rm in range(n)),
            reverse=True,
        )
        for rm, signature in enumerate(signatures):
            for f in range(fields):
                rest |= (signature >> f & 1) << (f * n + rm)
        return rest

    def _working(self, state: int) -> int:
        n = self.rms
        return ~(state | state >> COMMITTED * n | state >> ABORTED * n) & self.all

    def properties(self) -> Sequence[Property[int]]:
        n, every = self.rms, self.all
        return (
            Property.always(
                "consistent",
                lambda s: not (s >> COMMITTED * n & every and s >> ABORTED * n & every),
                "no resource manager commits while another aborts",
            ),
            Property.sometimes(
                "all-committed",
                lambda s: s >> COMMITTED * n & every == every,
                "the transaction can commit everywhere",
            ),
            Property.sometimes(
                "all-aborted",
                lambda s: s >> ABORTED * n & every == every,
                "the transaction can abort everywhere",
            ),
        )

    def describe(self, state: int, action: Action, after: int) -> StepInfo:
        name, rm = action
        actor = "TM" if name.startswith("TM") else f"RM{rm}"
        label = name if rm < 0 else f"{name}({rm})"
        sender = receiver = None
        if name == "TMRcvPrepared":
            sender, receiver = f"RM{rm}", "TM"
        elif name.startswith("RMRcv"):
            sender, receiver = "TM", f"RM{rm}"
        return StepInfo(label, actor=actor, sender=sender, receiver=receiver)

    def state_view(self, state: int) -> dict[str, Any]:
        def rm_state(rm: int) -> str:
            for number, name in ((PREPARED, "prepared"), (COMMITTED, "committed")):
                if self.field(state, number) >> rm & 1:
                    return name
            return "aborted" if self.field(state, ABORTED) >> rm & 1 else "working"

        messages = [f"Prepared({rm})" for rm in _bits(self.field(state, MSG_PREPARED))]
        messages += ["Commit"] * bool(state & self.commit_msg)
        messages += ["Abort"] * bool(state & self.abort_msg)
        return {
            "rm": [rm_state(rm) for rm in range(self.rms)],
            "tm": TM_NAMES[self.tm(state)],
            "tm_prepared": list(_bits(self.field(state, TM_PREPARED))),
            "messages": messages,
        }

    def settings(self) -> dict[str, Any]:
        return {"rms": self.rms}


def _bits(mask: int) -> Iterator[int]:
    """Indices of the set bits of `mask`, lowest first."""
    index = 0
    while mask:
        if mask & 1:
            yield index
        mask >>= 1
        index += 1
