"""A trace as a PlantUML sequence diagram.

Messages are arrows from sender to receiver, an actor's own steps and timers
are arrows back to itself, lost messages and broken connections end in a
cross (``->x``) — and so does each message a crash or a broken connection
lost —, crashes and restarts are coloured notes on the lifeline, a yellow note
after a step gives what it changed in an actor's state (`kmodel.render.notes`),
and the step that decides the property carries a red note (green for a witness);
the loop of a lasso, which the run repeats for ever, is a ``loop`` group.
A note at the top lists the settings in force.

Render the text with ``plantuml -tsvg -pipe < trace.puml > trace.svg``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kmodel.core.text import printable
from kmodel.core.trace import Trace
from kmodel.render import events as ev
from kmodel.render.notes import STATE, annotated

CRASH_COLOUR = "#FFAAAA"
RESTART_COLOUR = "#AAFFAA"
BROKEN_COLOUR = "#FF6666"
WITNESS_COLOUR = "#88DD88"
FAULT_ARROW = "#E07000"
TIMER_ARROW = "#7B4FA0"
LOST_ARROW = "#CC0000"
ELECTION_ARROW = "#1F5FBF"
STATE_COLOUR = "#FFF8C4"
SIMPLIFICATION_COLOUR = "#E8E8E8"

# Creole markup pairs (**bold**, //italic//, ""mono"", --strike--, __underline__,
# ~~wave~~): the first character of a doubled marker becomes a character entity.
_DOUBLED = re.compile(r'([*/"\-_~])(?=\1)')


def escape(text: str) -> str:
    """`text` safe inside a PlantUML label: no markup, links, icons, line breaks or
    control characters."""
    text = printable(text, newlines=True).replace("\\", "\\\\").replace("&#", "&#38;#")
    text = _DOUBLED.sub(lambda m: f"&#{ord(m.group(1))};", text)
    text = text.replace("~", "&#126;").replace("<", "&#60;").replace("[[", "&#91;[")
    return text.replace("\n", "\\n")


def to_plantuml(
    trace: Trace,
    title: str | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
    contract: str | None = None,
) -> str:
    """The PlantUML source (``@startuml`` ... ``@enduml``) of a sequence diagram of `trace`.

    `settings` is a job's settings (section -> {setting: value}); with the
    model's `defaults` only the settings that differ from them are listed.
    `contract` names the property, when it should read differently from the
    trace's own `property`.
    """
    names, shown = annotated(trace)
    taken: set[str] = set()
    alias = {name: ev.identifier(name, taken) for name in names}
    heading = ev.headline(trace, contract)
    lines = ["@startuml", f"title {escape(f'{title}: {heading}' if title else heading)}"]
    lines.append("skinparam sequenceMessageAlign center")
    lines.append("skinparam maxMessageSize 220")
    lines += [f'participant "{_quoted(ev.display_name(n))}" as {alias[n]}' for n in names]
    span = ev.span(names, alias, ", ")
    config = ev.settings_in_force(settings, defaults)
    if config and span:
        lines.append(f"note over {span}")
        for section, items in config:
            lines.append(f"  <b>{escape(section)}</b>: {escape(', '.join(items))}")
        lines.append("end note")
    loop = ev.looped(trace, shown)
    for event in shown:
        if loop and event is loop[0]:
            lines.append(f"loop {escape(ev.loop_label(trace))}")
        lines += _event_lines(event, alias)
        if event.final:
            colour = WITNESS_COLOUR if ev.is_witness(trace) else BROKEN_COLOUR
            where = ev.where(event, alias, ", ")
            lines.append(f"note over {where} {colour}: {escape(ev.final_note(trace, contract))}")
    if loop:
        lines.append("end")
    if not trace.steps and span and trace.decides:
        colour = WITNESS_COLOUR if ev.is_witness(trace) else BROKEN_COLOUR
        lines.append(f"note over {span} {colour}: {escape(ev.final_note(trace, contract))}")
    lines.append("@enduml")
    return "\n".join(lines) + "\n"


def _event_lines(event: ev.Event, alias: dict[str, str]) -> list[str]:
    text = escape(event.text)
    fault = f" <i>(fault: {escape(event.fault_tag)})</i>" if event.fault_tag else ""
    if event.what == ev.NOTE:
        colour = STATE_COLOUR if event.kind == STATE else SIMPLIFICATION_COLOUR
        return [f"note over {alias[event.actor]} {colour}: {text}"]
    if event.what == ev.CRASH:
        return [f"note over {alias[event.actor]} {CRASH_COLOUR}: crash{fault}"]
    if event.what == ev.RESTART:
        return [f"note over {alias[event.actor]} {RESTART_COLOUR}: restart{fault}"]
    if event.what == ev.TIMER:
        colour = FAULT_ARROW if event.fault else TIMER_ARROW
        me = alias[event.actor]
        return [f"{me} -[{colour}]> {me} : <&timer> {text}{fault}"]
    if event.what == ev.INTERNAL:
        me = alias[event.actor]
        arrow = f"-[{FAULT_ARROW}]>" if event.fault else "->"
        if event.election:
            arrow = f"-[{ELECTION_ARROW}]>"
        return [f"{me} {arrow} {me} : {text}{fault}"]
    if not event.between:  # a network fault not placed between two actors
        return [f"note over {alias[event.actor]} {CRASH_COLOUR}: {text}{fault}"]
    a, b = alias[event.sender], alias[event.receiver]  # type: ignore[index]
    if event.what == ev.LOST:
        return [f"{a} -[{LOST_ARROW}]>x {b} : lost: {text}{fault}"]
    if event.what == ev.BREAK:
        return [
            f"{a} -[{LOST_ARROW}]>x {b} : {text}{fault}",
            f"note over {a}, {b} {CRASH_COLOUR}: messages in flight on this connection are lost",
        ]
    if event.what == ev.DUPLICATE:
        return [f"{a} -[{FAULT_ARROW}]-> {b} : duplicated: {text}{fault}"]
    if event.election:
        return [f"{a} -[{ELECTION_ARROW}]> {b} : <b>{text}</b>{fault}"]
    arrow = f"-[{FAULT_ARROW}]>" if event.fault else "->"
    return [f"{a} {arrow} {b} : {text}{fault}"]


def _quoted(text: str) -> str:
    return text.replace('"', "'")
