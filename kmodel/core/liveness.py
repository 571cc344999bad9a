"""Leads-to properties under weak fairness, answered by a lasso when they break.

``P ~> Q`` promises that whenever P holds, Q holds then or later. A run breaks
it when the promise, once due, stays due for ever. Runs are taken to be
*weakly fair*: a class of fair steps (`System.fair_class`: deliveries, timers
that must fire, restarts, a model's eventual steps) that stays enabled is
taken in the end; faults are never owed.

The check explores every reachable state, storing the edges, and follows the
product of the graph with the promise's pending bit ("P happened and Q not
yet"). In the pending part it computes the strongly connected components; a
component is a violation when it is *fair*: every fair class enabled in all
its states is taken on one of its own edges (then a run that goes round all
of it for ever is fair, and no fair run that stays in a component lacking
that exists). A pending state where no normal step leads anywhere else is a
violation too: the run comes to rest with the promise unkept. The answer is
a lasso: the shortest prefix into the component, then a loop through it.

Reductions are not applied: symmetry and partial-order reduction as kmodel
implements them preserve what is reachable, not which cycles are fair, so
the check reads the model itself (`System.unreduced`).

>>> from kmodel.core.system import Property, System
>>> class Ping(System[int, str]):
...     def initial_states(self): return [0]
...     def actions(self, s): return ["flip", "done"] if s < 2 else []
...     def next_state(self, s, a): return 2 if a == "done" else 1 - s
...     def properties(self): return [Property.leads_to("ends", lambda s: True, lambda s: s == 2)]
>>> check_liveness(Ping()).properties[0].status.value
'holds'
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import networkx as nx

from kmodel.core.result import PropertyResult, Status
from kmodel.core.search import (
    PROGRESS_EVERY,
    Clock,
    Limits,
    Progress,
    ProgressCallback,
    memory_mb,
)
from kmodel.core.system import Property, PropertyKind, System
from kmodel.core.trace import build_trace

MAX_STATES = 200_000  # a liveness check stores every edge: beyond this it says it is incomplete
LIMITS = Limits(max_states=MAX_STATES)
# States between looks at the clock (and, as a search, at the memory and the progress
# display every PROGRESS_EVERY states, a multiple of it).
CHECK_EVERY = 1 << 10
# Why an incomplete check stopped, as its note says it.
STOPPED = {
    "max_states": "it stopped at {states:,} states (max_states)",
    "max_seconds": "it ran out of time after {seconds:,.1f} s at {states:,} states (max_seconds)",
    "max_memory": "it reached its memory limit at {states:,} states (max_memory)",
}

Node = tuple[Hashable, bool]  # a state and whether the promise is due there


@dataclass(frozen=True, slots=True)
class Liveness:
    """The verdicts of a system's leads-to properties and what the check covered."""

    properties: tuple[PropertyResult, ...]
    complete: bool
    note: str  # the graph it read, and that it read it unreduced


@dataclass(slots=True)
class Graph:
    """The reachable states with their edges: each state's successors with the fair
    class of the step (None for a fault), and whether only faults leave it."""

    initial: list[Hashable]
    edges: dict[Hashable, list[tuple[Hashable | None, Hashable]]]
    resting: set[Hashable]
    stop_reason: str = "explored"  # or the limit it stopped at: a key of STOPPED
    transitions: int = 0

    @property
    def complete(self) -> bool:
        return self.stop_reason == "explored"


def explore(
    system: System,
    limits: Limits = LIMITS,
    progress: ProgressCallback | None = None,
    clock: Clock | None = None,
) -> Graph:
    """Every state reachable in `system`, with its edges, breadth-first: all of them, or
    those found before a limit of `limits` (states, seconds, memory) stops it; `progress`
    hears how far it got every PROGRESS_EVERY states, as from a search."""
    clock = clock or Clock(limits.max_seconds)
    start_memory = memory_mb()
    initial = list(dict.fromkeys(system.initial_states()))
    graph = Graph(initial, {}, set())
    queue = deque((state, 0) for state in initial)
    seen = set(initial)
    levels = [len(initial)]  # the states found at each depth
    while queue:
        if len(graph.edges) % CHECK_EVERY == 0 and len(graph.edges):
            stop = _limit_reached(graph, limits, clock, start_memory, queue, levels, progress)
            if stop:
                graph.stop_reason = stop
                return graph
        state, depth = queue.popleft()
        moves = system.transitions(state)
        out = [(system.fair_class(state, action), after) for action, _, after in moves]
        graph.edges[state] = out
        graph.transitions += len(out)
        if system.is_terminal(state, [after for _, key, after in moves if key is None]):
            graph.resting.add(state)
        for _, after in out:
            if after not in seen:
                if limits.max_states is not None and len(seen) >= limits.max_states:
                    graph.stop_reason = "max_states"
                    return graph
                seen.add(after)
                queue.append((after, depth + 1))
                if len(levels) == depth + 1:
                    levels.append(0)
                levels[depth + 1] += 1
    return graph


def _limit_reached(
    graph: Graph,
    limits: Limits,
    clock: Clock,
    start_memory: float,
    queue: deque[tuple[Hashable, int]],
    levels: list[int],
    progress: ProgressCallback | None,
) -> str | None:
    """The limit the exploration has reached (None: none); every PROGRESS_EVERY states it
    looks at the memory too, after telling `progress` how far it got: the depth of the
    level it is exploring, and the levels before it."""
    if clock.expired():
        return "max_seconds"
    if len(graph.edges) % PROGRESS_EVERY:
        return None
    memory = memory_mb()
    if progress is not None:
        depth = queue[0][1]
        progress(
            Progress(
                len(graph.edges),
                graph.transitions,
                depth,
                len(queue),
                clock.elapsed(),
                tuple(levels[:depth]),
                memory,
                stage="liveness",
            )
        )
    if limits.max_memory_mb is not None and memory - start_memory >= limits.max_memory_mb:
        return "max_memory"
    return None


def check_liveness(
    system: System,
    properties: Sequence[Property] | None = None,
    limits: Limits = LIMITS,
    progress: ProgressCallback | None = None,
) -> Liveness:
    """The verdict of each leads-to property of `system` (or of `properties`), each
    violation with its lasso; unknown, with a note that says why, when a limit of
    `limits` stops the check first (its time limit covers the lassos' search too)."""
    system = system.unreduced()
    clock = Clock(limits.max_seconds)
    wanted = [p for p in (properties or system.properties()) if p.kind is PropertyKind.LEADS_TO]
    graph = explore(system, limits, progress, clock)
    results = []
    for prop in wanted:
        if graph.complete and clock.expired():
            graph.stop_reason = "max_seconds"
        if not graph.complete:
            status, trace = Status.UNKNOWN, None
        else:
            lassos = [lasso for part in prop.each_promise() if (lasso := find_lasso(graph, part))]
            lasso = min(lassos, key=lambda found: len(found[0]), default=None)
            status = Status.HOLDS if lasso is None else Status.VIOLATED
            trace = None
            if lasso is not None:
                path, loop_start = lasso
                trace = build_trace(system, prop.name, prop.kind.value, path, loop_start)
        results.append(PropertyResult(prop.name, prop.kind, status, trace, prop.description))
    note = (
        f"leads-to properties were checked on the unreduced graph of {len(graph.edges):,} "
        f"states and {graph.transitions:,} edges (symmetry and partial-order reduction are "
        "not known to keep fair cycles)"
    )
    if not graph.complete:
        stopped = STOPPED[graph.stop_reason].format(
            states=len(graph.edges), seconds=clock.elapsed()
        )
        decided = [r.name for r in results if r.status is not Status.UNKNOWN]
        unknown = "the rest are unknown" if decided else "they are unknown"
        note += f"; {stopped}, so {unknown}"
    return Liveness(tuple(results), graph.complete, note)


def find_lasso(graph: Graph, prop: Property) -> tuple[list[Hashable], int] | None:
    """A shortest path into a fair pending component (or a pending state at rest), then a
    fair loop through it: the states of the lasso and the index its loop starts at."""
    parent: dict[Node, Node | None] = {}
    queue: deque[Node] = deque()
    for state in graph.initial:
        node = (state, prop.still_due(False, state))
        if node not in parent:
            parent[node] = None
            queue.append(node)
    pending = nx.DiGraph()
    order: list[Node] = []  # due nodes, breadth-first: the first bad one has the shortest prefix
    while queue:
        node = queue.popleft()
        state, due = node
        if due:
            pending.add_node(node)
            order.append(node)
        for fair, after in graph.edges[state]:
            nxt = (after, prop.still_due(due, after))
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
            if due and nxt[1]:
                classes = pending.get_edge_data(node, nxt, {"fair": set()})["fair"]
                pending.add_edge(node, nxt, fair=classes | {fair} - {None})
    entry, loop = _bad_component(graph, pending, order)
    if entry is None:
        return None
    prefix = [entry]
    while parent[prefix[-1]] is not None:
        prefix.append(parent[prefix[-1]])  # type: ignore[arg-type]
    prefix.reverse()
    cycle = _fair_loop(graph, pending.subgraph(loop), entry) if loop else []
    states = [state for state, _ in prefix] + [state for state, _ in cycle]
    return states, len(prefix) - 1


def _bad_component(
    graph: Graph, pending: nx.DiGraph, order: list[Node]
) -> tuple[Node | None, set[Node]]:
    """The earliest due node that rests (with no loop) or enters a fair component (with
    that component's nodes); (None, set()) when there is none."""
    component_of: dict[Node, int] = {}
    fair: dict[int, set[Node]] = {}
    for number, nodes in enumerate(nx.strongly_connected_components(pending)):
        for node in nodes:
            component_of[node] = number
        if _is_fair(graph, pending, nodes):
            fair[number] = nodes
    for node in order:
        if node[0] in graph.resting:
            return node, set()
        if component_of[node] in fair:
            return node, fair[component_of[node]]
    return None, set()


def _is_fair(graph: Graph, pending: nx.DiGraph, nodes: set[Node]) -> bool:
    """Whether a run can stay in `nodes` for ever, fairly: it has an edge, and every fair
    class enabled in all of its states is taken on an edge inside it."""
    inside = pending.subgraph(nodes)
    if inside.number_of_edges() == 0:
        return False
    taken = set().union(*(data["fair"] for _, _, data in inside.edges(data=True)))
    return _always_enabled(graph, nodes) <= taken


def _always_enabled(graph: Graph, nodes: Sequence[Node] | set[Node]) -> set[Hashable]:
    """The fair classes enabled in every state of `nodes`."""
    enabled = [{fair for fair, _ in graph.edges[state] if fair is not None} for state, _ in nodes]
    return set.intersection(*enabled) if enabled else set()


def _fair_loop(graph: Graph, component: nx.DiGraph, entry: Node) -> list[Node]:
    """A loop from `entry` back to it inside a fair `component` that takes every fair
    class enabled all along it: the nodes after `entry`, ending with `entry`."""
    loop: list[Node] = [entry]
    taken: set[Hashable] = set()
    while missing := _always_enabled(graph, loop) - taken:
        owed = min(missing, key=repr)
        # The component is fair, so `owed` is taken on one of its edges or is disabled in
        # one of its states: walk to the nearest such place.
        lengths = nx.single_source_shortest_path_length(component, loop[-1])
        paths = None
        for target in sorted(lengths, key=lengths.__getitem__):
            if owed not in {fair for fair, _ in graph.edges[target[0]]}:
                paths = nx.shortest_path(component, loop[-1], target)
                break
            step = next(
                (v for _, v, d in component.out_edges(target, data=True) if owed in d["fair"]),
                None,
            )
            if step is not None:
                paths = [*nx.shortest_path(component, loop[-1], target), step]
                break
        assert paths is not None, "a fair component owes no class it cannot pay"
        taken |= _classes_along(component, paths)
        loop += paths[1:]
    return [*loop[1:], *_way_back(component, loop[-1], entry)[1:]]


def _way_back(component: nx.DiGraph, start: Node, entry: Node) -> list[Node]:
    """A shortest path of at least one step from `start` to `entry` inside `component`."""
    if start != entry:
        return nx.shortest_path(component, start, entry)
    if component.has_edge(entry, entry):
        return [entry, entry]
    step = next(iter(component.successors(entry)))
    return [entry, *nx.shortest_path(component, step, entry)]


def _classes_along(component: nx.DiGraph, path: list[Node]) -> set[Hashable]:
    return set().union(*(component.edges[u, v]["fair"] for u, v in itertools.pairwise(path)))
