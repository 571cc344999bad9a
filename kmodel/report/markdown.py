"""``index.md``: the semantic matrix and the table of specs, in Markdown."""

from __future__ import annotations

from collections.abc import Sequence

from kmodel.core.text import printable
from kmodel.jobs.run import JobResult
from kmodel.report import reference
from kmodel.report.matrix import Row, to_markdown
from kmodel.report.summaries import MARKS, status_text, verdict_summary, verdict_target


def index_markdown(outcomes: Sequence[JobResult], rows: Sequence[Row], link, note: str = "") -> str:
    """`link(outcome, verdict)` gives the URL of a counterexample picture; `note` says how
    the run stopped early, if it did."""
    met = sum(o.expectations_met for o in outcomes)
    lines = [
        "# kmodel verification report",
        "",
        f"{len(outcomes)} specs; expectations met in {met} of them.",
        "",
        *([f"**{note}**", ""] if note else []),
        "## Delivery semantics",
        "",
        f"Derived from the runs; under each verdict, the claim of {reference.NAME}. "
        "⚠ marks a disagreement.",
        "",
        to_markdown(rows, link),
        "",
        "## Specs",
        "",
        "| Spec | Title | States | Seconds | Verdicts | Expectations met |",
        "|:---|:---|---:|---:|:---|:---:|",
    ]
    for outcome in outcomes:
        job, stats = outcome.job, outcome.result.stats
        title = printable(job.title).replace("|", "\\|")  # one table row, whatever the title
        lines.append(
            f"| [{job.name}]({job.name}.html) | {title} | {stats.states:,} | "
            f"{stats.seconds:.2f} | {_verdicts(outcome, link)} | "
            f"{MARKS[outcome.expectations_met]} |"
        )
    lines += ["", "![States explored per spec](states.png)", ""]
    return "\n".join(lines)


def _verdicts(outcome: JobResult, link) -> str:
    """Each contract the run broke, linked to its counterexample, then the count of the rest."""
    named, rest = verdict_summary(outcome)
    shown = [
        f"{MARKS[False]} [{v.name}]({verdict_target(outcome, v, link)}) {status_text(v)}"
        for v in named
    ]
    return "; ".join([*shown, rest] if rest else shown)
