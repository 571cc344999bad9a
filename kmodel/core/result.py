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

    def to_json(self) -> dict[str, Any]:
        return property_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PropertyResult:
        trace = data["trace"]
        return cls(
            data["name"],
            PropertyKind(data["kind"]),
            Status(data["status"]),
            None if trace is None else Trace.from_json(trace),
            data["description"],
        )


def property_json(prop: PropertyResult | Any) -> dict[str, Any]:
    """A property's outcome as JSON: anything with its name, kind, description, status
    and trace (a search's result, or a spec's verdict)."""
    return {
        "name": prop.name,
        "kind": prop.kind.value,
        "description": prop.description,
        "status": prop.status.value,
        "trace": None if prop.trace is None else prop.trace.to_json(),
    }


@dataclass(frozen=True, slots=True)
class Stats:
    states: int  # unique states reached
    transitions: int  # successor edges generated, duplicates included
    max_depth: int
    seconds: float
    peak_memory_mb: float  # peak resident set size of the search (all its processes)
    search_memory_mb: float = 0.0  # what the search added to the process it started in
    workers: int = 1
    fingerprints: bool = False  # the visited set held 64-bit hashes, not states, at the end
    levels: tuple[int, ...] = ()  # new states per breadth-first level (from the initial ones)
    visited_bytes: int = 0  # what the visited sets held at the end, where measured

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else float(self.states)

    @property
    def bytes_per_state(self) -> float:
        return self.search_memory_mb * 2**20 / self.states if self.states else 0.0

    @property
    def visited_bytes_per_state(self) -> float | None:
        """Bytes a state costs in the visited sets (None where not measured)."""
        if not self.visited_bytes or not self.states:
            return None
        return round(self.visited_bytes / self.states, 1)

    @property
    def collision_bound(self) -> float:
        """An upper bound on the chance that two states shared a fingerprint, which would
        hide the second: n(n-1)/2 pairs, each colliding with chance 2⁻⁶⁴."""
        return self.states * (self.states - 1) / 2**65 if self.fingerprints else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "states": self.states,
            "transitions": self.transitions,
            "max_depth": self.max_depth,
            "seconds": round(self.seconds, 3),
            "states_per_second": round(self.states_per_second),
            "peak_memory_mb": round(self.peak_memory_mb, 1),
            "search_memory_mb": round(self.search_memory_mb, 1),
            "bytes_per_state": round(self.bytes_per_state),
            "workers": self.workers,
            "fingerprints": self.fingerprints,
            "collision_bound": self.collision_bound,
            "levels": list(self.levels),
            "visited_bytes_per_state": self.visited_bytes_per_state,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stats:
        """The statistics `to_json` wrote (what it derives, such as states per second, is
        derived again); a count that is no number is a ValueError or TypeError."""
        return cls(
            int(data["states"]),
            int(data["transitions"]),
            int(data["max_depth"]),
            float(data["seconds"]),
            float(data["peak_memory_mb"]),
            float(data["search_memory_mb"]),
            int(data["workers"]),
            bool(data["fingerprints"]),
            tuple(map(int, data["levels"])),
            round((data.get("visited_bytes_per_state") or 0) * int(data["states"])),
        )


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one search; `complete` says whether every reachable state was seen."""

    engine: str
    complete: bool
    # "explored", "decided" (every verdict settled), "max_states", "max_depth",
    # "max_seconds", "max_memory", "interrupted"
    stop_reason: str
    properties: tuple[PropertyResult, ...]
    stats: Stats
    settings: dict[str, Any] = field(default_factory=dict)
    # When a limit stopped the search: the share of the states left to explore that had
    # spent each fault budget, which tells what grows the space most.
    frontier_faults: dict[str, float] = field(default_factory=dict)
    reductions: tuple[str, ...] = ()  # the reductions the search applied
    notes: tuple[str, ...] = ()  # what a reader should know about how the verdicts were found

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "complete": self.complete,
            "stop_reason": self.stop_reason,
            "properties": [prop.to_json() for prop in self.properties],
            "stats": self.stats.to_json(),
            "settings": self.settings,
            "frontier_faults": self.frontier_faults,
            "reductions": list(self.reductions),
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        return cls(
            data["engine"],
            data["complete"],
            data["stop_reason"],
            tuple(PropertyResult.from_json(prop) for prop in data["properties"]),
            Stats.from_json(data["stats"]),
            dict(data["settings"]),
            dict(data["frontier_faults"]),
            tuple(data["reductions"]),
            tuple(data["notes"]),
        )

    @property
    def search_text(self) -> str:
        """The engine, its workers and the reductions it applied, in words."""
        text = self.engine
        if self.stats.workers > 1:
            text += f", {self.stats.workers} workers"
        if self.reductions:
            names = {"symmetry": "symmetry", "por": "partial order"}
            text += ", reduced by " + " and ".join(names[r] for r in self.reductions)
        return text

    @property
    def coverage(self) -> str:
        """How much of the state space the verdicts rest on, in words."""
        if self.complete:
            return "complete"
        if self.stop_reason == "decided":
            return "stopped early: every verdict was settled"
        return f"incomplete (stopped: {self.stop_reason})"

    def status_of(self, name: str) -> Status:
        return self.property(name).status

    def property(self, name: str) -> PropertyResult:
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise KeyError(name)
