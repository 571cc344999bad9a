"""The notes a sequence diagram adds to a trace's events: what changed in the state, and
where the model simplifies Kafka.

After each step that changes what a person follows — a replica's log, HW and
leader epoch, the ISR, a committed offset or position, a transaction, the
sink — a note on that actor's lifeline gives the new value. Messages and
crashes alone do not show that broker 0 truncated its log or that the high
watermark went back; these notes do. Where the model takes a short cut a
reader who knows Kafka would notice (the controller answering a client's
MetadataRequest itself), a note says so the first time it shows.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kmodel.core.trace import Trace
from kmodel.render import events as ev
from kmodel.render.kafka_view import actors, kind_of
from kmodel.render.state import Fact, facts

# Per kind of actor, the facts a diagram notes when they change (the state panel shows
# them all): enough to follow logs, offsets and transactions without crowding the picture.
NOTED: dict[str | None, tuple[str, ...]] = {
    "replica": ("role", "ISR", "log"),
    "controller": ("partition ",),
    "producer": ("acknowledged", "failed"),
    "consumer": ("position",),
    "group-coordinator": ("committed offset", "offsets in a transaction"),
    "txn-coordinator": ("producer id ",),
    "application": ("producer", "input position", "fenced"),
    "sink": ("contents", "stored position"),
    "source": ("stored position",),
}

# The kinds of NOTE event.
STATE = "state"  # what a step changed in an actor's state
SIMPLIFICATION = "simplification"  # how the model departs from Kafka here

METADATA_SHORT_CUT = (
    "simplification: a Kafka client asks any broker for metadata,\n"
    "which answers from what the controller sent it; here the controller answers itself"
)


def state_notes(trace: Trace) -> dict[int, list[tuple[str, tuple[Fact, ...]]]]:
    """Per step number, each actor whose noted facts the step changed, with those facts;
    none for a trace whose states are not those of actors (no messages in flight): the
    parts of such a state are not lifelines."""
    found: dict[int, list[tuple[str, tuple[Fact, ...]]]] = {}
    if not isinstance(trace.initial, Mapping) or "in_flight" not in trace.initial:
        return found
    before = trace.initial
    for number, step in enumerate(trace.steps, 1):
        changed = []
        entries = actors(step.state)
        for name, shown in facts(step.state, before).items():
            noted = tuple(f for f in shown if f.changed and _noted(entries[name], f))
            if noted:
                changed.append((name, noted))
        if changed:
            found[number] = changed
        before = step.state
    return found


def _noted(entry: Any, fact: Fact) -> bool:
    if isinstance(entry, Mapping) and entry.get("crashed") and fact.label != "log":
        return False  # the crash is drawn; only what it took from the log is news
    kind = kind_of(entry)
    if kind is None:
        return True  # another model's actor: every field it has
    return any(
        fact.label == label or (label.endswith(" ") and fact.label.startswith(label))
        for label in NOTED[kind]
    )


def simplification(event: ev.Event) -> str | None:
    """What a reader who knows Kafka should be told about how the model shows `event`."""
    asks = event.what == ev.MESSAGE and event.label.startswith("MetadataRequest")
    return METADATA_SHORT_CUT if asks and event.receiver == "controller" else None


def annotated(trace: Trace) -> tuple[list[str], list[ev.Event]]:
    """The participants of a diagram of `trace`, and its events with notes: after each
    step (and the messages it lost), a NOTE event per actor whose state it changed (text:
    one ``label: value`` line per fact), and the first time the model simplifies, a NOTE
    saying how."""
    notes = state_notes(trace)
    noted = [name for changed in notes.values() for name, _ in changed]
    said: set[str] = set()
    shown: list[ev.Event] = []
    for number, group in itertools.groupby(ev.drawn(trace), key=lambda event: event.number):
        drawn = list(group)
        step = drawn[0]
        shown += drawn
        remark = simplification(step)
        if remark and remark not in said:
            said.add(remark)
            shown.append(_note(step, step.receiver or step.actor, remark, SIMPLIFICATION))
        for name, changed in notes.get(number, ()):
            text = "\n".join(f"{f.label}: {f.value}" for f in changed)
            shown.append(_note(step, name, text, STATE))
    return ev.participants(trace, also=noted), shown


def _note(event: ev.Event, actor: str, text: str, kind: str) -> ev.Event:
    return replace(
        event,
        what=ev.NOTE,
        kind=kind,
        actor=actor,
        sender=None,
        receiver=None,
        text=text,
        fault=None,
        election=False,
        final=False,
        notice_of=None,
    )
