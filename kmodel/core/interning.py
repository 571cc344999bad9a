"""Interning: equal values share one small integer id, so states are flat tuples of ints.

A global state built from ids hashes and compares in C without walking nested
actor states or messages; everything computed from a component (an actor's
next state, a network after a delivery) can be cached under its id.

>>> names = Interner()
>>> names("broker0"), names("broker1"), names("broker0")
(0, 1, 0)
>>> names.values[1]
'broker1'
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V", bound=Hashable)


class Interner(Generic[V]):
    """Exact ids by equality, numbered in the order values are first met."""

    __slots__ = ("ids", "values")

    def __init__(self) -> None:
        self.ids: dict[V, int] = {}
        self.values: list[V] = []

    def __call__(self, value: V) -> int:
        known = self.ids.get(value)
        if known is None:
            known = self.ids[value] = len(self.values)
            self.values.append(value)
        return known

    def __len__(self) -> int:
        return len(self.values)
