"""A trace drawn as a sequence diagram with matplotlib: SVG or PNG, no Java, no network.

One lifeline per participant, one row per step (numbered at the left), rows
as tall as their wrapped labels. Messages are black arrows; an actor's own
steps are loops back to its lifeline; timers carry a clock; a lost message
(and each message a crash or a broken connection lost) is an arrow that stops
in a red cross; a broken connection is a red dashed
line crossed in the middle; a crash is a red cross on the lifeline, which is
dotted until the actor restarts (a green dot); failover steps (LeaderAndIsr,
elections) are blue; other injected faults orange. A yellow note on a
lifeline after a step gives what the step changed in that actor's state (its
log and HW, an offset, a transaction). The deciding step sits in
a red band (green for a witness) followed by a line naming the contract, and
the title names the contract and the settings in force. A lasso's loop, which
the run repeats for ever, is framed by a blue dashed line.

Only `matplotlib.figure.Figure` is used (never pyplot), so drawing touches no
global state and needs no display.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from matplotlib import rc_context, rcParams
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.textpath import TextToPath

from kmodel.core.trace import Trace
from kmodel.render import events as ev
from kmodel.render.mpl import TEXT_AS_WRITTEN
from kmodel.render.notes import STATE, annotated

FONT = 8.5  # labels; nothing is drawn smaller than 8 points
SMALL = 8
TITLE_FONT = 12
LINE = FONT * 1.3 / 72  # inches per text line

COLUMN = 2.05  # inches between lifelines
LEFT = 0.55  # room for step numbers
RIGHT = 0.55  # room for the last column's own-step labels
LOOP = 0.22  # width of an own-step loop
HEAD_BOX = 0.32  # height of a participant box
SELF_ROOM = 3.2  # the widest an own step's label may grow

INK = "#222222"
LIFELINE = "#9A9A9A"
CRASH = "#D62728"
RESTART = "#2CA02C"
TIMER = "#7B4FA0"
FAULT = "#E07000"
ELECTION = "#1F5FBF"
BROKEN_BAND = "#FFE1E1"
WITNESS_BAND = "#E1F5E1"
BOX = "#EEF3FA"
STATE_NOTE = "#FFF8C4"
SIMPLIFICATION_NOTE = "#E8E8E8"
NOTE_EDGE = "#B8A960"
LOOP_EDGE = "#1F5FBF"

_MEASURE = TextToPath()


@dataclass(frozen=True, slots=True)
class _Row:
    event: ev.Event
    top: float
    height: float
    lines: list[str]
    left: bool  # an own step's label stands left of the lifeline

    @property
    def y(self) -> float:
        """Where the row's arrow or mark is drawn."""
        return self.top + self.height - 0.12


def draw_trace(
    trace: Trace,
    path: str | Path,
    title: str | None = None,
    *,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
    contract: str | None = None,
    contract_description: str | None = None,
    dpi: int = 120,
) -> Path:
    """Draw `trace` to `path`: SVG or PNG by the file's extension (``.svg``, ``.png``)."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png"):
        raise ValueError(
            f"{path}: a trace is drawn as .svg or .png, not {path.suffix or 'no suffix'}"
        )
    data = _render(trace, fmt, title, settings, defaults, contract, contract_description, dpi)
    path.write_bytes(data)
    return path


def to_svg(
    trace: Trace,
    title: str | None = None,
    *,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
    contract: str | None = None,
    contract_description: str | None = None,
) -> str:
    """The SVG text of `trace`'s drawing (text kept as text, so it can be searched)."""
    data = _render(trace, "svg", title, settings, defaults, contract, contract_description, 72)
    return data.decode("utf-8")


def to_png(
    trace: Trace,
    title: str | None = None,
    *,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
    contract: str | None = None,
    contract_description: str | None = None,
    dpi: int = 120,
) -> bytes:
    """The PNG bytes of `trace`'s drawing."""
    return _render(trace, "png", title, settings, defaults, contract, contract_description, dpi)


def _render(
    trace: Trace,
    fmt: str,
    title: str | None,
    settings: Mapping[str, Mapping[str, Any]] | None,
    defaults: Mapping[str, Mapping[str, Any]] | None,
    contract: str | None,
    contract_description: str | None,
    dpi: int,
) -> bytes:
    style = {
        "svg.fonttype": "none",  # keep labels as <text>, searchable and selectable
        "svg.hashsalt": "kmodel",  # the same trace gives the same file
        "font.family": "DejaVu Sans",
        **TEXT_AS_WRITTEN,
    }
    with rc_context(style):
        figure = _figure(trace, title, settings, defaults, contract, contract_description)
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {"Software": "kmodel"}
        figure.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
    return buffer.getvalue()


# -- layout ---------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _width(text: str, size: float = FONT, bold: bool = False) -> float:
    """The width of `text` in inches."""
    props = FontProperties(family=rcParams["font.family"], size=size)
    if bold:
        props.set_weight("bold")
    width, _, _ = _MEASURE.get_text_width_height_descent(text, props, ismath=False)
    return width / 72


def _wrap(text: str, width: float, size: float = FONT, bold: bool = False) -> list[str]:
    """`text` in lines no wider than `width` inches (long words stay whole)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            attempt = f"{current} {word}" if current else word
            if current and _width(attempt, size, bold) > width:
                lines.append(current)
                current = word
            else:
                current = attempt
        lines.append(current)
    return lines


def _shown_text(event: ev.Event) -> str:
    """The words a row shows next to its arrow or mark."""
    fault = f" [fault: {event.fault_tag}]" if event.fault_tag else ""
    if event.what == ev.LOST:
        return f"lost: {event.text}{fault}"
    if event.what == ev.BREAK:
        return f"{event.text}: messages in flight are lost{fault}"
    if event.what == ev.DUPLICATE:
        return f"duplicated: {event.text}{fault}"
    if event.what in (ev.CRASH, ev.RESTART):
        return event.what + fault
    return f"{event.text}{fault}"


def _figure(
    trace: Trace,
    title: str | None,
    settings: Mapping[str, Mapping[str, Any]] | None,
    defaults: Mapping[str, Mapping[str, Any]] | None,
    contract: str | None,
    contract_description: str | None,
) -> Figure:
    names, shown = annotated(trace)
    names = names or [ev.SYSTEM]
    needed = LEFT + COLUMN * len(names) + RIGHT
    width = max(needed, 6.0)  # room for the heading and the legend
    shift = (width - needed) / 2
    xs = {name: shift + LEFT + COLUMN * (i + 0.5) for i, name in enumerate(names)}
    text_width = width - 0.4

    # The heading: title, verdict, settings.
    heading = [(title, TITLE_FONT, True, INK)] if title else []
    witness = ev.is_witness(trace)
    verdict_colour = (RESTART if witness else CRASH) if trace.decides else INK
    heading.append((ev.headline(trace, contract), FONT + 1.5, True, verdict_colour))
    for line in ev.settings_text(settings, defaults):
        heading.append((line, SMALL, False, "#555555"))
    head_lines = []
    for text, size, bold, colour in heading:
        for part in _wrap(text, text_width, size, bold):
            head_lines.append((part, size, bold, colour))
    y = 0.2
    head_positions = []
    for text, size, bold, colour in head_lines:
        head_positions.append((y, text, size, bold, colour))
        y += size * 1.35 / 72
    boxes_top = y + 0.1
    first_row = boxes_top + HEAD_BOX + 0.15

    # The rows.
    rows: list[_Row] = []
    top = first_row
    for event in shown:
        lines, left = _row_lines(event, xs, width)
        height = max(0.34, 0.2 + LINE * len(lines))
        if event.what == ev.NOTE:
            height = 0.14 + LINE * len(lines)
        elif event.what in (ev.INTERNAL, ev.TIMER, ev.CRASH, ev.RESTART) or not event.between:
            height = max(0.36, 0.16 + LINE * len(lines))
        rows.append(_Row(event, top, height, lines, left))
        top += height
    rows_bottom = top + 0.1

    # The closing line about the contract (none for a plain path: it decides nothing).
    ending_lines: list[str] = []
    if trace.decides:
        ending = ev.final_note(trace, contract)
        if contract_description:
            ending += f": {contract_description}"
        ending_lines = _wrap(("✓ " if witness else "✗ ") + ending, text_width, FONT + 0.5, True)
    ending_top = rows_bottom + HEAD_BOX + 0.2
    legend_top = ending_top + LINE * len(ending_lines) + 0.15
    legend = _legend_rows(_legend_keys(shown), width)
    height = legend_top + 0.1 + LEGEND_ROW * len(legend)

    figure = Figure(figsize=(width, height))
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()

    for y_pos, text, size, bold, colour in head_positions:
        ax.text(
            width / 2,
            y_pos,
            text,
            ha="center",
            va="top",
            fontsize=size,
            fontweight="bold" if bold else "normal",
            color=colour,
        )

    # Bands behind the final row.
    for row in rows:
        if row.event.final:
            band = WITNESS_BAND if witness else BROKEN_BAND
            edge = RESTART if witness else CRASH
            ax.add_patch(
                Rectangle(
                    (0.08, row.top),
                    width - 0.16,
                    row.height,
                    facecolor=band,
                    edgecolor=edge,
                    linewidth=1.0,
                    zorder=0,
                )
            )

    _loop_frame(ax, trace, rows, width)
    _lifelines(ax, names, xs, rows, first_row - 0.15, rows_bottom)
    for name in names:
        for box_top in (boxes_top, rows_bottom):
            _participant_box(ax, xs[name], box_top, ev.display_name(name))

    for row in rows:
        if row.event.what == ev.NOTE:
            _note(ax, row, xs[row.event.actor], width)
            continue
        ax.text(
            shift + 0.3,
            row.y,
            str(row.event.number),
            ha="right",
            va="center",
            fontsize=SMALL,
            color="#777777",
        )
        band = (WITNESS_BAND if witness else BROKEN_BAND) if row.event.final else "white"
        _draw_row(ax, row, xs, band)

    for i, line in enumerate(ending_lines):
        ax.text(
            width / 2,
            ending_top + i * LINE,
            line,
            ha="center",
            va="top",
            fontsize=FONT + 0.5,
            fontweight="bold",
            color=verdict_colour,
        )
    _legend(ax, legend, width, legend_top)
    return figure


def _loop_frame(ax: Any, trace: Trace, rows: list[_Row], width: float) -> None:
    """A dashed frame round the rows a lasso's loop repeats for ever, labelled so."""
    loop = {id(event) for event in ev.looped(trace, [row.event for row in rows])}
    inside = [row for row in rows if id(row.event) in loop]
    if not inside:
        return
    top, bottom = inside[0].top, inside[-1].top + inside[-1].height
    frame = Rectangle((0.04, top), width - 0.08, bottom - top, fill=False, zorder=0)
    frame.set(edgecolor=LOOP_EDGE, linestyle="--", linewidth=1.2)
    ax.add_patch(frame)
    label = f"loop: {ev.loop_label(trace)}"
    ax.text(width - 0.1, top + 0.02, label, ha="right", va="top", fontsize=SMALL, color=LOOP_EDGE)


def _row_lines(event: ev.Event, xs: dict[str, float], width: float) -> tuple[list[str], bool]:
    """The row's label wrapped to the room it has, and whether it stands left of the
    lifeline (an own step near the right edge) rather than right of it."""
    text = _shown_text(event)
    bold = event.election
    if event.what == ev.NOTE:
        return _wrap(text, min(SELF_ROOM, width - 0.4), SMALL), False
    if event.between:
        span = abs(xs[event.sender] - xs[event.receiver])  # type: ignore[index]
        return _wrap(text, span - 0.1, FONT, bold), False
    # A row holds one event, so an own step's words may run across other lifelines.
    x = xs[event.actor]
    right = width - 0.15 - (x + LOOP + 0.08)
    if right >= SELF_ROOM or right >= x - LEFT or _width(text, FONT, bold) <= right:
        return _wrap(text, min(right, SELF_ROOM), FONT, bold), False
    return _wrap(text, min(x - LEFT - 0.1, SELF_ROOM), FONT, bold), True


def _note(ax: Any, row: _Row, x: float, width: float) -> None:
    """A note on a lifeline, kept inside the picture: what a step changed in the state."""
    # Measured text runs a little narrower than drawn text: leave it room.
    inner = max(_width(line, SMALL) for line in row.lines) * 1.12 + 0.16
    left = min(max(x - inner / 2, 0.1), width - inner - 0.1)
    colour = STATE_NOTE if row.event.kind == STATE else SIMPLIFICATION_NOTE
    ax.add_patch(
        Rectangle(
            (left, row.top + 0.04),
            inner,
            row.height - 0.08,
            facecolor=colour,
            edgecolor=NOTE_EDGE,
            linewidth=0.8,
            zorder=5,
        )
    )
    ax.text(
        left + 0.08,
        row.top + row.height / 2,
        "\n".join(row.lines),
        ha="left",
        va="center",
        fontsize=SMALL,
        color=INK,
        linespacing=1.15,
        zorder=6,
    )


def _participant_box(ax: Any, x: float, top: float, name: str) -> None:
    size = FONT + 0.5
    box_width = max(_width(name, size, True) + 0.2, 0.9)
    box_width = min(box_width, COLUMN - 0.1)
    ax.add_patch(
        FancyBboxPatch(
            (x - box_width / 2, top),
            box_width,
            HEAD_BOX,
            boxstyle="round,pad=0,rounding_size=0.05",
            facecolor=BOX,
            edgecolor="#5A6E8C",
            linewidth=1.0,
            zorder=3,
        )
    )
    ax.text(
        x,
        top + HEAD_BOX / 2,
        name,
        ha="center",
        va="center",
        fontsize=size,
        fontweight="bold",
        color=INK,
        zorder=4,
    )


def _lifelines(
    ax: Any, names: list[str], xs: dict[str, float], rows: list[_Row], top: float, bottom: float
) -> None:
    """Solid while an actor is up, dotted and pale red while it is down."""
    for name in names:
        x = xs[name]
        start, down = top, False
        for row in rows:
            event = row.event
            if event.actor != name or event.what not in (ev.CRASH, ev.RESTART):
                continue
            if event.what == ev.CRASH and not down:
                _segment(ax, x, start, row.y, down=False)
                start, down = row.y, True
            elif event.what == ev.RESTART and down:
                _segment(ax, x, start, row.y, down=True)
                start, down = row.y, False
        _segment(ax, x, start, bottom, down=down)


def _segment(ax: Any, x: float, top: float, bottom: float, down: bool) -> None:
    if bottom <= top:
        return
    if down:
        ax.add_line(
            Line2D(
                [x, x],
                [top, bottom],
                color=CRASH,
                alpha=0.5,
                linewidth=1.2,
                linestyle=(0, (1, 2)),
                zorder=1,
            )
        )
    else:
        ax.add_line(
            Line2D(
                [x, x],
                [top, bottom],
                color=LIFELINE,
                linewidth=1.0,
                linestyle=(0, (5, 3)),
                zorder=1,
            )
        )


def _text_label(
    ax: Any,
    x: float,
    y: float,
    lines: list[str],
    colour: str,
    ha: str,
    bold: bool = False,
    va: str = "bottom",
    background: str = "white",
) -> None:
    ax.text(
        x,
        y,
        "\n".join(lines),
        ha=ha,
        va=va,
        fontsize=FONT,
        color=colour,
        fontweight="bold" if bold else "normal",
        linespacing=1.15,
        zorder=5,
        bbox={
            "boxstyle": "square,pad=0.08",
            "facecolor": background,
            "edgecolor": "none",
            "alpha": 0.85,
        },
    )


def _arrow(
    ax: Any, x1: float, x2: float, y: float, colour: str, dashed: bool = False, head: bool = True
) -> None:
    ax.add_patch(
        FancyArrowPatch(
            (x1, y),
            (x2, y),
            arrowstyle="-|>" if head else "-",
            mutation_scale=11,
            color=colour,
            linewidth=1.3,
            linestyle="--" if dashed else "-",
            shrinkA=0,
            shrinkB=0,
            zorder=4,
        )
    )


def _cross(ax: Any, x: float, y: float, colour: str, size: float = 9) -> None:
    ax.plot([x], [y], marker="x", markersize=size, markeredgewidth=2.4, color=colour, zorder=6)


def _clock(ax: Any, x: float, y: float, colour: str) -> None:
    """A small clock face on the lifeline: a timer fired."""
    radius = 0.075
    ax.add_patch(
        Circle((x, y), radius, facecolor="white", edgecolor=colour, linewidth=1.3, zorder=6)
    )
    ax.add_line(Line2D([x, x], [y, y - radius * 0.75], color=colour, linewidth=1.2, zorder=7))
    ax.add_line(Line2D([x, x + radius * 0.6], [y, y], color=colour, linewidth=1.2, zorder=7))


def _loop(ax: Any, x: float, y: float, colour: str) -> None:
    """An arrow leaving the lifeline and coming back: an actor's own step."""
    rise = 0.1
    ax.add_line(
        Line2D(
            [x, x + LOOP, x + LOOP], [y - rise, y - rise, y], color=colour, linewidth=1.3, zorder=4
        )
    )
    _arrow(ax, x + LOOP, x, y, colour)


def _draw_row(ax: Any, row: _Row, xs: dict[str, float], background: str) -> None:
    event, y, lines = row.event, row.y, row.lines

    def _label(*args: Any, **kwargs: Any) -> None:
        _text_label(*args, background=background, **kwargs)

    x = xs[event.actor]
    beside, side = x + LOOP + 0.08, "left"  # where the label starts, and its alignment
    if row.left:
        beside, side = x - 0.1, "right"
    middle = y - LINE * (len(lines) - 1) / 2 - 0.05
    if event.what == ev.CRASH:
        ax.add_line(Line2D([x - 0.12, x + 0.12], [y, y], color=CRASH, linewidth=3, zorder=6))
        _cross(ax, x, y, CRASH, 11)
        _label(ax, x + 0.16, y, lines, CRASH, "left", bold=True, va="center")
        return
    if event.what == ev.RESTART:
        ax.plot(
            [x], [y], marker="o", markersize=8, color=RESTART, markeredgecolor="white", zorder=6
        )
        _label(ax, x + 0.14, y, lines, RESTART, "left", bold=True, va="center")
        return
    if event.what == ev.TIMER:
        colour = FAULT if event.fault else TIMER
        _loop(ax, x, y, colour)
        _clock(ax, x, y - 0.1, colour)
        _label(ax, beside, middle, lines, colour, side, va="center")
        return
    if event.what == ev.INTERNAL or not event.between:
        colour = ELECTION if event.election else FAULT if event.fault else INK
        if not event.between and event.what in (ev.LOST, ev.BREAK, ev.DUPLICATE):
            colour = CRASH
        _loop(ax, x, y, colour)
        _label(ax, beside, middle, lines, colour, side, bold=event.election, va="center")
        return
    x1, x2 = xs[event.sender], xs[event.receiver]  # type: ignore[index]
    centre = (x1 + x2) / 2
    above = y - 0.05
    if event.what == ev.LOST:
        end = x1 + (x2 - x1) * 0.72
        _arrow(ax, x1, end, y, CRASH, head=False)
        _cross(ax, end, y, CRASH)
        _label(ax, centre, above, lines, CRASH, "center")
    elif event.what == ev.BREAK:
        _arrow(ax, x1, x2, y, CRASH, dashed=True, head=False)
        _cross(ax, centre, y, CRASH, 11)
        _label(ax, centre, above - 0.04, lines, CRASH, "center")
    elif event.what == ev.DUPLICATE:
        _arrow(ax, x1, x2, y, FAULT, dashed=True)
        _label(ax, centre, above, lines, FAULT, "center")
    else:
        colour = ELECTION if event.election else FAULT if event.fault else INK
        _arrow(ax, x1, x2, y, colour)
        _label(ax, centre, above, lines, colour, "center", bold=event.election)


LEGEND_ROW = 0.24


def _legend_keys(steps: list[ev.Event]) -> list[tuple[str, str]]:
    """Keys for the marks this picture uses; none when it shows nothing but messages."""
    present = {event.what for event in steps}
    wanted = [
        ("message", INK, ev.MESSAGE in present),
        ("lost message", CRASH, ev.LOST in present),
        ("broken connection", CRASH, ev.BREAK in present),
        ("timer", TIMER, ev.TIMER in present),
        ("crash", CRASH, ev.CRASH in present),
        ("restart", RESTART, ev.RESTART in present),
        ("failover", ELECTION, any(event.election for event in steps)),
        ("state change", NOTE_EDGE, any(e.what == ev.NOTE and e.kind == STATE for e in steps)),
        (
            "other fault",
            FAULT,
            any(event.fault_tag or event.what == ev.DUPLICATE for event in steps),
        ),
    ]
    keys = [(text, colour) for text, colour, shown in wanted if shown]
    return keys if any(text != "message" for text, _ in keys) else []


def _legend_rows(keys: list[tuple[str, str]], width: float) -> list[list[tuple[str, str, float]]]:
    """The legend's keys placed in rows that fit the picture: (text, colour, width)."""
    rows: list[list[tuple[str, str, float]]] = []
    used = 0.0
    for text, colour in keys:
        size = _width(text, SMALL) + 0.6
        if not rows or used + size > width - 0.4:
            rows.append([])
            used = 0.0
        rows[-1].append((text, colour, size))
        used += size
    return rows


def _legend(ax: Any, rows: list[list[tuple[str, str, float]]], width: float, top: float) -> None:
    """Keys to the marks, centred under the picture."""
    for number, row in enumerate(rows):
        y = top + 0.12 + number * LEGEND_ROW
        x = (width - sum(size for _, _, size in row)) / 2
        for text, colour, size in row:
            if text in ("message", "failover", "other fault"):
                _arrow(ax, x, x + 0.3, y, colour)
            elif text == "lost message":
                _arrow(ax, x, x + 0.25, y, colour, head=False)
                _cross(ax, x + 0.25, y, colour, 7)
            elif text == "broken connection":
                _arrow(ax, x, x + 0.3, y, colour, dashed=True, head=False)
                _cross(ax, x + 0.15, y, colour, 7)
            elif text == "timer":
                _clock(ax, x + 0.15, y, colour)
            elif text == "crash":
                _cross(ax, x + 0.15, y, colour, 8)
            elif text == "state change":
                ax.add_patch(
                    Rectangle(
                        (x + 0.05, y - 0.07),
                        0.2,
                        0.14,
                        facecolor=STATE_NOTE,
                        edgecolor=colour,
                        linewidth=0.8,
                        zorder=6,
                    )
                )
            else:
                ax.plot([x + 0.15], [y], marker="o", markersize=7, color=colour, zorder=6)
            ax.text(x + 0.4, y, text, ha="left", va="center", fontsize=SMALL, color="#444444")
            x += size
