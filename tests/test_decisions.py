"""The reference's decision matrix and guarantees by component, derived by `kmodel
decisions`: each cell's configuration classified, its evidence real traces."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kmodel.advise.classify import menu_settings
from kmodel.cli import main
from kmodel.core.trace import breaks
from kmodel.kafka.model import KAFKA
from kmodel.report import reference
from kmodel.report.decision_tables import to_json, to_markdown, to_text
from kmodel.report.decisions import (
    COMPONENT_CHECKS,
    DECISION_CHECKS,
    derive,
    derive_tables,
    settings_of,
)

# Each component's cells: (default, EOS support) as (guarantee, states over the menu).
COMPONENTS = {
    "Producer": (("at-least-once", 8228), ("at-least-once", 8228)),
    "Consumer": (("none", 37750), ("at-least-once", 28506)),
    "Kafka Streams": (("at-least-once", 8228), ("exactly-once", 28506)),
    "Kafka Connect": (("at-least-once", 8228), ("exactly-once", 8228)),
}
CELLS = [
    pytest.param(component, index, expected, id=f"{component}-{index}")
    for component, pair in COMPONENTS.items()
    for index, expected in enumerate(pair)
]


def test_every_cell_of_the_reference_has_a_check() -> None:
    assert [row.requirement for row in reference.DECISIONS] == list(DECISION_CHECKS)
    assert [row.component for row in reference.COMPONENTS] == list(COMPONENT_CHECKS)
    for check in DECISION_CHECKS.values():
        assert not KAFKA.rules(settings_of(check)), check.what
    for pair in COMPONENT_CHECKS.values():
        for check in pair:
            assert not KAFKA.rules(settings_of(check)), check.what


@pytest.mark.parametrize(("component", "index", "expected"), CELLS)
def test_a_component_cell_is_derived_with_evidence_that_replays(
    component: str, index: int, expected: tuple[str, int]
) -> None:
    """The guarantee and the states the menu searched are pinned; every piece of evidence
    is a trace that replays on the settings of its run and ends with its contract broken,
    blamed on a link the cell speaks for."""
    check = COMPONENT_CHECKS[component][index]
    derived = derive(check)
    assert (derived.row, derived.states) == expected
    assert derived.complete and len(derived.explored) == 7
    for item in derived.evidence:
        assert item.link in check.links
        system = KAFKA.build(menu_settings(settings_of(check), None, item.bound))
        assert breaks(system, item.trace, item.contract), (item.contract, item.bound)
    wants = {"at-least-once": {"no-duplicate-effect"}, "none": {"no-loss", "no-duplicate-effect"}}
    assert {item.contract for item in derived.evidence} == wants.get(derived.row, set())


def test_the_idempotent_producer_alone_still_duplicates_across_a_crash() -> None:
    """enable.idempotence=true dedupes the retries of one producer session; after a crash
    the application sends again under a new producer id, so the reference's exactly-once
    support for the producer does not reach past a crash, and the cell says so."""
    derived = derive(COMPONENT_CHECKS["Producer"][1])
    assert derived.agrees is False
    (item,) = derived.evidence
    assert (item.link, item.bound) == ("producer", "producer_crashes")


def test_cut_short_runs_leave_cells_undecided_and_exit_1() -> None:
    """A run stopped by --max-seconds proves nothing about what it did not break: such a
    cell is undecided, never "exactly-once", and the command exits 1."""
    result = CliRunner().invoke(main, ["decisions", "--max-seconds", "0.01", "--format", "json"])
    assert result.exit_code == 1, result.output
    tables = json.loads(result.stdout)
    rows = [row["delivers"] for row in tables["decisions"]]
    assert "undecided" in rows and "exactly-once" not in rows
    for row in tables["decisions"]:
        if row["delivers"] == "undecided":
            assert row["agrees"] is None and not row["complete"]


@pytest.mark.slow
def test_the_decision_matrix_as_a_user_sees_it() -> None:
    """Every cell (about a minute on two cores): the reference's at-least-once and
    external-systems rows hold as claimed on three replicas, the Kafka-only exactly-once
    row on two; the at-most-once recipe, whose application never writes a record twice,
    only loses."""
    tables = derive_tables()
    decisions = to_json(tables)["decisions"]
    delivered = {row["requirement"]: (row["delivers"], row["states"]) for row in decisions}
    assert delivered == {
        "High throughput, loss acceptable": ("at-most-once", 3369),
        "Data must not be lost": ("at-least-once", 1056902),
        "Duplicates unacceptable, Kafka-only": ("exactly-once", 616495),
        "Duplicates unacceptable, external systems": ("exactly-once", 1056902),
    }
    at_most_once = decisions[0]["evidence"]
    assert {e["contract"] for e in at_most_once} == {"no-loss"}
    markdown = to_markdown(tables)
    assert "| Data must not be lost | At-least-once |" in markdown
    assert '<a id="evidence-1"></a>' in markdown and "(#evidence-1)" in markdown
    assert "DIFFERS from the reference" in to_text(tables)  # the components' cells


@pytest.mark.parametrize(
    "args", [["--format", "html"], ["--max-seconds", "-1"], ["--workers", "0"], ["--table"]]
)
def test_bad_options_exit_2_without_a_traceback(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["decisions", *args])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
