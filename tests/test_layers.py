"""The layers of DESIGN.md: each package imports only from the layers below it."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kmodel"
ENGINES = ("core.bfs", "core.dfs", "core.parallel", "core.partition")
# Each layer and the packages it must never import (everything above it).
FORBIDDEN = {
    "core": ("jobs", "kafka", "render", "report", "examples", "cli", "console"),
    "kafka": ("jobs", "render", "report", "cli", "console"),
    "examples": ("jobs", "kafka", "render", "report", "cli", "console"),
    "jobs": ("advise", "render", "report", "explore", "cli", "console"),
    "advise": ("render", "report", "explore", "cli", "console"),
    "explore": ("report", "cli", "console"),
    # Traces are drawn from plain data: the renderers never import an engine.
    "render": ("report", "explore", "cli", "console", *ENGINES),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name.removeprefix("kmodel.") for name in names if name.startswith("kmodel.")}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    offences = [
        f"{path.relative_to(PACKAGE)} imports kmodel.{module}"
        for path in sorted((PACKAGE / layer).glob("*.py"))
        for module in imported_modules(path)
        if any(module == above or module.startswith(above + ".") for above in FORBIDDEN[layer])
    ]
    assert not offences
