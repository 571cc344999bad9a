"""The `kmodel` command: options in, job run, verdicts out, exit code.

Exit codes: 0 every expectation met, 1 an expectation not met (or the run was
interrupted before it could tell), 2 bad input.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from kmodel.console import ProgressDisplay, tolerant_streams
from kmodel.core.bfs import FINGERPRINT_AFTER
from kmodel.core.coverage import Coverage
from kmodel.core.reduction import CHOICES as REDUCTION_CHOICES
from kmodel.core.schema import SpecError, show_value
from kmodel.core.text import printable
from kmodel.jobs.run import JobResult, run_job
from kmodel.jobs.spec import Job, load_job
from kmodel.render.formats import FORMATS, format_for, render
from kmodel.render.summary import summary

TRACE_FORMATS = click.Choice(list(FORMATS))
GRAPH_MAX_STATES = 20_000  # beyond this a picture of the state graph shows nothing


class Stop(click.ClickException):
    """The end of a command, shown like every error: one paragraph after `kmodel: `."""

    def show(self, file=None) -> None:
        click.echo(f"kmodel: {printable(self.format_message())}", file=file, err=True)


class UsageError(Stop):
    """A mistake on the command line: exit code 2, like every other input error."""

    exit_code = 2


class Interrupted(Stop):
    """Ctrl-C outside a search (a search stops by itself and reports what it covered)."""

    exit_code = 1

    def __init__(self) -> None:
        super().__init__("interrupted.")


class PathType(click.Path):
    """Click's path, refusing a NUL character (which no file name holds) as a usage error."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and "\0" in value:
            self.fail(f"{value!r} contains a NUL character, which no file name can.", param, ctx)
        return super().convert(value, param, ctx)


def _usage_error(error: click.UsageError) -> click.ClickException:
    if isinstance(error, click.exceptions.NoArgsIsHelpError):
        return error  # a bare `kmodel`: click shows the help
    return UsageError(" ".join(error.format_message().split()))


class Group(click.Group):
    """Click's group, with command-line mistakes reported as `UsageError`s and Ctrl-C
    as a line, never a traceback."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            raise _usage_error(error) from None
        except KeyboardInterrupt:
            raise Interrupted() from None

    def invoke(self, ctx: click.Context):
        # Parses the command's own options and arguments, and resolves its name.
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise _usage_error(error) from None
        except KeyboardInterrupt:
            raise Interrupted() from None


def _fail(error: SpecError | str) -> NoReturn:
    """Report bad input (a paragraph naming the file and the field) and exit with 2."""
    with contextlib.suppress(OSError):  # standard error itself may be unwritable
        click.echo(f"kmodel: {printable(str(error))}", err=True)
    sys.exit(2)


@contextlib.contextmanager
def _writing() -> Iterator[None]:
    """Around what writes to standard output (or error): a stream that cannot be written
    (a full disk, a closed pipe) ends the command with a line and exit code 2."""
    try:
        yield
    except OSError as error:
        _abandon_stdout()
        _fail(f"cannot write the output: {error.strerror or error}.")


def say(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Write `text` to standard output (or error), as `_writing` guards it."""
    with _writing():
        click.echo(text, err=err, nl=nl)


def _abandon_stdout() -> None:
    """Point standard output at /dev/null, so the exit's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a file descriptor (a test's capture)
        pass


def _writable_folder(out: str, option: str = "--out") -> Path:
    """The folder `out`, created if need be and shown to take files, before any search
    runs: a run is never lost for want of a place to write it."""
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageError(f"{option} {out}: cannot write files there ({reason}).") from None
    return folder


def _write(path: Path, output: str | bytes) -> None:
    try:
        if isinstance(output, bytes):
            path.write_bytes(output)
        else:
            path.write_text(output, encoding="utf-8")
    except OSError as error:
        _fail(f"{path}: cannot write the file ({error.strerror or error}).")


# -- options several commands share -----------------------------------------------------


SET = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a model setting, e.g. --set rms=5 or --set producer.acks=1.",
)
QUIET = click.option("--quiet", is_flag=True, help="No progress display.")
TEXT_OR_JSON = click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
ADDRESS = click.option(
    "--address",
    metavar="HOST:PORT",
    help="The Ray cluster --engine distributed joins.  [default: start one on this machine]",
)
DISTRIBUTED = "distributed: breadth-first on a Ray cluster, pip install 'kmodel[distributed]'"
OUTSIDE = click.option(
    "--allow-properties-outside",
    "properties_anywhere",
    is_flag=True,
    help="Let [properties] read files outside the spec's folder.",
)


class Seconds(click.FloatRange):
    """A time limit: a number of seconds above 0 (NaN, which compares with nothing, is no
    number of seconds)."""

    name = "seconds"

    def __init__(self) -> None:
        super().__init__(min=0, min_open=True)

    def convert(self, value, param, ctx):
        seconds = super().convert(value, param, ctx)
        if math.isnan(seconds):
            self.fail("nan is not a number of seconds.", param, ctx)
        return seconds


def _max_seconds(help_text: str) -> Callable:
    return click.option("--max-seconds", type=Seconds(), help=help_text)


def _load(spec: str, overrides=(), search=None, **options: Any) -> Job:
    """`load_job` on a command-line path: an empty one is bad input, not the folder '.'."""
    if not spec:
        raise SpecError("the spec path is empty; give a .toml spec file.")
    return load_job(spec, overrides, search, **options)


def _run(job: Job, quiet: bool, coverage: Coverage | None = None) -> JobResult:
    display = None if quiet else ProgressDisplay(job.name)
    try:
        return run_job(job, display, coverage=coverage)
    finally:
        if display is not None:
            display.close()


def _known_contract(job: Job, system, contract: str) -> None:
    names = [prop.name for prop in system.properties()]
    if contract not in names:
        raise SpecError(
            f"{job.path}: model {job.model.name!r} has no property {contract!r}; "
            f"its properties are {', '.join(names)}."
        )


# -- commands ---------------------------------------------------------------------------


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kmodel")
def main() -> None:
    """kmodel checks message-delivery guarantees of Kafka-style pipelines."""
    tolerant_streams()


@main.command()
@click.argument("spec", type=PathType(dir_okay=False))
@SET
@click.option(
    "--engine",
    type=click.Choice(["bfs", "dfs", "distributed"]),
    help=f"Search strategy ({DISTRIBUTED}).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0, max=256),
    help="Processes for the breadth-first search (0: one per core).  [default: 1]",
)
@ADDRESS
@click.option("--max-states", type=click.IntRange(min=1), help="Stop after this many states.")
@click.option("--max-depth", type=click.IntRange(min=1), help="Do not search deeper.")
@_max_seconds("Stop after this much wall time.")
@click.option(
    "--max-memory",
    type=click.FloatRange(min=0, min_open=True),
    metavar="MB",
    help="Stop once the search holds this much memory (all workers together).",
)
@click.option(
    "--fingerprints/--no-fingerprints",
    default=None,
    help="Keep 64-bit state hashes from the start / never (less memory, a tiny "
    "collision risk).  [default: switch past --fingerprints-after states]",
)
@click.option(
    "--fingerprints-after",
    type=click.IntRange(min=1),
    metavar="STATES",
    help=f"Switch to fingerprints past this many states.  [default: {FINGERPRINT_AFTER:,}]",
)
@click.option(
    "--reduce",
    type=click.Choice(list(REDUCTION_CHOICES)),
    help="Reductions to apply where the model offers them; none re-checks without.  "
    "[default: symmetry]",
)
@click.option(
    "--exhaustive",
    is_flag=True,
    help="Explore every state, even once every verdict is settled.",
)
@TEXT_OR_JSON
@QUIET
@click.option(
    "--trace",
    "trace_formats",
    multiple=True,
    type=TRACE_FORMATS,
    help="Write each violated contract's trace in this format (repeatable); needs --out.",
)
@click.option(
    "--out",
    type=PathType(file_okay=False),
    help="Directory for --trace files: DIR/<spec>/<contract>.<ext>.",
)
@click.option(
    "--no-expect",
    is_flag=True,
    help="Set the spec's [expect] aside: show every verdict as found, judge none "
    "(for what-ifs with --set).",
)
@click.option(
    "--coverage",
    is_flag=True,
    help="Also report the kinds of action that fired, those set up but never fired, and "
    "the contracts exercised (a search in one process, slower).",
)
@OUTSIDE
def check(
    spec,
    overrides,
    engine,
    workers,
    address,
    max_states,
    max_depth,
    max_seconds,
    max_memory,
    fingerprints,
    fingerprints_after,
    reduce,
    exhaustive,
    output,
    quiet,
    trace_formats,
    out,
    no_expect,
    coverage,
    properties_anywhere,
) -> None:
    """Check SPEC (a TOML spec file) and report each property's verdict."""
    if trace_formats and out is None:
        raise UsageError("--trace needs --out DIR, the directory to write the traces to.")
    if out is not None and not trace_formats:
        raise UsageError("--out needs at least one --trace FORMAT.")
    if workers is not None and workers > 1 and engine == "dfs":
        raise UsageError("--workers runs a breadth-first search; --engine dfs uses one process.")
    if address is not None and engine != "distributed":
        raise UsageError("--address names a Ray cluster, for --engine distributed.")
    if workers is not None and workers != 1 and coverage:
        raise UsageError("--coverage is collected by a search in one process; leave out --workers.")
    search = {
        "engine": engine,
        "workers": workers,
        "address": address,
        "max_states": max_states,
        "max_depth": max_depth,
        "max_seconds": max_seconds,
        "max_memory": max_memory,
        "fingerprints": fingerprints,
        "fingerprint_after": 0 if fingerprints is False else fingerprints_after,
        "stop_when_decided": False if exhaustive else None,
        "reduce": reduce,
    }
    try:
        job = _load(
            spec,
            overrides,
            search,
            properties_anywhere=properties_anywhere,
            judged=not no_expect,
        )
        folder = _writable_folder(out) if out is not None else None
        covered = Coverage() if coverage else None
        outcome = _run(job, quiet, covered)
    except SpecError as error:
        _fail(error)
    if output == "json":
        found = outcome.to_json()
        if covered is not None:
            found["coverage"] = covered.to_json()
        say(json.dumps(found, indent=2))
    else:
        say(printable(summary(outcome), newlines=True))
        if covered is not None:
            from kmodel.report.coverage import coverage_lines

            lines = coverage_lines(covered, "transitions explored")
            say(printable("\n".join(["", *lines]), newlines=True))
        if overrides and not outcome.expectations_met:
            say(
                "  (--set changed the spec's settings, and its expectations are for its own; "
                "--no-expect shows the verdicts without judging them.)"
            )
    if folder is not None:
        _write_traces(outcome, folder, trace_formats, to_stderr=output == "json")
    sys.exit(0 if outcome.expectations_met else 1)


def _write_traces(outcome: JobResult, folder: Path, formats, to_stderr: bool) -> None:
    from kmodel.report.artifacts import write_traces

    try:
        written = write_traces(outcome, folder, formats)
    except OSError as error:
        _fail(f"{folder}: cannot write the traces ({error.strerror or error}).")
    paths = [path for formats in written.values() for path in formats.values()]
    if not to_stderr:
        say()
    for path in paths:
        say(f"wrote {printable(str(path))}", err=to_stderr)
    if not paths:
        say("no contract is violated, so there is no trace to write", err=to_stderr)


EXAMPLES = ".kmodel/examples"  # simulate's example database, under the current folder


@main.command()
@click.argument("spec", type=PathType(dir_okay=False))
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Random runs to draw.",
)
@click.option(
    "--depth",
    type=click.IntRange(min=1, max=2000),
    default=200,
    show_default=True,
    help="Steps a run takes at most.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0, max=2**32 - 1),
    help="Draw the same runs as a run with this seed did (the example database is then "
    "neither read nor written, as in hypothesis).",
)
@click.option(
    "--bounds",
    "bounds",
    multiple=True,
    metavar="NAME=N",
    help="Widen a fault or size bound of the spec, e.g. records=3 (the same as "
    "--set bounds.NAME=N; repeatable).",
)
@SET
@click.option(
    "--contract",
    "contracts",
    multiple=True,
    help="Look for runs breaking this contract only (repeatable).  [default: every "
    "always and at_end contract]",
)
@click.option(
    "--examples",
    type=PathType(file_okay=False),
    default=EXAMPLES,
    show_default=True,
    help="hypothesis's example database: without --seed, the shortest breaking run is "
    "saved there and replayed first next time.",
)
@TEXT_OR_JSON
@QUIET
@OUTSIDE
def simulate(
    spec,
    runs,
    depth,
    seed,
    bounds,
    overrides,
    contracts,
    examples,
    output,
    quiet,
    properties_anywhere,
) -> None:
    """Draw random runs of SPEC far deeper than an exhaustive check reaches; shrink the
    first that breaks a contract to a short one and narrate it; report what the runs
    covered.

    Each run draws which fault kinds it may use (swarm testing). Exits 1 when a run
    broke a contract, 0 when none did (which proves nothing of the runs not drawn)."""
    from kmodel.console import SimulationDisplay
    from kmodel.jobs.run import build_system, simulate_job
    from kmodel.report.simulation import simulation_json, simulation_text

    for given in bounds:
        name, equals, value = given.partition("=")
        if not (name.strip() and equals and value.strip()):
            raise UsageError(f"--bounds {given!r}: give NAME=N, e.g. --bounds records=3.")
    widened = [*(f"bounds.{given.strip()}" for given in bounds), *overrides]
    try:
        job = _load(spec, widened, properties_anywhere=properties_anywhere, judged=False)
        system = build_system(job)
        for contract in contracts:
            _known_contract(job, system, contract)
        folder = _writable_folder(examples, "--examples")
    except SpecError as error:
        _fail(error)
    display = None if quiet else SimulationDisplay(job.name)
    try:
        found = simulate_job(
            job,
            runs,
            depth,
            seed=seed,
            database=folder,
            contracts=contracts or None,
            progress=display,
        )
    finally:
        if display is not None:
            display.close()
    if output == "json":
        say(json.dumps(simulation_json(job, found), indent=2))
    else:
        say(printable(simulation_text(job, found), newlines=True))
    sys.exit(0 if found.trace is None else 1)


@main.command()
def models() -> None:
    """List the models a spec can name, with their settings and contracts, and the
    [search] table every spec may have."""
    from kmodel.jobs.models import MODELS, contracts
    from kmodel.jobs.spec import SEARCH_SETTINGS

    for model in MODELS.values():
        say(f"{model.name}: {model.summary}")
        for section, settings in model.sections.items():
            _show_settings(section, settings)
        say("  contracts a spec can [expect] (a witness:FAULT when its bound is above 0):")
        for prop in contracts(model):
            say(f"    {prop.name}  ({prop.kind.value}) — {prop.description}")
        say()
    say("every spec: how to search ([search], the same as check's options)")
    _show_settings("search", SEARCH_SETTINGS)


def _show_settings(section: str, settings) -> None:
    for setting in settings:
        default = "(unset)" if setting.default is None else show_value(setting.default)
        shown = f"  {section}.{setting.name} = {default}  ({setting.allowed()})"
        say(f"{shown} — {setting.help}")


@main.command()
@click.argument("spec", type=PathType(dir_okay=False))
@click.option(
    "--contract",
    help="The property whose trace to show.  [default: the first contract that breaks]",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*FORMATS, "pytest"]),
    help="Trace format, or pytest: a regression test asserting that the trace still breaks "
    "the contract (default: from the --out extension, else text).",
)
@click.option("--out", type=PathType(dir_okay=False), help="Write to this file.")
@SET
@_max_seconds("Stop the search after this much wall time.")
@QUIET
@OUTSIDE
def trace(spec, contract, fmt, out, overrides, max_seconds, quiet, properties_anywhere) -> None:
    """Show the trace of one contract of SPEC: a counterexample or a witness. Without
    --contract, the trace of the first contract that breaks (or the choices, if none)."""
    from kmodel.core.system import PropertyKind
    from kmodel.jobs.run import build_system
    from kmodel.report.artifacts import context
    from kmodel.report.regression import regression_test

    if fmt is None:
        try:
            fmt = "pytest" if out and out.endswith(".py") else format_for(out) if out else "text"
        except ValueError as error:
            raise UsageError(f"{error}; or give --format.") from None
    if fmt != "pytest" and FORMATS[fmt].binary and out is None:
        raise UsageError(f"--format {fmt} is binary; give --out FILE to write it to.")
    try:
        job = _load(
            spec,
            overrides,
            {"max_seconds": max_seconds},
            properties_anywhere=properties_anywhere,
        )
        system = build_system(job)
        if contract is not None:
            _known_contract(job, system, contract)
            kind = next(p.kind for p in system.properties() if p.name == contract)
            if fmt == "pytest" and kind is PropertyKind.SOMETIMES:
                raise UsageError(
                    f"--format pytest writes a test that a contract breaks; {contract} is a "
                    "witness (sometimes): choose a contract, or another format."
                )
        if out is not None:
            _writable_folder(str(Path(out).parent), "--out")
        outcome = _run(job, quiet)
    except SpecError as error:
        _fail(error)
    verdict = _traced(outcome, contract)
    if fmt == "pytest":
        output = regression_test(job, verdict.trace, verdict.description)
    else:
        output = render(verdict.trace, fmt, **context(outcome, verdict))
    if out is None:
        say(printable(output, newlines=True), nl=not output.endswith("\n"))
        return
    _write(Path(out), output)
    say(f"wrote {printable(out)}", err=True)


def _traced(outcome: JobResult, contract: str | None):
    """The verdict of `contract` (default: the first contract broken), when it has a
    trace; otherwise a line on why not, and exit code 1."""
    from kmodel.core.result import Status
    from kmodel.report.facts import explored_text

    explored = explored_text(outcome)
    where = outcome.job.path
    if contract is None:
        broken = [v for v in outcome.verdicts if v.status is Status.VIOLATED and v.trace]
        if broken:
            say(f"tracing {broken[0].name}, the first contract that breaks", err=True)
            return broken[0]
        traced = [v.name for v in outcome.verdicts if v.trace is not None]
        choices = f"; give --contract with a witness that has one: {', '.join(traced)}"
        say(
            printable(
                f"kmodel: no contract breaks in {where} under the bounds explored "
                f"({explored}){choices if traced else ', and no witness was reached'}."
            ),
            err=True,
        )
        sys.exit(1)
    verdict = outcome.verdict(contract)
    if verdict.trace is None:
        if verdict.status is Status.UNKNOWN:
            why = "the search stopped before a verdict"
        else:
            why = f"it {verdict.status.value}"
        say(
            printable(
                f"kmodel: {contract} has no trace in {where}: {why} under the bounds "
                f"explored ({explored})."
            ),
            err=True,
        )
        sys.exit(1)
    return verdict


@main.command()
@click.argument("spec", type=PathType(dir_okay=False))
@click.option(
    "--out", type=PathType(file_okay=False), required=True, help="Where to write the files."
)
@click.option("--contract", help="Highlight the trace of this contract (or witness).")
@SET
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=GRAPH_MAX_STATES),
    default=2000,
    show_default=True,
    help="Refuse models with more states than this.",
)
@_max_seconds("Give up after this much wall time.")
@OUTSIDE
def graph(spec, out, contract, overrides, limit, max_seconds, properties_anywhere) -> None:
    """Draw the state graph of a small SPEC: graph.dot, graph.graphml and graph.png in OUT."""
    import time

    from kmodel.jobs.run import build_system, within
    from kmodel.render.graph import GraphTooLarge, draw_graph, state_graph, write_dot, write_graphml

    started = time.monotonic()
    try:
        job = _load(
            spec, overrides, {"max_seconds": max_seconds}, properties_anywhere=properties_anywhere
        )
        system = build_system(job)
        if contract is not None:
            _known_contract(job, system, contract)
        folder = _writable_folder(out)
        seconds = job.search["max_seconds"] or None  # 0: no limit
        states = state_graph(system, limit, name=job.name, max_seconds=seconds)
        highlight = None
        if contract is not None:
            if max_seconds is not None:  # the search gets what the graph left of the time
                job = within(job, max(max_seconds - (time.monotonic() - started), 0.001))
            highlight = run_job(job).verdict(contract).trace
    except SpecError as error:
        _fail(error)
    except GraphTooLarge as error:
        _fail(f"{job.path}: {error}")
    try:
        written = [
            write_dot(states, folder / "graph.dot"),
            write_graphml(states, folder / "graph.graphml"),
            draw_graph(states, folder / "graph.png", highlight, title=job.title),
        ]
    except OSError as error:
        _fail(f"{folder}: cannot write the graph ({error.strerror or error}).")
    for path in written:
        say(f"wrote {printable(str(path))}")


def _on_cluster(
    jobs: list[Job], workers: int | None, address: str | None
) -> tuple[list[Job], contextlib.AbstractContextManager]:
    """The jobs searched on a Ray cluster by `workers` shards each (default: one per
    core), and the session with that cluster they run in, one after another."""
    import dataclasses

    from kmodel.core.distributed import ray_session

    shards = workers or os.cpu_count() or 1
    search = {"engine": "distributed", "workers": shards, "address": address or ""}
    jobs = [dataclasses.replace(job, search={**job.search, **search}) for job in jobs]
    return jobs, ray_session(address, shards)


def _library(paths, properties_anywhere: bool) -> list[Job]:
    """The specs PATHS name (default: the library), every one validated before any runs."""
    from kmodel.report.discover import spec_paths
    from kmodel.report.runner import load_jobs

    try:
        return load_jobs(spec_paths(paths), properties_anywhere=properties_anywhere)
    except SpecError as error:
        _fail(error)


LIBRARY_SECONDS = "Stop the whole run after this much wall time; specs not reached are named."
LIBRARY_WORKERS = click.option(
    "--workers",
    type=click.IntRange(min=1, max=256),
    help="Specs run at once, each search in a process of its own.  [default: one per core]",
)


@main.command()
@click.argument("paths", nargs=-1, type=PathType())
@click.option(
    "--out",
    type=PathType(file_okay=False),
    default="reports",
    show_default=True,
    help="Directory for the report.",
)
@click.option("--quiet", is_flag=True, help="No progress display, no line per spec.")
@_max_seconds(LIBRARY_SECONDS)
@click.option(
    "--spec-seconds",
    type=Seconds(),
    help="Stop each spec's search after this much wall time (a verdict it did not reach "
    "fails its expectation).",
)
@click.option(
    "--junit",
    type=PathType(dir_okay=False),
    help="Also write the outcomes as JUnit XML to this file, for CI: a test suite per "
    "spec, a test case per contract.",
)
@LIBRARY_WORKERS
@click.option(
    "--engine",
    type=click.Choice(["bfs", "distributed"]),
    help=f"Search every spec with this engine ({DISTRIBUTED}; one spec at a time, each "
    "search on --workers Ray workers).  [default: each spec's own]",
)
@ADDRESS
@OUTSIDE
def verify(
    paths,
    out,
    quiet,
    max_seconds,
    spec_seconds,
    junit,
    workers,
    engine,
    address,
    properties_anywhere,
):
    """Run every spec (default: the spec library) and write the verification report.

    PATHS are spec files or directories of them.
    """
    from kmodel.jobs.run import within
    from kmodel.report.junit import junit_xml
    from kmodel.report.runner import run_jobs
    from kmodel.report.site import write_report

    jobs = _library(paths, properties_anywhere)
    if spec_seconds is not None:
        jobs = [within(job, spec_seconds) for job in jobs]
    folder = _writable_folder(out)
    if junit is not None:
        _writable_folder(str(Path(junit).parent), "--junit")
    stream = None if quiet else sys.stdout
    started = time.monotonic()
    session: contextlib.AbstractContextManager = contextlib.nullcontext()
    if engine == "distributed":
        jobs, session = _on_cluster(jobs, workers, address)
        workers = 1
    elif address is not None:
        raise UsageError("--address names a Ray cluster, for --engine distributed.")
    try:
        with _writing(), session:  # the line per spec goes to standard output
            run = run_jobs(jobs, stream, not quiet, max_seconds, workers)
    except SpecError as error:
        _fail(error)
    try:
        index = write_report(run, folder)
    except OSError as error:
        _fail(f"{folder}: cannot write the report ({error.strerror or error}).")
    unmet = [o.job.name for o in run.outcomes if not o.expectations_met]
    seconds = sum(o.result.stats.seconds for o in run.outcomes)
    wall = time.monotonic() - started
    say(
        printable(
            f"{len(run.outcomes)} specs, {seconds:.1f} s of search, in {wall:.1f} s; "
            f"report: {index}"
        )
    )
    if junit is not None:
        _write(Path(junit), junit_xml(run))
        say(f"wrote {printable(junit)}")
    if unmet:
        say(f"expectations not met: {', '.join(unmet)}")
    if run.stopped:
        say(run.stopped_text())
    sys.exit(0 if run.expectations_met else 1)


@main.command()
@click.argument("paths", nargs=-1, type=PathType())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md"]),
    default="text",
    show_default=True,
    help="Aligned text or a Markdown table.",
)
@click.option(
    "--results",
    type=PathType(file_okay=False),
    help="Where `kmodel verify` wrote the results.json to reuse.  [default: reports]",
)
@click.option("--fresh", is_flag=True, help="Run every spec; reuse no saved result.")
@QUIET
@_max_seconds(LIBRARY_SECONDS)
@LIBRARY_WORKERS
@OUTSIDE
def matrix(paths, fmt, results, fresh, quiet, max_seconds, workers, properties_anywhere) -> None:
    """Print the semantic matrix the specs show, next to the claims of Kafka's
    delivery-semantics reference.

    The outcomes `kmodel verify` saved in the results folder stand for the specs whose
    files have not changed since; the other specs run.
    """
    from kmodel.report.matrix import derive, to_markdown, to_text
    from kmodel.report.runner import run_jobs
    from kmodel.report.saved import RESULTS, Reuse, reuse

    if fresh and results is not None:
        raise UsageError("--fresh reuses no results; leave out --results, or --fresh.")
    stream = None if quiet else sys.stderr
    jobs = _library(paths, properties_anywhere)
    if fresh:
        saved = Reuse.nothing(jobs)
    else:
        source = Path(results or "reports") / RESULTS
        try:
            saved = reuse(jobs, source, required=results is not None)
        except SpecError as error:
            _fail(error)
    with _writing():
        run = run_jobs(saved.stale, stream, not quiet, max_seconds, workers)
    if not fresh:
        say(printable(saved.text(len(run.outcomes))), err=True)
    rows = derive(saved.merged(run.outcomes))
    say(to_markdown(rows) if fmt == "md" else to_text(rows))
    if run.stopped:
        say(run.stopped_text(), err=True)
        sys.exit(1)


def _configuration_options(function: Callable) -> Callable:
    """The options that name a user's configuration, shared by classify and advise."""
    options = [
        click.option(
            "--producer", type=PathType(dir_okay=False), help="The producer's .properties."
        ),
        click.option(
            "--consumer", type=PathType(dir_okay=False), help="The consumer's .properties."
        ),
        click.option(
            "--broker", type=PathType(dir_okay=False), help="The broker's server.properties."
        ),
        click.option(
            "--topic",
            type=PathType(dir_okay=False),
            help="The topic's settings, over the broker's.",
        ),
        click.option(
            "--streams",
            type=PathType(dir_okay=False),
            help="A Kafka Streams application's properties (processing.guarantee, "
            "application.id, producer.* and consumer.*).",
        ),
        click.option(
            "--application",
            type=PathType(dir_okay=False),
            help="A TOML file: how the application commits, where the source position is "
            "kept and what the sink does ([application], [sink], [bounds]).",
        ),
        click.option(
            "--bounds",
            "bounds",
            multiple=True,
            metavar="NAME=N",
            help="Widen or narrow every run of the fault menu, e.g. records=2 (repeatable).",
        ),
        click.option(
            "--format", "output", type=click.Choice(["text", "json", "md"]), default="text"
        ),
        _max_seconds("Stop each run of the fault menu after this many seconds."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


GUARANTEES = click.Choice(["at-most-once", "at-least-once", "exactly-once"])


def _configuration(producer, consumer, broker, topic, streams, application):
    """The user's files as one configuration (bad input ends the command with 2)."""
    from kmodel.advise.classify import load_configuration

    files = {"producer": producer, "consumer": consumer, "broker": broker, "topic": topic}
    return load_configuration(files, application and Path(application), streams and Path(streams))


@main.command()
@_configuration_options
@click.option("--want", type=GUARANTEES, help="The guarantee you need: exit 1 unless it holds.")
def classify(
    producer, consumer, broker, topic, streams, application, bounds, output, max_seconds, want
):
    """What your configuration guarantees end to end, under a standard menu of faults."""
    from kmodel.advise.classify import classify as run_menu
    from kmodel.advise.classify import parse_bounds
    from kmodel.render.classification import to_json, to_text

    try:
        configuration = _configuration(producer, consumer, broker, topic, streams, application)
        classification = run_menu(configuration, parse_bounds(bounds), max_seconds)
    except SpecError as error:
        _fail(error)
    if output == "json":
        say(json.dumps(to_json(classification, want), indent=2))
    else:
        say(printable(to_text(classification, want, output == "md"), newlines=True))
    sys.exit(0 if want is None or classification.gives(want) else 1)


@main.command()
@_configuration_options
@click.option("--want", type=GUARANTEES, required=True, help="The guarantee you need.")
@click.option(
    "--max-candidates",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Give up after checking this many configurations.",
)
def advise(
    producer,
    consumer,
    broker,
    topic,
    streams,
    application,
    bounds,
    output,
    max_seconds,
    want,
    max_candidates,
):
    """The smallest change to your configuration that gives the guarantee you want."""
    from kmodel.advise.classify import parse_bounds
    from kmodel.advise.smallest_change import advise as search_changes
    from kmodel.render.advice import advice_json, advice_text

    try:
        configuration = _configuration(producer, consumer, broker, topic, streams, application)
        advice = search_changes(
            configuration, want, parse_bounds(bounds), max_seconds, max_candidates
        )
    except SpecError as error:
        _fail(error)
    if output == "json":
        say(json.dumps(advice_json(advice), indent=2))
    else:
        say(printable(advice_text(advice, output == "md"), newlines=True))
    sys.exit(0 if advice.answer is not None else 1)


@main.command()
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "md"]),
    default="text",
    show_default=True,
    help="Text, JSON, or Markdown tables with the evidence linked below them.",
)
@_max_seconds("Stop each run of a cell's fault menu after this many seconds.")
@LIBRARY_WORKERS
def decisions(output, max_seconds, workers) -> None:
    """Derive the decision matrix and the guarantees by component of Kafka's
    delivery-semantics reference: each cell's configuration classified under the fault
    menu, with the shortest trace of every loss or duplicate it counts.

    Exits 1 when a run was cut short before a cell was decided."""
    from kmodel.report.decision_tables import to_json, to_markdown, to_text
    from kmodel.report.decisions import UNDECIDED, derive_tables

    tables = derive_tables(max_seconds, workers)
    if output == "json":
        say(json.dumps(to_json(tables), indent=2))
    else:
        text = to_markdown(tables) if output == "md" else to_text(tables)
        say(printable(text, newlines=True))
    sys.exit(1 if any(derived.row == UNDECIDED for derived in tables.cells) else 0)


@main.command()
@click.argument("spec", type=PathType(dir_okay=False))
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=8470,
    show_default=True,
    help="Port on 127.0.0.1 to serve on (0: any free port).",
)
@click.option("--no-browser", is_flag=True, help="Print the URL; do not open a browser.")
@SET
@OUTSIDE
def explore(spec, port, no_browser, overrides, properties_anywhere) -> None:
    """Step through SPEC's model in the browser: choose each step or fault, see the state
    and the sequence diagram grow, jump to a contract's counterexample, ask which
    contracts can still break from here. A spec with an [exercise] is graded.

    Serves on 127.0.0.1 until Ctrl-C."""
    import webbrowser

    from kmodel.explore.server import ExplorerServer
    from kmodel.explore.session import Session

    try:
        session = Session(_load(spec, overrides, properties_anywhere=properties_anywhere))
    except SpecError as error:
        _fail(error)
    try:
        server = ExplorerServer(session, port)
    except OSError as error:
        raise UsageError(
            f"--port {port}: cannot serve on 127.0.0.1:{port} ({error.strerror or error}); "
            "choose another port, or --port 0 for any free one."
        ) from None
    say(f"kmodel explore: {server.url} (Ctrl-C stops it)")
    if not no_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        say("stopped.")
    finally:
        server.server_close()
