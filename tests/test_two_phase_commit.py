"""Two-phase commit pins the kernel to published state counts and cross-checks engines."""

from collections import Counter

import pytest

from kmodel.core.bfs import check_bfs
from kmodel.core.dfs import check_dfs
from kmodel.core.result import Status
from kmodel.core.trace import replay
from kmodel.examples.two_phase_commit import TwoPhaseCommit


@pytest.mark.parametrize(("rms", "states"), [(3, 288), (5, 8832)])
def test_published_state_counts(rms: int, states: int) -> None:
    bfs = check_bfs(TwoPhaseCommit(rms))
    dfs = check_dfs(TwoPhaseCommit(rms))
    assert bfs.complete and dfs.complete
    assert bfs.stats.states == dfs.stats.states == states
    assert bfs.stats.transitions == dfs.stats.transitions


@pytest.mark.slow
def test_published_state_count_seven_rms() -> None:
    assert check_bfs(TwoPhaseCommit(7), fingerprints=True).stats.states == 296_448


def test_verdicts_and_witness_traces_replay() -> None:
    model = TwoPhaseCommit(3)
    result = check_bfs(model)
    assert result.status_of("consistent") is Status.HOLDS
    for witness in ("all-committed", "all-aborted"):
        prop = result.property(witness)
        assert prop.status is Status.REACHED
        assert replay(model, prop.trace).ok
    # Shortest abort: each RM chooses to abort on its own.
    assert len(result.property("all-aborted").trace) == 3
    # Shortest commit: 3 prepares, 3 receipts, the decision, 3 commit receipts.
    assert len(result.property("all-committed").trace) == 10


def test_fast_successors_match_labelled_actions() -> None:
    model = TwoPhaseCommit(4)
    seen, frontier = {0}, [0]
    while frontier:
        state = frontier.pop()
        labelled = [model.next_state(state, a) for a in model.actions(state)]
        fast, faulty = model.successors(state)
        assert Counter(fast) == Counter(labelled) and faulty == []
        for nxt in fast:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert len(seen) == check_bfs(model).stats.states


def test_fingerprints_give_the_same_result() -> None:
    plain = check_bfs(TwoPhaseCommit(4))
    hashed = check_bfs(TwoPhaseCommit(4), fingerprints=True)
    assert plain.stats.states == hashed.stats.states
    trace = hashed.property("all-committed").trace
    assert trace == plain.property("all-committed").trace


def test_symmetry_leaves_one_state_per_class_of_interchangeable_rms() -> None:
    # The figure the README quotes: 8 RMs, 1,745,408 states, 1,461 classes.
    result = check_bfs(TwoPhaseCommit(8), reduce=("symmetry",))
    assert (result.stats.states, result.reductions) == (1461, ("symmetry",))
    assert result.status_of("consistent") is Status.HOLDS
    assert len(result.property("all-committed").trace) == 25
