"""The reference's decision matrix and guarantees by component, derived by classifying a
configuration that stands for each cell under the standard fault menu.

Each cell names the links of the pipeline it speaks for (a component's own links, or
the whole pipeline); the derived guarantee counts only the losses and duplicates that
the runs blame on those links, each with its shortest trace as evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kmodel.advise.classify import (
    DUPLICATE,
    LINKS,
    LOSS,
    ROWS,
    STREAMS_GUARANTEES,
    Configuration,
    classify,
)
from kmodel.core.trace import Trace
from kmodel.kafka.model import KAFKA
from kmodel.report import reference
from kmodel.report.forked import forked_map

Settings = Mapping[str, Mapping[str, Any]]

# The reference's at-least-once producer settings, and a consumer that commits after
# processing and, as a new group, starts from the earliest offset.
AT_LEAST_ONCE_PRODUCER = {
    "acks": "all",
    "retries": 2147483647,
    "max.in.flight.requests.per.connection": 5,
    "delivery.timeout.ms": 120000,
}
COMMIT_AFTER_PROCESSING = {"enable.auto.commit": False, "auto.offset.reset": "earliest"}
REPLICATED = {"replication.factor": 3, "min.insync.replicas": 2}
# Kafka Streams with processing.guarantee=exactly_once_v2, read downstream with
# read_committed; replicated twice, since three replicas of a transactional pipeline
# take minutes under the menu.
STREAMS_EXACTLY_ONCE = {
    "application": STREAMS_GUARANTEES["exactly_once_v2"],
    "producer": {"transactional.id": "app"},
    "consumer": {**COMMIT_AFTER_PROCESSING, "isolation.level": "read_committed"},
    "broker": {"replication.factor": 2, "min.insync.replicas": 2},
}
AT_LEAST_ONCE = {
    "producer": AT_LEAST_ONCE_PRODUCER,
    "consumer": COMMIT_AFTER_PROCESSING,
    "broker": REPLICATED,
}
IN_KAFKA = ("source", "producer", "brokers")  # input topic, application, output topic
UNDECIDED = "undecided"


@dataclass(frozen=True, slots=True)
class Check:
    """A configuration that stands for a cell of a reference table."""

    what: str  # the configuration in words
    overrides: Settings  # over the model's defaults
    links: tuple[str, ...]  # the links of the pipeline the cell speaks for
    claimed: str | None  # the guarantee the reference claims for it (None: no claim)


@dataclass(frozen=True, slots=True)
class Evidence:
    contract: str
    description: str
    link: str
    bound: str  # the menu fault of the run that found it
    fault: str  # the menu fault the trace needs, in words ("": none)
    trace: Trace


@dataclass(frozen=True, slots=True)
class Derived:
    """What a cell's configuration delivers over the cell's links, and why."""

    check: Check
    row: str
    evidence: tuple[Evidence, ...]
    explored: tuple[str, ...]  # the menu faults run
    states: int
    complete: bool

    @property
    def agrees(self) -> bool | None:
        """Whether the derived guarantee is the claimed one (None: no claim, or undecided)."""
        if self.check.claimed is None or self.row == UNDECIDED:
            return None
        return self.row == self.check.claimed


DECISION_CHECKS: dict[str, Check] = {
    "High throughput, loss acceptable": Check(
        "acks=0, retries=0; the source moves on when it hands a record over; the "
        "consumer commits before processing and never writes a record to the sink twice",
        {
            "producer": {"acks": 0, "retries": 0},
            "consumer": COMMIT_AFTER_PROCESSING,
            "application": {
                "source.commit": "before-send",
                "consumer.commit": "before-processing",
                "on.sink.failure": "give-up",
            },
        },
        LINKS,
        "at-most-once",
    ),
    "Data must not be lost": Check(
        "the reference's at-least-once producer settings; the consumer commits after "
        "processing; replication.factor=3, min.insync.replicas=2",
        AT_LEAST_ONCE,
        LINKS,
        "at-least-once",
    ),
    "Duplicates unacceptable, Kafka-only": Check(
        "Kafka Streams with processing.guarantee=exactly_once_v2, read with read_committed; "
        "replication.factor=2, min.insync.replicas=2; judged up to the output topic",
        STREAMS_EXACTLY_ONCE,
        IN_KAFKA,
        "exactly-once",
    ),
    "Duplicates unacceptable, external systems": Check(
        "the at-least-once pipeline above into a sink that upserts",
        {**AT_LEAST_ONCE, "sink": {"write": "upsert"}},
        LINKS,
        "exactly-once",
    ),
}

# Each component's default and its exactly-once support, every other link at its
# strongest, judged on the component's own links.
COMPONENT_CHECKS: dict[str, tuple[Check, Check]] = {
    "Producer": (
        Check(
            "the producer's defaults",
            {"consumer": COMMIT_AFTER_PROCESSING},
            ("producer",),
            "at-least-once",
        ),
        Check(
            "enable.idempotence=true",
            {"producer": {"enable.idempotence": True}, "consumer": COMMIT_AFTER_PROCESSING},
            ("producer",),
            "exactly-once",
        ),
    ),
    "Consumer": (
        Check("the consumer's defaults", {}, ("consumer",), "at-least-once"),
        Check(
            "isolation.level=read_committed behind a transactional writer, committing after "
            "processing",
            {**STREAMS_EXACTLY_ONCE, "broker": {}},
            ("consumer",),
            "exactly-once",
        ),
    ),
    "Kafka Streams": (
        Check(
            "processing.guarantee=at_least_once: the input position committed once the "
            "output is acknowledged",
            {
                "application": STREAMS_GUARANTEES["at_least_once"],
                "consumer": COMMIT_AFTER_PROCESSING,
            },
            ("source", "producer"),
            "at-least-once",
        ),
        Check(
            "processing.guarantee=exactly_once_v2",
            {**STREAMS_EXACTLY_ONCE, "broker": {}},
            ("source", "producer"),
            "exactly-once",
        ),
    ),
    "Kafka Connect": (
        Check(
            "a sink connector: offsets committed after the sink's put, into a sink that appends",
            {"consumer": COMMIT_AFTER_PROCESSING},
            ("consumer", "sink"),
            "at-least-once",
        ),
        Check(
            "a sink connector into a sink that upserts",
            {"consumer": COMMIT_AFTER_PROCESSING, "sink": {"write": "upsert"}},
            ("consumer", "sink"),
            None,
        ),
    ),
}


def settings_of(check: Check) -> dict[str, dict[str, Any]]:
    """The model's defaults with the check's overrides, each checked as a spec's is."""
    settings = KAFKA.defaults()
    for section, values in check.overrides.items():
        for name, value in values.items():
            setting = KAFKA.setting(section, name)
            assert setting is not None, f"{section}.{name}"
            settings[section][name] = setting.check(value, f"{section}.{name}")
    return settings


def derive(check: Check, max_seconds: float | None = None) -> Derived:
    """Classify the check's configuration; count what its runs blame on its links."""
    configuration = Configuration(settings_of(check), {}, Path("reference-cell"))
    classification = classify(configuration, max_seconds=max_seconds)
    blames = classification.blames()
    evidence = tuple(
        Evidence(
            contract,
            classification.finding(contract).description,
            link,
            bound,
            classification.menu[bound] if trace.faults else "",
            trace,
        )
        for contract in (LOSS, DUPLICATE)
        for link, (bound, trace) in blames.get(contract, {}).items()
        if link in check.links
    )
    blamed = {item.contract for item in evidence}
    # A run cut short proves nothing about the contracts it did not break.
    decided = classification.complete or blamed == {LOSS, DUPLICATE}
    return Derived(
        check,
        ROWS[(LOSS in blamed, DUPLICATE in blamed)] if decided else UNDECIDED,
        evidence,
        tuple(classification.menu[bound] for bound, _ in classification.runs),
        sum(outcome.result.stats.states for _, outcome in classification.runs),
        classification.complete,
    )


@dataclass(frozen=True, slots=True)
class Tables:
    decisions: tuple[tuple[reference.Decision, Derived], ...]
    components: tuple[tuple[reference.Component, Derived, Derived], ...]

    @property
    def cells(self) -> tuple[Derived, ...]:
        """Every derived cell, in reading order."""
        rest = tuple(derived for _, *pair in self.components for derived in pair)
        return tuple(derived for _, derived in self.decisions) + rest


def derive_tables(max_seconds: float | None = None, workers: int | None = None) -> Tables:
    """Every cell of both tables, classified on up to `workers` processes."""
    checks: list[Check] = [DECISION_CHECKS[row.requirement] for row in reference.DECISIONS]
    for row in reference.COMPONENTS:
        checks += COMPONENT_CHECKS[row.component]
    derived = iter(list(forked_map(lambda check: derive(check, max_seconds), checks, workers)))
    decisions = tuple((row, next(derived)) for row in reference.DECISIONS)
    components = tuple((row, next(derived), next(derived)) for row in reference.COMPONENTS)
    return Tables(decisions, components)
