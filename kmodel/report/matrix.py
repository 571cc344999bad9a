"""The semantic matrix derived from the runs: for each semantic the reference names and
some spec models, can a message be lost, can one be duplicated? Set against the claim of
Kafka's delivery-semantics reference."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kmodel.core.result import Status
from kmodel.jobs.run import JobResult, Verdict
from kmodel.jobs.spec import Job
from kmodel.kafka.config import acks_of
from kmodel.report import reference
from kmodel.report.facts import COLUMNS, explored_text


@dataclass(frozen=True, slots=True)
class Cell:
    column: str  # "loss" or "duplicates"
    possible: bool
    evidence: tuple[tuple[JobResult, Verdict], ...]  # violated contracts that show it
    explored: tuple[tuple[JobResult, str], ...]  # each spec of the row and what it covered
    claim: str  # the reference's text for this cell
    condition: str = ""  # what the claim assumes; `evidence` and `explored` meet it
    outside: tuple[tuple[JobResult, Verdict], ...] = ()  # shown by specs that do not

    @property
    def verdict(self) -> str:
        if self.possible:
            return "possible"
        return "not found" if self.explored else "not shown"

    @property
    def agrees(self) -> bool:
        """The verdict is the claim's; a claim under a condition needs a spec that meets it."""
        shown = bool(self.explored) or not self.condition
        return shown and self.possible == reference.claims_possible(self.claim)

    @property
    def complete(self) -> bool:
        return all(outcome.result.complete for outcome, _ in self.explored)


@dataclass(frozen=True, slots=True)
class Row:
    semantic: str
    label: str
    outcomes: tuple[JobResult, ...]
    cells: tuple[Cell, ...]


def derive(outcomes: Sequence[JobResult]) -> list[Row]:
    """One row per semantic of the reference that some spec names in its `semantic` field;
    a cell whose claim has a condition counts only the specs that meet it."""
    rows = []
    for claimed in reference.ROWS:
        mine = tuple(o for o in outcomes if o.job.semantic == claimed.semantic)
        if not mine:
            continue
        cells = []
        for column, _, contracts in COLUMNS:
            condition = reference.CONDITIONS.get((claimed.semantic, column), "")
            meets = CONDITION_TESTS[condition]
            within = tuple(o for o in mine if meets(o.job))
            outside = tuple(o for o in mine if not meets(o.job))
            cells.append(
                Cell(
                    column,
                    bool(_violations(within, contracts)),
                    _violations(within, contracts),
                    tuple((outcome, explored_text(outcome)) for outcome in within),
                    claimed.claim(column),
                    condition,
                    _violations(outside, contracts),
                )
            )
        rows.append(Row(claimed.semantic, claimed.label, mine, tuple(cells)))
    return rows


def _violations(
    outcomes: Sequence[JobResult], contracts: Sequence[str]
) -> tuple[tuple[JobResult, Verdict], ...]:
    """The counterexamples among `outcomes` of any of `contracts`."""
    return tuple(
        (outcome, verdict)
        for outcome in outcomes
        for verdict in outcome.verdicts
        if verdict.name in contracts
        and verdict.status is Status.VIOLATED
        and verdict.trace is not None
    )


def healthy_replication(job: Job) -> bool:
    """Kafka's durable configuration: acks=all onto at least two replicas, at least two
    of them in sync for a write, and no unclean election."""
    if job.model.name != "kafka":
        return False
    broker = job.settings["broker"]
    return (
        acks_of(job.settings) == "all"
        and broker["replication.factor"] >= 2
        and broker["min.insync.replicas"] >= 2
        and not broker["unclean.leader.election.enable"]
    )


# The settings of today's transactional protocol, and of the application's use of it as
# Kafka's clients document it; at any other value a spec runs an older protocol or a
# known mistake. The replication protocol's generations count too: exactly-once runs on it.
TODAYS_TRANSACTIONS: dict[str, tuple[str, ...]] = {
    "application": (
        "transactional.id.scope",
        "offsets",
        "send.offsets.group.metadata",
        "offset.fetch.require.stable",
        "seek.after.abort",
        "on.send.timeout",
        "on.commit.timeout",
    ),
    "producer": ("transaction.epoch.bump", "unknown.producer.id"),
    "broker": (
        "transaction.version",
        "transaction.log.last.epoch",
        "transaction.partition.verification.enable",
        "controller.mode",
        "truncation",
        "high.watermark.isr",
        "isr.expansion",
        "fenced.replicas.join.isr",
        "stale.broker.epoch.join.isr",
        "strict.min.isr",
        "eligible.leader.replicas.version",
        "unknown.producer.id.error",
    ),
}


def within_kafka_transactions(job: Job) -> bool:
    """A read-process-write application on today's transactional protocol, used as
    documented, writing to a Kafka topic read with read_committed; a reader of that topic
    into a sink, if any, writes it so that a duplicate has no effect (the sink's own
    writes are outside any Kafka transaction)."""
    settings = job.settings
    if job.model.name != "kafka" or settings["application"]["kind"] != "read-process-write":
        return False
    defaults = job.model.defaults()
    sink = settings["sink"]
    return (
        settings["application"]["output"] == "kafka"
        and settings["consumer"]["isolation.level"] == "read_committed"
        and (
            not settings["bounds"]["consumers"]
            or sink["write"] == "upsert"
            or sink["dedup"] != "none"
        )
        and all(
            settings[section][name] == defaults[section][name]
            for section, names in TODAYS_TRANSACTIONS.items()
            for name in names
        )
    )


CONDITION_TESTS: dict[str, Callable[[Job], bool]] = {
    "": lambda job: True,
    "replication is healthy": healthy_replication,
    "within Kafka transactions": within_kafka_transactions,
}


def cell_text(cell: Cell) -> str:
    """The derived verdict and where it comes from, in a line."""
    if cell.possible:
        outcome, verdict = cell.evidence[0]
        assert verdict.trace is not None
        shown = f"{outcome.job.name}: {verdict.name}, {len(verdict.trace)} steps"
    else:
        shown = _unbroken(cell)
    return f"{cell.verdict} ({shown}){outside_text(cell)}"


def _unbroken(cell: Cell) -> str:
    """Where a cell with no counterexample looked, or why it could not."""
    if cell.explored:
        return "; ".join(f"{o.job.name}: {t}" for o, t in cell.explored)
    return f"no spec where {cell.condition}"


def outside_text(cell: Cell) -> str:
    """What specs that do not meet the cell's condition show, if anything."""
    if not cell.outside:
        return ""
    return f"; outside “{cell.condition}”, possible ({outside_list(cell)})"


def outside_list(cell: Cell) -> str:
    """Each counterexample of a spec outside the cell's condition: spec: contract."""
    return ", ".join(f"{o.job.name}: {v.name}" for o, v in cell.outside)


def _headers() -> list[str]:
    return ["Semantic"] + [title for _, title, _ in COLUMNS]


def to_text(rows: Sequence[Row]) -> str:
    """An aligned table for the terminal: derived verdict, then the reference's claim."""
    if not rows:
        return "No spec names a semantic (the `semantic` field), so there is no matrix."
    table = [_headers()]
    for row in rows:
        claims = [f"{cell.verdict} (reference: {cell.claim})" for cell in row.cells]
        table.append([row.label] + claims)
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = []
    for number, line in enumerate(table):
        lines.append(
            "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        )
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines.append("")
    for row in rows:
        for cell, (_, title, _) in zip(row.cells, COLUMNS, strict=True):
            agree = "agrees with the reference" if cell.agrees else "DIFFERS from the reference"
            lines.append(f"{row.label} / {title}: {cell_text(cell)} — {agree}")
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: Sequence[Row], link=None) -> str:
    """A Markdown table. `link(outcome, verdict)` gives a URL for a counterexample, if any."""
    if not rows:
        return "No spec names a semantic (the `semantic` field), so there is no matrix."
    headers = _headers()
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join([":---"] + [":---:"] * (len(headers) - 1)) + "|",
    ]
    for row in rows:
        texts = [f"**{row.label}**"]
        for cell in row.cells:
            if cell.possible:
                outcome, verdict = cell.evidence[0]
                what = f"{outcome.job.name}: {verdict.name}"
                url = link(outcome, verdict) if link else None
                shown = f"[{_md(what)}]({url})" if url else _md(what)
            else:
                shown = _md(_unbroken(cell))
            text = f"**{cell.verdict}** ({shown}){_md(outside_text(cell))}"
            mark = "" if cell.agrees else " ⚠"
            texts.append(f"{text}<br>reference: {_md(cell.claim)}{mark}")
        lines.append("| " + " | ".join(texts) + " |")
    return "\n".join(lines)
