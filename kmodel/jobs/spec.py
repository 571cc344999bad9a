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

from kmodel.core.bfs import FINGERPRINT_AFTER
from kmodel.core.reduction import CHOICES as REDUCTION_CHOICES
from kmodel.core.result import Status
from kmodel.core.schema import Model, Setting, SpecError, show_value
from kmodel.jobs.exercise import Exercise, parse_exercise
from kmodel.jobs.files import read_bytes, safe_name
from kmodel.jobs.properties import read_properties

# Models that became settings of another, and how a spec says the same now.
MERGED_MODELS = {
    "kafka-pipeline": ' The Kafka pipeline is now model = "kafka" (application.kind = "producer").',
    "kafka-transactions": (
        ' Kafka transactions are now model = "kafka" with application.kind = '
        '"read-process-write" and a producer."transactional.id".'
    ),
}
TOP_LEVEL = (
    "model",
    "title",
    "description",
    "bounds_note",
    "semantic",
    "properties",
    "search",
    "expect",
    "exercise",
)

SEARCH_SETTINGS = (
    Setting(
        "engine",
        str,
        "bfs",
        "search strategy (distributed: breadth-first on a Ray cluster)",
        choices=("bfs", "dfs", "distributed"),
    ),
    Setting(
        "workers",
        int,
        1,
        "processes for one breadth-first search (0: one per core)",
        minimum=0,
        maximum=256,
    ),
    Setting("max_states", int, 0, "stop after this many states (0: no limit)", minimum=0),
    Setting("max_depth", int, 0, "do not look deeper than this (0: no limit)", minimum=0),
    Setting("max_seconds", float, 0.0, "stop after this much wall time (0: no limit)", minimum=0),
    Setting("max_memory", float, 0.0, "stop past this much memory, in MB (0: no limit)", minimum=0),
    Setting("fingerprints", bool, False, "keep 64-bit hashes of states from the start"),
    Setting(
        "fingerprint_after",
        int,
        FINGERPRINT_AFTER,
        "switch to fingerprints past this many states (0: never)",
        minimum=0,
    ),
    Setting(
        "reduce",
        str,
        "symmetry",
        "reductions to apply where the model offers them (partial-order reduction, por, "
        "visits fewer states but takes longer on the shipped models)",
        choices=tuple(REDUCTION_CHOICES),
    ),
    Setting(
        "stop_when_decided",
        bool,
        True,
        "stop once every property's verdict is settled (false: explore every state)",
    ),
    Setting(
        "liveness",
        bool,
        False,
        "check the model's leads-to contracts under fairness (explores every state without "
        "reductions and keeps every edge: for small bounds)",
    ),
    Setting(
        "address",
        str,
        "",
        "the Ray cluster a distributed search joins, HOST:PORT (empty: start one here)",
    ),
)

# The delivery semantics a spec can stand for: the rows of the semantic matrix.
SEMANTICS = ("at-most-once", "at-least-once", "exactly-once")

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
    # per .properties file (as the spec names it), the keys the model does not use
    ignored: dict[str, tuple[str, ...]] = field(default_factory=dict)
    judged: bool = True  # False: the spec's [expect] was set aside (--no-expect)
    # the files the job was read from: the spec, then each .properties file it names
    inputs: tuple[Path, ...] = ()
    exercise: Exercise | None = None  # the challenge `kmodel explore` sets, if the spec has one

    @property
    def name(self) -> str:
        """The spec's file name without `.toml`, made safe to name output files after."""
        return safe_name(self.path.stem)


def ignored_text(ignored: Mapping[str, Sequence[str]], most: int = 10) -> str:
    """The keys of .properties files a model does not use, as ``p.properties: a, b``;
    past `most` keys per file, how many more."""
    parts = []
    for name, keys in ignored.items():
        shown = ", ".join(keys[:most])
        if len(keys) > most:
            shown += f" and {len(keys) - most} more"
        parts.append(f"{name}: {shown}")
    return "; ".join(parts)


def load_job(
    path: str | Path,
    overrides: Sequence[str] = (),
    search: Mapping[str, Any] | None = None,
    models: Mapping[str, Model] | None = None,
    *,
    properties_anywhere: bool = False,
    judged: bool = True,
) -> Job:
    """Read and validate the spec at `path`, then apply `--set` overrides and search options.
    `properties_anywhere` lets `[properties]` name files outside the spec's folder; without
    `judged` the spec's expectations are checked for mistakes, then set aside."""
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
    if not isinstance(model_name, str) or model_name not in models:
        names = ", ".join(sorted(models))
        if model_name is None:
            shown = "missing"
        elif isinstance(model_name, str):
            shown = repr(model_name)
        else:
            shown = f"{_toml_type(model_name)}, not a string"
        hint = MERGED_MODELS.get(model_name, "") if isinstance(model_name, str) else ""
        raise SpecError(f"{path}: field 'model' is {shown}; known models are {names}.{hint}")
    model = models[model_name]
    for key in ("title", "description", "bounds_note", "semantic"):
        if key in data and not isinstance(data[key], str):
            raise SpecError(f"{path}: field {key!r} must be a string.")
    if data.get("semantic", "") not in ("", *SEMANTICS):
        raise SpecError(
            f"{path}: field 'semantic' is {show_value(data['semantic'])}; it must be one of "
            f"{', '.join(map(show_value, SEMANTICS))} (the rows of the semantic matrix), "
            "or left out."
        )

    settings = model.defaults()
    ignored, sources = _apply_properties(
        model, settings, data.get("properties", {}), path, properties_anywhere
    )
    for section in model.sections:
        given = data.get(section, {})
        if not isinstance(given, dict):
            raise SpecError(f"{path}: [{section}] must be a table of settings.")
        for name, value in given.items():
            if isinstance(value, dict):
                _nested_table(model, section, name, value, path)
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

    expectations = _expectations(data.get("expect", {}), path)
    exercise = parse_exercise(data["exercise"], path) if "exercise" in data else None
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
        expect=expectations if judged else {},
        bounds_note=data.get("bounds_note", ""),
        semantic=data.get("semantic", ""),
        ignored=ignored,
        judged=judged,
        inputs=(path, *sources),
        exercise=exercise,
    )


def _apply_properties(
    model: Model, settings: dict[str, dict[str, Any]], files: Any, path: Path, anywhere: bool
) -> tuple[dict[str, tuple[str, ...]], tuple[Path, ...]]:
    """Apply `[properties]`: section = "file.properties", relative to the spec; returns
    the keys each file holds that the model does not use, and the files read.

    A real client or broker file holds many settings a model has no use for
    (bootstrap.servers, serializers ...); those are listed per file, not refused."""
    if not isinstance(files, dict):
        raise SpecError(
            f'{path}: [properties] must map sections to files, e.g. producer = "p.properties".'
        )
    ignored, sources = {}, []
    for section, name in files.items():
        where = f"{path}: properties.{section}"
        if section not in model.sections:
            raise SpecError(
                f"{where} is not one of model {model.name!r}'s sections "
                f"({', '.join(model.sections)})."
            )
        source = _properties_path(path, name, where, anywhere)
        unused = apply_properties_file(model, settings, section, source, where)
        sources.append(source)
        if unused:
            ignored[name] = unused
    return ignored, tuple(sources)


def apply_properties_file(
    model: Model, settings: dict[str, dict[str, Any]], section: str, source: Path, where: str
) -> tuple[str, ...]:
    """Set `section`'s settings from the .properties file `source` (errors name `where`);
    the keys the model does not use are returned."""
    try:
        entries = read_properties(source)
    except SpecError as error:
        raise SpecError(f"{where}: {error}") from None
    return apply_properties(model, settings, section, entries, f"{where}: {source}")


def apply_properties(
    model: Model,
    settings: dict[str, dict[str, Any]],
    section: str,
    entries: Mapping[str, str],
    where: str,
) -> tuple[str, ...]:
    """Set `section`'s settings from a .properties file's `entries`; the keys the model
    does not use are returned."""
    unused = []
    for key, text in entries.items():
        setting = model.setting(section, key)
        if setting is None:
            unused.append(key)
            continue
        settings[section][key] = setting.parse(text, f"{where}: {key}")
    return tuple(unused)


def _properties_path(spec: Path, name: Any, where: str, anywhere: bool) -> Path:
    """The file a `[properties]` entry names, relative to the spec's folder. A path that
    leaves that folder's tree is refused unless `anywhere` (--allow-properties-outside)."""
    if not isinstance(name, str) or not name:
        shown = "empty" if name == "" else show_value(name)
        raise SpecError(
            f"{where} is {shown}; it must name a .properties file, relative to the spec."
        )
    if "\0" in name:
        raise SpecError(f"{where}: a file name cannot contain a NUL character.")
    source = spec.parent / name
    if anywhere:
        return source
    try:
        inside = source.resolve().is_relative_to(spec.parent.resolve())
    except (OSError, RuntimeError):  # a symbolic link loop
        inside = False
    if not inside:
        raise SpecError(
            f"{where} is {show_value(name)}, which leaves the spec's folder; a spec reads "
            "properties files only from its own folder or below, unless the command is "
            "given --allow-properties-outside."
        )
    return source


def _read_toml(path: Path) -> dict[str, Any]:
    data = read_bytes(path, "spec file")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise SpecError(
            f"{path}: not valid TOML: a spec file must be UTF-8 text, but byte "
            f"0x{error.object[error.start]:02x} at offset {error.start} is not UTF-8."
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: not valid TOML ({error}).") from None
    except ValueError:  # Python reads no integer of thousands of digits
        raise SpecError(f"{path}: a number in the spec has too many digits.") from None
    except RecursionError:
        raise SpecError(
            f"{path}: arrays or tables are nested too deeply; no spec field needs nesting."
        ) from None


def _toml_type(value: Any) -> str:
    """How a spec file writes a value of this kind, for messages."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def _nested_table(model: Model, section: str, name: str, value: dict, path: Path) -> None:
    """Reject a table inside a model's section: no setting is one. Most likely it is an
    unquoted dotted key, which TOML reads as nested tables (`delivery.timeout.ms = 1`)."""
    keys, leaf = [name], value
    while isinstance(leaf, dict) and leaf:
        key, leaf = next(iter(leaf.items()))
        keys.append(key)
    dotted = ".".join(keys)
    quoted = f'"{dotted}" = {show_value(leaf)}'
    if model.setting(section, dotted) is not None:
        raise SpecError(
            f"{path}: {section}.{dotted}: put the key in quotes, {quoted}; unquoted, "
            "TOML reads its dots as nested tables."
        )
    setting = model.setting(section, name)
    if setting is not None:
        raise SpecError(f"{path}: {section}.{name} is a table, but it must be {setting.allowed()}.")
    known = ", ".join(s.name for s in model.sections[section])
    raise SpecError(
        f"{path}: unknown setting {section}.{dotted} for model {model.name!r}; "
        f"[{section}] accepts {known}. (A setting's value is never a table: a dotted "
        f"name must be quoted, as in {quoted}, or TOML reads its dots as nested tables.)"
    )


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
    """Resolve one `--set key=value`: key is `section.name` or a name unique to one section.
    Every error names the spec file the override applies to."""
    if "=" not in text:
        raise SpecError(f"{path}: --set {text!r}: expected key=value, e.g. --set rms=5.")
    key, value = (part.strip() for part in text.split("=", 1))
    where = f"{path}: --set {key}"
    section, _, rest = key.partition(".")
    if rest and section in model.sections and model.setting(section, rest) is not None:
        return section, rest, model.setting(section, rest).parse(value, where)
    owners = [s for s, settings in model.sections.items() if any(x.name == key for x in settings)]
    if len(owners) == 1:
        return owners[0], key, model.setting(owners[0], key).parse(value, where)
    if owners:
        choices = ", ".join(f"{s}.{key}" for s in owners)
        raise SpecError(
            f"{where}: is ambiguous in model {model.name!r}; name its section: {choices}."
        )
    if rest and section in model.sections:
        _setting(model, section, rest, where)  # raises: an unknown setting of that section
    every = ", ".join(f"{s}.{x.name}" for s, xs in model.sections.items() for x in xs)
    raise SpecError(f"{where}: is not a setting of model {model.name!r}; settings are {every}.")


def default_search() -> dict[str, Any]:
    """The search options a spec without a [search] table runs with."""
    return {s.name: s.default for s in SEARCH_SETTINGS}


def _search_options(given: Any, path: Path) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise SpecError(f"{path}: [search] must be a table.")
    options = default_search()
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
            shown = show_value(table.get("status")) if "status" in table else "missing"
            raise SpecError(f"{where} is {shown}; it must be one of {allowed}.")
        steps = table.get("steps")
        if steps is not None and (type(steps) is not int or steps < 0):
            raise SpecError(
                f"{where}.steps is {show_value(steps)}; it must be a whole number of steps, "
                "0 or more."
            )
        expectations[name] = Expectation(Status(table["status"]), steps)
    return expectations
