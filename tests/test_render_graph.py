"""State graphs of small models: exact counts, the size limit, files and pictures."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest

from kmodel.core.system import System
from kmodel.jobs.run import run_job
from kmodel.jobs.spec import load_job
from kmodel.render.graph import (
    GraphTooLarge,
    draw_graph,
    state_graph,
    to_dot,
    trace_nodes,
    write_dot,
    write_graphml,
)

SPEC = Path(__file__).parent.parent / "specs" / "two-phase-commit.toml"


def two_phase_commit(rms: int) -> tuple[System, object]:
    job = load_job(SPEC, overrides=[f"parameters.rms={rms}"])
    return job.model.build(job.settings), job


def test_two_phase_commit_with_three_rms_has_288_states() -> None:
    system, _ = two_phase_commit(3)
    graph = state_graph(system)
    assert graph.number_of_nodes() == 288
    assert graph.nodes[0]["initial"] and graph.nodes[0]["depth"] == 0
    assert all(data["label"] for _, data in graph.nodes(data=True))


def test_too_large_a_model_is_refused_politely() -> None:
    system, _ = two_phase_commit(3)
    with pytest.raises(GraphTooLarge, match=r"more than 100 states.*bounds\.records=1"):
        state_graph(system, limit=100)
    assert state_graph(system, limit=288).number_of_nodes() == 288


def test_trace_maps_onto_the_graph_and_is_drawn(tmp_path: Path) -> None:
    system, job = two_phase_commit(1)
    graph = state_graph(system, name="two-phase commit")
    trace = run_job(job).verdict("all-committed").trace
    path = trace_nodes(graph, trace)
    assert len(path) == len(trace) + 1 and path[0] == 0
    assert all(graph.has_edge(a, b) for a, b in itertools.pairwise(path))
    png = draw_graph(graph, tmp_path / "states.png", trace)
    assert png.read_bytes().startswith(b"\x89PNG")


def test_dot_and_graphml(tmp_path: Path) -> None:
    system, _ = two_phase_commit(1)
    graph = state_graph(system, name='2PC "one"')
    dot = to_dot(graph)
    assert dot.startswith('digraph "2PC \\"one\\"" {') and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == graph.number_of_edges()
    assert write_dot(graph, tmp_path / "g.dot").read_text() == dot
    back = nx.read_graphml(write_graphml(graph, tmp_path / "g.graphml"))
    assert back.number_of_nodes() == graph.number_of_nodes()
    ET.parse(tmp_path / "g.graphml")
