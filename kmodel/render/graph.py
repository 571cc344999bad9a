"""State graphs of small models: every reachable state and transition, for drawing.

`state_graph` explores a `System` breadth-first through its public interface
alone (initial states, actions, successors, step descriptions, state views),
so it works for any model; it is for teaching-sized models and refuses, with
`GraphTooLarge`, to grow past a limit. The graph is a `networkx.DiGraph`
whose nodes are numbered in the order they were found (0 is an initial
state) and carry plain attributes, so it can be written as DOT or GraphML
and drawn with a trace's path picked out.

Node attributes: ``label`` (a short summary of the state), ``view`` (the
state's `state_view` as JSON), ``depth`` (steps from an initial state),
``initial`` and ``terminal`` (no step leads to another state). Edge attributes: ``label``,
``kind``, ``actor`` and ``fault`` (the budget key, empty for a normal step).
"""

from __future__ import annotations

import itertools
import json
import time
from collections import deque
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import networkx as nx

from kmodel.core.system import System
from kmodel.core.text import printable
from kmodel.core.trace import Trace
from kmodel.render.mpl import text_as_written

LIMIT = 2000
LABEL_WIDTH = 96


class GraphTooLarge(Exception):
    """The model has more reachable states than a picture can show."""


def state_graph(
    system: System,
    limit: int = LIMIT,
    name: str | None = None,
    max_seconds: float | None = None,
) -> nx.DiGraph:
    """Every state of `system` reachable from its initial states, and every transition.

    Raises `GraphTooLarge` as soon as more than `limit` states turn up, or when
    exploring takes longer than `max_seconds`. When
    several actions lead from one state to the same next state, the edge keeps
    the first normal one (a fault only if no normal action does it).
    """
    title = name or type(system).__name__
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    graph = nx.DiGraph(name=title)
    index: dict[Hashable, int] = {}
    queue: deque[Hashable] = deque()

    def add(state: Hashable, depth: int, initial: bool) -> int:
        if len(index) >= limit:
            raise GraphTooLarge(
                f"The state graph of {title} has more than {limit:,} states, too many to draw; "
                "shrink the model, e.g. --set bounds.records=1 or fewer crashes."
            )
        node = index[state] = len(index)
        view = system.state_view(state)
        graph.add_node(
            node,
            label=summarise(view),
            view=view_key(view),
            depth=depth,
            initial=initial,
            terminal=False,
        )
        queue.append(state)
        return node

    for state in system.initial_states():
        if state not in index:
            add(state, 0, True)
    while queue:
        if deadline is not None and time.monotonic() > deadline:
            raise GraphTooLarge(
                f"Exploring the state graph of {title} took longer than {max_seconds:g} s "
                f"(--max-seconds), with {len(index):,} states found; shrink the model."
            )
        state = queue.popleft()
        node = index[state]
        depth = graph.nodes[node]["depth"]
        for action in system.actions(state):
            after = system.next_state(state, action)
            if after is None:
                continue
            target = index.get(after)
            if target is None:
                target = add(after, depth + 1, False)
            fault = system.fault_of(action) or ""
            known = graph.get_edge_data(node, target)
            if known is not None and (fault or not known["fault"]):
                continue
            info = system.describe(state, action, after)
            graph.add_edge(
                node,
                target,
                label=info.label,
                kind=info.kind,
                actor=info.actor or "",
                fault=fault,
            )
    for node in graph.nodes:
        graph.nodes[node]["terminal"] = all(after == node for after in graph.successors(node))
    return graph


def view_key(view: Any) -> str:
    """A state view as canonical JSON: equal views give equal keys."""
    return json.dumps(view, sort_keys=True, separators=(",", ":"), default=str)


def summarise(view: Any, width: int = LABEL_WIDTH) -> str:
    """A short one-line picture of a state view: ``tm=init rm=[working,prepared]``."""
    if isinstance(view, dict):
        text = " ".join(f"{key}={_compact(value)}" for key, value in view.items())
    else:
        text = _compact(view)
    return text if len(text) <= width else text[: width - 1] + "…"


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_compact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_compact(v) for v in value) + "]"
    if isinstance(value, bool):
        return "T" if value else "F"
    return str(value)


def trace_nodes(graph: nx.DiGraph, trace: Trace) -> list[int]:
    """The graph's nodes along `trace`, matched by state view.

    Raises ValueError if the trace's states are not in the graph (a trace of
    another model, or of other settings).
    """
    first = view_key(trace.initial)
    candidates = [n for n, data in graph.nodes(data=True) if data["initial"]]
    start = [n for n in candidates if graph.nodes[n]["view"] == first]
    if not start:
        raise ValueError("the trace's initial state is not an initial state of this graph")
    path = [start[0]]
    for number, step in enumerate(trace.steps, 1):
        key = view_key(step.state)
        following = [n for n in graph.successors(path[-1]) if graph.nodes[n]["view"] == key]
        if not following:
            raise ValueError(f"step {number} of the trace ({step.label}) is not in this graph")
        path.append(following[0])
    return path


# -- files ----------------------------------------------------------------------


def write_graphml(graph: nx.DiGraph, path: str | Path) -> Path:
    """Write `graph` as GraphML (for yEd, Gephi, Cytoscape ...)."""
    path = Path(path)
    nx.write_graphml(graph, path)
    return path


def write_dot(graph: nx.DiGraph, path: str | Path) -> Path:
    """Write `graph` in Graphviz DOT (``dot -Tsvg states.dot``).

    Formatted here, so neither pydot nor pygraphviz is needed: initial states
    are green, terminal states grey, transitions that use a fault dashed.
    """
    path = Path(path)
    path.write_text(to_dot(graph), encoding="utf-8")
    return path


def to_dot(graph: nx.DiGraph) -> str:
    """The DOT text of `graph`."""
    name = graph.graph.get("name", "states")
    lines = [
        f"digraph {_dot_string(name)} {{",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fillcolor="#EEF3FA", fontsize=9];',
        "  edge [fontsize=8];",
    ]
    for node, data in graph.nodes(data=True):
        label = "\n".join(_lines(f"{node}: {data.get('label', '')}", 32))
        attributes = [f"label={_dot_string(label)}"]
        if data.get("view"):
            attributes.append(f"tooltip={_dot_string(data['view'])}")
        if data.get("initial"):
            attributes.append('fillcolor="#C8EBC8"')
        elif data.get("terminal"):
            attributes.append('fillcolor="#DDDDDD"')
        lines.append(f"  {node} [{', '.join(attributes)}];")
    for source, target, data in graph.edges(data=True):
        attributes = [f"label={_dot_string(data.get('label', ''))}"]
        if data.get("fault"):
            attributes += ['style="dashed"', 'color="#E07000"']
        lines.append(f"  {source} -> {target} [{', '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


# -- drawing --------------------------------------------------------------------


def layered_layout(graph: nx.DiGraph) -> dict[int, tuple[float, float]]:
    """Positions with one row per depth (initial states on top), each row ordered to
    keep children under their parents."""
    layers: dict[int, list[int]] = {}
    for node, data in graph.nodes(data=True):
        layers.setdefault(data["depth"], []).append(node)
    widest = max((len(row) for row in layers.values()), default=1)
    position: dict[int, tuple[float, float]] = {}
    for depth in sorted(layers):
        row = layers[depth]
        if depth:

            def parents_mean(node: int) -> float:
                xs = [position[p][0] for p in graph.predecessors(node) if p in position]
                return sum(xs) / len(xs) if xs else 0.0

            row.sort(key=lambda n: (parents_mean(n), n))
        offset = (widest - len(row)) / 2
        for i, node in enumerate(row):
            position[node] = (offset + i, -float(depth))
    return position


def draw_graph(
    graph: nx.DiGraph,
    path: str | Path,
    highlight_path: Trace | Sequence[int] | None = None,
    *,
    title: str | None = None,
    dpi: int = 100,
) -> Path:
    """Draw `graph` to an image (PNG, or SVG/PDF by extension), a trace's path in red.

    `highlight_path` is a `Trace` of the same model (matched to nodes by
    state view) or a list of node numbers. Small graphs (up to 40 states)
    show every state's summary and, up to 60 transitions, every step's label;
    larger ones show the shape only. Steps that leave a state unchanged are
    not drawn.
    """
    with text_as_written():
        return _draw_graph(graph, Path(path), highlight_path, title, dpi)


def _draw_graph(
    graph: nx.DiGraph,
    path: Path,
    highlight_path: Trace | Sequence[int] | None,
    title: str | None,
    dpi: int,
) -> Path:
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    nodes_on_path: list[int] = []
    if isinstance(highlight_path, Trace):
        nodes_on_path = trace_nodes(graph, highlight_path)
    elif highlight_path is not None:
        nodes_on_path = list(highlight_path)
    path_edges = {(a, b) for a, b in itertools.pairwise(nodes_on_path) if a != b}

    layout = layered_layout(graph)
    count = graph.number_of_nodes()
    small = count <= 40
    widest = max((x for x, _ in layout.values()), default=0.0) + 1
    layers = -min((y for _, y in layout.values()), default=0.0) + 1
    step_x = 2.4 if small else min(0.3, 38.0 / widest)
    step_y = 1.7 if small else 0.6
    margin, top = (1.3 if small else 0.4), 1.0
    bottom = 1.1 if small else 0.6
    width = max(margin * 2 + (widest - 1) * step_x, 6.0)
    height = top + bottom + (layers - 1) * step_y
    left = (width - (widest - 1) * step_x) / 2
    position = {n: (left + x * step_x, top - y * step_y) for n, (x, y) in layout.items()}

    figure = Figure(figsize=(width, height))
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    heading = printable(title or graph.graph.get("name", "state graph"))
    summary = f"{count:,} states, {graph.number_of_edges():,} transitions"
    if nodes_on_path:
        summary += f"; a trace of {len(nodes_on_path) - 1} steps in red"
    ax.text(width / 2, 0.15, heading, ha="center", va="top", fontsize=12, fontweight="bold")
    ax.text(width / 2, 0.45, summary, ha="center", va="top", fontsize=9, color="#444444")

    edges = [(a, b, d) for a, b, d in graph.edges(data=True) if a != b]
    if small:
        for a, b, d in edges:
            on_path = (a, b) in path_edges
            colour = "#D62728" if on_path else "#E07000" if d["fault"] else "#8A9BB5"
            ax.add_patch(
                FancyArrowPatch(
                    position[a],
                    position[b],
                    arrowstyle="-|>",
                    mutation_scale=10,
                    color=colour,
                    linewidth=2.5 if on_path else 1.0,
                    linestyle="--" if d["fault"] else "-",
                    shrinkA=7,
                    shrinkB=7,
                    zorder=3 if on_path else 1,
                )
            )
    else:

        def segments(pairs: Iterable[tuple[int, int]]) -> list[list[tuple[float, float]]]:
            return [[position[a], position[b]] for a, b in pairs]

        plain = [(a, b) for a, b, d in edges if not d["fault"]]
        faulty = [(a, b) for a, b, d in edges if d["fault"]]
        ax.add_collection(
            LineCollection(segments(plain), colors="#8A9BB5", linewidths=0.7, alpha=0.7, zorder=1)
        )
        ax.add_collection(
            LineCollection(
                segments(faulty),
                colors="#E07000",
                linewidths=0.7,
                linestyles="--",
                alpha=0.7,
                zorder=1,
            )
        )
        if path_edges:
            ax.add_collection(
                LineCollection(segments(path_edges), colors="#D62728", linewidths=2.5, zorder=3)
            )

    def scatter(nodes: list[int], colour: str, size: float, zorder: int) -> None:
        if nodes:
            xs, ys = zip(*(position[n] for n in nodes), strict=True)
            ax.scatter(
                xs, ys, s=size, c=colour, edgecolors="#333333", linewidths=0.5, zorder=zorder
            )

    size = 140.0 if small else max(8.0, 50 - count / 10)
    data = graph.nodes
    inner = [n for n in data if not data[n]["initial"] and not data[n]["terminal"]]
    scatter(inner, "#C9D7EE", size, 2)
    scatter([n for n in data if data[n]["terminal"] and not data[n]["initial"]], "#BBBBBB", size, 2)
    scatter([n for n in data if data[n]["initial"]], "#2CA02C", size * 1.6, 4)
    scatter(nodes_on_path[1:], "#D62728", size * 1.2, 4)

    if small:
        box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 0.6}
        for node, (x, y) in position.items():
            label = "\n".join(_lines(f"{node}: {data[node]['label']}", 32))
            ax.text(x, y + 0.12, label, ha="center", va="top", fontsize=8, zorder=5, bbox=box)
        if len(edges) <= 60:
            for a, b, d in edges:
                (x1, y1), (x2, y2) = position[a], position[b]
                along = 0.55 if x2 >= x1 else 0.72  # crossing edges keep their labels apart
                ax.text(
                    x1 + (x2 - x1) * along,
                    y1 + (y2 - y1) * along,
                    d["label"],
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="#555555",
                    zorder=4,
                    bbox=box,
                )

    keys = [
        Line2D([], [], marker="o", linestyle="", color="#2CA02C", label="initial state"),
        Line2D([], [], marker="o", linestyle="", color="#BBBBBB", label="no way on"),
        Line2D([], [], color="#8A9BB5", label="step"),
        Line2D([], [], color="#E07000", linestyle="--", label="fault"),
    ]
    if path_edges:
        keys.append(Line2D([], [], color="#D62728", linewidth=2.5, label="the trace"))
    figure.legend(
        handles=keys,
        loc="lower center",
        ncols=len(keys),
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0.5, 0.0),
    )
    figure.savefig(path, dpi=dpi)
    return path


def _lines(text: str, width: int) -> list[str]:
    """`text` cut into lines of at most `width` characters, at spaces where possible."""
    import textwrap

    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]
