"""The files kmodel reads and the names of those it writes, kept safe.

Reading takes regular files only and only so much of them: a FIFO, a device
or a huge file named by mistake is refused before a byte is read, so a run
never blocks or fills the memory. Written names stay single path components,
so output never lands outside the folder asked for.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kmodel.core.schema import SpecError

MAX_BYTES = 1 << 20  # a spec or a .properties file is a page or two of text


def read_bytes(path: Path, what: str, limit: int = MAX_BYTES) -> bytes:
    """The content of the regular file `path`, or a SpecError naming it; `what` says
    which kind of file it should be ("spec file", "properties file")."""
    shown = str(path)
    if "\0" in shown:
        raise SpecError(f"{shown!r}: a file name cannot contain a NUL character.")
    try:
        _check_kind(os.stat(path), path, what, limit)
        # O_NONBLOCK: should the file have turned into a FIFO since, opening it cannot block.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            _check_kind(os.fstat(handle.fileno()), path, what, limit)
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such {what}.") from None
    except NotADirectoryError:
        blocker = next((p for p in reversed(path.parents) if p.is_file()), None)
        where = f" ({blocker} is a file, not a directory)" if blocker is not None else ""
        raise SpecError(f"{path}: no such {what}{where}.") from None
    except PermissionError:
        raise SpecError(f"{path}: cannot read the {what}: permission denied.") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise SpecError(f"{path}: cannot read the {what}: {reason}.") from None
    if len(data) > limit:
        raise _too_large(path, what, limit)
    return data


def _check_kind(info: os.stat_result, path: Path, what: str, limit: int) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise SpecError(f"{path}: is a directory; give a {what}.")
    if not stat.S_ISREG(info.st_mode):
        raise SpecError(f"{path}: is not a regular file (a pipe, device or socket); give a {what}.")
    if info.st_size > limit:
        raise _too_large(path, what, limit)


def _too_large(path: Path, what: str, limit: int) -> SpecError:
    return SpecError(f"{path}: is larger than a {what} may be ({limit // 1024:,} KiB).")


def safe_name(text: str) -> str:
    """`text` as one file name: characters other than letters, digits, ``-_.`` become
    ``-``, and it never starts with a dot (so never ``.`` or ``..``)."""
    name = "".join(c if c.isalnum() or c in "-_." else "-" for c in text)
    stripped = name.lstrip(".")
    return "-" * (len(name) - len(stripped)) + stripped or "-"
