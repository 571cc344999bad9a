"""The explorer's answers as JSON-ready values: what each page request returns.

Each function takes a session and the request's parameters, holds the session's lock
while it uses the model, and returns plain data; `kmodel.explore.server` only routes
requests to them. Bad parameters raise `BadRequest`, whose message the page shows.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from kmodel.core.result import Status
from kmodel.explore import grading
from kmodel.explore.panel import state_panel
from kmodel.explore.paths import PathError, parse_path, path_text
from kmodel.explore.reach import contracts, reach
from kmodel.explore.session import Session, who
from kmodel.jobs.files import safe_name
from kmodel.render.formats import FORMATS, render


class BadRequest(ValueError):
    """A request the explorer cannot answer; the message says why."""


class NotFound(BadRequest):
    """A request for something the model does not have."""


def spec(session: Session) -> dict[str, Any]:
    """What the page shows once: the spec, its contracts, the exercise, the formats."""
    job, exercise = session.job, session.job.exercise
    return {
        "title": job.title,
        "description": job.description.strip(),
        "path": str(job.path),
        "contracts": [
            {"name": name, "description": session.description(name)}
            for name in contracts(session.system)
        ],
        "exercise": None
        if exercise is None
        else {"goal": exercise.goal, "prompt": exercise.prompt},
        "hints": grading.HINTS,
        "formats": [
            {"name": f.name, "extension": f.extension, "summary": f.summary}
            for f in FORMATS.values()
        ],
    }


def run(session: Session, text: str) -> dict[str, Any]:
    """The run `text` names: its steps, the state at its end, what can happen next."""
    with session.lock:
        worlds = _worlds(session, text)
        world = worlds[-1]
        trace = session.trace(worlds)
        states = [trace.initial, *(step.state for step in trace.steps)]
        choices = [{**asdict(c), "who": c.who} for c in session.choices(world)]
        grade = session.job.exercise and grading.grade(session, world)
        return {
            "path": path_text(_path(text)),
            "steps": [
                {
                    "label": step.label,
                    "who": who(step.actor, step.sender, step.receiver),
                    "fault": step.fault,
                }
                for step in trace.steps
            ],
            "state": state_panel(states[-1], states[-2] if len(states) > 1 else None),
            "normal": [c for c in choices if c["fault"] is None],
            "faults": [c for c in choices if c["fault"] is not None],
            "faults_left": session.faults_left(world),
            "broken": session.broken(world),
            "grade": grade and asdict(grade),
        }


def diagram(session: Session, text: str, fmt: str) -> tuple[str | bytes, str]:
    """The run `text` names as a trace in format `fmt`, and a file name for it."""
    if fmt not in FORMATS:
        raise BadRequest(f"unknown format {fmt!r}; the formats are {', '.join(FORMATS)}.")
    with session.lock:
        trace = session.trace(_worlds(session, text))
    contract = trace.property if trace.decides else None
    output = render(
        trace,
        fmt,
        **session.context(),
        contract=contract,
        contract_description=session.description(trace.property) or None,
    )
    name = f"{session.job.name}-{safe_name(text or 'start')}.{FORMATS[fmt].extension}"
    return output, name


def counterexample(session: Session, contract: str) -> dict[str, Any]:
    """The path of the shortest trace that breaks `contract`, found by the spec's search."""
    _known(session, contract)
    with session.lock:
        path = session.counterexample(contract)
        if path is None:
            status = session.outcome().verdict(contract).status
            why = "the search stopped first" if status is Status.UNKNOWN else f"it {status.value}"
            raise NotFound(f"{contract} has no counterexample: {why} under the spec's bounds.")
    return {"path": path_text(path)}


def where_next(session: Session, text: str) -> dict[str, Any]:
    """Which contracts a run from here can still break, by a bounded search."""
    with session.lock:
        world = _worlds(session, text)[-1]
        found = reach(session.system, world)
    prefix = _path(text)
    return {
        "outlooks": [
            {
                "name": o.name,
                "status": o.status.value,
                "steps": None if o.steps is None else len(o.steps),
                "path": None if o.steps is None else path_text(prefix + o.steps),
            }
            for o in found.outlooks
        ],
        "states": found.states,
        "seconds": round(found.seconds, 2),
        "complete": found.complete,
        "budget_spent": found.stop_reason in ("max_states", "max_seconds"),
    }


def hint(session: Session, text: str, level: str) -> dict[str, Any]:
    if session.job.exercise is None:
        raise NotFound(f"{session.job.path} sets no exercise, so there are no hints.")
    if level not in [str(n) for n in range(1, grading.HINTS + 1)]:
        raise BadRequest(f"hint level {level!r}: there are hints 1 to {grading.HINTS}.")
    with session.lock:
        world = _worlds(session, text)[-1]
        return {"text": grading.hint(session, world, int(level))}


def _path(text: str) -> tuple[int, ...]:
    try:
        return parse_path(text)
    except PathError as error:
        raise BadRequest(str(error)) from None


def _worlds(session: Session, text: str) -> list:
    try:
        return session.worlds(_path(text))
    except PathError as error:
        raise BadRequest(str(error)) from None


def _known(session: Session, contract: str) -> None:
    names = [p.name for p in session.system.properties()]
    if contract not in names:
        raise NotFound(f"no contract {contract!r}; the model's are {', '.join(names)}.")
