"""An exercise's grade and hints: has the student's run broken the goal contract, and
what would help them get there.

Hints come from the shortest trace, from the coarse to the precise: first which
faults the shortest run that breaks the goal needs, then the next step to take from
where the student is now (a bounded search from the current world).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from kmodel.core.result import Status
from kmodel.core.search import Limits
from kmodel.explore.reach import BUDGET, reach
from kmodel.explore.session import Session
from kmodel.jobs.exercise import Exercise
from kmodel.render.events import describe_faults, join_words

HINTS = 2  # how many levels of hints an exercise gives


@dataclass(frozen=True, slots=True)
class Grade:
    solved: bool
    text: str


def exercise_of(session: Session) -> Exercise:
    exercise = session.job.exercise
    if exercise is None:
        raise ValueError(f"{session.job.path} sets no exercise")
    return exercise


def grade(session: Session, world: Hashable) -> Grade:
    """Solved once `world` breaks the exercise's goal contract."""
    goal = exercise_of(session).goal
    if goal in session.broken(world):
        return Grade(True, f"Solved: this state breaks {goal}: {session.description(goal)}.")
    return Grade(False, f"Not yet: {goal} still holds here.")


def hint(session: Session, world: Hashable, level: int, limits: Limits = BUDGET) -> str:
    """Hint number `level` (1: the faults needed, 2: the next step from `world`)."""
    goal = exercise_of(session).goal
    if level == 1:
        return _faults_needed(session, goal)
    if level == 2:
        return _next_step(session, world, goal, limits)
    raise ValueError(f"there are hints 1 to {HINTS}, not {level}")


def _faults_needed(session: Session, goal: str) -> str:
    trace = session.shortest(goal)
    if trace is None:
        return f"The spec's own search found no run that breaks {goal}: it may not break at all."
    faults = describe_faults(trace)
    steps = f"{len(trace)} steps"
    if not faults:
        return f"The shortest run that breaks {goal} takes {steps} and needs no fault at all."
    return f"The shortest run that breaks {goal} takes {steps} and needs {join_words(faults)}."


def _next_step(session: Session, world: Hashable, goal: str, limits: Limits) -> str:
    outlook = reach(session.system, world, [goal], limits).outlooks[0]
    if outlook.status is Status.HOLDS:
        return f"From here no run breaks {goal} any more: go back a few steps."
    if outlook.steps is None:
        return f"No run from here breaks {goal} within the search's budget: try going back."
    if not outlook.steps:
        return f"You are there: this state breaks {goal}."
    choice = session.choices(world)[outlook.steps[0]]
    shown = f"{choice.label} ({choice.who})" if choice.who else choice.label
    return f"Next, take “{shown}”; {goal} can break {len(outlook.steps)} steps from here."
