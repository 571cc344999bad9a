"""Short texts about a run, shared by the HTML and Markdown pages."""

from __future__ import annotations

from collections import Counter

from kmodel.core.result import Status
from kmodel.jobs.run import NO_FAULT, JobResult, Verdict

MARKS = {True: "✓", False: "✗"}


def verdict_summary(outcome: JobResult) -> str:
    """``2 violated, 3 holds, 4 reached``: how many properties ended in each status."""
    counts = Counter(v.status for v in outcome.verdicts)
    text = ", ".join(f"{counts[status]} {status.value}" for status in Status if counts[status])
    return f"{text} ({NO_FAULT})" if outcome.fault_free else text


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
