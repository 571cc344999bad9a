"""One counterexample rules out every configuration that would repeat it.

A trace's replay reads some of the configuration (`reads.Watched`); every candidate
that gives the same values at those paths replays it step for step and breaks the same
contract. `ruled_out` finds the choices those values depend on, and proves the claim
by evaluating the configuration of every candidate it rules out, so the blocking
clause it gives z3 never excludes a configuration the trace would not break.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kmodel.advise.reads import Watched, value_at
from kmodel.advise.space import Space
from kmodel.core.trace import Trace, breaks
from kmodel.kafka.model import assemble, configure

Settings = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class RuledOut:
    """The choices a counterexample depends on, with the values it needs, and how many
    configurations of the space keep them (and so break the same way)."""

    kept: dict[str, Any]  # choice key: value
    configurations: int


def trace_reads(settings: Settings, trace: Trace, contract: str) -> frozenset[str]:
    """The paths of the configuration that replaying `trace` on `settings` reads, from
    building the system to judging `contract`; the trace must break it there."""
    paths: set[str] = set()
    system = assemble(Watched(configure(settings), paths))
    if not breaks(system, trace, contract):
        raise ValueError(f"the trace does not break {contract} on these settings")
    return frozenset(paths)


def ruled_out(
    space: Space, values: Mapping[str, Any], run: Settings, paths: frozenset[str]
) -> RuledOut:
    """The fewest choices whose values fix every path in `paths`, given the candidate's
    `values` on the settings of the run that broke (`run`), grown until every
    configuration keeping them is checked to read the same."""
    order = sorted(paths)

    def reading(candidate: Mapping[str, Any]) -> tuple[Any, ...]:
        config = configure(space.applied(candidate, run))
        return tuple(value_at(config, path) for path in order)

    seen = reading(values)
    kept = {
        key
        for key, choice in space.choices.items()
        if any(reading({**values, key: other}) != seen for other in choice.values)
    }
    while True:
        witness = next((c for c in keeping(space, values, kept) if reading(c) != seen), None)
        if witness is None:
            free = [len(c.values) for key, c in space.choices.items() if key not in kept]
            chosen = {key: values[key] for key in space.choices if key in kept}  # in order
            return RuledOut(chosen, math.prod(free))
        # Walk from the candidate to the witness a choice at a time: the first step that
        # changes what the trace reads names a choice it depends on.
        step = dict(values)
        for key in (k for k in space.choices if k not in kept and witness[k] != values[k]):
            step[key] = witness[key]
            if reading(step) != seen:
                kept.add(key)
                break


def keeping(space: Space, values: Mapping[str, Any], kept: set[str]) -> Iterator[dict]:
    """Every assignment of the choices that gives the `kept` ones their `values`."""
    free = [key for key in space.choices if key not in kept]
    for combination in itertools.product(*(space.choices[key].values for key in free)):
        yield {**values, **dict(zip(free, combination, strict=True))}
