"""Turn model states (dataclasses, tuples, frozensets, enums) into plain JSON data."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any


def to_jsonable(value: Any) -> Any:
    """A deterministic JSON-ready copy of `value`; sets become sorted lists."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__, **fields}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {name: to_jsonable(item) for name, item in zip(value._fields, value, strict=True)}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, frozenset | set):
        items = [to_jsonable(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    return repr(value)
