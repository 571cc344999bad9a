"""Advice as text, Markdown or JSON: the changes that give the wanted guarantee (or why
none was found), the candidates checked, and the trace that ruled out each rejected one."""

from __future__ import annotations

from typing import Any

from kmodel.advise.smallest_change import Advice, Candidate
from kmodel.core.schema import show_value
from kmodel.render.narrate import narrate


def advice_json(advice: Advice) -> dict[str, Any]:
    answer = advice.answer
    return {
        "wanted": advice.wanted,
        "found": answer is not None,
        "changes": None if answer is None else _changes_json(answer),
        "exhausted": advice.exhausted,
        "candidates": [
            {
                "changes": _changes_json(candidate),
                "delivers": None
                if candidate.classification is None
                else candidate.classification.row,
                "replayed": candidate.classification is None,
                "ruled_out_by": None if candidate.broken is None else candidate.broken.name,
                "fault": None
                if candidate.broken is None
                else candidate.menu.get(candidate.broken.fault),
                "trace": None
                if candidate.broken is None or candidate.broken.trace is None
                else candidate.broken.trace.to_json(),
                "rules_out": None
                if candidate.ruled_out is None
                else {
                    "configurations": candidate.ruled_out.configurations,
                    "keeping": candidate.ruled_out.kept,
                },
            }
            for candidate in advice.candidates
        ],
    }


def _changes_json(candidate: Candidate) -> dict[str, dict[str, Any]]:
    return {key: {"from": old, "to": new} for key, (old, new) in candidate.changes.items()}


def advice_text(advice: Advice, markdown: bool = False) -> str:
    heading = "## " if markdown else ""
    bullet = "- " if markdown else "  "
    answer = advice.answer
    tried = len(advice.candidates)
    if answer is None and advice.exhausted:
        lines = [
            f"{heading}No configuration within the model's choices gives {advice.wanted} "
            f"({tried} checked, each ruled out below; Kafka's rules allow no other)."
        ]
    elif answer is None:
        lines = [
            f"{heading}No change giving {advice.wanted} was found within {tried} candidates "
            "(--max-candidates tries more)."
        ]
    elif not answer.changes:
        lines = [f"{heading}Your configuration already gives {advice.wanted}; change nothing."]
    else:
        lines = [f"{heading}The smallest change that gives {advice.wanted}:"]
        lines += [f"{bullet}{_change(key, old, new)}" for key, (old, new) in answer.changes.items()]
        lines.append(f"Checked under the fault menu; {tried} candidates tried.")
    rejected = [candidate for candidate in advice.candidates if candidate.broken is not None]
    if rejected:
        lines += ["", f"{heading}Candidates ruled out" if markdown else "Candidates ruled out:"]
    for candidate in rejected:
        lines += _rejected_lines(candidate, bullet)
    return "\n".join(lines)


def _change(key: str, old: Any, new: Any) -> str:
    return f"{key}: {_shown(old)} → {_shown(new)}"


def _shown(value: Any) -> str:
    """A setting's value; None is a setting left unset (Kafka's default applies)."""
    return "unset" if value is None else show_value(value)


def _rejected_lines(candidate: Candidate, bullet: str) -> list[str]:
    changes = ", ".join(_change(key, *pair) for key, pair in candidate.changes.items())
    broken = candidate.broken
    assert broken is not None
    if broken.trace is None:
        return [f"{bullet}{changes or 'as it is'}: {broken.name} undecided (a run stopped)"]
    under = f"under {candidate.menu[broken.fault]}" if broken.fault else "without any fault"
    head = f"{bullet}{changes or 'as it is'}: {broken.name} breaks in {len(broken.trace)} steps, "
    if candidate.classification is None:
        # The trace is an earlier candidate's, shown there: it replays here too.
        lines = [head + f"{under}, by the same trace as an earlier candidate"]
    else:
        lines = [head + under]
        lines += [f"      {sentence}" for sentence in narrate(broken.trace, broken.description)]
    rule = candidate.ruled_out
    if rule is not None:
        kept = len(rule.kept)
        lines.append(
            f"      The trace reads {kept} of the settings advise may change, so it rules out "
            f"{rule.configurations} configuration{'s' if rule.configurations != 1 else ''}: "
            f"every one that keeps {'them' if kept != 1 else 'it'} as here."
        )
    return lines
