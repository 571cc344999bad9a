"""Small operations on immutable tuples, the building blocks of canonical states."""

from __future__ import annotations

from typing import Any


def replace_at(values: tuple, index: int, value: Any) -> tuple:
    """A copy of `values` with position `index` set to `value`."""
    return values[:index] + (value,) + values[index + 1 :]
