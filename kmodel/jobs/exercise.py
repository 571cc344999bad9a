"""A spec's `[exercise]` table: a challenge for `kmodel explore`.

An exercise is a normal spec plus a goal and a prompt; the student steps through
the model until a state breaks the goal contract, and the explorer grades it:

    [exercise]
    goal = "no-acked-loss"
    prompt = "Find a run in which an acknowledged write disappears with acks=1."
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kmodel.core.schema import SpecError, show_value
from kmodel.core.system import Property, PropertyKind

FIELDS = ("goal", "prompt")


@dataclass(frozen=True, slots=True)
class Exercise:
    goal: str  # the contract (an invariant or an end property) the student must break
    prompt: str  # what the student is asked to find, in words


def parse_exercise(table: Any, path: Path) -> Exercise:
    """The `[exercise]` table of the spec at `path`, or a SpecError naming the field."""
    if not isinstance(table, dict):
        raise SpecError(f"{path}: [exercise] must be a table with {' and '.join(FIELDS)}.")
    extra = sorted(set(table) - set(FIELDS))
    if extra:
        raise SpecError(
            f"{path}: exercise.{extra[0]} is not a field of [exercise]; it has "
            f"{' and '.join(FIELDS)}."
        )
    for name in FIELDS:
        value = table.get(name)
        if not isinstance(value, str) or not value.strip():
            shown = "missing" if name not in table else show_value(value)
            raise SpecError(f"{path}: exercise.{name} is {shown}; it must be a non-empty string.")
    return Exercise(goal=table["goal"], prompt=table["prompt"].strip())


def check_goal(exercise: Exercise, properties: Sequence[Property], path: Path) -> None:
    """The goal names a contract of the model that a state can break (a SpecError
    otherwise): a witness is reached, never broken, so it cannot be one."""
    kinds = {prop.name: prop.kind for prop in properties}
    breakable = [name for name, kind in kinds.items() if kind is not PropertyKind.SOMETIMES]
    if kinds.get(exercise.goal) in (None, PropertyKind.SOMETIMES):
        what = "a witness, which is reached, not broken" if exercise.goal in kinds else "unknown"
        raise SpecError(
            f"{path}: exercise.goal {show_value(exercise.goal)} is {what}; it must be a "
            f"contract the model can break: {', '.join(breakable)}."
        )
