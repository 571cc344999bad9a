"""Read Java `.properties` files, the format Kafka's clients and brokers are configured in.

A spec can point a section at such a file, so the configuration a team is about
to ship is checked as it stands:

    [properties]
    producer = "producer.properties"
"""

from __future__ import annotations

import re
from pathlib import Path

from kmodel.jobs.schema import SpecError

_SEPARATOR = re.compile(r"(?<!\\)\s*[=:]\s*|(?<!\\)\s+")


def read_properties(path: Path) -> dict[str, str]:
    """The key/value pairs of a `.properties` file: `#`/`!` comments, `=`, `:` or
    white space between key and value, a trailing backslash continues a line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SpecError(f"{path}: cannot read the properties file ({error.strerror}).") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: the properties file is not UTF-8 text.") from None
    entries: dict[str, str] = {}
    logical = ""
    for raw in text.splitlines():
        line = raw.strip() if not logical else raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        logical += line
        parts = _SEPARATOR.split(logical, maxsplit=1)
        key = parts[0].replace("\\", "")
        entries[key] = parts[1] if len(parts) > 1 else ""
        logical = ""
    return entries
