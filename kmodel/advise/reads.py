"""Which parts of a configuration a run reads.

A `Watched` configuration stands in for a tree of frozen dataclasses and notes the path
of every value read from it (`broker.min_insync`, `producer.acks`). A run is a function
of what it reads: any configuration giving the same values at those paths replays it
step for step. That is what lets one counterexample rule out many candidates.
"""

from __future__ import annotations

import dataclasses
from typing import Any


class Watched:
    """A read-only view of a dataclass tree that notes each value read, by its path.
    It passes `isinstance` as the object it watches, so code that dispatches on the
    configuration's type reads it unchanged."""

    __slots__ = ("_paths", "_prefix", "_target")

    def __init__(self, target: Any, paths: set[str], prefix: str = "") -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_prefix", prefix)
        object.__setattr__(self, "_paths", paths)

    @property
    def __class__(self) -> type:  # type: ignore[override]
        return type(self._target)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        path = self._prefix + name
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return Watched(value, self._paths, path + ".")
        self._paths.add(path)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def value_at(config: Any, path: str) -> Any:
    """The value at a path that `Watched` noted."""
    for name in path.split("."):
        config = getattr(config, name)
    return config
