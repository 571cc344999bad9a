"""The seed's delivery-semantics table, as the reference the derived matrix is set against.

Copied from the first table of the seed document, ``shared/seed/delivery-semantics.md``
(section "Overview": rows At-most-once, At-least-once, Exactly-once; columns Message
Loss, Duplicates, Complexity). Keep the text word for word when the document changes.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = "shared/seed/delivery-semantics.md"


@dataclass(frozen=True, slots=True)
class SeedRow:
    semantic: str  # the value of a spec's `semantic` field
    label: str
    loss: str
    duplicates: str
    complexity: str

    def claim(self, column: str) -> str:
        return self.loss if column == "loss" else self.duplicates


ROWS: tuple[SeedRow, ...] = (
    SeedRow("at-most-once", "At-most-once", "Possible", "Never", "Low"),
    SeedRow(
        "at-least-once",
        "At-least-once",
        "Avoided when replication is healthy",
        "Possible",
        "Medium",
    ),
    SeedRow(
        "exactly-once",
        "Exactly-once",
        "Avoided within Kafka transactions",
        "Avoided within Kafka transactions",
        "High",
    ),
)

BY_SEMANTIC: dict[str, SeedRow] = {row.semantic: row for row in ROWS}


def claims_possible(claim: str) -> bool:
    """Whether the seed's cell text says the anomaly can happen."""
    return claim.lower().startswith("possible")
