"""`kmodel graph`: the state graph of a small spec as DOT, GraphML and PNG."""

from pathlib import Path

import networkx as nx
from click.testing import CliRunner

from kmodel.cli import main

SPECS = Path(__file__).parent.parent / "specs"


def test_graph_files_hold_every_state(tmp_path: Path) -> None:
    spec = SPECS / "amo-network-failure-during-send.toml"
    result = CliRunner().invoke(
        main, ["graph", str(spec), "--out", str(tmp_path), "--contract", "no-loss"]
    )
    assert result.exit_code == 0, result.output
    graph = nx.read_graphml(tmp_path / "graph.graphml")
    assert graph.number_of_nodes() == 102  # the spec's pinned state count
    assert (tmp_path / "graph.dot").read_text().startswith("digraph")
    assert (tmp_path / "graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_graph_refuses_a_large_model_politely(tmp_path: Path) -> None:
    spec = SPECS / "at-most-once.toml"
    result = CliRunner().invoke(main, ["graph", str(spec), "--out", str(tmp_path), "--limit", "50"])
    assert result.exit_code == 2
    assert "shrink the model" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "graph.png").exists()
