"""The terminal summary of a job: what was explored and each property's verdict."""

from __future__ import annotations

from kmodel.core.result import Status
from kmodel.core.schema import show_value
from kmodel.core.trace import Trace
from kmodel.jobs.run import NO_FAULT, JobResult, Verdict
from kmodel.jobs.spec import ignored_text

MARKS = {True: "✓", False: "✗"}
UNJUDGED = {True: "·", False: "?"}  # decided, or not (the search stopped first)


def summary(outcome: JobResult, show_traces: bool = True) -> str:
    job, result = outcome.job, outcome.result
    stats = result.stats
    # Only what the spec changed from the model's defaults (Kafka's own, for Kafka models).
    defaults = job.model.defaults()
    changed = {
        section: {k: v for k, v in values.items() if defaults[section].get(k) != v}
        for section, values in job.settings.items()
    }
    settings = (
        " · ".join(
            f"{section}: " + ", ".join(f"{k}={show_value(v)}" for k, v in values.items())
            for section, values in changed.items()
            if values
        )
        or "defaults"
    )
    coverage = result.coverage
    if not result.complete and result.stop_reason != "decided":
        coverage = f"INCOMPLETE (stopped: {result.stop_reason})"
    engine = result.search_text
    lines = [
        f"{job.title}  [{job.path}]",
        f"  model {job.model.name} · {settings}",
        f"  {engine}: {stats.states:,} states, {stats.transitions:,} transitions, "
        f"depth {stats.max_depth} in {stats.seconds:.2f} s "
        f"({stats.states_per_second:,.0f} states/s, "
        f"peak {stats.peak_memory_mb:.0f} MB, {stats.bytes_per_state:,.0f} bytes/state) "
        f"— {coverage}",
        "",
    ]
    if stats.fingerprints:
        lines[-1:-1] = [
            f"  visited states kept as 64-bit fingerprints: a collision (a state wrongly "
            f"taken as seen) has a chance below {stats.collision_bound:.1e}"
        ]
    for note in result.notes:
        lines[-1:-1] = [f"  {note}"]
    hint = growth_hint(outcome)
    if hint:
        lines[-1:-1] = [f"  {hint}"]
    if job.ignored:
        lines[-1:-1] = [f"  ignored (not modelled): {ignored_text(job.ignored)}"]
    width = max((len(v.name) for v in outcome.verdicts), default=0)
    marks = MARKS if job.judged else UNJUDGED
    for verdict in outcome.verdicts:
        text = _verdict_text(verdict)
        if outcome.fault_free and verdict.status is Status.HOLDS:
            text += f"   — {NO_FAULT}"
        lines.append(f"  {marks[verdict.met]} {verdict.name:<{width}}  {text}")
        if show_traces and verdict.trace is not None and not verdict.met:
            lines.extend(f"      {line}" for line in trace_lines(verdict.trace))
    met = sum(v.met for v in outcome.verdicts)
    if job.judged:
        lines += ["", f"  expectations met: {met} of {len(outcome.verdicts)}"]
    else:
        lines += [
            "",
            f"  expectations not judged (--no-expect): {met} of {len(outcome.verdicts)} "
            "verdicts decided",
        ]
    return "\n".join(lines)


def growth_hint(outcome: JobResult) -> str:
    """For a search a limit stopped: the faults behind most of the states still to explore,
    by the bounds a spec sets, largest share first."""
    shares = outcome.result.frontier_faults
    if not shares:
        return ""
    bounds = outcome.job.model.budget_bounds
    ranked = sorted(shares.items(), key=lambda item: -item[1])
    parts = [f"{share:.0%} after {key} ({bounds.get(key, key)})" for key, share in ranked[:3]]
    return (
        "what grows the space most: of the states left to explore, "
        + ", ".join(parts)
        + "; lowering the first of those bounds shrinks the search most"
    )


def _verdict_text(verdict: Verdict) -> str:
    text = f"{verdict.kind.value:<9}  {verdict.status.value}"
    if verdict.trace is not None:
        text += f" in {_count(len(verdict.trace), 'step')}"
        if verdict.trace.faults:
            text += f" ({_count(verdict.trace.faults, 'fault')})"
    expected = verdict.expected
    if expected is not None and not verdict.met:
        want = expected.status.value
        if expected.steps is not None:
            want += f" in {_count(expected.steps, 'step')}"
        text += f"   — expected {want}"
    if verdict.status is Status.UNKNOWN:
        text += "   — the search stopped before a verdict"
    return text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def trace_lines(trace: Trace) -> list[str]:
    """One line per step: number, who acted, what happened, and the fault if any."""
    lines = []
    for number, step in enumerate(trace.steps, 1):
        arrow = f"{step.sender} → {step.receiver}: " if step.sender else ""
        who = f"{step.actor}: " if step.actor and not step.sender else ""
        fault = f"   [fault: {step.fault}]" if step.fault else ""
        lines.append(f"{number:>3}. {who}{arrow}{step.label}{fault}")
    return lines
