"""Read Java `.properties` files, the format Kafka's clients and brokers are configured in.

A spec can point a section at such a file, so the configuration a team is about
to ship is checked as it stands:

    [properties]
    producer = "producer.properties"

The file is read exactly as Kafka's tools read it, with `java.util.Properties.load`
on a byte stream: ISO-8859-1 text; `#` or `!` first on a line starts a comment;
a key ends at the first unescaped `=`, `:` or white space; a line ending in an odd
number of backslashes goes on in the next one (also at the end of the file, where
the backslash is dropped); `\\t`, `\\n`, `\\uXXXX` and the like are escapes; a later
key wins over an earlier one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from kmodel.core.schema import SpecError
from kmodel.jobs.files import read_bytes

_BLANK = " \t\f"  # Java's white space in a properties file
_EOL = "\r\n"
_ESCAPES = {"t": "\t", "r": "\r", "n": "\n", "f": "\f"}
_HEX = re.compile(r"[0-9a-fA-F]{4}")


def read_properties(path: Path) -> dict[str, str]:
    """The key/value pairs of the `.properties` file at `path` (a SpecError if it
    cannot be read or holds a malformed ``\\uXXXX`` escape)."""
    text = read_bytes(path, "properties file").decode("iso-8859-1")
    return parse_properties(text, path)


def parse_properties(text: str, path: Path) -> dict[str, str]:
    """The key/value pairs of `text`, the content of the file `path`."""
    entries: dict[str, str] = {}
    for start, line in _logical_lines(text):
        key_end, value_start = _split(line)
        where = f"{path}: line {_line_number(text, start)}"
        entries[_unescape(line[:key_end], where)] = _unescape(line[value_start:], where)
    return entries


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Java's `Properties.LineReader`: each logical line and where in `text` it starts.

    Leading white space is skipped, comments and blank lines are dropped, and a
    line whose trailing backslashes are odd continues, without that backslash and
    without the next line's leading white space."""
    line: list[str] = []
    start = 0
    skip_blank = True  # at the start of a natural line
    continued = False  # the natural line continues a logical one
    backslash = False  # the last character is an unescaped backslash
    skip_lf = False
    i, end = 0, len(text)
    while i < end:
        c = text[i]
        i += 1
        if skip_lf:
            skip_lf = False
            if c == "\n":
                continue
        if skip_blank:
            if c in _BLANK or (c in _EOL and not continued):
                continue
            skip_blank = continued = False
        if not line and c in "#!":
            while i < end and text[i] not in _EOL:
                i += 1
            skip_blank = True
            continue
        if c not in _EOL:
            if not line:
                start = i - 1
            line.append(c)
            backslash = c == "\\" and not backslash
            continue
        if not line:
            skip_blank = True
            continue
        if i >= end:
            break
        if backslash:
            line.pop()
            skip_blank = continued = True
            backslash = False
            skip_lf = c == "\r"
            continue
        yield start, "".join(line)
        line, skip_blank = [], True
    if line:
        if backslash:
            line.pop()
        yield start, "".join(line)


def _split(line: str) -> tuple[int, int]:
    """Where the key of a logical line ends and its value starts (Properties.load0)."""
    key_end, value_start, separated, backslash = 0, len(line), False, False
    while key_end < len(line):
        c = line[key_end]
        if c in "=:" and not backslash:
            value_start, separated = key_end + 1, True
            break
        if c in _BLANK and not backslash:
            value_start = key_end + 1
            break
        backslash = c == "\\" and not backslash
        key_end += 1
    while value_start < len(line):
        c = line[value_start]
        if c not in _BLANK:
            if separated or c not in "=:":
                break
            separated = True
        value_start += 1
    return key_end, value_start


def _unescape(text: str, where: str) -> str:
    """Java's `Properties.loadConvert`: ``\\uXXXX``, ``\\t \\n \\r \\f``, and a backslash
    before any other character stands for that character."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        i += 1
        if c != "\\" or i >= len(text):
            out.append(c)
            continue
        c = text[i]
        i += 1
        if c == "u":
            digits = text[i : i + 4]
            if not _HEX.fullmatch(digits):
                raise SpecError(
                    f"{where}: malformed \\uXXXX escape; Java's Properties.load refuses the file."
                )
            out.append(chr(int(digits, 16)))
            i += 4
        else:
            out.append(_ESCAPES.get(c, c))
    return "".join(out)


def _line_number(text: str, offset: int) -> int:
    """The natural line (1 for the first) that holds `offset`: ``\\r\\n``, ``\\r`` and
    ``\\n`` each end one."""
    return len(re.findall(r"\r\n|\r|\n", text[:offset])) + 1
