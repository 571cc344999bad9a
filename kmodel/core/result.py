"""What an engine returns: a verdict per property, traces for violations, statistics."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from kmodel.core.system import PropertyKind
from kmodel.core.trace import Trace


class Status(enum.Enum):
    HOLDS = "holds"  # always / at_end: no reachable state breaks it
    VIOLATED = "violated"  # always / at_end: a trace breaks it
    REACHED = "reached"  # sometimes: a trace reaches it
    UNREACHED = "unreached"  # sometimes: no reachable state satisfies it
    UNKNOWN = "unknown"  # the run was cut short before a verdict


@dataclass(frozen=True, slots=True)
class PropertyResult:
    name: str
    kind: PropertyKind
    status: Status
    trace: Trace | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Stats:
    states: int  # unique states reached
    transitions: int  # successor edges generated, duplicates included
    max_depth: int
    seconds: float
    peak_memory_mb: float  # peak resident set size of the process

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else float(self.states)

    def to_json(self) -> dict[str, Any]:
        return {
            "states": self.states,
            "transitions": self.transitions,
            "max_depth": self.max_depth,
            "seconds": round(self.seconds, 3),
            "states_per_second": round(self.states_per_second),
            "peak_memory_mb": round(self.peak_memory_mb, 1),
        }


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one search; `complete` says whether every reachable state was seen."""

    engine: str
    complete: bool
    stop_reason: str  # "explored", "max_states", "max_depth", "max_seconds", "interrupted"
    properties: tuple[PropertyResult, ...]
    stats: Stats
    settings: dict[str, Any] = field(default_factory=dict)

    def status_of(self, name: str) -> Status:
        return self.property(name).status

    def property(self, name: str) -> PropertyResult:
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise KeyError(name)
