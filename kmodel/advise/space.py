"""The settings `kmodel advise` may change, each over a finite domain, and Kafka's
validation rules over them as z3 constraints.

A choice's variable is the index of its value in the domain, so any rule is a
disjunction over the indices whose values satisfy it (`Space.holds`). The encoding
must agree with the explicit validator on every combination: the tests check that,
so z3 never proposes what Kafka would refuse, nor misses what it allows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import z3

from kmodel.kafka.config import INT_MAX


@dataclass(frozen=True, slots=True)
class Choice:
    """One setting the advisor may change, its domain, and what changing it costs
    (settings that cost latency, throughput or hardware cost most)."""

    section: str
    name: str
    values: tuple[Any, ...]
    cost: int

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"


# The producer-and-consumer pipeline's settings that bear on loss and duplication.
CHOICES: tuple[Choice, ...] = (
    Choice("producer", "enable.idempotence", (None, True, False), 1),
    Choice("producer", "acks", (0, 1, "all"), 2),
    Choice("producer", "retries", (0, INT_MAX), 1),
    Choice("producer", "max.in.flight.requests.per.connection", (1, 5, 6), 2),
    Choice("consumer", "enable.auto.commit", (True, False), 1),
    Choice("consumer", "auto.offset.reset", ("latest", "earliest"), 1),
    Choice("application", "source.commit", ("after-ack", "before-send"), 1),
    Choice("application", "consumer.commit", ("before-processing", "after-processing"), 1),
    Choice("application", "on.sink.failure", ("retry", "give-up"), 1),
    Choice("sink", "write", ("append", "upsert"), 2),
    Choice("broker", "unclean.leader.election.enable", (False, True), 1),
    Choice("broker", "replication.factor", (1, 2, 3), 3),
    Choice("broker", "min.insync.replicas", (1, 2, 3), 3),
)


def _plain(choice: Choice, value: Any) -> Any:
    """Kafka's -1 for acks is "all"."""
    return "all" if choice.name == "acks" and value == -1 else value


class Space:
    """The choices as z3 variables, each domain holding the configuration's own value
    too, so that keeping a setting is always a candidate."""

    def __init__(self, settings: Mapping[str, Mapping[str, Any]]) -> None:
        self.settings = settings
        self.current = {c.key: _plain(c, settings[c.section][c.name]) for c in CHOICES}
        self.choices = {
            c.key: Choice(
                c.section,
                c.name,
                c.values if self.current[c.key] in c.values else (self.current[c.key], *c.values),
                c.cost,
            )
            for c in CHOICES
        }
        self.variables = {key: z3.Int(key) for key in self.choices}

    def domain(self) -> list[z3.BoolRef]:
        """Each variable indexes a value of its domain."""
        return [
            z3.And(self.variables[key] >= 0, self.variables[key] < len(choice.values))
            for key, choice in self.choices.items()
        ]

    def holds(self, key: str, test: Callable[[Any], bool]) -> z3.BoolRef:
        """That the choice `key` takes a value satisfying `test`."""
        indices = [i for i, value in enumerate(self.choices[key].values) if test(value)]
        return z3.Or([self.variables[key] == i for i in indices] or [z3.BoolVal(False)])

    def kafka_rules(self) -> list[z3.BoolRef]:
        """Kafka's rules that involve the choices: an explicitly idempotent producer needs
        acks=all, retries above 0 and at most 5 requests in flight; min.insync.replicas is
        at most the replication factor."""
        idempotent = self.holds("producer.enable.idempotence", lambda value: value is True)
        wanted, replicas = (
            self.choices["broker.min.insync.replicas"],
            self.choices["broker.replication.factor"],
        )
        in_sync = [
            z3.And(self.variables[wanted.key] == i, self.variables[replicas.key] == j)
            for i, low in enumerate(wanted.values)
            for j, high in enumerate(replicas.values)
            if low <= high
        ]
        return [
            z3.Implies(
                idempotent,
                z3.And(
                    self.holds("producer.acks", lambda value: value in ("all", -1)),
                    self.holds("producer.retries", lambda value: value > 0),
                    self.holds("producer.max.in.flight.requests.per.connection", lambda n: n <= 5),
                ),
            ),
            z3.Or(in_sync),
        ]

    def changed(self, key: str) -> z3.BoolRef:
        """That the choice `key` differs from the configuration's own value."""
        return self.variables[key] != self.choices[key].values.index(self.current[key])

    def assignment(self, model: z3.ModelRef) -> dict[str, Any]:
        """The values a z3 model gives the choices."""
        return {
            key: choice.values[model.eval(self.variables[key], model_completion=True).as_long()]
            for key, choice in self.choices.items()
        }

    def fixed(self, values: Mapping[str, Any]) -> list[z3.BoolRef]:
        """The variables set to `values`."""
        return [
            self.variables[key] == self.choices[key].values.index(value)
            for key, value in values.items()
        ]

    def applied(
        self, values: Mapping[str, Any], base: Mapping[str, Mapping[str, Any]] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The configuration's settings (or `base`, the same with other bounds) with the
        chosen `values` set."""
        given = self.settings if base is None else base
        result = {section: dict(fields) for section, fields in given.items()}
        for key, value in values.items():
            choice = self.choices[key]
            result[choice.section][choice.name] = value
        return result
