"""The terminal: progress display for long searches, and output any terminal can take."""

from __future__ import annotations

import codecs
import sys
import time
from typing import TextIO

from kmodel.core.search import Progress
from kmodel.core.simulate import SimulationProgress


class ProgressDisplay:
    """Shows states, depth, queue and speed once a search has run for a second.

    On a terminal the line is redrawn in place; otherwise a line is written
    every ten seconds so logs of CI jobs stay short.
    """

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.every = 0.5 if self.interactive else 10.0
        self.started = time.monotonic()
        self.last = self.started
        self.shown = False

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self.started < 1.0 or now - self.last < self.every:
            return
        self.last = now
        text = self.line(progress)
        if self.interactive:
            self.stream.write("\r\033[K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.shown = True

    def line(self, progress: Progress) -> str:
        return progress_line(self.label, progress)

    def close(self) -> None:
        if self.shown and self.interactive:
            self.stream.write("\r\033[K")
            self.stream.flush()


class SimulationDisplay(ProgressDisplay):
    """The same display for random runs: runs done, steps, and the time left."""

    def line(self, progress: SimulationProgress) -> str:  # type: ignore[override]
        parts = [
            f"{self.label}: {progress.runs:,} of {progress.total:,} runs",
            f"{progress.steps:,} steps",
        ]
        if progress.shortest is not None:
            parts.append(f"shrinking: shortest breaking run {progress.shortest} steps")
        elif progress.seconds_left is not None:
            parts.append(f"about {_duration(progress.seconds_left)} left")
        return " · ".join(parts)


def progress_line(label: str, progress: Progress) -> str:
    """One line on a running search: what it found, how fast, how its levels grow."""
    stage = f", {progress.stage}" if progress.stage else ""
    parts = [
        f"{label}{stage}: {progress.states:,} states",
        f"depth {progress.depth}",
        f"queue {progress.queue:,}",
        f"{progress.states_per_second:,.0f} states/s",
    ]
    growth = progress.growth
    if growth is not None:
        parts.append(f"levels ×{growth:.2f}")
        left = progress.states_left
        if left is not None and progress.states_per_second > 0:
            seconds = left / progress.states_per_second
            parts.append(f"about {left:,} states and {_duration(seconds)} left")
    if progress.memory_mb:
        parts.append(f"{progress.memory_mb:,.0f} MB")
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# What to write instead of a symbol a terminal's encoding lacks (a Windows console in
# cp1252 has no ✓); anything else it lacks becomes "?".
ASCII_FALLBACKS = {
    "✓": "ok",
    "✗": "X",
    "→": "->",
    "—": "--",
    "·": "-",
    "≥": ">=",
    "≤": "<=",
    "…": "...",
    "“": '"',
    "”": '"',
    "⚠": "!",
    "×": "x",
}
_FALLBACK = "kmodel-fallback"


def _fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    return "".join(ASCII_FALLBACKS.get(c, "?") for c in text), error.end


codecs.register_error(_FALLBACK, _fallback)


def tolerant_streams() -> None:
    """Let standard output and error write every character: one their encoding lacks
    becomes its ASCII fallback instead of a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=_FALLBACK)
