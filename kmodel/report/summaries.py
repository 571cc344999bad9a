"""Short texts about a run, shared by the HTML and Markdown pages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from kmodel.core.result import Status
from kmodel.jobs.run import NO_FAULT, JobResult, Verdict

MARKS = {True: "✓", False: "✗"}


def verdict_summary(outcome: JobResult) -> tuple[tuple[Verdict, ...], str]:
    """The properties a run broke or left undecided, to be named one by one, and how many
    ended in each other status (``3 holds, 4 reached``)."""
    named = tuple(v for v in outcome.verdicts if v.status in (Status.VIOLATED, Status.UNKNOWN))
    counts = Counter(v.status for v in outcome.verdicts if v not in named)
    text = ", ".join(f"{counts[status]} {status.value}" for status in Status if counts[status])
    return named, f"{text} ({NO_FAULT})" if outcome.fault_free else text


def verdict_target(
    outcome: JobResult, verdict: Verdict, link: Callable[[JobResult, Verdict], str]
) -> str:
    """Where a named verdict links: its counterexample, or the spec's page without one."""
    return link(outcome, verdict) if verdict.trace is not None else f"{outcome.job.name}.html"


def expected_text(verdict: Verdict) -> str:
    expected = verdict.expected
    if expected is None:
        return "—"
    text = expected.status.value
    if expected.steps is not None:
        text += f" in {expected.steps} steps"
    return text


def status_text(verdict: Verdict) -> str:
    text = verdict.status.value
    if verdict.trace is not None:
        steps = len(verdict.trace)
        text += f" in {steps} step" + ("" if steps == 1 else "s")
        faults = verdict.trace.faults
        if faults:
            text += f" ({faults} fault" + ("" if faults == 1 else "s") + ")"
    return text
