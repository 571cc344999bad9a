"""Which spec files a report covers: files named on the command line, the `.toml` files of
directories named, or the spec library shipped next to the package."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import kmodel
from kmodel.core.schema import SpecError
from kmodel.jobs.files import safe_name


def library() -> Path:
    """The `specs/` directory next to the installed package."""
    return Path(kmodel.__file__).resolve().parent.parent / "specs"


def spec_paths(paths: Sequence[str | Path]) -> list[Path]:
    """The spec files to run, in order: directories expand to their `.toml` files, sorted."""
    if not paths:
        where = library()
        if not where.is_dir():
            raise SpecError(
                f"no spec files given, and the spec library {where} does not exist; "
                "name spec files or directories."
            )
        paths = [_relative(where)]
    found: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            files = sorted(given.glob("*.toml"))
            if not files:
                raise SpecError(f"{given}: the directory holds no .toml spec files.")
            found.extend(files)
        elif given.exists():
            found.append(given)
        else:
            raise SpecError(f"{given}: no such spec file or directory.")
    names: dict[str, Path] = {}
    for path in found:
        name = safe_name(path.stem)
        if name in names and names[name].resolve() != path.resolve():
            raise SpecError(
                f"{path} and {names[name]} have the same name; the report names its "
                "pages after spec files, so their names must differ."
            )
        names[name] = path
    unique = {path.resolve(): path for path in found}
    return list(unique.values())


def _relative(path: Path) -> Path:
    """`path` relative to the working directory when it lies below it, for shorter names."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
