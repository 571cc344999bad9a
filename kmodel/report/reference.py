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


def claims_possible(claim: str) -> bool:
    """Whether the reference's cell text says the anomaly can happen."""
    return claim.lower().startswith("possible")
