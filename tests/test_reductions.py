"""Parallel search and the reductions agree with plain breadth-first search.

Generated systems where the answer is known independently: random graphs for
the parallel engine (every worker count must give the same states, verdicts
and traces as one process), products of identical automata for symmetry, and
chains of relays that never talk to each other for partial-order reduction
(the reduced search must give the plain search's verdicts, shortest lengths
and fault counts, with traces that replay on the unreduced model).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmodel.core.actors import Actor, Out
from kmodel.core.bfs import check_bfs
from kmodel.core.dfs import check_dfs
from kmodel.core.partial_order import PartialOrderReduced
from kmodel.core.result import Result
from kmodel.core.search import Limits
from kmodel.core.system import Property, StepInfo, System
from kmodel.core.trace import replay
from kmodel.core.world import ActorSystem, TopologyError
from kmodel.examples.lossy_link import lossy_link
from kmodel.examples.two_phase_commit import TwoPhaseCommit
from tests.test_engines_properties import GraphSystem, graphs


def same_outcome(plain: Result, other: Result, *, traces: bool = True) -> None:
    """Equal verdicts, trace lengths and fault counts (and traces, if asked)."""
    for a, b in zip(plain.properties, other.properties, strict=True):
        assert (a.name, a.status) == (b.name, b.status)
        assert (a.trace is None) == (b.trace is None)
        if a.trace is not None:
            assert (len(a.trace), a.trace.faults) == (len(b.trace), b.trace.faults)
            if traces:
                assert a.trace == b.trace


# -- the parallel engine ------------------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(graphs(), st.integers(2, 3))
def test_workers_find_what_one_process_finds(graph, workers: int) -> None:
    workers_agree_with_one_process(graph, workers)


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(graphs(), st.integers(2, 3))
def test_workers_find_what_one_process_finds_on_more_graphs(graph, workers: int) -> None:
    workers_agree_with_one_process(graph, workers)


def workers_agree_with_one_process(graph, workers: int) -> None:
    """Each worker count forks its workers: the counts, levels and verdicts of one
    process."""
    system = GraphSystem(graph)
    plain, parallel = check_bfs(system), check_bfs(system, workers=workers)
    assert parallel.stats.workers == workers and parallel.stats.fingerprints
    assert (parallel.stats.states, parallel.stats.transitions) == (
        plain.stats.states,
        plain.stats.transitions,
    )
    assert parallel.complete and parallel.stats.levels == plain.stats.levels
    same_outcome(plain, parallel)


def test_workers_on_an_actor_system_with_both_networks() -> None:
    from kmodel.core.network import UnorderedNetwork

    for network in (None, UnorderedNetwork()):
        system = lossy_link(records=2, losses=2, sender_crashes=1, network=network)
        plain = check_bfs(system)
        for workers in (2, 3):
            parallel = check_bfs(lossy_link(2, 2, 1, 1, network), workers=workers)
            assert parallel.stats.states == plain.stats.states
            same_outcome(plain, parallel)
            for prop in parallel.properties:
                if prop.trace is not None:
                    assert replay(system, prop.trace).ok


def test_workers_stop_at_a_time_limit_and_say_what_they_covered() -> None:
    result = check_bfs(TwoPhaseCommit(8), Limits(max_seconds=0.5), workers=2)
    assert not result.complete and result.stop_reason == "max_seconds"
    assert 0 < result.stats.states < 1_745_408
    assert result.stats.seconds < 5


# -- symmetry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Counters(System[tuple[int, ...], tuple[int, str]]):
    """`count` identical counters, each stepping 0 → 1 → ... → top; a step from `fault_at`
    is a fault. Interchangeable by construction, with properties that read them alike."""

    count: int
    top: int
    fault_at: int
    bad_sum: int
    goal_max: int
    symmetric = True

    def initial_states(self) -> Sequence[tuple[int, ...]]:
        return [(0,) * self.count]

    def actions(self, state):
        for i, value in enumerate(state):
            if value < self.top:
                yield (i, "fault" if value == self.fault_at else "step")

    def next_state(self, state, action):
        i, _ = action
        return state[:i] + (state[i] + 1,) + state[i + 1 :]

    def fault_of(self, action):
        return "lose" if action[1] == "fault" else None

    def describe(self, state, action, after) -> StepInfo:
        return StepInfo(f"{action[1]} {action[0]}", fault=self.fault_of(action))

    def canonical(self, state):
        return tuple(sorted(state))

    def properties(self):
        return (
            Property.always("below", lambda s: sum(s) < self.bad_sum),
            Property.sometimes("reached", lambda s: max(s) >= self.goal_max),
            Property.at_end("ends", lambda s: sum(s) != self.count * self.top - 1),
        )


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 3), st.data())
def test_symmetry_keeps_every_verdict_and_shortest_trace(count, top, fault_at, data) -> None:
    system = Counters(
        count,
        top,
        fault_at,
        data.draw(st.integers(1, count * top + 1), label="bad_sum"),
        data.draw(st.integers(1, top + 1), label="goal_max"),
    )
    plain = check_bfs(system)
    reduced = check_bfs(system, reduce=("symmetry",))
    assert reduced.reductions == ("symmetry",)
    # One state per multiset of counter values.
    classes = len(set(itertools.combinations_with_replacement(range(top + 1), count)))
    assert reduced.stats.states == classes <= plain.stats.states
    same_outcome(plain, reduced, traces=False)
    depth_first = check_dfs(system, reduce=("symmetry",))
    assert depth_first.stats.states == classes
    for result in (reduced, depth_first):
        for prop in result.properties:
            if prop.trace is not None:
                assert replay(system, prop.trace).ok


@pytest.mark.parametrize(("rms", "states", "reduced"), [(3, 288, 80), (5, 8832, 314)])
def test_two_phase_commit_under_symmetry(rms: int, states: int, reduced: int) -> None:
    model = TwoPhaseCommit(rms)
    plain, fewer = check_bfs(model), check_bfs(model, reduce=("symmetry",))
    assert (plain.stats.states, fewer.stats.states) == (states, reduced)
    same_outcome(plain, fewer, traces=False)
    for prop in fewer.properties:
        if prop.trace is not None:
            assert replay(model, prop.trace).ok
    # With several workers the reduced search finds the same.
    same_outcome(fewer, check_bfs(model, reduce=("symmetry",), workers=2))


class Swapper(System[tuple[int, int], str]):
    """Two tokens that only ever swap places: (0, 1) <-> (1, 0), one class of two states."""

    symmetric = True

    def initial_states(self):
        return [(0, 1)]

    def actions(self, state):
        return ["swap"]

    def next_state(self, state, action):
        return state[::-1]

    def canonical(self, state):
        return tuple(sorted(state))

    def properties(self):
        return (Property.at_end("never-stops", lambda s: False),)


def test_a_step_to_another_member_of_the_class_is_no_end() -> None:
    # Among representatives the swap looks like a step that changes nothing; the system
    # never stops all the same.
    plain, reduced = check_bfs(Swapper()), check_bfs(Swapper(), reduce=("symmetry",))
    assert plain.status_of("never-stops").value == "holds"
    assert reduced.stats.states == 1 and reduced.status_of("never-stops").value == "holds"


def test_generated_systems_of_counters_are_mixed() -> None:
    """The counter systems reach both verdicts of every property (guards the tests above)."""
    seen = set()
    rnd = random.Random(7)
    for _ in range(60):
        count, top = rnd.randint(1, 4), rnd.randint(1, 3)
        system = Counters(
            count, top, rnd.randint(0, 3), rnd.randint(1, count * top + 1), rnd.randint(1, 4)
        )
        seen.update((p.name, p.status.value) for p in check_bfs(system).properties)
    assert len(seen) == 6


# -- partial-order reduction --------------------------------------------------------------


class Relay(Actor):
    """Forwards every number it gets to `to` plus one, and counts what it forwarded; with
    no `to` it only counts. Pairs of relays that never talk to each other commute."""

    def __init__(self, name: str, to: str | None, start: int = 0) -> None:
        super().__init__(name, kind="relay")
        self.to = to
        self.start = start

    def initial_state(self) -> int:
        return 0

    def on_start(self, state, out: Out):
        for value in range(self.start):
            out.send(self.to, value)
        return state

    def on_message(self, state, sender, message, out: Out):
        if self.to is not None and message < 3:
            out.send(self.to, message + 1)
        return state + 1

    def on_connection_lost(self, state, peer, out: Out):
        return state

    def after_crash(self, state):
        return state  # the count is kept on disk


class LossyRelays(ActorSystem):
    """Relay chains whose messages a network may lose (the budget "loss")."""

    def loss_class(self, sender: str, receiver: str, message) -> str | None:
        return "loss"


def relay_chains(
    chains: int, length: int, start: int, crashes: int, losses: int = 0
) -> ActorSystem:
    """`chains` independent chains of relays; the first of each starts with `start`
    messages. Properties read the last relay of chain 0, and how many faults were used."""
    actors = []
    topology = {}
    for chain in range(chains):
        names = [f"c{chain}r{i}" for i in range(length)]
        for i, name in enumerate(names):
            to = names[i + 1] if i + 1 < length else None
            actors.append(Relay(name, to, start if i == 0 else 0))
            topology[name] = [to] if to else []
    last = f"c0r{length - 1}"
    return (LossyRelays if losses else ActorSystem)(
        actors,
        budget={"crash:relay": crashes, **({"loss": losses} if losses else {})},
        topology=topology,
        properties=lambda system: [
            Property.always(
                "few", lambda w: system.state_of(w, last) < 2, reads=system.reads(last)
            ),
            Property.sometimes(
                "all-through", lambda w: system.state_of(w, last) >= start, reads=system.reads(last)
            ),
            Property.at_end("quiet", lambda w: system.state_of(w, last) != 1),
        ],
    )


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(2, 3), st.integers(1, 2), st.integers(0, 1))
def test_partial_order_keeps_verdicts_and_shortest_traces(chains, length, start, crashes):
    system = relay_chains(chains, length, start, crashes)
    plain, reduced = check_bfs(system), check_bfs(system, reduce=("por",))
    assert reduced.reductions == ("por",)
    assert reduced.stats.states <= plain.stats.states
    same_outcome(plain, reduced, traces=False)
    for prop in reduced.properties:
        if prop.trace is not None:
            assert replay(system, prop.trace).ok
    # Independent chains commute, crash or not: the reduction leaves states out.
    if chains > 1:
        assert reduced.stats.states < plain.stats.states


def test_partial_order_puts_off_what_a_crash_cannot_reach() -> None:
    # One crash left: it may take down any relay, and it reaches only the relays that
    # relay talks with, so the other chain's steps can wait.
    system = relay_chains(2, 2, 1, 1)
    (start,) = system.initial_states()
    normal, faulty, everything = PartialOrderReduced(system).reduced_successors(start)
    all_normal, all_faulty = everything()
    assert len(normal) == 1 and len(normal) < len(all_normal)
    assert len(faulty) == 2 and len(all_faulty) == 4  # the chain's crashes, of all four
    assert set(normal) <= set(all_normal) and set(faulty) <= set(all_faulty)


def test_a_crash_brings_in_the_actors_it_touches() -> None:
    # One chain: every relay talks with the next, so a set holds all of them.
    system = relay_chains(1, 3, 1, 1)
    (start,) = system.initial_states()
    assert PartialOrderReduced(system).reduced_successors(start) is None


def test_partial_order_explores_everything_while_a_loss_can_happen() -> None:
    for losses, reduced in ((1, False), (0, True)):
        system = relay_chains(2, 2, 1, 0, losses=losses)
        (start,) = system.initial_states()
        assert (PartialOrderReduced(system).reduced_successors(start) is not None) == reduced


def test_a_send_outside_the_topology_is_a_model_error() -> None:
    system = relay_chains(1, 2, 1, 0)
    wrong = ActorSystem(system.actors, topology={"c0r0": [], "c0r1": []})
    with pytest.raises(TopologyError, match="'c0r0' sent a message to 'c0r1'"):
        wrong.initial_states()
