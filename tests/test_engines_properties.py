"""Property tests: both engines against an independent reading of small random graphs.

Each generated system is a graph on states 0..n-1 with labelled edges, some of
them faults and some disabled (their next state is None). The expected
reachable set, verdicts, shortest distances and fewest faults are computed
here by plain graph search and compared with what the engines report.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmodel.core.bfs import check_bfs
from kmodel.core.dfs import check_dfs
from kmodel.core.network import FifoNetwork, UnorderedNetwork
from kmodel.core.result import Result, Status
from kmodel.core.search import Limits
from kmodel.core.system import Property, PropertyKind, StepInfo, System
from kmodel.core.trace import Trace, replay
from kmodel.examples.lossy_link import lossy_link

ENGINES = {"bfs": check_bfs, "dfs": check_dfs}
# The status of a property a search decided (with a trace), and of one it never decided.
DECIDED = {
    PropertyKind.ALWAYS: Status.VIOLATED,
    PropertyKind.SOMETIMES: Status.REACHED,
    PropertyKind.AT_END: Status.VIOLATED,
}
UNDECIDED = {
    PropertyKind.ALWAYS: Status.HOLDS,
    PropertyKind.SOMETIMES: Status.UNREACHED,
    PropertyKind.AT_END: Status.HOLDS,
}

Edge = tuple[str, int | None, str | None]  # (label, next state or None if disabled, fault)
Action = tuple[int, str, int | None, str | None]  # (edge index, label, next state, fault)


@dataclass(frozen=True)
class Graph:
    n: int
    initial: tuple[int, ...]
    edges: tuple[tuple[Edge, ...], ...]  # edges[s]: the edges leaving state s
    bad: frozenset[int]
    goal: frozenset[int]
    ok: frozenset[int]


class GraphSystem(System[int, Action]):
    """A `System` read straight off a `Graph`."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def initial_states(self) -> Sequence[int]:
        return list(self.graph.initial)

    def actions(self, state: int) -> Iterator[Action]:
        for index, (label, target, fault) in enumerate(self.graph.edges[state]):
            yield (index, label, target, fault)

    def next_state(self, state: int, action: Action) -> int | None:
        return action[2]

    def fault_of(self, action: Action) -> str | None:
        return action[3]

    def describe(self, state: int, action: Action, after: int) -> StepInfo:
        return StepInfo(label=action[1], fault=action[3], kind="fault" if action[3] else "step")

    def properties(self) -> Sequence[Property[int]]:
        graph = self.graph
        return (
            Property.always("safe", lambda s: s not in graph.bad),
            Property.sometimes("goal", lambda s: s in graph.goal),
            Property.at_end("ends-ok", lambda s: s in graph.ok),
        )


@st.composite
def graphs(draw: st.DrawFn, max_n: int = 9) -> Graph:
    # Hypothesis's own choices lean towards their simplest values (no edges, edges to
    # state 0), leaving most graphs a single reachable state; a seeded Random spreads them.
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    n = rnd.randint(1, max_n)

    def some(most: int) -> frozenset[int]:
        return frozenset(rnd.sample(range(n), min(n, rnd.choice(range(most + 1)))))

    def edge() -> Edge:
        target = None if rnd.random() < 0.1 else rnd.randrange(n)
        return rnd.choice("ab"), target, rnd.choice([None, None, "lose", "crash"])

    return Graph(
        n=n,
        initial=tuple(rnd.randrange(n) for _ in range(rnd.choice([1, 1, 2, 3]))),
        edges=tuple(tuple(edge() for _ in range(rnd.choice([0, 1, 2, 2, 3, 3]))) for _ in range(n)),
        bad=some(2),
        goal=some(2),
        ok=frozenset(s for s in range(n) if rnd.random() < 0.6),
    )


def graph_of(
    initial: Sequence[int],
    arrows: Sequence[tuple[int, str, int, str | None]],
    bad: Sequence[int] = (),
    goal: Sequence[int] = (),
) -> Graph:
    """A graph from (source, label, target, fault) arrows; every end is an ok end."""
    n = 1 + max([*initial, *(a for a, *_ in arrows), *(a for *_, a, _ in arrows)])
    edges = tuple(tuple((lab, t, f) for src, lab, t, f in arrows if src == s) for s in range(n))
    return Graph(n, tuple(initial), edges, frozenset(bad), frozenset(goal), frozenset(range(n)))


# -- the independent reading of a graph ------------------------------------------


def enabled(graph: Graph, state: int) -> list[tuple[int, bool]]:
    """(next state, is a fault) for every enabled edge leaving `state`."""
    return [(t, f is not None) for _, t, f in graph.edges[state] if t is not None]


def distances(graph: Graph) -> dict[int, int]:
    """The length of a shortest path from an initial state, for every reachable state."""
    dist = {s: 0 for s in graph.initial}
    queue = deque(dist)
    while queue:
        state = queue.popleft()
        for nxt, _ in enabled(graph, state):
            if nxt not in dist:
                dist[nxt] = dist[state] + 1
                queue.append(nxt)
    return dist


def cheapest(graph: Graph) -> dict[int, tuple[int, int]]:
    """(length, faults) of the lexicographically least path to every reachable state."""
    best: dict[int, tuple[int, int]] = {}
    heap = [(0, 0, s) for s in set(graph.initial)]
    heapq.heapify(heap)
    while heap:
        length, faults, state = heapq.heappop(heap)
        if state in best:
            continue
        best[state] = (length, faults)
        for nxt, is_fault in enabled(graph, state):
            if nxt not in best:
                heapq.heappush(heap, (length + 1, faults + is_fault, nxt))
    return best


def is_terminal(graph: Graph, state: int) -> bool:
    """No normal (non-fault) step leads to a different state."""
    return all(nxt == state for nxt, is_fault in enabled(graph, state) if not is_fault)


def decides(graph: Graph, name: str, state: int) -> bool:
    if name == "safe":
        return state in graph.bad
    if name == "goal":
        return state in graph.goal
    return is_terminal(graph, state) and state not in graph.ok


def expected_statuses(graph: Graph, reachable: set[int]) -> dict[str, Status]:
    kinds = {p.name: p.kind for p in GraphSystem(graph).properties()}
    return {
        name: (DECIDED if any(decides(graph, name, s) for s in reachable) else UNDECIDED)[kind]
        for name, kind in kinds.items()
    }


def statuses(result: Result) -> dict[str, Status]:
    return {prop.name: prop.status for prop in result.properties}


def trace_states(trace: Trace) -> list[int]:
    return [trace.initial, *(step.state for step in trace.steps)]


def check_trace(graph: Graph, system: GraphSystem, trace: Trace) -> list[int]:
    """A trace replays, follows real edges from an initial state, decides its property and
    survives JSON; returns the states along it."""
    assert replay(system, trace).ok
    states = trace_states(trace)
    assert states[0] in graph.initial
    for (before, after), step in zip(itertools.pairwise(states), trace.steps, strict=True):
        labelled = [(t, f) for label, t, f in graph.edges[before] if label == step.label]
        assert (after, step.fault) in labelled
        # A step is shown as a fault only when no normal edge leads between the two states.
        has_normal = any(t == after and f is None for _, t, f in graph.edges[before])
        assert (step.fault is None) == has_normal
    assert decides(graph, trace.property, states[-1])
    assert trace.faults == sum(1 for step in trace.steps if step.fault)
    assert Trace.loads(trace.dumps()) == trace
    assert Trace.from_json(trace.to_json()) == trace
    return states


# -- complete searches -----------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(graphs(), st.booleans())
def test_engines_agree_with_an_independent_search(graph: Graph, fingerprints: bool) -> None:
    system = GraphSystem(graph)
    reachable = set(distances(graph))
    expected = expected_statuses(graph, reachable)
    # Both engines expand every reachable state exactly once.
    transitions = sum(len(enabled(graph, state)) for state in reachable)
    for name, engine in ENGINES.items():
        result = engine(system, fingerprints=fingerprints)
        assert result.engine == name
        assert result.complete and result.stop_reason == "explored"
        assert result.stats.states == len(reachable)
        assert result.stats.transitions == transitions
        assert statuses(result) == expected
        for prop in result.properties:
            assert (prop.trace is not None) == (prop.status is DECIDED[prop.kind])
            if prop.trace is not None:
                assert prop.trace.property == prop.name
                assert prop.trace.kind == prop.kind.value
                check_trace(graph, system, prop.trace)


@settings(max_examples=100, deadline=None)
@given(graphs())
def test_fingerprints_change_nothing(graph: Graph) -> None:
    system = GraphSystem(graph)
    for engine in ENGINES.values():
        plain, hashed = engine(system), engine(system, fingerprints=True)
        assert plain.stats.states == hashed.stats.states
        assert plain.stats.transitions == hashed.stats.transitions
        assert plain.properties == hashed.properties


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_bfs_traces_are_shortest(graph: Graph) -> None:
    system = GraphSystem(graph)
    dist = distances(graph)
    for prop in check_bfs(system).properties:
        if prop.trace is None:
            continue
        deciding = [s for s in dist if decides(graph, prop.name, s)]
        assert len(prop.trace) == min(dist[s] for s in deciding)
        assert len(prop.trace) == dist[trace_states(prop.trace)[-1]]


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_bfs_traces_use_fewest_faults_to_the_state_they_reach(graph: Graph) -> None:
    system = GraphSystem(graph)
    best = cheapest(graph)
    for prop in check_bfs(system).properties:
        if prop.trace is not None and prop.kind is not PropertyKind.AT_END:
            end = trace_states(prop.trace)[-1]
            assert (len(prop.trace), prop.trace.faults) == best[end]


@settings(max_examples=200, deadline=None)
@given(graphs(), st.booleans())
def test_bfs_traces_use_fewest_faults_among_all_shortest(graph: Graph, fingerprints: bool) -> None:
    # Of all deciding states at the shortest distance, the trace ends at one whose best path
    # has the fewest faults: (length, faults) is the least over every deciding state.
    system = GraphSystem(graph)
    best = cheapest(graph)
    for prop in check_bfs(system, fingerprints=fingerprints).properties:
        if prop.trace is not None:
            least = min(best[s] for s in best if decides(graph, prop.name, s))
            assert (len(prop.trace), prop.trace.faults) == least


def test_bfs_moves_a_state_to_a_cheaper_parent_of_the_same_level() -> None:
    # Initial 0 and 1; 2 is met first through 0's fault, then again from 1 without one.
    graph = graph_of([0, 1], [(0, "x", 2, "lose"), (1, "y", 2, None), (2, "z", 3, None)], bad=[3])
    for fingerprints in (False, True):
        trace = check_bfs(GraphSystem(graph), fingerprints=fingerprints).property("safe").trace
        assert trace_states(trace) == [1, 2, 3]
        assert trace.faults == 0


def test_a_trace_shows_a_normal_step_where_a_fault_leads_to_the_same_state() -> None:
    graph = graph_of([0], [(0, "lose", 1, "lose"), (0, "a", 1, None)], bad=[1])
    for engine in ENGINES.values():
        trace = engine(GraphSystem(graph)).property("safe").trace
        assert [(step.label, step.fault) for step in trace.steps] == [("a", None)]
        assert trace.faults == 0


def test_replay_follows_states_not_only_labels() -> None:
    # Two "a" steps leave 0; only the second leads on to the bad state.
    graph = graph_of([0], [(0, "a", 1, None), (0, "a", 2, None), (2, "b", 3, None)], bad=[3])
    system = GraphSystem(graph)
    for engine in ENGINES.values():
        trace = engine(system).property("safe").trace
        assert trace_states(trace) == [0, 2, 3]
        assert replay(system, trace).ok


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_replay_finds_where_a_tampered_trace_diverges(graph: Graph) -> None:
    system = GraphSystem(graph)
    for prop in check_bfs(system).properties:
        trace = prop.trace
        if trace is None:
            continue
        moved = replay(system, replace(trace, initial=graph.n))  # state n is never initial
        assert (moved.ok, moved.diverged_at) == (False, 0)
        states, steps = trace_states(trace), list(trace.steps)
        for index, step in enumerate(steps):
            relabelled = replace(trace, steps=(*steps[:index], replace(step, label="?")))
            outcome = replay(system, relabelled)
            assert (outcome.ok, outcome.diverged_at) == (False, index)
            assert "labelled '?'" in outcome.reason
            # A state the step's label cannot lead to (state n is never a target).
            targets = {t for label, t, _ in graph.edges[states[index]] if label == step.label}
            wrong = min(set(range(graph.n + 1)) - targets)
            redirected = replace(trace, steps=(*steps[:index], replace(step, state=wrong)))
            outcome = replay(system, redirected)
            assert (outcome.ok, outcome.diverged_at) == (False, index)
            assert "different state" in outcome.reason


# Two deciding states on the same, shortest level; the one behind a fault is met first.
# 0 -> 1 and 0 -> 2; 1 -fault-> 3 -> 5 (bad); 2 -> 4 -> 6 (bad).
ONE_INITIAL = Graph(
    n=7,
    initial=(0,),
    edges=(
        (("a", 1, None), ("b", 2, None)),
        (("lose", 3, "lose"),),
        (("c", 4, None),),
        (("d", 5, None),),
        (("e", 6, None),),
        (),
        (),
    ),
    bad=frozenset({5, 6}),
    goal=frozenset(),
    ok=frozenset(range(7)),
)
# Initial states 3 and 2; 3 -fault-> 1 (bad), 2 -> 0 (bad).
TWO_INITIAL = Graph(
    n=4,
    initial=(3, 2),
    edges=((), (), (("a", 0, None),), (("a", 1, "lose"),)),
    bad=frozenset({0, 1}),
    goal=frozenset({0, 1}),
    ok=frozenset(range(4)),
)


# Two terminal states that are not ok ends on the same level; the one behind a fault is
# met first. 0 -fault-> 1 -> 3 (a bad end) and 0 -> 2 -> 4 (a bad end).
TWO_BAD_ENDS = Graph(
    n=5,
    initial=(0,),
    edges=((("lose", 1, "lose"), ("b", 2, None)), (("c", 3, None),), (("d", 4, None),), (), ()),
    bad=frozenset(),
    goal=frozenset(),
    ok=frozenset({0, 1, 2}),
)


@pytest.mark.parametrize(
    "graph",
    [ONE_INITIAL, TWO_INITIAL, TWO_BAD_ENDS],
    ids=["one-initial", "two-initial", "at-end"],
)
@pytest.mark.parametrize("fingerprints", [False, True], ids=["states", "fingerprints"])
def test_bfs_fewest_faults_among_all_shortest_traces(graph: Graph, fingerprints: bool) -> None:
    best = cheapest(graph)
    decided = 0
    for prop in check_bfs(GraphSystem(graph), fingerprints=fingerprints).properties:
        if prop.trace is not None:
            decided += 1
            least = min(best[s] for s in best if decides(graph, prop.name, s))
            assert least[1] == 0
            assert (len(prop.trace), prop.trace.faults) == least
            assert all(step.fault is None for step in prop.trace.steps)
    assert decided >= 1


def test_bfs_fewest_faults_among_bad_ends_that_all_need_faults() -> None:
    # Bad ends 3 (two faults, met first) and 4 (one fault) on the same level.
    arrows = [(0, "x", 1, "lose"), (0, "y", 2, "lose"), (1, "z", 3, "lose"), (2, "w", 4, None)]
    graph = replace(graph_of([0], arrows), ok=frozenset({0, 1, 2}))
    for fingerprints in (False, True):
        result = check_bfs(GraphSystem(graph), fingerprints=fingerprints)
        trace = result.property("ends-ok").trace
        assert (trace_states(trace), trace.faults) == ([0, 2, 4], 1)


def test_bfs_fewest_faults_after_a_cheaper_parent_turns_up() -> None:
    # Initial states 0, 1 and 2. Bad state 3 is met first, through a fault from 0; bad state
    # 4 next, through a fault from 1; then 4 again from 2 without one, so 4's trace wins.
    arrows = [(0, "x", 3, "lose"), (1, "y", 4, "lose"), (2, "z", 4, None)]
    graph = graph_of([0, 1, 2], arrows, bad=[3, 4])
    for fingerprints in (False, True):
        trace = check_bfs(GraphSystem(graph), fingerprints=fingerprints).property("safe").trace
        assert (trace_states(trace), trace.faults) == ([2, 4], 0)


@settings(max_examples=100, deadline=None)
@given(graphs())
def test_stopping_once_decided_keeps_every_verdict(graph: Graph) -> None:
    system = GraphSystem(graph)
    for engine in ENGINES.values():
        full, early = engine(system), engine(system, stop_when_decided=True)
        assert statuses(early) == statuses(full)
        if not early.complete:
            assert early.stop_reason == "decided"
            assert all(prop.trace is not None for prop in early.properties)


# -- searches cut short ----------------------------------------------------------------


def check_cut_short(graph: Graph, system: GraphSystem, result: Result, full: Result) -> None:
    """What a limited search may claim: every verdict it gives is true, the rest UNKNOWN."""
    reachable = set(distances(graph))
    assert result.stats.states <= len(reachable)
    if result.complete:
        assert result.stats.states == len(reachable)
        assert statuses(result) == statuses(full)
        return
    assert result.stop_reason in ("max_states", "max_depth")
    for prop in result.properties:
        if prop.trace is None:
            assert prop.status is Status.UNKNOWN
        else:
            assert prop.status is DECIDED[prop.kind]
            assert full.status_of(prop.name) is prop.status
            check_trace(graph, system, prop.trace)


@settings(max_examples=200, deadline=None)
@given(graphs(), st.data())
def test_state_limit(graph: Graph, data: st.DataObject) -> None:
    system = GraphSystem(graph)
    reachable = set(distances(graph))
    limit = data.draw(st.integers(1, len(reachable) + 1), label="max_states")
    for engine in (check_bfs, check_dfs):
        result = engine(system, Limits(max_states=limit))
        check_cut_short(graph, system, result, engine(system))
        if result.stats.states < len(reachable):
            assert not result.complete and result.stop_reason == "max_states"
        # Initial states count, and the limit is checked after every new state.
        assert result.stats.states <= limit
        if result.stop_reason == "max_states":
            assert result.stats.states == limit


def test_state_limit_on_a_chain() -> None:
    graph = graph_of([0], [(s, "next", s + 1, None) for s in range(9)], bad=[9], goal=[1])
    for engine in ENGINES.values():
        result = engine(GraphSystem(graph), Limits(max_states=3))
        assert (result.complete, result.stop_reason) == (False, "max_states")
        assert result.stats.states == 3
        assert result.status_of("safe") is Status.UNKNOWN
        assert result.status_of("goal") is Status.REACHED
        assert result.status_of("ends-ok") is Status.UNKNOWN


@settings(max_examples=200, deadline=None)
@given(graphs(), st.data())
def test_depth_limit(graph: Graph, data: st.DataObject) -> None:
    system = GraphSystem(graph)
    dist = distances(graph)
    limit = data.draw(st.integers(1, max(dist.values()) + 1), label="max_depth")
    within = sum(1 for d in dist.values() if d <= limit)
    bfs = check_bfs(system, Limits(max_depth=limit))
    dfs = check_dfs(system, Limits(max_depth=limit))
    for engine, result in (("bfs", bfs), ("dfs", dfs)):
        check_cut_short(graph, system, result, ENGINES[engine](system))
        for prop in result.properties:
            if prop.trace is not None:
                assert len(prop.trace) <= limit
    # Both engines see exactly the states within the bound, however deep DFS first met them.
    assert bfs.stats.states == dfs.stats.states == within
    # Either search is cut short exactly when some state lies at the bound.
    assert bfs.complete == dfs.complete == (max(dist.values()) < limit)
    if bfs.complete:
        assert statuses(bfs) == expected_statuses(graph, set(dist))


def test_dfs_expands_again_a_state_met_shallower_under_a_depth_bound() -> None:
    # DFS meets 2 at depth 2 (via 1) first, at the bound; from 0 directly it lies at depth 1.
    arrows = [(0, "a", 1, None), (0, "b", 2, None), (1, "c", 2, None), (2, "d", 3, None)]
    graph = graph_of([0], arrows)
    for engine in ENGINES.values():
        result = engine(GraphSystem(graph), Limits(max_depth=2))
        assert result.stats.states == 4


def test_dfs_depth_bound_from_an_initial_state_met_deep() -> None:
    # Initial states 0 and 2; 0 -> 1 -> 2 -> 3. State 3 (bad) lies one step from initial 2.
    graph = graph_of([0, 2], [(0, "a", 1, None), (1, "b", 2, None), (2, "c", 3, None)], bad=[3])
    system = GraphSystem(graph)
    bfs = check_bfs(system, Limits(max_depth=2))
    assert bfs.stats.states == 4 and bfs.status_of("safe") is Status.VIOLATED
    dfs = check_dfs(system, Limits(max_depth=2))
    assert dfs.stats.states == 4
    assert dfs.status_of("safe") is Status.VIOLATED


def test_dfs_depth_bound_not_reached_means_complete() -> None:
    # 0 -> 1 -> 2 and 0 -> 2: every state lies within depth 1, but DFS meets 2 at depth 2.
    system = GraphSystem(graph_of([0], [(0, "a", 1, None), (0, "b", 2, None), (1, "c", 2, None)]))
    assert check_bfs(system, Limits(max_depth=2)).complete
    result = check_dfs(system, Limits(max_depth=2))
    assert result.complete
    assert result.status_of("safe") is Status.HOLDS


def test_dfs_expands_each_state_once_without_a_depth_bound() -> None:
    system = lossy_link(records=2, losses=1, max_retries=1, sender_crashes=1)
    dfs, bfs = check_dfs(system), check_bfs(system)
    assert dfs.complete and bfs.complete
    assert dfs.stats.states == bfs.stats.states
    assert dfs.stats.transitions == bfs.stats.transitions


# -- the actor layer --------------------------------------------------------------------


@st.composite
def lossy_links(draw: st.DrawFn) -> tuple[int, int, int, int, str]:
    records = draw(st.integers(1, 2))
    losses = draw(st.integers(0, 2))
    crashes = draw(st.integers(0, 1))
    network = draw(st.sampled_from(["fifo", "unordered"]))
    # Unordered, two records, a crash and two retries reach tens of thousands of states.
    most_retries = 1 if (network, records, crashes) == ("unordered", 2, 1) else 2
    retries = draw(st.integers(0, most_retries))
    return records, losses, retries, crashes, network


@settings(max_examples=10, deadline=None)
@given(lossy_links())
def test_lossy_link_engines_agree(params: tuple[int, int, int, int, str]) -> None:
    records, losses, retries, crashes, network = params
    net = FifoNetwork() if network == "fifo" else UnorderedNetwork()
    system = lossy_link(records, losses, retries, crashes, net)
    bfs, dfs = check_bfs(system), check_dfs(system)
    assert bfs.complete and dfs.complete
    assert bfs.stats.states == dfs.stats.states
    assert bfs.stats.transitions == dfs.stats.transitions
    assert statuses(bfs) == statuses(dfs)
    assert (bfs.status_of("message-lost") is Status.REACHED) == (losses > 0)
    assert (bfs.status_of("sender-restarted") is Status.REACHED) == (crashes > 0)
    for result in (bfs, dfs):
        for prop in result.properties:
            assert (prop.trace is not None) == (prop.status is DECIDED[prop.kind])
            if prop.trace is not None:
                assert replay(system, prop.trace).ok
                assert Trace.loads(prop.trace.dumps()) == prop.trace
    for prop in bfs.properties:
        if prop.trace is not None:
            assert len(prop.trace) <= len(dfs.property(prop.name).trace)


def test_generated_graphs_cover_every_verdict() -> None:
    """The generator reaches both outcomes of every property (guards the tests above)."""
    seen: set[tuple[str, Status]] = set()

    @settings(max_examples=100, deadline=None, database=None)
    @given(graphs())
    def collect(graph: Graph) -> None:
        seen.update(expected_statuses(graph, set(distances(graph))).items())

    collect()
    assert seen == {
        ("safe", Status.HOLDS),
        ("safe", Status.VIOLATED),
        ("goal", Status.REACHED),
        ("goal", Status.UNREACHED),
        ("ends-ok", Status.HOLDS),
        ("ends-ok", Status.VIOLATED),
    }
