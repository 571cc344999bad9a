"""Which reductions a search applies to a model, chosen by name.

Reductions shrink the states a search must visit without changing any
verdict: symmetry (`kmodel.core.symmetry`) and partial-order reduction
(`kmodel.core.partial_order`). A model offers the ones that apply to it;
`--reduce none` turns them all off, so any verdict can be checked again on
the plain state space.
"""

from __future__ import annotations

from collections.abc import Sequence

from kmodel.core.system import System

REDUCTIONS = ("symmetry", "por")
CHOICES = {"none": (), "symmetry": ("symmetry",), "por": ("por",), "all": REDUCTIONS}


def reduced(
    system: System, wanted: Sequence[str], engine: str = "bfs"
) -> tuple[System, tuple[str, ...]]:
    """`system` under those of the `wanted` reductions that apply to it and to the
    engine, and their names. Partial-order reduction needs breadth-first search."""
    applied = []
    if "por" in wanted and engine == "bfs" and system.partial_order:
        from kmodel.core.partial_order import PartialOrderReduced

        system = PartialOrderReduced(system)
        applied.append("por")
    if "symmetry" in wanted and system.symmetric:
        from kmodel.core.symmetry import SymmetryReduced

        system = SymmetryReduced(system)
        applied.append("symmetry")
    return system, tuple(applied)
