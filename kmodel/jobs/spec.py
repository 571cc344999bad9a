"""Load a spec file (TOML, never code) and validate it into a `Job`.

A spec names a model, gives its settings section by section, bounds the
search and states the expected verdict of each property:

    model = "two-phase-commit"
    title = "Two-phase commit with three resource managers"

    [parameters]
    rms = 3

    [search]
    engine = "bfs"

    [expect]
    consistent = "holds"
    all-committed = { status = "reached", steps = 10 }
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kmodel.core.result import Status
from kmodel.jobs.schema import Model, Setting, SpecError

TOP_LEVEL = ("model", "title", "description", "bounds_note", "semantic", "search", "expect")

SEARCH_SETTINGS = (
    Setting("engine", str, "bfs", "search strategy", choices=("bfs", "dfs")),
    Setting("max_states", int, 0, "stop after this many states (0: no limit)", minimum=0),
    Setting("max_depth", int, 0, "do not look deeper than this (0: no limit)", minimum=0),
    Setting("max_seconds", float, 0.0, "stop after this much wall time (0: no limit)"),
    Setting("fingerprints", bool, False, "keep 64-bit hashes of states instead of states"),
)

STATUSES = tuple(status.value for status in Status if status is not Status.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Expectation:
    status: Status
    steps: int | None = None  # the expected length of the shortest trace, when pinned


@dataclass(frozen=True, slots=True)
class Job:
    """A validated spec: everything needed to build the model and judge the run."""

    path: Path
    model: Model
    title: str
    description: str
    settings: dict[str, dict[str, Any]]
    search: dict[str, Any]
    expect: dict[str, Expectation] = field(default_factory=dict)
    bounds_note: str = ""
    semantic: str = ""

    @property
    def name(self) -> str:
        return self.path.stem


def load_job(
    path: str | Path,
    overrides: Sequence[str] = (),
    search: Mapping[str, Any] | None = None,
    models: Mapping[str, Model] | None = None,
) -> Job:
    """Read and validate the spec at `path`, then apply `--set` overrides and search options."""
    from kmodel.jobs.models import MODELS

    models = MODELS if models is None else models
    path = Path(path)
    data = _read_toml(path)
    unknown = sorted(set(data) - set(TOP_LEVEL) - _all_sections(models))
    if unknown:
        allowed = ", ".join(TOP_LEVEL)
        raise SpecError(
            f"{path}: unknown field {unknown[0]!r}. A spec may have {allowed}, "
            "and the sections of its model."
        )
    model_name = data.get("model")
    if model_name not in models:
        names = ", ".join(sorted(models))
        shown = "missing" if model_name is None else f"{model_name!r}"
        raise SpecError(f"{path}: field 'model' is {shown}; known models are {names}.")
    model = models[model_name]
    for key in ("title", "description", "bounds_note", "semantic"):
        if key in data and not isinstance(data[key], str):
            raise SpecError(f"{path}: field {key!r} must be a string.")

    settings = model.defaults()
    for section in model.sections:
        given = data.get(section, {})
        if not isinstance(given, dict):
            raise SpecError(f"{path}: [{section}] must be a table of settings.")
        for name, value in given.items():
            setting = _setting(model, section, name, path)
            settings[section][name] = setting.check(value, f"{path}: {section}.{name}")
    stray = sorted(set(data) - set(TOP_LEVEL) - set(model.sections))
    if stray:
        raise SpecError(
            f"{path}: section [{stray[0]}] is not one of model {model.name!r}'s sections "
            f"({', '.join(model.sections)})."
        )
    for override in overrides:
        section, name, value = _override(model, override, path)
        settings[section][name] = value

    options = _search_options(data.get("search", {}), path)
    for name, value in (search or {}).items():
        if value is not None:
            setting = next(s for s in SEARCH_SETTINGS if s.name == name)
            options[name] = setting.check(value, f"option --{name.replace('_', '-')}")

    problems = model.rules(settings)
    if problems:
        where, problem = problems[0]
        raise SpecError(f"{path}: {where}: {problem}")

    return Job(
        path=path,
        model=model,
        title=data.get("title", path.stem),
        description=data.get("description", ""),
        settings=settings,
        search=options,
        expect=_expectations(data.get("expect", {}), path),
        bounds_note=data.get("bounds_note", ""),
        semantic=data.get("semantic", ""),
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file.") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a directory; give a .toml spec file.") from None
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: not valid TOML ({error}).") from None


def _all_sections(models: Mapping[str, Model]) -> set[str]:
    return {section for model in models.values() for section in model.sections}


def _setting(model: Model, section: str, name: str, where: object) -> Setting:
    setting = model.setting(section, name)
    if setting is None:
        known = ", ".join(s.name for s in model.sections[section])
        raise SpecError(
            f"{where}: unknown setting {section}.{name} for model {model.name!r}; "
            f"[{section}] accepts {known}."
        )
    return setting


def _override(model: Model, text: str, path: Path) -> tuple[str, str, Any]:
    """Resolve one `--set key=value`: key is `section.name` or a name unique to one section."""
    if "=" not in text:
        raise SpecError(f"--set {text!r}: expected key=value, e.g. --set rms=5.")
    key, value = (part.strip() for part in text.split("=", 1))
    section, _, rest = key.partition(".")
    if rest and section in model.sections:
        setting = _setting(model, section, rest, f"--set {key}")
        return section, rest, setting.parse(value, f"--set {key}")
    owners = [s for s, settings in model.sections.items() if any(x.name == key for x in settings)]
    if len(owners) != 1:
        every = ", ".join(f"{s}.{x.name}" for s, xs in model.sections.items() for x in xs)
        problem = "is ambiguous" if owners else "is not a setting"
        raise SpecError(
            f"--set {key}: {problem} of model {model.name!r} (spec {path}); settings are {every}."
        )
    setting = _setting(model, owners[0], key, f"--set {key}")
    return owners[0], key, setting.parse(value, f"--set {key}")


def _search_options(given: Any, path: Path) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise SpecError(f"{path}: [search] must be a table.")
    options = {s.name: s.default for s in SEARCH_SETTINGS}
    for name, value in given.items():
        setting = next((s for s in SEARCH_SETTINGS if s.name == name), None)
        if setting is None:
            known = ", ".join(s.name for s in SEARCH_SETTINGS)
            raise SpecError(f"{path}: unknown setting search.{name}; [search] accepts {known}.")
        options[name] = setting.check(value, f"{path}: search.{name}")
    return options


def _expectations(given: Any, path: Path) -> dict[str, Expectation]:
    if not isinstance(given, dict):
        raise SpecError(f"{path}: [expect] must be a table of property = status.")
    allowed = ", ".join(STATUSES)
    expectations = {}
    for name, value in given.items():
        where = f"{path}: expect.{name}"
        table = value if isinstance(value, dict) else {"status": value}
        extra = sorted(set(table) - {"status", "steps"})
        if extra:
            raise SpecError(f"{where} has unknown key {extra[0]!r}; use status and steps.")
        if table.get("status") not in STATUSES:
            raise SpecError(f"{where} is {table.get('status')!r}; it must be one of {allowed}.")
        steps = table.get("steps")
        if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool)):
            raise SpecError(f"{where}.steps must be a whole number of steps.")
        expectations[name] = Expectation(Status(table["status"]), steps)
    return expectations
