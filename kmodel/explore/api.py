"""The explorer's answers as JSON-ready values: what each page request returns.

Each function takes a session and the request's parameters, holds the session's lock
while it uses the model, and returns plain data; `kmodel.explore.server` only routes
requests to them. Bad parameters raise `BadRequest`, whose message the page shows.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from kmodel.core.result import Status
from kmodel.core.trace import Trace
from kmodel.explore import grading
from kmodel.explore.panel import state_panel
from kmodel.explore.paths import PathError, parse_path, path_text
from kmodel.explore.reach import Outlook, contracts, promises, reach
from kmodel.explore.session import Lasso, Session, who
from kmodel.jobs.files import safe_name
from kmodel.render.formats import FORMATS, render
from kmodel.render.narrate import narrate


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


def run(session: Session, text: str, loop: str = "", contract: str = "") -> dict[str, Any]:
    """The run `text` names: its steps, the state at its end, what can happen next; and,
    when `loop` and `contract` say it is a lasso, where its loop starts and what it means."""
    lasso = _lasso(loop, contract)
    with session.lock:
        worlds = _worlds(session, text)
        world = worlds[-1]
        trace = _traced(session, worlds, lasso)
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
            "lasso": None
            if lasso is None
            else {
                "contract": lasso.contract,
                "start": lasso.start,
                "text": narrate(trace, session.description(lasso.contract))[-1],
            },
        }


def diagram(
    session: Session, text: str, fmt: str, loop: str = "", contract: str = ""
) -> tuple[str | bytes, str]:
    """The run `text` names as a trace in format `fmt` (a lasso when `loop` and
    `contract` say so), and a file name for it."""
    if fmt not in FORMATS:
        raise BadRequest(f"unknown format {fmt!r}; the formats are {', '.join(FORMATS)}.")
    lasso = _lasso(loop, contract)
    with session.lock:
        trace = _traced(session, _worlds(session, text), lasso)
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
    """The path of the shortest trace that breaks `contract`, found by the spec's search,
    and where its loop starts when it is a lasso (a leads-to contract's)."""
    _known(session, contract)
    with session.lock:
        path = session.counterexample(contract)
        if path is None:
            status = session.outcome().verdict(contract).status
            why = "the search stopped first" if status is Status.UNKNOWN else f"it {status.value}"
            raise NotFound(f"{contract} has no counterexample: {why} under the spec's bounds.")
        loop = session.shortest(contract).loop_start
    return {"path": path_text(path), "loop": loop}


def where_next(session: Session, text: str) -> dict[str, Any]:
    """Which contracts a run from here can still break, by a bounded search; and of each
    leads-to contract, whether its promise is due and whether a fair run from here
    never keeps it (a lasso, its loop's start in the path)."""
    with session.lock:
        worlds = _worlds(session, text)
        found = reach(session.system, worlds[-1])
        owed = promises(session.system, worlds)
    prefix = _path(text)
    return {
        "outlooks": [
            *(_outlook(o, prefix, leads_to=False) for o in found.outlooks),
            *(_outlook(o, prefix, leads_to=True) for o in owed),
        ],
        "states": found.states,
        "seconds": round(found.seconds, 2),
        "complete": found.complete,
        "budget_spent": found.stop_reason in ("max_states", "max_seconds"),
    }


def _outlook(o: Outlook, prefix: tuple[int, ...], leads_to: bool) -> dict[str, Any]:
    """An outlook as the page reads it: its run from here is a path from the start."""
    return {
        "name": o.name,
        "status": o.status.value,
        "steps": None if o.steps is None else len(o.steps),
        "path": None if o.steps is None else path_text(prefix + o.steps),
        "leads_to": leads_to,
        "due_since": o.due_since,
        "loop": None if o.loop_start is None else len(prefix) + o.loop_start,
    }


def hint(session: Session, text: str, level: str) -> dict[str, Any]:
    if session.job.exercise is None:
        raise NotFound(f"{session.job.path} sets no exercise, so there are no hints.")
    if level not in [str(n) for n in range(1, grading.HINTS + 1)]:
        raise BadRequest(f"hint level {level!r}: there are hints 1 to {grading.HINTS}.")
    with session.lock:
        world = _worlds(session, text)[-1]
        return {"text": grading.hint(session, world, int(level))}


def _lasso(loop: str, contract: str) -> Lasso | None:
    """The lasso a request names by its loop's start and contract (None: it names none)."""
    if not loop and not contract:
        return None
    if not (loop.isascii() and loop.isdigit() and len(loop) <= 6 and contract):
        raise BadRequest(
            f"a lasso is named by loop, a step number, and contract; not {loop!r}, {contract!r}."
        )
    return Lasso(contract, int(loop))


def _traced(session: Session, worlds: list, lasso: Lasso | None) -> Trace:
    """The run through `worlds` as `Session.trace` makes it; a BadRequest when `lasso`
    says it loops and it does not."""
    try:
        return session.trace(worlds, lasso)
    except PathError as error:
        raise BadRequest(str(error)) from None


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
