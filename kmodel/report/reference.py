"""Kafka's delivery-semantics reference: the claims the derived semantic matrix is set against.

The reference's table of delivery semantics, kept here word for word as the project's
data: rows At-most-once, At-least-once, Exactly-once; columns Message Loss, Duplicates,
Complexity. A cell's text is shown as it is, next to the verdict the runs give.
"""

from __future__ import annotations

from dataclasses import dataclass

NAME = "Kafka's delivery-semantics reference"


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    semantic: str  # the value of a spec's `semantic` field
    label: str
    loss: str
    duplicates: str
    complexity: str

    def claim(self, column: str) -> str:
        return self.loss if column == "loss" else self.duplicates


ROWS: tuple[ReferenceRow, ...] = (
    ReferenceRow("at-most-once", "At-most-once", "Possible", "Never", "Low"),
    ReferenceRow(
        "at-least-once",
        "At-least-once",
        "Avoided when replication is healthy",
        "Possible",
        "Medium",
    ),
    ReferenceRow(
        "exactly-once",
        "Exactly-once",
        "Avoided within Kafka transactions",
        "Avoided within Kafka transactions",
        "High",
    ),
)

BY_SEMANTIC: dict[str, ReferenceRow] = {row.semantic: row for row in ROWS}

# The cells whose claim holds only under a condition the cell names: (semantic, column)
# -> the condition. Evidence from a spec outside it is shown, but does not count.
CONDITIONS: dict[tuple[str, str], str] = {
    ("at-least-once", "loss"): "replication is healthy",
    ("exactly-once", "loss"): "within Kafka transactions",
    ("exactly-once", "duplicates"): "within Kafka transactions",
}


def claims_possible(claim: str) -> bool:
    """Whether the reference's cell text says the anomaly can happen."""
    return claim.lower().startswith("possible")


@dataclass(frozen=True, slots=True)
class Decision:
    """A row of the reference's decision matrix, word for word."""

    requirement: str
    recommended: str
    notes: str


# The reference's "Decision Matrix" (Choosing Delivery Semantics).
DECISIONS: tuple[Decision, ...] = (
    Decision("High throughput, loss acceptable", "At-most-once", "Telemetry, metrics"),
    Decision("Data must not be lost", "At-least-once", "Default for most workloads"),
    Decision(
        "Duplicates unacceptable, Kafka-only", "Exactly-once", "Kafka Streams, internal processing"
    ),
    Decision(
        "Duplicates unacceptable, external systems",
        "At-least-once + idempotent sink",
        "More practical than distributed 2PC",
    ),
)


@dataclass(frozen=True, slots=True)
class Component:
    """A row of the reference's semantic guarantees by component, word for word."""

    component: str
    default: str
    eos_support: str


# The reference's "Semantic Guarantees by Component".
COMPONENTS: tuple[Component, ...] = (
    Component("Producer", "At-least-once", "Idempotent producer (enable.idempotence=true)"),
    Component("Consumer", "At-least-once", "read_committed isolation"),
    Component("Kafka Streams", "At-least-once", "processing.guarantee=exactly_once_v2"),
    Component("Kafka Connect", "At-least-once", "Connector-dependent"),
)
