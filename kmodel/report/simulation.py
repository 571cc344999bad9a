"""A simulation's outcome for the terminal and as JSON: how much it ran, the shortest
breaking run it found, narrated, and what it covered."""

from __future__ import annotations

from typing import Any

from kmodel.core.schema import show_value
from kmodel.core.simulate import Simulation
from kmodel.jobs.spec import Job
from kmodel.render.formats import render
from kmodel.report.artifacts import job_context
from kmodel.report.coverage import coverage_lines


def simulation_text(job: Job, simulation: Simulation) -> str:
    bounds = job.settings.get("bounds", {})
    defaults = job.model.defaults().get("bounds", {})
    shown = ", ".join(
        f"{name}={show_value(value)}"
        for name, value in bounds.items()
        if value != defaults.get(name) or name == "records"
    )
    faults = ", ".join(simulation.faults) or "none"
    seed = "no seed" if simulation.seed is None else f"seed {simulation.seed}"
    lines = [
        f"{job.title}  [{job.path}]",
        f"  model {job.model.name} · bounds: {shown or 'defaults'}",
        f"  simulate: {simulation.runs:,} runs, {simulation.steps:,} steps (at most "
        f"{simulation.depth:,} a run) in {simulation.seconds:.2f} s · {seed} "
        f"· fault kinds each run draws from: {faults}",
        "",
    ]
    trace = simulation.trace
    if trace is None:
        lines.append(
            "  ✓ no run broke a contract (random runs show what they met, and prove nothing "
            "of the runs they missed; kmodel check searches every run within the bounds)"
        )
    else:
        faults_used = f", {trace.faults} fault{'s' * (trace.faults != 1)}" if trace.faults else ""
        lines.append(
            f"  ✗ {trace.property}  {trace.kind}  violated in {len(trace)} steps{faults_used} "
            "(the shortest run hypothesis shrank it to):"
        )
        context = job_context(job, trace.property, simulation.description)
        narration = render(trace, "text", **context)
        lines += [f"      {line}" for line in str(narration).splitlines()]
    lines.append("")
    lines += coverage_lines(simulation.coverage, "times taken, before a run broke a contract")
    witnesses, unreached = simulation.coverage.witnesses, simulation.coverage.unreached
    lines.append(f"  witnesses reached: {len(witnesses) - len(unreached)} of {len(witnesses)}")
    if unreached:
        lines.append(f"  ⚠ never reached: {', '.join(unreached)}")
    return "\n".join(lines)


def simulation_json(job: Job, simulation: Simulation) -> dict[str, Any]:
    trace = simulation.trace
    return {
        "spec": str(job.path),
        "title": job.title,
        "model": job.model.name,
        "settings": job.settings,
        "runs": simulation.runs,
        "steps": simulation.steps,
        "depth": simulation.depth,
        "seconds": round(simulation.seconds, 3),
        "seed": simulation.seed,
        "fault_kinds": list(simulation.faults),
        "violated": None if trace is None else trace.property,
        "trace": None if trace is None else trace.to_json(),
        "coverage": simulation.coverage.to_json(),
    }
