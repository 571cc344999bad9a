"""A run through a model as the indices of the actions chosen at each step.

Worlds are interned integers that mean something only to the system instance that
made them, so a run is kept as indices into `System.transitions` instead: a short
text (``3.0.5``) that reproduces the same run on any instance of the same spec,
which is what the explorer puts in its URL.

>>> parse_path("3.0.5")
(3, 0, 5)
>>> path_text((3, 0, 5))
'3.0.5'
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence

from kmodel.core.system import System

Path = tuple[int, ...]
MAX_STEPS = 1000  # far beyond any run a person clicks through


class PathError(ValueError):
    """A path that does not name a run of the model; the message says which step."""


def parse_path(text: str) -> Path:
    """The indices written in `text` (``""`` is the initial state)."""
    if not text:
        return ()
    parts = text.split(".")
    if len(parts) > MAX_STEPS:
        raise PathError(f"a path has at most {MAX_STEPS} steps; this one has {len(parts)}.")
    if not all(part.isascii() and part.isdigit() and len(part) <= 6 for part in parts):
        raise PathError(f"{text[:40]!r} is not a path: it must be numbers joined by dots.")
    return tuple(int(part) for part in parts)


def path_text(path: Sequence[int]) -> str:
    return ".".join(map(str, path))


def walk(system: System, path: Sequence[int]) -> list[Hashable]:
    """The worlds along `path`, the initial one first; a PathError names the first
    index that is no enabled action."""
    world = system.initial_states()[0]
    worlds = [world]
    for step, index in enumerate(path, start=1):
        moves = system.transitions(world)
        if index >= len(moves):
            raise PathError(
                f"step {step} chooses action {index}, but only {len(moves)} are enabled there."
            )
        world = moves[index][2]
        worlds.append(world)
    return worlds


def follow(system: System, worlds: Sequence[Hashable]) -> Path:
    """The path through `worlds` (consecutive worlds of a run): at each step the first
    action that leads to the next one, a normal step before a fault."""
    path = []
    for before, after in itertools.pairwise(worlds):
        leading = [
            (fault is not None, index)
            for index, (_, fault, nxt) in enumerate(system.transitions(before))
            if nxt == after
        ]
        if not leading:
            raise PathError("no action of the model leads between two consecutive worlds.")
        path.append(min(leading)[1])
    return tuple(path)
