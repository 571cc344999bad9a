"""A classification as text, Markdown or JSON: the row of the reference table the
pipeline delivers, its weakest links, each contract's shortest break (narrated) or the
faults under which it held, and the settings the model had no use for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kmodel.advise.classify import ROW_TEXT, Classification, Finding
from kmodel.core.result import Status
from kmodel.jobs.spec import ignored_text
from kmodel.render.narrate import narrate


def to_json(classification: Classification, wanted: str | None) -> dict[str, Any]:
    return {
        "delivers": classification.row,
        "meaning": ROW_TEXT[classification.row],
        "wanted": wanted,
        "wanted_holds": None if wanted is None else classification.gives(wanted),
        "weakest_links": {k: list(v) for k, v in classification.weakest_links().items()},
        "complete": classification.complete,
        "faults": [
            {
                "bound": bound,
                "fault": classification.menu[bound],
                "states": outcome.result.stats.states,
                "complete": outcome.result.complete,
            }
            for bound, outcome in classification.runs
        ],
        "not_explored": classification.skipped,
        "bounds": {
            name: value
            for name, value in classification.runs[0][1].job.settings["bounds"].items()
            if name not in classification.menu
        },
        "contracts": [_finding_json(f, classification.menu) for f in classification.findings],
        "settings": classification.configuration.settings,
        "unused_settings": {
            name: list(keys) for name, keys in classification.configuration.unused.items()
        },
    }


def _finding_json(finding: Finding, menu: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": finding.name,
        "description": finding.description,
        "status": finding.status.value,
        "fault": menu.get(finding.fault),
        "held_under": [menu[bound] for bound in finding.held_under],
        "trace": None if finding.trace is None else finding.trace.to_json(),
    }


def to_text(classification: Classification, wanted: str | None, markdown: bool = False) -> str:
    """The answer first, then the evidence for it."""
    row = classification.row
    heading = "## " if markdown else ""
    bullet = "- " if markdown else "  "
    lines = [f"{heading}Your pipeline delivers {row}: it {ROW_TEXT[row]}."]
    if wanted is not None:
        verdict = "holds" if classification.gives(wanted) else "does not hold"
        lines.append(f"You want {wanted}: it {verdict}.")
    links = classification.weakest_links()
    if links:
        lines += ["", f"{heading}Weakest links" if markdown else "Weakest links:"]
        for contract, blamed in links.items():
            lines.append(f"{bullet}{contract} breaks at: {', '.join(blamed)}")
    records = classification.runs[0][1].job.settings["bounds"]["records"]
    lines += ["", f"{heading}Faults explored" if markdown else "Faults explored:"]
    lines.append(
        f"{bullet}one at a time, {records} record{'s' * (records != 1)} each run; "
        "--bounds widens the runs"
    )
    for bound, outcome in classification.runs:
        stats = outcome.result.stats
        done = "" if outcome.result.complete else f" (stopped: {outcome.result.stop_reason})"
        lines.append(f"{bullet}{classification.menu[bound]}: {stats.states:,} states{done}")
    for bound, why in classification.skipped.items():
        lines.append(f"{bullet}not explored: {classification.menu[bound]} ({why})")
    lines += ["", f"{heading}Contracts" if markdown else "Contracts:"]
    for finding in classification.findings:
        lines += _finding_lines(finding, classification.menu, bullet, markdown)
    unused = classification.configuration.unused
    if unused:
        lines += ["", f"Settings the model does not use: {ignored_text(unused)}"]
    return "\n".join(lines)


def _finding_lines(
    finding: Finding, menu: Mapping[str, str], bullet: str, markdown: bool
) -> list[str]:
    name = f"`{finding.name}`" if markdown else finding.name
    if finding.status is Status.VIOLATED:
        under = f"under {menu[finding.fault]}" if finding.fault else "without any fault"
        steps = len(finding.trace)
        lines = [f"{bullet}✗ {name} breaks in {steps} step{'s' * (steps != 1)}, {under}"]
        indent = "    " if markdown else "      "
        lines += [f"{indent}{sentence}" for sentence in narrate(finding.trace, finding.description)]
        return lines
    if finding.status is Status.HOLDS:
        return [f"{bullet}✓ {name} holds under each fault explored"]
    held = ", ".join(menu[bound] for bound in finding.held_under) or "none"
    return [f"{bullet}? {name} undecided (a run stopped first); held under: {held}"]
