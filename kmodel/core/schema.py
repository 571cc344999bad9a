"""How a model declares the settings a spec may give it, and their validation.

A model names its sections (``parameters``, ``producer``, ``bounds`` ...) and
in each the settings it accepts, with type, default, allowed values and a
line of help. Validation turns bad input into `SpecError`, one paragraph
naming the file, the field and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kmodel.core.system import System
from kmodel.core.text import CONTROL_ESCAPES


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
        """`value` (as TOML gave it) converted to this setting's type, or a SpecError
        naming `where`. Types are strict: 1.0 is not 1, true is not 1, "1" is not 1."""
        accepted = self._accept(value)
        if accepted is _REFUSED:
            kind, advice = self._hint(value)
            raise SpecError(
                f"{where} is {show_value(value)}{kind}, but it must be {self.allowed()}{advice}."
            )
        return accepted

    def parse(self, text: str, where: str) -> Any:
        """`text` (from a .properties file or --set) read as Kafka's ConfigDef reads a
        string: trimmed as Java's String.trim, numbers by Integer.parseInt (no ``1_000``,
        no ``1.0``), booleans true or false in any case, a choice only as written."""
        return self.check(self._from_text(text), where)

    def _from_text(self, text: str) -> Any:
        value = text.strip(_JAVA_TRIMMED)
        if self.type is bool and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if self.type is int and _JAVA_INTEGER.fullmatch(value):
            return _java_integer(value)
        if self.type is float and _DECIMAL.fullmatch(value):
            return float(value)
        if self.choices is not None:
            return next((choice for choice in self.choices if str(choice) == value), value)
        return value

    def _accept(self, value: Any) -> Any:
        """`value` as this setting holds it, or `_REFUSED`."""
        if self.choices is not None:
            # `object` settings mix kinds of choices (Kafka's acks is 0, 1 or "all").
            same = any(type(value) is type(c) and value == c for c in self.choices)
            return value if same else _REFUSED
        if self.type is float and type(value) is int:
            value = float(value)
        if type(value) is not self.type:
            return _REFUSED
        # NaN fails every comparison, so it never passes a bound.
        if self.type in (int, float) and not (
            (self.minimum is None or value >= self.minimum)
            and (self.maximum is None or value <= self.maximum)
        ):
            return _REFUSED
        return value

    def _hint(self, value: Any) -> tuple[str, str]:
        """What kind a refused value is, and how to write what it most likely meant."""
        if isinstance(value, str):
            meant = self._accept(self._from_text(value))
            if meant is not _REFUSED and not isinstance(meant, str):
                return ", a string", ": remove the quotes"
        elif isinstance(value, float) and value.is_integer():
            if self._accept(int(value)) is not _REFUSED:
                return ", a float", f": write {int(value)}"
        elif not isinstance(value, dict | list) and self._accept(show_value(value)) is not _REFUSED:
            return ", not a string", ": put it in quotes"
        return "", ""


_REFUSED = object()
_JAVA_TRIMMED = "".join(map(chr, range(0x21)))  # String.trim() drops every char ≤ U+0020
_JAVA_INTEGER = re.compile(r"[+-]?\d+")  # Integer.parseInt: a sign, decimal digits, no "_"


def _java_integer(text: str) -> int | str:
    """The value of `text` (a sign and decimal digits), or `text` itself when it has more
    digits than any Java integer (Python refuses to read thousands of digits)."""
    digits = text.lstrip("+-").lstrip("0") or "0"
    if len(digits) > 19:
        return text
    return -int(digits) if text.startswith("-") else int(digits)


_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


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
    # Settings that change which properties the model has (e.g. which application runs):
    # each variant's changes to the defaults; their properties together are the model's.
    variants: tuple[Mapping[str, Mapping[str, Any]], ...] = ({},)

    def defaults(self) -> dict[str, dict[str, Any]]:
        return {
            section: {s.name: s.default for s in settings}
            for section, settings in self.sections.items()
        }

    def setting(self, section: str, name: str) -> Setting | None:
        return next((s for s in self.sections.get(section, ()) if s.name == name), None)


def show_value(value: Any, depth: int = 0) -> str:
    """`value` as it would be written in a TOML spec: true, 5, "all", with control
    characters escaped and long strings cut, so it is safe in a one-line message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…"
        return '"' + "".join(_TOML_ESCAPES.get(c, c) for c in shown) + '"'
    if isinstance(value, dict):
        return "{}" if not value else "{…}"
    if isinstance(value, list):
        if depth >= 3 or len(value) > 8:
            return "[…]"
        return "[" + ", ".join(show_value(item, depth + 1) for item in value) + "]"
    return str(value)


SHOWN_CHARS = 120
_TOML_ESCAPES = {**CONTROL_ESCAPES, '"': '\\"', "\\": "\\\\"}
