"""How a model declares the settings a spec may give it, and their validation.

A model names its sections (``parameters``, ``producer``, ``bounds`` ...) and
in each the settings it accepts, with type, default, allowed values and a
line of help. Validation turns bad input into `SpecError`, one paragraph
naming the file, the field and what is allowed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kmodel.core.system import System


class SpecError(Exception):
    """Bad input: the message is a paragraph for the user, never a traceback."""


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    type: type  # int, bool, str, float, or object for a mix of choices
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None  # bounds of an int or float setting
    maximum: float | None = None

    def allowed(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(show_value(choice) for choice in self.choices)
        if self.type is bool:
            return "true or false"
        if self.type in (int, float):
            low = "" if self.minimum is None else f" ≥ {self.minimum}"
            high = "" if self.maximum is None else f" ≤ {self.maximum}"
            joiner = " and" if low and high else ""
            return f"{'an integer' if self.type is int else 'a number'}{low}{joiner}{high}"
        return "a string" if self.type is str else f"a {self.type.__name__}"

    def check(self, value: Any, where: str) -> Any:
        """`value` converted to this setting's type, or a SpecError naming `where`."""
        # `object` settings take any of their choices (Kafka's acks is 0, 1 or "all").
        is_bool = isinstance(value, bool)
        ok = isinstance(value, self.type) and not (self.type in (int, object) and is_bool)
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if self.choices is not None and ok and value not in self.choices:
            ok = False
        if ok and self.type in (int, float):
            # NaN fails every comparison, so it never passes a bound.
            ok = (self.minimum is None or value >= self.minimum) and (
                self.maximum is None or value <= self.maximum
            )
        if not ok:
            raise SpecError(f"{where} is {show_value(value)}, but it must be {self.allowed()}.")
        return value

    def parse(self, text: str, where: str) -> Any:
        """Convert a command-line string (from --set) to this setting's type."""
        value: Any = text
        if self.type is bool and text.lower() in ("true", "false"):
            value = text.lower() == "true"
        elif self.type is int:
            with contextlib.suppress(ValueError):
                value = int(text)
        elif self.type is float:
            with contextlib.suppress(ValueError):
                value = float(text)
        if self.choices is not None and value not in self.choices:
            # choices may mix ints and strings (acks = 0, 1 or "all")
            for choice in self.choices:
                if str(choice) == text:
                    value = choice
        return self.check(value, where)


Settings = Mapping[str, Mapping[str, Any]]  # section -> name -> value


@dataclass(frozen=True, slots=True)
class Model:
    """A model a spec can name: its settings, how to build it, its cross-field rules."""

    name: str
    summary: str
    sections: Mapping[str, tuple[Setting, ...]]
    build: Callable[[Settings], System]
    # Rules that involve several settings; each returns (section.field, problem) pairs.
    rules: Callable[[Settings], list[tuple[str, str]]] = field(default=lambda settings: [])
    # The setting (section.name) that bounds each fault budget of the model's system.
    budget_bounds: Mapping[str, str] = field(default_factory=dict)

    def defaults(self) -> dict[str, dict[str, Any]]:
        return {
            section: {s.name: s.default for s in settings}
            for section, settings in self.sections.items()
        }

    def setting(self, section: str, name: str) -> Setting | None:
        return next((s for s in self.sections.get(section, ()) if s.name == name), None)


def show_value(value: Any) -> str:
    """`value` as it would be written in a TOML spec: true, 5, "all"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{}"
    return str(value)
