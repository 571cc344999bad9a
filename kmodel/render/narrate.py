"""A trace told as numbered sentences a student can follow, one per step.

>>> from kmodel.core.trace import Step, Trace
>>> steps = (
...     Step("OffsetCommit(offset 1, generation 1)", "coordinator", "consumer", "coordinator",
...          None, "deliver", {}),
...     Step("crash", "producer", None, None, "crash:producer", "crash", {}),
... )
>>> for line in narrate(Trace("no-loss", "at_end", {}, steps)):
...     print(line)
1. The consumer sends OffsetCommit(offset 1, generation 1) to the coordinator.
2. The producer crashes; it keeps only what it stored durably, and the messages on their way to it are lost.
Nothing but a further fault can happen now, so the run has come to rest, and the contract no-loss does not hold here, although it must hold wherever a run ends. The trace needs 1 fault: a crash of the producer.
"""  # noqa: E501

from __future__ import annotations

import re

from kmodel.core.trace import Trace
from kmodel.render import events as ev
from kmodel.render.notes import simplification
from kmodel.render.state import effects

# A message named the way protocols name their requests: OffsetCommit(...), JoinGroup.
_MESSAGE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*(\(.*\))?$")


def narrate(trace: Trace, contract_description: str | None = None) -> list[str]:
    """One numbered line per step (``"3. The consumer polls from offset 0."``) with a
    sentence for each effect of the step that bears on a contract (``"Broker0 truncates
    its log to offset 0: record 1 is gone."``), then one unnumbered sentence saying which
    contract broke, or which witness was reached, and why (of a plain path, which decides
    nothing, how far it went).

    `contract_description` is the property's description (a `Verdict`'s
    ``description``); without it the sentence names the property only.
    """
    down: set[str] = set()
    lines = []
    losses = ev.crash_losses(trace)
    said: set[str] = set()
    states = [trace.initial, *(step.state for step in trace.steps)]
    for event in ev.events(trace):
        told = [_sentence(event, down, losses.get(event.number))]
        told += effects(states[event.number - 1], states[event.number])
        remark = simplification(event)
        if remark and remark not in said:
            said.add(remark)
            told.append(_cap(remark.replace("\n", " ")) + ".")
        lines.append(f"{event.number}. {' '.join(told)}")
        if event.what == ev.CRASH:
            down.add(event.actor)
        elif event.what == ev.RESTART:
            down.discard(event.actor)
    lines.append(_conclusion(trace, contract_description) if trace.decides else _so_far(trace))
    return lines


def _sentence(
    event: ev.Event, down: set[str], lost: tuple[ev.LostMessage, ...] | None = None
) -> str:
    actor = ev.who(event.actor)
    text = event.text
    if event.what == ev.CRASH:
        return _cap(
            f"{actor} crashes; it keeps only what it stored durably, {_losses(lost, 'its')}"
        )
    if event.what == ev.RESTART:
        return _cap(f"{actor} restarts from what it stored durably.")
    if event.kind == "crash-group":
        return (
            _cap(f"{text}: each machine there stops and keeps only what it had on disk, ")
            + _losses(lost, "their")
            + _fault_remark(event)
        )
    if event.what == ev.TIMER:
        sentence = f"At {actor}, {_clause(text)}."
        if event.fault:
            sentence += (
                " This timeout is one of the injected faults: it fires although the answer "
                "may still be on its way."
            )
        return sentence
    if not event.between and event.what in (ev.LOST, ev.BREAK, ev.DUPLICATE):
        return _cap(f"the network misbehaves: {_clause(event.label)}.")
    sender, receiver = ev.who(event.sender), ev.who(event.receiver)
    if event.what == ev.LOST:
        return _cap(f"the network loses {_message(text)} on its way from {sender} to {receiver}.")
    if event.what == ev.BREAK:
        gone = "the messages in flight on it are lost."
        if lost:
            gone = _gone(lost)
        return _cap(f"the connection between {sender} and {receiver} breaks; {gone}")
    if event.what == ev.DUPLICATE:
        return _cap(
            f"the network duplicates {_message(text)} on its way from {sender} to {receiver}, "
            "so it can arrive twice."
        )
    if event.what == ev.MESSAGE:
        if event.sender in down:
            sentence = f"{receiver} receives {_message(text)} on behalf of {sender}, which is down."
        elif event.kind == "deliver":
            sentence = f"{sender} sends {_message(text)} to {receiver}."
        else:
            sentence = f"{receiver} receives a message from {sender}: {_clause(text)}."
        return _cap(sentence) + _fault_remark(event)
    # An actor's own step.
    if event.notice_of:
        return _cap(f"{actor} notices that {ev.who(event.notice_of)} is gone: {event.label}.")
    if text[:1].islower():
        sentence = f"{actor} {_clause(text)}."
    else:
        sentence = f"{actor} takes the step {_clause(text)}."
    if event.election:
        sentence += " This is a leader election (a failover)."
    return _cap(sentence) + _fault_remark(event)


def _losses(lost: tuple[ev.LostMessage, ...] | None, whose: str) -> str:
    """What a crash's reset connections lose: a crash resets TCP connections both ways,
    so a message the crashed actor had sent is lost as well as one on its way to it."""
    if lost is None:
        return "and the messages on their way to it are lost."
    if not lost:
        return "and no message was on its way to or from it."
    return f"and {whose} connections reset: {_gone(lost)}"


def _gone(lost: tuple[ev.LostMessage, ...]) -> str:
    """``the Fetch from broker1 to broker0 is lost.``"""
    phrases = [f"the {kind} from {ev.who(src)} to {ev.who(dst)}" for src, dst, kind in lost]
    verb = "is" if len(lost) == 1 else "are"
    return f"{ev.join_words(phrases)} {verb} lost."


def _fault_remark(event: ev.Event) -> str:
    if not event.fault_tag:
        return ""
    return f" This is one of the injected faults ({event.fault_tag})."


def _message(text: str) -> str:
    """A message in running prose: names stay bare, phrases go in quotes."""
    return text if _MESSAGE_NAME.match(text) else f"“{text}”"


def _clause(text: str) -> str:
    return text.rstrip(".")


def _cap(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _loop(trace: Trace, contract: str) -> str:
    """How a lasso breaks a leads-to contract: the loop repeated for ever, or the rest."""
    promise = f"the promise of {contract} is due and never kept"
    first, last = trace.loop_start + 1, len(trace.steps)
    if first > last:
        rest = "in the initial state" if not trace.steps else "now"
        return (
            f"Nothing but a further fault can happen {rest}, so the run has come to rest, "
            f"and {promise}."
        )
    steps = f"step {last}" if first == last else f"steps {first}–{last}"
    return (
        f"From step {first} the run repeats {steps} forever, and {promise}: every step the "
        "system always gets to take is taken along the loop or stops being possible there, "
        "so this run is fair, and only faults are left out."
    )


def _so_far(trace: Trace) -> str:
    """The closing line of a plain path: how far it went and the faults it used, no
    verdict, since it decides nothing."""
    faults = ev.describe_faults(trace)
    return _cap(ev.headline(trace)) + (f" ({ev.join_words(faults)})" if faults else "") + "."


def _conclusion(trace: Trace, description: str | None) -> str:
    name = trace.property
    if description and description.startswith("witness: "):
        description = description[len("witness: ") :]
    quoted = f" (“{_clause(description)}”)" if description else ""
    where = f"After step {len(trace.steps)}" if trace.steps else "Already in the initial state"
    if trace.kind == "sometimes":
        witness = name if name.startswith("witness") else f"the witness {name}"
        sentence = (
            f"{where}, {witness}{quoted} is reached: with these settings this can really happen."
        )
    elif trace.kind == "at_end":
        rest = "in the initial state" if not trace.steps else "now"
        sentence = (
            f"Nothing but a further fault can happen {rest}, so the run has come to rest, "
            f"and the contract {name}{quoted} does not hold here, although it must hold "
            "wherever a run ends."
        )
    elif trace.kind == "always":
        sentence = (
            f"{where}, the contract {name}{quoted} is broken: it must hold in every state "
            "the system can reach, and it does not hold in this one."
        )
    elif trace.kind == "leads_to" and trace.loop_start is not None:
        sentence = _loop(trace, f"{name}{quoted}")
    else:
        sentence = f"{where}, the property {name}{quoted} is decided ({trace.kind})."
    faults = ev.describe_faults(trace)
    if faults:
        count = f"{len(faults)} fault" + ("s" if len(faults) != 1 else "")
        sentence += f" The trace needs {count}: {ev.join_words(faults)}."
    elif trace.steps and trace.kind != "sometimes":
        sentence += " No fault was needed: the system does this on its own."
    return sentence
