"""Text from users' files made safe to show: on a terminal, in a diagram, in a message.

A title, a path or a key read from a file may hold control characters (a
carriage return, a terminal escape sequence) or characters that reorder the
text around them; shown raw they would rewrite the terminal or break a
diagram's syntax. They are shown as escapes instead: ``\\r``, ``\\u001b``.
"""

from __future__ import annotations

# Every C0 and C1 control character, DEL, the Unicode line and paragraph separators,
# and the bidirectional embeddings, overrides and isolates.
_UNSAFE = (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F))
_UNSAFE += tuple(range(0x2066, 0x206A))
CONTROL_ESCAPES = {
    **{chr(c): f"\\u{c:04x}" for c in _UNSAFE},
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def printable(text: str, *, newlines: bool = False) -> str:
    """`text` with every unsafe character written as its escape; with `newlines`, line
    breaks (``\\n``, ``\\r\\n``) stay and become ``\\n``."""
    if newlines:
        lines = text.replace("\r\n", "\n").split("\n")
        return "\n".join(printable(line) for line in lines)
    if text.isprintable():
        return text
    return "".join(CONTROL_ESCAPES.get(c, c) for c in text)
