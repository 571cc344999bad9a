"""What every trace picture shares: participants, events, settings and verdict wording.

A `Trace` records each step as plain data (kind, actor, sender, receiver,
label, fault). The renderers do not read those fields directly; they read the
`Event` each step becomes here, so a sequence diagram, a drawing and a
narration agree on who took part, in what order the lifelines stand, and what
every step means (a message, a lost message, a crash ...).

Nothing here knows a model: Kafka actor names only decide a sensible column
order, and any other names (``TM``, ``RM0`` ...) follow in the order they first
appear.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kmodel.core.trace import Step, Trace

# The order of a Kafka pipeline's actors from left to right: data flows from the
# source (or input) through the producing application and the brokers to the sink;
# the controller and the coordinators stand between the brokers and their clients.
KNOWN_ORDER = (
    "source",
    "input",
    "producer",
    "app-",
    "broker",
    "controller",
    "txn-coordinator",
    "coordinator",
    "group-coordinator",
    "consumer",
    "sink",
)
DISPLAY = {"coordinator": "Coordinator"}

SYSTEM = "system"  # the lifeline of steps that name no actor at all

# What each event kind is, for the renderers.
MESSAGE = "message"  # a message arrives (sender -> receiver)
LOST = "lost"  # a message vanishes in flight
BREAK = "break"  # a connection breaks: everything in flight on it is lost
DUPLICATE = "duplicate"  # the network duplicates a message in flight
INTERNAL = "internal"  # an actor's own step
TIMER = "timer"  # a timer fires at an actor
CRASH = "crash"
RESTART = "restart"
NOTE = "note"  # what changed in an actor's state, or a word on how the model simplifies

_NAME_NUMBER = re.compile(r"^([A-Za-z_]*?)(\d+)$")
_ELECTION = re.compile(r"LeaderAndIsr|elect", re.IGNORECASE)
_INT_MAX = (2**31 - 1, 2**63 - 1)


@dataclass(frozen=True, slots=True)
class Event:
    """One step of a trace as a picture shows it."""

    number: int  # 1-based step number
    what: str  # MESSAGE, LOST, BREAK, DUPLICATE, INTERNAL, TIMER, CRASH, RESTART or NOTE
    kind: str  # the step's kind as recorded (deliver, step, timer ...)
    actor: str  # where an internal event happens; the receiver of a message
    sender: str | None  # the other end, for the events between two actors
    receiver: str | None
    text: str  # the label to show ("lose " and "duplicate " prefixes taken off)
    label: str  # the step's label as recorded
    fault: str | None  # the fault budget the step used, or None
    election: bool  # the step elects a leader (a failover step)
    final: bool  # the step that decides the trace's property
    notice_of: str | None = None  # the crashed actor a crash notice is about

    @property
    def fault_tag(self) -> str | None:
        """The fault budget worth showing: None when the event's kind already says it."""
        if not self.fault or self.what in (CRASH, RESTART, LOST, BREAK, DUPLICATE):
            return None
        return self.fault

    @property
    def between(self) -> bool:
        """True for events drawn between two lifelines."""
        return self.sender is not None and self.receiver is not None


def events(trace: Trace) -> list[Event]:
    """The trace's steps as events, in order. A crash notice (a message the model sends
    on behalf of an actor as it crashes, such as the session expiry the controller hears
    of) is the receiver's own step: a crashed actor sends nothing."""
    count = len(trace.steps)
    notices = _notices(trace)
    shown = []
    for number, step in enumerate(trace.steps, 1):
        event = _event(step, number, number == count and trace.decides)
        if number in notices:
            event = replace(
                event,
                what=INTERNAL,
                sender=None,
                receiver=None,
                text=f"notices: {event.text}",
                notice_of=notices[number],
            )
        shown.append(event)
    return shown


# A message a crash's reset connections or a broken connection lost: (sender, receiver,
# its kind).
LostMessage = tuple[str, str, str]

# The steps that lose the messages in flight on the connections they end.
_LOSING = ("crash", "crash-group", "break")


def crash_losses(trace: Trace) -> dict[int, tuple[LostMessage, ...] | None]:
    """For each crash, power cut or broken connection (by step number), the messages in
    flight before it and gone after it (a crash resets its TCP connections both ways);
    None where the states do not record what was in flight."""
    found: dict[int, tuple[LostMessage, ...] | None] = {}
    before = trace.initial
    for number, step in enumerate(trace.steps, 1):
        if step.kind in _LOSING:
            gone = _difference(before, step.state)
            found[number] = None if gone is None else tuple(map(_lost, gone))
        before = step.state
    return found


def _notices(trace: Trace) -> dict[int, str]:
    """The steps (by number) that deliver a crash notice, each with the crashed actor: a
    message from an actor that appeared in flight as that actor crashed."""
    pending: Counter[str] = Counter()
    found: dict[int, str] = {}
    before = trace.initial
    for number, step in enumerate(trace.steps, 1):
        if step.kind == "crash" and step.actor:
            for entry in _difference(step.state, before) or ():
                if entry[0] == step.actor:
                    pending[repr(entry)] += 1
        elif step.kind == "deliver":
            for entry in _difference(before, step.state) or ():
                if pending[repr(entry)]:
                    pending[repr(entry)] -= 1
                    found[number] = entry[0]
        before = step.state
    return found


def _difference(before: Any, after: Any) -> list[Any] | None:
    """The messages in flight in `before` that are not in `after` (counting copies);
    None where the states do not record what was in flight."""
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return None
    if "in_flight" not in before or "in_flight" not in after:
        return None
    remaining = Counter(map(repr, after["in_flight"]))
    gone = []
    for entry in before["in_flight"]:
        if remaining[repr(entry)]:
            remaining[repr(entry)] -= 1
        else:
            gone.append(entry)
    return gone


def _lost(entry: Any) -> LostMessage:
    sender, receiver, message = entry
    kind = message["type"] if isinstance(message, dict) and "type" in message else message
    return (sender, receiver, str(kind))


def drawn(trace: Trace) -> list[Event]:
    """The events a picture draws: every step's, each crash or broken connection followed
    by the messages it lost, drawn as lost on their way."""
    losses = crash_losses(trace)
    shown = []
    for event in events(trace):
        shown.append(event)
        why = "the connection breaks" if event.what == BREAK else "the crash resets the connection"
        for sender, receiver, kind in losses.get(event.number) or ():
            shown.append(
                replace(
                    event,
                    what=LOST,
                    kind="lose",
                    actor=receiver,
                    sender=sender,
                    receiver=receiver,
                    text=f"{kind} ({why})",
                    fault=None,
                    final=False,
                )
            )
    return shown


def _event(step: Step, number: int, final: bool) -> Event:
    kind, label = step.kind, step.label
    sender, receiver = step.sender, step.receiver
    actor = step.actor or receiver or sender or SYSTEM
    text = label
    if kind == "lose":
        what, text = LOST, _strip(label, "lose ")
    elif kind == "break":
        what = BREAK
    elif kind == "duplicate":
        what, text = DUPLICATE, _strip(label, "duplicate ")
    elif kind == "crash":
        what, sender, receiver = CRASH, None, None
    elif kind == "restart":
        what, sender, receiver = RESTART, None, None
    elif kind == "timer":
        what, sender, receiver = TIMER, None, None
    elif sender is not None and receiver is not None and sender != receiver:
        what = MESSAGE
    else:
        what, sender, receiver = INTERNAL, None, None
    if what in (LOST, BREAK, DUPLICATE) and (sender is None or receiver is None):
        sender = receiver = None  # a network fault the model did not place: show it in place
    return Event(
        number=number,
        what=what,
        kind=kind,
        actor=actor,
        sender=sender,
        receiver=receiver,
        text=text,
        label=label,
        fault=step.fault,
        election=bool(_ELECTION.search(label)),
        final=final,
    )


def _strip(label: str, prefix: str) -> str:
    return label[len(prefix) :] if label.startswith(prefix) else label


# -- participants ---------------------------------------------------------------


def participants(trace: Trace, also: Sequence[str] = ()) -> list[str]:
    """The actors of `trace` in a stable left-to-right order: those its events draw, and
    `also` (those a picture notes a change of state of).

    Kafka's actors come first in the order data flows (source, producer,
    brokers by number, controller, group coordinator, consumer, sink); any
    other actors follow in the order they first appear, with numbered
    siblings (RM0, RM1 ...) kept together and sorted by number.
    """
    seen: list[str] = []
    for event in drawn(trace):
        for name in (event.sender, event.receiver, event.actor):
            if name is not None and name not in seen:
                seen.append(name)
    seen += [name for name in also if name not in seen]
    families: list[str] = []
    for name in seen:
        family = _family(name)[0]
        if family not in families:
            families.append(family)

    def key(name: str) -> tuple[int, int, int, str]:
        family, number = _family(name)
        if family.startswith("app-"):  # the instances of an application: app-1, app-2
            family = "app-"
        if family.startswith("consumer-"):  # a group's further members: consumer-2
            family = "consumer"
        if family in KNOWN_ORDER:
            return (0, KNOWN_ORDER.index(family), number, name)
        return (1, families.index(family), number, name)

    return sorted(seen, key=key)


def _family(name: str) -> tuple[str, int]:
    """``broker2`` -> (``broker``, 2); a name without a number -> (name, -1)."""
    match = _NAME_NUMBER.match(name)
    if match and match.group(1):
        return match.group(1), int(match.group(2))
    return name, -1


def display_name(name: str) -> str:
    """How a lifeline is headed: ``broker0`` -> ``Broker 0``, ``consumer`` -> ``Consumer``.

    Names with capitals of their own (``TM``, ``RM0``) are kept as they are.
    """
    if name in DISPLAY:
        return DISPLAY[name]
    if name != name.lower():
        return name
    family, number = _family(name)
    shown = family[:1].upper() + family[1:]
    return shown if number < 0 else f"{shown} {number}"


def identifier(name: str, taken: set[str]) -> str:
    """A diagram-safe identifier for `name`, unique among `taken` (which it joins)."""
    ident = re.sub(r"\W", "_", name) or "actor"
    if ident[0].isdigit():
        ident = "a_" + ident
    base, suffix = ident, 2
    while ident.lower() in taken:
        ident, suffix = f"{base}_{suffix}", suffix + 1
    taken.add(ident.lower())
    return ident


# -- settings -------------------------------------------------------------------


def settings_in_force(
    settings: Mapping[str, Mapping[str, Any]] | None,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[tuple[str, list[str]]]:
    """(section, ["name=value", ...]) for each section with something to show.

    Given the model's defaults (``Model.defaults()``), only the settings that
    differ from them are kept; otherwise every setting is listed.
    """
    if not settings:
        return []
    shown = []
    for section, values in settings.items():
        if not isinstance(values, Mapping):
            items = [] if values is None else [_value(values)]
            if items:
                shown.append((section, items))
            continue
        base = (defaults or {}).get(section, {})
        items = [
            f"{name}={_value(value)}"
            for name, value in values.items()
            if defaults is None or name not in base or base[name] != value
        ]
        if items:
            shown.append((section, items))
    return shown


def settings_text(
    settings: Mapping[str, Mapping[str, Any]] | None,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[str]:
    """One line per section: ``producer: acks=0, retries=0``."""
    return [
        f"{section}: " + ", ".join(items)
        for section, items in settings_in_force(settings, defaults)
    ]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "auto"
    if isinstance(value, int) and value in _INT_MAX:
        return "MAX"
    return str(value)


# -- verdicts -------------------------------------------------------------------


def is_witness(trace: Trace) -> bool:
    """True when the trace reaches a `sometimes` property (a good outcome)."""
    return trace.kind == "sometimes"


def final_note(trace: Trace, contract: str | None = None) -> str:
    """The words placed on the final step: ``contract no-loss broken here``."""
    name = contract or trace.property
    if trace.kind == "sometimes":
        return f"witness {name} reached here"
    if trace.kind == "at_end":
        return f"contract {name} broken here (the run ends)"
    if trace.loop_start is not None:
        rest = "rests here" if trace.loop_start == len(trace.steps) else "loops for ever"
        return f"contract {name} broken here (the run {rest}, the promise due)"
    return f"contract {name} broken here"


def looped(trace: Trace, shown: list[Event]) -> list[Event]:
    """The events of `shown` that a lasso's loop repeats for ever (none without a loop, or
    for a run that rests)."""
    if trace.loop_start is None:
        return []
    return [event for event in shown if event.number > trace.loop_start]


def loop_label(trace: Trace) -> str:
    """The words on a lasso's loop region: ``steps 3–5 repeat forever``."""
    first, last = (trace.loop_start or 0) + 1, len(trace.steps)
    steps = f"step {last} repeats" if first == last else f"steps {first}–{last} repeat"
    return f"{steps} forever"


def headline(trace: Trace, contract: str | None = None) -> str:
    """A one-line verdict: ``no-loss broken at the end of a run, after 6 steps (1 fault)``;
    of a plain path, which decides nothing, how far it went: ``the run so far: 4 steps,
    0 faults``."""
    name = contract or trace.property
    steps = len(trace.steps)
    count = f"{steps} step" + ("s" if steps != 1 else "")
    faults = trace.faults
    if not trace.decides:
        return f"the run so far: {count}, {faults} fault" + ("s" if faults != 1 else "")
    if faults:
        count += f", {faults} fault" + ("s" if faults != 1 else "")
    if trace.kind == "sometimes":
        return f"witness {name} reached in {count}"
    if trace.kind == "at_end":
        return f"contract {name} broken at the end of a run ({count})"
    if trace.loop_start is not None:
        return f"contract {name} broken by a run that never keeps it ({count})"
    return f"contract {name} broken ({count})"


def describe_faults(trace: Trace) -> list[str]:
    """The faults a trace used, as noun phrases: ``a crash of the consumer``."""
    phrases = []
    for event in events(trace):
        if not event.fault and event.what not in (CRASH, LOST, BREAK, DUPLICATE):
            continue
        if event.what == CRASH:
            phrases.append(f"a crash of {who(event.actor)}")
        elif event.what == LOST:
            phrases.append("a lost message")
        elif event.what == BREAK:
            if event.between:
                phrases.append(
                    f"a broken connection between {who(event.sender)} and {who(event.receiver)}"
                )
            else:
                phrases.append("a broken connection")
        elif event.what == DUPLICATE:
            phrases.append("a duplicated message")
        elif event.what == TIMER:
            phrases.append(f"an early timeout at {who(event.actor)}")
        else:
            article = "an" if event.fault[:1] in "aeiou" else "a"
            where = "" if event.actor == SYSTEM else f" at {who(event.actor)}"
            phrases.append(f"{article} {event.fault}{where}")
    return phrases


def who(name: str | None) -> str:
    """An actor in prose: ``the consumer``, ``the TM``, ``broker0``, ``RM1``."""
    if name is None:
        return "the system"
    if name == SYSTEM:
        return "the system"
    return name if any(ch.isdigit() for ch in name) else f"the {name}"


def join_words(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def where(event: Event, alias: dict[str, str], separator: str) -> str:
    """The participant(s) a note about `event` spans, in a diagram's alias names."""
    if event.between:
        return f"{alias[event.sender]}{separator}{alias[event.receiver]}"  # type: ignore[index]
    return alias[event.actor]


def span(names: list[str], alias: dict[str, str], separator: str) -> str:
    """The first and last of `names`: a note over every participant."""
    if not names:
        return ""
    if len(names) == 1:
        return alias[names[0]]
    return f"{alias[names[0]]}{separator}{alias[names[-1]]}"
