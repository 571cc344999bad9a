"""What a user's own configuration guarantees end to end.

The user's Java .properties files (producer, consumer, broker, topic) and a small
TOML of what the application does are checked under a standard menu of faults,
one fault kind per run, so nothing is vacuous. The end-to-end contracts
(`no-loss`, `no-duplicate-effect`) read as a row of Kafka's delivery-semantics
table, and the contracts that broke with them name the weakest link.
"""

from __future__ import annotations

import copy
import difflib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kmodel.core.result import Status
from kmodel.core.schema import SpecError
from kmodel.core.system import PropertyKind
from kmodel.core.trace import Trace
from kmodel.jobs.properties import read_properties
from kmodel.jobs.run import JobResult, run_job
from kmodel.jobs.spec import Job, apply_properties, default_search
from kmodel.kafka.config import CONSUMER_FAULTS, PRODUCER_FAULTS
from kmodel.kafka.model import KAFKA

# The standard fault menu of each kind of application: each bound, one at a time,
# with what it stands for.
FAULT_MENUS = {
    "producer": {
        "producer_crashes": "a crash of the producer",
        "network_failures": "a broken connection between the producer and a broker",
        "timeouts": "a slow broker (a request times out while still on its way)",
        "broker_crashes": "a crash of a broker (a failover)",
        "consumer_crashes": "a crash of the consumer",
        "rebalances": "a rebalance that evicts the consumer",
        "sink_crashes": "a crash of the sink",
    },
    "read-process-write": {
        "processor_crashes": "a crash of the application",
        "timeouts": "a slow broker (a write times out while still on its way)",
        "coordinator_timeouts": "a request to a coordinator that times out on its way",
        "txn_coordinator_crashes": "a crash of the transaction coordinator",
        "broker_crashes": "a crash of a broker (a failover)",
        "consumer_crashes": "a crash of the consumer of the output",
        "sink_crashes": "a crash of the sink",
    },
}
# One record by default: a loss or a duplicate needs no more, and a failover of two
# records' replicas costs a minute on its own; --bounds widens it.
MENU_BOUNDS = {"records": 1}
LOSS, DUPLICATE = "no-loss", "no-duplicate-effect"
# The reference table's rows, by (may lose, may duplicate).
ROWS = {
    (True, False): "at-most-once",
    (False, True): "at-least-once",
    (False, False): "exactly-once",
    (True, True): "none",
}
ROW_TEXT = {
    "at-most-once": "may lose records, never duplicates them",
    "at-least-once": "never loses records, may duplicate them",
    "exactly-once": "neither loses nor duplicates records",
    "none": "may lose records and may duplicate them",
}
# The end-to-end contracts each guarantee promises.
PROMISES = {
    "at-most-once": (DUPLICATE,),
    "at-least-once": (LOSS,),
    "exactly-once": (LOSS, DUPLICATE),
}
# A topic's own settings, and the broker defaults that stand for them where it has none.
BROKER_DEFAULTS = {"default.replication.factor": "replication.factor"}
FILE_SECTIONS = ("producer", "consumer", "broker", "topic")
# Kafka Streams' processing.guarantee as the application's settings: exactly_once_v2
# (and its earlier name exactly_once_beta) is the read-process-write application fenced
# by the group generation with one transactional.id per instance (KIP-447); exactly_once
# (v1) one per input partition, fenced by the epoch; at_least_once, without transactions,
# the pipeline whose input position is committed once the output is acknowledged.
RPW = "read-process-write"
EOS_V2 = {"kind": RPW, "transactional.id.scope": "instance", "send.offsets.group.metadata": True}
STREAMS_GUARANTEES = {
    "exactly_once_v2": EOS_V2,
    "exactly_once_beta": EOS_V2,
    "exactly_once": {
        "kind": RPW,
        "transactional.id.scope": "input-partition",
        "send.offsets.group.metadata": False,
        "offset.fetch.require.stable": False,
    },
    "at_least_once": {"kind": "producer", "source.commit": "after-ack"},
}
LINKS = ("source", "producer", "brokers", "consumer", "sink")
# The faults of the consumer's side, which make it read again what it processed.
REDELIVERIES = frozenset(PRODUCER_FAULTS[bound] for bound in CONSUMER_FAULTS)
APPLICATION_SECTIONS = ("application", "sink", "bounds")


@dataclass(frozen=True, slots=True)
class Configuration:
    """The user's settings as the model reads them, and what it had no use for."""

    settings: dict[str, dict[str, Any]]
    unused: dict[str, tuple[str, ...]]  # per file, the keys the model does not use
    origin: Path  # the first file given, which names the runs


@dataclass(frozen=True, slots=True)
class Finding:
    """One contract over every run of the menu: the shortest break, or where it held."""

    name: str
    description: str
    status: Status
    fault: str = ""  # the menu fault its shortest break needs ("": none)
    run: str = ""  # the menu fault of the run that found that break
    trace: Trace | None = None
    held_under: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Classification:
    configuration: Configuration
    menu: Mapping[str, str]  # the fault menu's bounds and what each stands for
    runs: tuple[tuple[str, JobResult], ...]  # (menu bound, its run)
    findings: tuple[Finding, ...]
    skipped: dict[str, str] = field(default_factory=dict)  # menu bound: why not run

    def finding(self, name: str) -> Finding:
        return next(f for f in self.findings if f.name == name)

    @property
    def row(self) -> str:
        broken = {f.name for f in self.findings if f.status is Status.VIOLATED}
        return ROWS[(LOSS in broken, DUPLICATE in broken)]

    @property
    def complete(self) -> bool:
        return all(outcome.result.complete for _, outcome in self.runs)

    def weakest_links(self) -> dict[str, tuple[str, ...]]:
        """Per broken end-to-end contract, the links of the pipeline that the runs which
        broke it blame, in the pipeline's order."""
        return {name: tuple(blamed) for name, blamed in self.blames().items()}

    def blames(self) -> dict[str, dict[str, tuple[str, Trace]]]:
        """Per broken end-to-end contract, each link a run that broke it blames, in the
        pipeline's order, with the menu fault of the shortest such run and its trace."""
        shortest: dict[str, dict[str, tuple[str, Trace]]] = {}
        for bound, outcome in self.runs:
            for name in (LOSS, DUPLICATE):
                verdict = outcome.verdict(name)
                if verdict.status is not Status.VIOLATED or verdict.trace is None:
                    continue
                link = _link(self.configuration.settings, outcome, name)
                known = shortest.setdefault(name, {}).get(link)
                if known is None or _length(verdict.trace) < _length(known[1]):
                    shortest[name][link] = (bound, verdict.trace)
        return {
            name: {link: by_link[link] for link in LINKS if link in by_link}
            for name, by_link in shortest.items()
        }

    def gives(self, wanted: str) -> bool:
        """Whether every contract `wanted` promises held under each fault explored (a run
        stopped before its verdict gives nothing)."""
        return all(self.finding(name).status is Status.HOLDS for name in PROMISES[wanted])


def load_configuration(
    files: Mapping[str, Path | None], application: Path | None, streams: Path | None = None
) -> Configuration:
    """The model's defaults with the user's files applied: a .properties file per client
    or broker section (the topic's settings over the broker's defaults), a Kafka Streams
    application's properties, then the application TOML's [application], [sink] and
    [bounds]."""
    given = {section: Path(path) for section, path in files.items() if path is not None}
    if streams is not None:
        given.setdefault("streams", Path(streams))
    if not given:
        raise SpecError(
            "classify needs at least one .properties file: --producer, --consumer, --broker, "
            "--topic or --streams."
        )
    settings = KAFKA.defaults()
    unused: dict[str, tuple[str, ...]] = {}
    for section in FILE_SECTIONS:
        if section not in given:
            continue
        path = given[section]
        target = "broker" if section == "topic" else section
        keys = _apply_file(settings, section, target, path)
        if keys:
            unused[str(path)] = keys
    if streams is not None:
        keys = _apply_streams(settings, streams)
        if keys:
            unused[str(streams)] = keys
    if application is not None:
        _apply_application(settings, application)
    problems = KAFKA.rules(settings)
    if problems:
        where, problem = problems[0]
        raise SpecError(f"{where}: {problem}")
    return Configuration(settings, unused, next(iter(given.values())))


def _apply_file(settings: dict, section: str, target: str, path: Path) -> tuple[str, ...]:
    """Apply one .properties file (a broker's defaults as the topic settings they stand
    for); a key the model does not use is returned, unless it looks like a misspelt
    setting the model does use, which is an error."""
    entries = _read(path, f"--{section}")
    if section == "broker":
        entries = {BROKER_DEFAULTS.get(key, key): value for key, value in entries.items()}
    unused = apply_properties(KAFKA, settings, target, entries, f"--{section}: {path}")
    known = [s.name for s in KAFKA.sections[target]]
    for key in unused:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.9)
        if close:
            raise SpecError(
                f"--{section}: {path}: {key!r} is not a setting kmodel knows; did you mean "
                f"{close[0]!r}?"
            )
    return unused


def _read(path: Path, option: str) -> dict[str, str]:
    """A .properties file's entries; a file that cannot be read names its option."""
    try:
        return read_properties(path)
    except SpecError as error:
        raise SpecError(f"{option}: {error}") from None


def _apply_streams(settings: dict, path: Path) -> tuple[str, ...]:
    """A Kafka Streams application's properties: processing.guarantee picks the
    application (with transactions, its fencing), application.id names its
    transactional.id, and `producer.` and `consumer.` settings go to those clients."""
    entries = _read(path, "--streams")
    guarantee = entries.pop("processing.guarantee", "at_least_once").strip()
    if guarantee not in STREAMS_GUARANTEES:
        allowed = ", ".join(STREAMS_GUARANTEES)
        raise SpecError(
            f"{path}: processing.guarantee is {guarantee!r}; Kafka Streams accepts {allowed}."
        )
    settings["application"].update(STREAMS_GUARANTEES[guarantee])
    application_id = entries.pop("application.id", "app").strip()
    if settings["application"]["kind"] == RPW:
        settings["producer"]["transactional.id"] = application_id
    unused = []
    for prefix in ("producer", "consumer"):
        scoped = {
            key.removeprefix(f"{prefix}."): value
            for key, value in entries.items()
            if key.startswith(f"{prefix}.")
        }
        left = apply_properties(KAFKA, settings, prefix, scoped, f"--streams: {path}")
        unused += [f"{prefix}.{key}" for key in left]
    unused += [key for key in entries if not key.startswith(("producer.", "consumer."))]
    return tuple(unused)


def _apply_application(settings: dict, path: Path) -> None:
    """[application], [sink] and [bounds] from a small TOML file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SpecError(f"{path}: cannot read the file ({error.strerror or error}).") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: not valid TOML: {error}.") from None
    stray = sorted(set(data) - set(APPLICATION_SECTIONS))
    if stray:
        raise SpecError(
            f"{path}: section [{stray[0]}] is not allowed here; the application file may "
            f"have {', '.join(f'[{s}]' for s in APPLICATION_SECTIONS)}."
        )
    for section, values in data.items():
        if not isinstance(values, dict):
            raise SpecError(f"{path}: [{section}] must be a table of settings.")
        for name, value in values.items():
            setting = KAFKA.setting(section, name)
            if setting is None:
                known = ", ".join(s.name for s in KAFKA.sections[section])
                raise SpecError(
                    f"{path}: unknown setting {section}.{name}; [{section}] accepts {known}."
                )
            settings[section][name] = setting.check(value, f"{path}: {section}.{name}")


def parse_bounds(given: Sequence[str]) -> dict[str, int]:
    """`--bounds NAME=N` options as [bounds] settings, checked as a spec's are."""
    bounds = {}
    for text in given:
        name, _, value = text.partition("=")
        setting = KAFKA.setting("bounds", name.strip())
        if setting is None or not value.strip():
            known = ", ".join(s.name for s in KAFKA.sections["bounds"])
            raise SpecError(f"--bounds {text!r}: give NAME=N, where NAME is one of {known}.")
        bounds[setting.name] = setting.parse(value.strip(), f"--bounds {setting.name}")
    return bounds


def classify(
    configuration: Configuration,
    bounds: Mapping[str, int] | None = None,
    max_seconds: float | None = None,
) -> Classification:
    """Run the fault menu on the configuration, one fault kind per run, and combine."""
    runs, skipped = [], {}
    menu = FAULT_MENUS[configuration.settings["application"]["kind"]]
    for bound, what in menu.items():
        settings = menu_settings(configuration.settings, bounds, bound)
        problems = KAFKA.rules(settings)
        if problems:
            skipped[bound] = problems[0][1]
            continue
        search = {**default_search(), "max_seconds": max_seconds}
        job = Job(
            path=configuration.origin,
            model=KAFKA,
            title=f"under {what}",
            description="",
            settings=settings,
            search=search,
        )
        runs.append((bound, run_job(job)))
    if not runs:
        raise SpecError("no fault of the menu applies to this configuration.")
    return Classification(configuration, menu, tuple(runs), _combine(runs), skipped)


def menu_settings(
    settings: Mapping[str, Mapping[str, Any]], bounds: Mapping[str, int] | None, bound: str
) -> dict[str, dict[str, Any]]:
    """The settings of the menu run of fault `bound`: one record (or `bounds`), and at
    least one fault of that kind."""
    run = copy.deepcopy(dict(settings))
    run["bounds"].update({**MENU_BOUNDS, **(bounds or {})})
    run["bounds"][bound] = max(run["bounds"][bound], 1)
    return run


def _combine(runs: Sequence[tuple[str, JobResult]]) -> tuple[Finding, ...]:
    """Each contract's shortest break over the runs, or the faults under which it held."""
    findings = []
    for verdict in runs[0][1].verdicts:
        if verdict.kind is PropertyKind.SOMETIMES:
            continue
        broken = [
            (bound, v.trace)
            for bound, outcome in runs
            for v in outcome.verdicts
            if v.name == verdict.name and v.status is Status.VIOLATED and v.trace is not None
        ]
        if broken:
            bound, trace = min(broken, key=lambda item: _length(item[1]))
            fault = bound if trace.faults else ""
            findings.append(
                Finding(
                    verdict.name,
                    verdict.description,
                    Status.VIOLATED,
                    fault=fault,
                    trace=trace,
                    run=bound,
                )
            )
            continue
        held = tuple(
            bound for bound, outcome in runs if outcome.verdict(verdict.name).status is Status.HOLDS
        )
        status = Status.HOLDS if len(held) == len(runs) else Status.UNKNOWN
        findings.append(Finding(verdict.name, verdict.description, status, held_under=held))
    return tuple(findings)


def _length(trace: Trace) -> tuple[int, int]:
    """What makes a break shorter: fewer steps, then fewer faults (none, if it needs none)."""
    return len(trace), trace.faults


def _link(settings: Mapping[str, Mapping[str, Any]], run: JobResult, contract: str) -> str:
    """The link of source → producer → brokers → consumer → sink that the run which broke
    `contract` blames, read from the contracts that broke with it and, for a duplicate
    effect, the faults its trace takes."""
    broke = {v.name for v in run.verdicts if v.status is Status.VIOLATED}
    app = settings["application"]
    if contract == LOSS:
        if "no-acked-loss" in broke or "no-committed-loss" in broke:
            return "brokers"
        if "no-skip" in broke:
            return "consumer"
        if app["source.commit"] == "before-send":
            return "source"
        return "producer"
    if "no-duplicate-in-log" in broke:
        return "producer"
    trace = run.verdict(contract).trace
    if trace is not None and any(step.fault in REDELIVERIES for step in trace.steps):
        return "consumer"  # it read again what it had processed but not committed
    return "sink"
