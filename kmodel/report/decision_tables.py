"""The derived decision matrix and guarantees by component as text, Markdown or JSON:
each cell's derived guarantee next to the reference's words, linked to numbered
evidence (the narrated shortest trace of every loss or duplicate it counts)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kmodel.render.narrate import narrate
from kmodel.report import reference
from kmodel.report.decisions import Derived, Evidence, Tables

INTRODUCTION = (
    f"Derived by classifying a configuration that stands for each cell under the standard "
    f"fault menu (one fault kind per run, one record), set against {reference.NAME}. A cell "
    "counts only the losses and duplicates its runs blame on the links it speaks for."
)


def _cells(tables: Tables) -> Iterator[tuple[str, str, Derived]]:
    """Every cell in reading order: its title, the reference's words, what it derived."""
    for row, derived in tables.decisions:
        yield row.requirement, row.recommended, derived
    for row, default, eos in tables.components:
        yield f"{row.component} / Default", row.default, default
        yield f"{row.component} / EOS support", row.eos_support, eos


def _numbered(tables: Tables) -> dict[int, int]:
    """The evidence number of each piece of evidence (by identity), in reading order."""
    numbers: dict[int, int] = {}
    for _, _, derived in _cells(tables):
        for item in derived.evidence:
            numbers[id(item)] = len(numbers) + 1
    return numbers


def _agreement(derived: Derived) -> str:
    if derived.agrees is None:
        return "the reference makes no claim" if derived.check.claimed is None else "undecided"
    return "agrees with the reference" if derived.agrees else "DIFFERS from the reference"


def _why(item: Evidence) -> str:
    fault = f"under {item.fault}" if item.fault else "without any fault"
    return f"{item.contract} broken at the {item.link} {fault} ({len(item.trace)} steps)"


def _held(derived: Derived) -> str:
    links = ", ".join(derived.check.links)
    cut = "; a run was cut short, so this is not a proof" if not derived.complete else ""
    return f"no loss or duplicate at the {links} under {len(derived.explored)} faults{cut}"


def to_text(tables: Tables) -> str:
    """Each cell: the reference's words, the configuration checked, the derived guarantee
    with numbered evidence; then the evidence, narrated."""
    numbers = _numbered(tables)
    lines = [INTRODUCTION]
    for title, claim, derived in _cells(tables):
        refs = "".join(f" [{numbers[id(item)]}]" for item in derived.evidence)
        lines += [
            "",
            f"{title}: {claim}",
            f"  checked: {derived.check.what}",
            f"  delivers: {derived.row}{refs} — {_agreement(derived)}",
        ]
        lines += [f"    [{numbers[id(item)]}] {_why(item)}" for item in derived.evidence]
        if not derived.evidence:
            lines.append(f"    {_held(derived)}")
    lines += ["", "Evidence"]
    for _, _, derived in _cells(tables):
        for item in derived.evidence:
            lines += ["", f"[{numbers[id(item)]}] {derived.check.what}: {_why(item)}"]
            lines += [f"  {line}" for line in narrate(item.trace, item.description)]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_cell(derived: Derived, numbers: dict[int, int]) -> str:
    refs = ", ".join(
        f"[{numbers[id(item)]}](#evidence-{numbers[id(item)]})" for item in derived.evidence
    )
    mark = " ⚠" if derived.agrees is False else ""
    shown = f"**{derived.row}**{mark}"
    return f"{shown} ({refs})" if refs else f"{shown} ({_md(_held(derived))})"


def to_markdown(tables: Tables) -> str:
    """The reference's two tables with a derived column each, then the evidence."""
    numbers = _numbered(tables)
    lines = [
        INTRODUCTION,
        "",
        "### Decision matrix",
        "",
        "| Requirement | Recommended | Notes | Checked | Derived |",
        "|:---|:---|:---|:---|:---|",
    ]
    for row, derived in tables.decisions:
        lines.append(
            f"| {_md(row.requirement)} | {_md(row.recommended)} | {_md(row.notes)} | "
            f"{_md(derived.check.what)} | {_md_cell(derived, numbers)} |"
        )
    lines += [
        "",
        "### Semantic guarantees by component",
        "",
        "| Component | Default | Derived | EOS support | Derived |",
        "|:---|:---|:---|:---|:---|",
    ]
    for row, default, eos in tables.components:
        lines.append(
            f"| {_md(row.component)} | {_md(row.default)} | {_md_cell(default, numbers)} | "
            f"{_md(row.eos_support)} | {_md_cell(eos, numbers)} |"
        )
    lines += ["", "### Evidence"]
    for _, _, derived in _cells(tables):
        for item in derived.evidence:
            number = numbers[id(item)]
            lines += [
                "",
                f'<a id="evidence-{number}"></a>**[{number}]** {_md(derived.check.what)}: '
                f"{_md(_why(item))}",
                "",
            ]
            lines += narrate(item.trace, item.description)
    return "\n".join(lines)


def _derived_json(derived: Derived) -> dict[str, Any]:
    return {
        "checked": derived.check.what,
        "overrides": derived.check.overrides,
        "links": list(derived.check.links),
        "claimed": derived.check.claimed,
        "delivers": derived.row,
        "agrees": derived.agrees,
        "complete": derived.complete,
        "states": derived.states,
        "explored": list(derived.explored),
        "evidence": [
            {
                "contract": item.contract,
                "link": item.link,
                "fault": item.fault or None,
                "steps": len(item.trace),
                "trace": item.trace.to_json(),
            }
            for item in derived.evidence
        ],
    }


def to_json(tables: Tables) -> dict[str, Any]:
    return {
        "reference": reference.NAME,
        "decisions": [
            {
                "requirement": row.requirement,
                "recommended": row.recommended,
                "notes": row.notes,
                **_derived_json(derived),
            }
            for row, derived in tables.decisions
        ],
        "components": [
            {
                "component": row.component,
                "default": {"reference": row.default, **_derived_json(default)},
                "eos_support": {"reference": row.eos_support, **_derived_json(eos)},
            }
            for row, default, eos in tables.components
        ],
    }
