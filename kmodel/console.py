"""The terminal: progress display for long searches, and output any terminal can take."""

from __future__ import annotations

import codecs
import sys
import time
from typing import TextIO

from kmodel.core.search import Progress


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
        text = (
            f"{self.label}: {progress.states:,} states · depth {progress.depth} · "
            f"queue {progress.queue:,} · {progress.states_per_second:,.0f} states/s"
        )
        if self.interactive:
            self.stream.write("\r\033[K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown and self.interactive:
            self.stream.write("\r\033[K")
            self.stream.flush()


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
