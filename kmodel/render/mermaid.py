"""A trace as a Mermaid sequence diagram (renders on GitHub, GitLab and in many editors).

The same picture as the PlantUML one: messages ``a->>b``, an actor's own
steps and timers as arrows back to itself, lost messages and broken
connections as crossed arrows ``a-xb`` (and so each message a crash or a broken
connection lost), crashes and restarts as notes inside a red or green band,
notes giving what a step changed in an actor's state, and the deciding step
inside a red band (green for a witness) with a note naming the contract; a
lasso's loop, which the run repeats for ever, is a ``loop`` block.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kmodel.core.text import printable
from kmodel.core.trace import Trace
from kmodel.render import events as ev
from kmodel.render.notes import annotated

CRASH_BAND = "rgb(255, 200, 200)"
RESTART_BAND = "rgb(200, 240, 200)"
FAULT_BAND = "rgb(255, 228, 196)"
ELECTION_BAND = "rgb(210, 225, 250)"
BROKEN_BAND = "rgb(255, 150, 150)"
WITNESS_BAND = "rgb(160, 225, 160)"

# Words that end or start blocks in Mermaid; they cannot be participant ids.
_RESERVED = {
    "end", "participant", "actor", "note", "loop", "alt", "else", "opt", "par", "and",
    "rect", "critical", "break", "box", "title", "activate", "deactivate", "autonumber",
    "over", "left", "right", "of", "as", "create", "destroy", "links", "link", "properties",
}  # fmt: skip


_ENTITIES = {"#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;"}


def escape(text: str) -> str:
    """`text` safe in a Mermaid message or note: entity codes for ``#;<>``, no line breaks,
    no control characters."""
    text = "".join(_ENTITIES.get(ch, ch) for ch in printable(text, newlines=True))
    return text.replace("\n", "<br/>")


def to_mermaid(
    trace: Trace,
    title: str | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
    contract: str | None = None,
) -> str:
    """The Mermaid source of a ``sequenceDiagram`` of `trace`.

    `settings`, `defaults` and `contract` mean what they mean for
    `kmodel.render.plantuml.to_plantuml`.
    """
    names, shown = annotated(trace)
    taken = set(_RESERVED)
    alias = {name: ev.identifier(name, taken) for name in names}
    heading = ev.headline(trace, contract)
    lines = ["sequenceDiagram", f"    title {escape(f'{title}: {heading}' if title else heading)}"]
    lines += [f"    participant {alias[n]} as {escape(ev.display_name(n))}" for n in names]
    span = ev.span(names, alias, ",")
    config = ev.settings_text(settings, defaults)
    if config and span:
        lines.append(f"    Note over {span}: {'<br/>'.join(escape(line) for line in config)}")
    loop = ev.looped(trace, shown)
    for event in shown:
        if loop and event is loop[0]:
            lines.append(f"    loop {escape(ev.loop_label(trace))}")
        body = _event_lines(event, alias)
        if event.final:
            band = WITNESS_BAND if ev.is_witness(trace) else BROKEN_BAND
            where = ev.where(event, alias, ",")
            note = f"Note over {where}: {escape(ev.final_note(trace, contract))}"
            body = [f"rect {band}", *(f"    {line}" for line in body), f"    {note}", "end"]
        lines += [f"    {line}" for line in body]
    if loop:
        lines.append("    end")
    if not trace.steps and span and trace.decides:
        lines.append(f"    Note over {span}: {escape(ev.final_note(trace, contract))}")
    return "\n".join(lines) + "\n"


def _event_lines(event: ev.Event, alias: dict[str, str]) -> list[str]:
    text = escape(event.text)
    fault = f" (fault: {escape(event.fault_tag)})" if event.fault_tag else ""
    if event.what == ev.NOTE:
        return [f"Note over {alias[event.actor]}: {text}"]
    if event.what in (ev.CRASH, ev.RESTART):
        band = CRASH_BAND if event.what == ev.CRASH else RESTART_BAND
        return _band(band, f"Note over {alias[event.actor]}: {event.what}{fault}")
    if event.what in (ev.TIMER, ev.INTERNAL):
        me = alias[event.actor]
        prefix = "timer: " if event.what == ev.TIMER else ""
        line = f"{me}->>{me}: {prefix}{text}{fault}"
        if event.fault:
            return _band(FAULT_BAND, line)
        return _band(ELECTION_BAND, line) if event.election else [line]
    if not event.between:  # a network fault not placed between two actors
        return _band(CRASH_BAND, f"Note over {alias[event.actor]}: {text}{fault}")
    a, b = alias[event.sender], alias[event.receiver]  # type: ignore[index]
    if event.what == ev.LOST:
        return [f"{a}-x{b}: lost: {text}{fault}"]
    if event.what == ev.BREAK:
        return [
            f"{a}-x{b}: {text}{fault}",
            f"Note over {a},{b}: messages in flight on this connection are lost",
        ]
    if event.what == ev.DUPLICATE:
        return _band(FAULT_BAND, f"{a}-->>{b}: duplicated: {text}{fault}")
    line = f"{a}->>{b}: {text}{fault}"
    if event.election:
        return _band(ELECTION_BAND, line)
    return _band(FAULT_BAND, line) if event.fault else [line]


def _band(colour: str, line: str) -> list[str]:
    return [f"rect {colour}", f"    {line}", "end"]
