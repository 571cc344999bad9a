"""How every kmodel drawing sets matplotlib up: text is drawn as written.

matplotlib reads text between two `$` as a formula (mathtext) and fails on
one it cannot parse; a title such as "costs $5 or $6" is just text here.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

TEXT_AS_WRITTEN: dict[str, Any] = {"text.parse_math": False}


def text_as_written() -> AbstractContextManager[None]:
    """A context in which matplotlib text made is never parsed as a formula."""
    from matplotlib import rc_context

    return rc_context(TEXT_AS_WRITTEN)
