"""The smallest change to a configuration that gives the guarantee wanted.

z3's optimiser proposes the candidate with the fewest changed settings, ties broken
by what each change costs (`Choice.cost`); the fault menu of `classify` checks it;
a candidate that fails is ruled out and the optimiser asked again, until one
passes, none is left within the model, or the candidate budget is spent. The first
candidate is the configuration itself.

A trace that rules a candidate out rules out every configuration giving the same values
to what its replay reads (`generalise`): z3 is told, so it never proposes them; and it
is replayed on each later candidate, which it may break by another route.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import z3

from kmodel.advise.classify import (
    PROMISES,
    Classification,
    Configuration,
    Finding,
    classify,
    menu_settings,
)
from kmodel.advise.generalise import RuledOut, ruled_out, trace_reads
from kmodel.advise.space import Space
from kmodel.core.result import Status
from kmodel.core.trace import breaks
from kmodel.kafka.model import KAFKA

# A change outweighs every cost together, so fewer changes always win.
CHANGE = 100


@dataclass(frozen=True, slots=True)
class Candidate:
    """A configuration tried: its changes, and the contract that ruled it out (if any):
    by the fault menu, or by replaying the trace that ruled out an earlier candidate."""

    changes: dict[str, tuple[Any, Any]]  # section.name: (from, to)
    classification: Classification | None  # None: ruled out by a replayed trace
    broken: Finding | None
    menu: Mapping[str, str]  # what each fault bound stands for
    ruled_out: RuledOut | None = None  # every configuration its trace rules out


@dataclass(frozen=True, slots=True)
class Advice:
    wanted: str
    candidates: tuple[Candidate, ...]  # in the order tried; the last passes, if any does
    exhausted: bool  # no candidate is left within the model's choices

    @property
    def answer(self) -> Candidate | None:
        last = self.candidates[-1] if self.candidates else None
        return last if last is not None and last.broken is None else None


def advise(
    configuration: Configuration,
    wanted: str,
    bounds: Mapping[str, int] | None = None,
    max_seconds: float | None = None,
    max_candidates: int = 100,
) -> Advice:
    """Search for the smallest change that makes the pipeline give `wanted`."""
    space = Space(configuration.settings)
    optimiser = z3.Optimize()
    optimiser.add(*space.domain(), *space.kafka_rules())
    for key, choice in space.choices.items():
        optimiser.add_soft(z3.Not(space.changed(key)), CHANGE + choice.cost)
    tried: list[Candidate] = []
    while len(tried) < max_candidates:
        if optimiser.check() != z3.sat:
            return Advice(wanted, tuple(tried), exhausted=True)
        values = space.assignment(optimiser.model())
        settings = space.applied(values)
        optimiser.add(z3.Not(z3.And(space.fixed(values))))  # never proposed again
        if KAFKA.rules(settings):
            continue  # Kafka (or this application's kind) refuses it: no candidate
        changes = {
            key: (space.current[key], value)
            for key, value in values.items()
            if value != space.current[key]
        }
        # One trace rules out every configuration that repeats it: an earlier candidate's
        # counterexample that replays here, to the same break, is a counterexample here.
        repeated = _repeated(settings, bounds, [c for c in tried if c.broken is not None])
        if repeated is not None:
            result, broken, menu = None, repeated.broken, repeated.menu
        else:
            result = classify(
                dataclasses.replace(configuration, settings=settings), bounds, max_seconds
            )
            if result.gives(wanted):
                tried.append(Candidate(changes, result, None, result.menu))
                return Advice(wanted, tuple(tried), exhausted=False)
            broken, menu = _first_break(result, wanted), result.menu
        rule = None
        if broken is not None and broken.trace is not None:
            run = menu_settings(settings, bounds, broken.run)
            rule = ruled_out(space, values, run, trace_reads(run, broken.trace, broken.name))
            optimiser.add(z3.Not(z3.And(space.fixed(rule.kept))))
        tried.append(Candidate(changes, result, broken, menu, rule))
    return Advice(wanted, tuple(tried), exhausted=False)


def _repeated(
    settings: Mapping[str, Mapping[str, Any]],
    bounds: Mapping[str, int] | None,
    rejected: list[Candidate],
) -> Candidate | None:
    """The earlier candidate whose counterexample, run under its fault, breaks the same
    contract on `settings` too (each counterexample once: those found by a search)."""
    for candidate in rejected:
        broken = candidate.broken
        if candidate.classification is None or broken is None or broken.trace is None:
            continue
        run = menu_settings(settings, bounds, broken.run)
        if KAFKA.rules(run):
            continue
        if breaks(KAFKA.build(run), broken.trace, broken.name):
            return candidate
    return None


def _first_break(result: Classification, wanted: str) -> Finding:
    """The promised contract that ruled the candidate out: broken (a loss first), or
    undecided when a run stopped first."""
    promised = [result.finding(name) for name in PROMISES[wanted]]
    return next((f for f in promised if f.status is Status.VIOLATED), promised[0])
