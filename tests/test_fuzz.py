"""Malformed specs, .properties files, files and command lines, generated from the shipped
specs: every one must end with exit code 0, 1 or 2, never a traceback, within a time
bound; a bad input gets a one-line `kmodel: ` message; and a value kmodel accepts is one
its setting allows, so no model is built from an invalid value.

The default run tries a few dozen cases; ``pytest -m slow tests/test_fuzz.py`` tries
thousands (``KMODEL_FUZZ_CASES`` sets how many).
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from kmodel.cli import main
from kmodel.core.schema import Setting, show_value
from kmodel.jobs.models import MODELS
from kmodel.jobs.spec import SEMANTICS, TOP_LEVEL

SPECS = Path(__file__).resolve().parent.parent / "specs"
# Specs whose whole search takes well under a second, for the quick run.
QUICK = sorted(
    path
    for path in SPECS.glob("*.toml")
    if path.stem.startswith(("amo-", "alo-duplicate", "kafka-to-sink", "send-failure"))
    or path.stem in ("two-phase-commit", "properties-file", "auto-commit", "page-cache-loss")
) + [SPECS.parent / "exercises" / "producer-retry-duplicate.toml"]  # an [exercise] table
EVERY = sorted([*SPECS.glob("*.toml"), *(SPECS.parent / "exercises").glob("*.toml")])

# TOML values that a setting, a section or a top-level field may wrongly take.
VALUES = [
    "0.0", "1.0", "-1.0", "0.5", '"1"', '"0"', '"all"', '"ALL"', '"true"', "true", "false",
    "0", "1", "-1", "2", "5", "-7", "2147483647", "2147483648", "9223372036854775807",
    "nan", "inf", "-inf", "1e3", '""', '" "', '"$x^$"', '"a_{$"', r'"\u001b[31m\r"',
    r'"a\u0000b"', r'"\u202eevil"', "[1, 2]", "[[[[1]]]]", "{ a = 1 }", "{}", "[]",
    "1979-05-27", "07:32:00", '"../../../etc/passwd"', '"/dev/zero"', '"x.properties"',
    '"' + "y" * 5000 + '"', '"holds"', '"violated"', '"reached"', '"unreached"',
    '{ status = "holds", steps = 3 }', '{ status = "reached", steps = -1 }',
    '{ status = "violated", steps = 1.0 }', '{ status = "reached", steps = true }',
    "9" * 5000, "0" * 30 + "1", "1" + "0" * 400 + ".5",
    '"at-most-once"', '"exactly-twice"', '"kafka"', '"bfs"', '"dfs"',
]  # fmt: skip

# Lines of .properties files, good and bad.
PROPERTY_LINES = [
    "acks=1", "acks=all", "acks=-1", "acks=0.0", "acks=ALL", "acks=+1", "acks= 1 ",
    "retries=1_000", "retries=3", "retries=-1", "retries=2147483648", "retries=1e3",
    "enable.idempotence=TRUE", "enable.idempotence=yes", "enable.idempotence=",
    "linger.ms=5", "linger.ms=\\", "delivery.timeout.ms=1", "request.timeout.ms=0x10",
    "max.in.flight.requests.per.connection=6", "bootstrap.servers=k:9092",
    "# comment", "! comment", "   ", "key\\", "\\", "\\u0061cks=1", "acks=\\u00zz",
    "a\\=b=c", "\u00e9t\u00e9=1", "client.id=\x1b[2J\r", "retries\t4", "retries:4",
    "enable.auto.commit=false", "auto.offset.reset=earliest", "isolation.level=read_committed",
    "replication.factor=3", "min.insync.replicas=4", "unclean.leader.election.enable=1",
    "retries=" + "9" * 5000, "retries=" + "0" * 5000 + "2", r"acks=\u0031",
    "log.retention.ms=0", "producer.id.expiration.ms=60000", "unknown.producer.id=bump",
]  # fmt: skip

OPTIONS = {
    "--set": ["acks=1.0", "producer.acks=1", "retries=1_000", "rms=5", "rms=0", "=", "x",
              "bounds.records=9", "records= 2 ", "acks=", "a.b.c=1", "rms=3\x00", "acks=all",
              "producer.retries=0", "enable.idempotence=TRUE", "network=unordered",
              "bounds.partition_expansions=1", "bounds.consumers=2",
              "bounds.producer_expiries=1", "producer.unknown.producer.id=reset",
              "bounds.input_partitions=2", "producer.transaction.epoch.bump=in-transaction",
              "application.on.commit.timeout=next", "application.on.sink.failure=give-up",
              "rms=" + "9" * 5000, "records=" + "0" * 5000 + "1"],
    "--max-states": ["0", "-1", "1", "10", "x", "1.5", "", "500"],
    "--max-depth": ["0", "1", "3", "nan", "20"],
    "--max-seconds": ["0", "-1", "nan", "0.001", "1e-9", "x", "", "0.5"],
    "--engine": ["bfs", "dfs", "dfs", "astar", ""],
    "--format": ["text", "json", "json", "md", "mermaid", "plantuml", "svg", "png", "xml", ""],
    "--trace": ["svg", "json", "mermaid", "text", "gif"],
    "--contract": ["no-loss", "consistent", "witness:crash:producer", "nope", "", "\x1b"],
    "--limit": ["0", "1", "5", "20001", "x", "300"],
    "--out": ["OUT", "OUT/deeper", "", "FILE", "FILE/below", "OUT/t.svg", "OUT/t.gif", "\x00"],
    "--no-expect": None,
    "--quiet": None,
    "--allow-properties-outside": None,
    "--fingerprints": None,
    "--colour": ["red"],
    "--runs": ["0", "1", "3", "x", ""],
    "--depth": ["0", "1", "5", "2001", "x"],
    "--seed": ["-1", "0", "7", "4294967296", "x"],
    "--bounds": ["records=2", "records=0", "recrds=1", "=", "records", "broker_crashes=x"],
    "--examples": ["OUT", "FILE", "", "\x00", "FIFO"],
    "--coverage": None,
    "--address": ["127.0.0.1:1", "", "\x1b"],
    "--junit": ["OUT/j.xml", "FILE/below", "", "OUT"],
    "--spec-seconds": ["0", "0.5", "-1", "x"],
}  # fmt: skip
# The options each command takes; now and then one it does not take is tried as well.
TAKES = {
    "check": ["--set", "--max-states", "--max-depth", "--max-seconds", "--engine", "--format",
              "--trace", "--no-expect", "--quiet", "--allow-properties-outside", "--fingerprints",
              "--coverage", "--address"],
    "trace": ["--set", "--max-seconds", "--format", "--out", "--quiet",
              "--allow-properties-outside"],
    "graph": ["--set", "--limit", "--max-seconds", "--contract", "--allow-properties-outside"],
    "verify": ["--max-seconds", "--quiet", "--allow-properties-outside", "--junit",
               "--spec-seconds"],
    "simulate": ["--runs", "--depth", "--seed", "--bounds", "--set", "--examples", "--format",
                 "--quiet", "--allow-properties-outside"],
    "matrix": ["--format", "--max-seconds", "--quiet", "--allow-properties-outside"],
}  # fmt: skip
RAW = ("\x1b", "\r", "\u202e")  # what rewrites a terminal or reorders its text

COMMANDS = ["check"] * 6 + ["trace", "trace", "graph", "verify", "matrix", "models"]
COMMANDS += ["classify", "advise", "simulate"]
CLASSIFY_FILES = ["--producer", "--consumer", "--broker", "--topic", "--streams"]
CLASSIFY_OPTIONS = {
    "--want": ["exactly-once", "at-least-once", "at_most_once", ""],
    "--bounds": ["records=2", "records=0", "recrds=1", "broker_crashes=2", "=", "records"],
    "--format": ["text", "json", "md", "html"],
    "--application": ["app.toml", "missing.toml", "FIFO", "conf/p.properties"],
}


@dataclass
class Case:
    """One generated invocation: files to write, then the command line to run."""

    seed: int
    files: dict[str, bytes] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    how: list[str] = field(default_factory=list)  # the mutations, for the failure message

    def __str__(self) -> str:
        shown = {name: data[:300] for name, data in self.files.items()}
        return f"case {self.seed}: {' / '.join(self.how)}\nargs: {self.args!r}\nfiles: {shown!r}"


def _mutate_value(rng: random.Random, text: str, case: Case) -> str:
    lines = text.splitlines()
    assignments = [
        i for i, line in enumerate(lines) if re.match(r'^\s*("[^"]+"|[\w.:-]+)\s*=', line)
    ]
    i = rng.choice(assignments)
    key = lines[i].split("=", 1)[0]
    value = rng.choice(VALUES)
    case.how.append(f"{key.strip()} = {value[:40]}")
    lines[i] = f"{key}= {value}"
    return "\n".join(lines) + "\n"


def _add_key(rng: random.Random, text: str, case: Case) -> str:
    model = MODELS[tomllib.loads(text)["model"]]
    section = rng.choice([*model.sections, "expect", "search", "properties"])
    names = [s.name for s in model.sections.get(section, ())] or ["no-loss", "engine", "producer"]
    name = rng.choice(names)
    if rng.random() < 0.5 and len(name) > 2:  # a misspelling
        j = rng.randrange(len(name))
        name = name[:j] + rng.choice("x._-") + name[j + 1 :]
    value = rng.choice(VALUES)
    case.how.append(f"[{section}] {name} = {value[:40]}")
    return _with_key(text, section, name, value)


def _with_key(text: str, section: str, name: str, value: str) -> str:
    """`text` with `name = value` in its [section] (added when missing), in place of the
    key's own line if it has one."""
    lines = text.splitlines()
    line = f'"{name}" = {value}'
    if f"[{section}]" not in lines:
        return "\n".join([*lines, f"[{section}]", line]) + "\n"
    start = lines.index(f"[{section}]") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    mine = re.compile(rf'^\s*("{re.escape(name)}"|{re.escape(name)})\s*=')
    body = [x for x in lines[start:end] if not mine.match(x)]
    return "\n".join([*lines[:start], line, *body, *lines[end:]]) + "\n"


def _corrupt_text(rng: random.Random, text: str, case: Case) -> bytes:
    data = text.encode()
    kind = rng.choice(["truncate", "delete-line", "bytes", "top-level"])
    case.how.append(kind)
    if kind == "truncate":
        return data[: rng.randrange(len(data))]
    if kind == "delete-line":
        lines = data.splitlines(keepends=True)
        del lines[rng.randrange(len(lines))]
        return b"".join(lines)
    if kind == "bytes":
        at = rng.randrange(len(data))
        return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 4))) + data[at:]
    field_name = rng.choice([*TOP_LEVEL, "colour"])
    return f"{field_name} = {rng.choice(VALUES)}\n".encode() + data


def _properties(rng: random.Random, text: str, case: Case) -> str:
    model = MODELS[tomllib.loads(text)["model"]]
    section = rng.choice(list(model.sections))
    lines = rng.sample(PROPERTY_LINES, rng.randint(1, 6))
    ending = rng.choice(["\n", "\r\n", "\r", "\\"])  # the last: a backslash at the end of file
    case.files["conf/p.properties"] = (ending.join(lines) + rng.choice(["", ending])).encode(
        "utf-8", "surrogatepass"
    )
    name = rng.choice(
        ["conf/p.properties"] * 4 + ["../outside.properties", "/dev/zero", "", "conf"]
    )
    case.how.append(f"[properties] {section} = {name!r}: {lines}")
    return (
        text.replace("[properties]", "[properties-was]") + f'\n[properties]\n{section} = "{name}"\n'
    )


def _arguments(rng: random.Random, command: str, case: Case, spec_mutated: bool) -> list[str]:
    """A command line; mostly a plain one when the spec itself is mutated, so that the
    spec's mistake, not the command line's, is what the run meets."""
    args = [command]
    if command == "models":
        return args
    hostile_files = ["FIFO", "/dev/urandom", "", "missing.toml", "OUT", "HUGE"]
    spec = "spec.toml" if spec_mutated else rng.choice(["spec.toml"] * 8 + hostile_files)
    if command in ("verify", "matrix"):
        args += rng.choice([[spec], [spec, "spec.toml"], ["."], [spec, "missing"]])
    else:
        args.append(spec)
    # A bound first, so that generated options of the same name come later and win.
    if command == "simulate":
        args += ["--runs", "20", "--depth", "60"]
    else:
        args += ["--max-states", "4000"] if command == "check" else ["--max-seconds", "2"]
    if command == "check" and rng.random() < 0.7:
        args += ["--format", "json"]  # its settings are checked for values never allowed
    if command in ("trace",):
        args += ["--contract", rng.choice(OPTIONS["--contract"])]
    if command in ("graph", "verify"):
        args += ["--out", "OUT"]
    extra = rng.choice([0, 0, 0, 1]) if spec_mutated else rng.randint(0, 3)
    for _ in range(extra):
        option = rng.choice(TAKES[command] if rng.random() < 0.9 else list(OPTIONS))
        choices = OPTIONS[option]
        args += [option] if choices is None else [option, rng.choice(choices)]
        if option == "--trace" and rng.random() < 0.8:
            args += ["--out", "OUT"]
    return args


def _setting_value(rng: random.Random, text: str, case: Case, kind: str) -> str:
    """A setting of the spec's model set to a value it allows ("valid"), to that value in
    a look-alike of another type ("confused": 1.0 or "1" for 1, 0 for false), or to one of
    the hostile values."""
    model = MODELS[tomllib.loads(text)["model"]]
    section = rng.choice(list(model.sections))
    setting = rng.choice(model.sections[section])
    if setting.choices is not None:
        value = rng.choice(setting.choices)
    elif setting.type is bool:
        value = rng.random() < 0.5
    elif setting.type is int:
        low = int(setting.minimum or 0)
        value = rng.randint(low, min(low + 2, int(setting.maximum or low + 2)))
    else:
        value = "app"
    written = show_value(value)
    if kind == "confused":
        written = rng.choice(_look_alikes(value))
    elif kind == "hostile":
        written = rng.choice(VALUES)
    case.how.append(f"[{section}] {setting.name} = {written[:40]}")
    return _with_key(text, section, setting.name, written)


def _look_alikes(value: object) -> list[str]:
    """TOML values that look like `value` and are of another type."""
    if isinstance(value, bool):
        return [str(int(value)), f'"{show_value(value)}"', f"{int(value)}.0"]
    if isinstance(value, int):
        return [f"{value}.0", f'"{value}"', "true" if value else "false", f'" {value} "']
    return [f"{value}".lower().replace("-", "_"), str(len(str(value))), "true", f"[{value!r}]"]


def generate(seed: int, specs: list[Path]) -> Case:
    """The case for `seed`: a shipped spec, mutated one way or another, and a command."""
    rng = random.Random(seed)
    case = Case(seed)
    source = rng.choice(specs)
    text = source.read_text(encoding="utf-8")
    case.how.append(source.name)
    if source.stem == "properties-file":
        case.files["config/producer.properties"] = (
            SPECS / "config/producer.properties"
        ).read_bytes()
    kinds = ["value", "hostile", "confused", "confused", "valid", "key", "text", "properties"]
    kind = rng.choice([*kinds, "none"])
    if kind == "value":
        text = _mutate_value(rng, text, case)
    elif kind in ("hostile", "confused", "valid"):
        text = _setting_value(rng, text, case, kind)
    elif kind == "key":
        text = _add_key(rng, text, case)
    elif kind == "properties":
        text = _properties(rng, text, case)
    data = _corrupt_text(rng, text, case) if kind == "text" else text.encode()
    case.files["spec.toml"] = data
    command = rng.choice(COMMANDS)
    if command in ("classify", "advise"):
        case.args = _classify_arguments(rng, command, case)
        return case
    case.args = _arguments(rng, command, case, spec_mutated=kind != "none")
    return case


def _classify_arguments(rng: random.Random, command: str, case: Case) -> list[str]:
    """`kmodel classify` (or `advise`, two candidates at most) on generated .properties
    files (and an application TOML), a hostile file now and then, with a few options."""
    lines = rng.sample(PROPERTY_LINES, rng.randint(1, 6))
    case.files["conf/p.properties"] = "\n".join(lines).encode("utf-8", "surrogatepass")
    case.files["app.toml"] = rng.choice(
        [b'[application]\n"consumer.commit" = "after-processing"\n', b"[sink]\nwrite = 1\n"]
    )
    args = [command, "--max-seconds", "2"]
    if command == "advise":
        args += ["--max-candidates", "2", "--want", rng.choice(CLASSIFY_OPTIONS["--want"])]
    for option in rng.sample(CLASSIFY_FILES, rng.randint(0, 3)):
        args += [option, rng.choice(["conf/p.properties"] * 4 + ["FIFO", "missing", "HUGE"])]
    for option in rng.sample(list(CLASSIFY_OPTIONS), rng.randint(0, 2)):
        args += [option, rng.choice(CLASSIFY_OPTIONS[option])]
    case.how.append(f"classify: {lines}")
    return args


def _lay_out(case: Case, root: Path) -> Path:
    """Write the case's files under `root`/work (`root` itself holds what lies outside)."""
    work = root / "work"
    work.mkdir()
    (root / "outside.properties").write_text("CANARY_OUTSIDE=1\nacks=1\n")
    (work / "FILE").write_text("")
    os.mkfifo(work / "FIFO")
    with (work / "HUGE").open("wb") as handle:
        handle.truncate(1 << 30)
    for name, data in case.files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(data)
    return work


def _allowed(setting: Setting, value: object) -> bool:
    """Whether `value` is one `setting` allows, judged here and not by kmodel: one of its
    choices, of the same type (1.0 is not 1, true is not 1), or its declared type
    exactly, within its bounds."""
    if setting.choices is not None:
        return any(type(value) is type(choice) and value == choice for choice in setting.choices)
    if type(value) is not setting.type:
        return False
    low = -math.inf if setting.minimum is None else setting.minimum
    high = math.inf if setting.maximum is None else setting.maximum
    return not isinstance(value, int | float) or low <= value <= high


def _check_accepted_settings(report: dict, case: Case) -> None:
    """Every setting of an accepted spec is a value its setting allows."""
    model = MODELS[report["model"]]
    for section, values in report["settings"].items():
        for name, value in values.items():
            setting = model.setting(section, name)
            assert setting is not None, f"{section}.{name} is no setting\n{case}"
            if value is None and setting.default is None:
                continue
            assert _allowed(setting, value), f"{section}.{name} = {value!r}\n{case}"
    assert report["semantic"] in (None, *SEMANTICS), case


def run_case(case: Case, root: Path, deadline, seconds: float) -> None:
    work = _lay_out(case, root)
    cwd = os.getcwd()
    os.chdir(work)
    try:
        with deadline(seconds):
            result = CliRunner().invoke(main, case.args)
    finally:
        os.chdir(cwd)
    assert result.exit_code in (0, 1, 2), f"exit {result.exit_code}: {result.exception!r}\n{case}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{result.exception!r}\n{case}"
    )
    assert "Traceback" not in result.output, case
    for raw in RAW:
        assert raw not in result.output, f"{raw!r} written raw\n{case}"
    assert "CANARY" not in result.output or "--allow-properties-outside" in case.args, case
    if result.exit_code == 2:
        last = result.stderr.rstrip("\n").splitlines()[-1] if result.stderr else ""
        assert last.startswith("kmodel: "), f"{result.stderr!r}\n{case}"
        assert "\x1b" not in result.stderr and "\r" not in result.stderr, case
    formats = [b for a, b in zip(case.args, case.args[1:], strict=False) if a == "--format"]
    if case.args[0] == "check" and formats[-1:] == ["json"] and result.exit_code in (0, 1):
        _check_accepted_settings(json.loads(result.stdout), case)


def _fuzz(cases: range, specs: list[Path], tmp_path: Path, deadline, seconds: float) -> None:
    for seed in cases:
        root = tmp_path / str(seed)
        root.mkdir()
        run_case(generate(seed, specs), root, deadline, seconds)
        shutil.rmtree(root)


def test_generated_inputs_quick(tmp_path: Path, deadline) -> None:
    _fuzz(range(40), QUICK, tmp_path, deadline, seconds=20)


@pytest.mark.slow
def test_generated_inputs_long(tmp_path: Path, deadline) -> None:
    count = int(os.environ.get("KMODEL_FUZZ_CASES", "2000"))
    _fuzz(range(1000, 1000 + count), EVERY, tmp_path, deadline, seconds=60)
