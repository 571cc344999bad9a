"""What a report wrote to its folder, so that the next report there removes what it no
longer writes (the pages of specs no longer run) and nothing else.

The list is kept in the folder itself; a file kmodel did not list is never touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

MANIFEST = ".kmodel-written"


def replace_written(out: Path, written: Iterable[Path]) -> list[Path]:
    """Remove the files the last report listed in `out` that this one did not write (and
    the folders that leaves empty), then list this report's files; returns what was
    removed. `written` are paths relative to `out`."""
    now = {path.as_posix() for path in written}
    removed = []
    for name in sorted(_listed(out) - now):
        path = out / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
            removed.append(path)
            _prune(path.parent, out)
    (out / MANIFEST).write_text("".join(f"{name}\n" for name in sorted(now)), encoding="utf-8")
    return removed


def _listed(out: Path) -> set[str]:
    """The relative paths the last report listed, those that stay inside `out` only."""
    try:
        lines = (out / MANIFEST).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return set()
    return {line for line in lines if line and _inside(line)}


def _inside(name: str) -> bool:
    path = Path(name)
    return not path.is_absolute() and ".." not in path.parts and path.parts[:1] != ("",)


def _prune(folder: Path, out: Path) -> None:
    """Remove `folder` and its parents up to `out` while they are empty."""
    while folder != out and folder.is_relative_to(out) and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
