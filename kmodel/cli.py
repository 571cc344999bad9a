"""The `kmodel` command: options in, job run, verdicts out, exit code.

Exit codes: 0 every expectation met, 1 an expectation not met, 2 bad input.
"""

from __future__ import annotations

import json
import sys

import click

from kmodel.console import ProgressDisplay
from kmodel.core.bfs import FINGERPRINT_AFTER
from kmodel.core.reduction import CHOICES as REDUCTION_CHOICES
from kmodel.jobs.run import run_job
from kmodel.jobs.schema import SpecError, show_value
from kmodel.jobs.spec import load_job
from kmodel.render.formats import FORMATS, format_for, render
from kmodel.render.summary import summary

TRACE_FORMATS = click.Choice(list(FORMATS))


class UsageError(click.ClickException):
    """A mistake on the command line, shown like every other input error: one paragraph
    after `kmodel: `, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"kmodel: {self.format_message()}", file=file, err=True)


def _usage_error(error: click.UsageError) -> click.ClickException:
    if isinstance(error, click.exceptions.NoArgsIsHelpError):
        return error  # a bare `kmodel`: click shows the help
    return UsageError(" ".join(error.format_message().split()))


class Group(click.Group):
    """Click's group, with command-line mistakes reported as `UsageError`s."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            raise _usage_error(error) from None

    def invoke(self, ctx: click.Context):
        # Parses the command's own options and arguments, and resolves its name.
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise _usage_error(error) from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kmodel")
def main() -> None:
    """kmodel checks message-delivery guarantees of Kafka-style pipelines."""


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a model setting, e.g. --set rms=5 or --set producer.acks=1.",
)
@click.option("--engine", type=click.Choice(["bfs", "dfs"]), help="Search strategy.")
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=256),
    help="Processes for a breadth-first search.  [default: one per core]",
)
@click.option("--max-states", type=click.IntRange(min=1), help="Stop after this many states.")
@click.option("--max-depth", type=click.IntRange(min=1), help="Do not search deeper.")
@click.option(
    "--max-seconds",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop after this much wall time.",
)
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
    help="Reductions to apply where the model offers them; none re-checks without.  [default: all]",
)
@click.option(
    "--exhaustive",
    is_flag=True,
    help="Explore every state, even once every verdict is settled.",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--quiet", is_flag=True, help="No progress display.")
@click.option(
    "--trace",
    "trace_formats",
    multiple=True,
    type=TRACE_FORMATS,
    help="Write each violated contract's trace in this format (repeatable); needs --out.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Directory for --trace files: DIR/<spec>/<contract>.<ext>.",
)
def check(
    spec,
    overrides,
    engine,
    workers,
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
) -> None:
    """Check SPEC (a TOML spec file) and report each property's verdict."""
    if trace_formats and out is None:
        raise UsageError("--trace needs --out DIR, the directory to write the traces to.")
    if out is not None and not trace_formats:
        raise UsageError("--out needs at least one --trace FORMAT.")
    if workers is not None and workers > 1 and engine == "dfs":
        raise UsageError("--workers runs a breadth-first search; --engine dfs uses one process.")
    search = {
        "engine": engine,
        "workers": workers,
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
        job = load_job(spec, overrides, search)
        display = None if quiet else ProgressDisplay(job.name)
        try:
            outcome = run_job(job, display)
        finally:
            if display is not None:
                display.close()
    except SpecError as error:
        click.echo(f"kmodel: {error}", err=True)
        sys.exit(2)
    if output == "json":
        click.echo(json.dumps(outcome.to_json(), indent=2))
    else:
        click.echo(summary(outcome))
    if trace_formats:
        from kmodel.report.artifacts import write_traces

        written = write_traces(outcome, out, trace_formats)
        paths = [path for formats in written.values() for path in formats.values()]
        to_stderr = output == "json"
        if not to_stderr:
            click.echo()
        if paths:
            for path in paths:
                click.echo(f"wrote {path}", err=to_stderr)
        else:
            click.echo("no contract is violated, so there is no trace to write", err=to_stderr)
    sys.exit(0 if outcome.expectations_met else 1)


@main.command()
def models() -> None:
    """List the models a spec can name, with their settings, and the [search] table."""
    from kmodel.jobs.models import MODELS
    from kmodel.jobs.spec import SEARCH_SETTINGS

    for model in MODELS.values():
        click.echo(f"{model.name}: {model.summary}")
        for section, settings in model.sections.items():
            _show_settings(section, settings)
        click.echo()
    click.echo("every spec: how to search (the same as check's options)")
    _show_settings("search", SEARCH_SETTINGS)


def _show_settings(section: str, settings) -> None:
    for setting in settings:
        default = "(unset)" if setting.default is None else show_value(setting.default)
        shown = f"  {section}.{setting.name} = {default}  ({setting.allowed()})"
        click.echo(f"{shown} — {setting.help}")


def _fail(error: SpecError) -> None:
    click.echo(f"kmodel: {error}", err=True)
    sys.exit(2)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--contract", required=True, help="The property whose trace to show.")
@click.option(
    "--format",
    "fmt",
    type=TRACE_FORMATS,
    help="Trace format (default: from the --out extension, else text).",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a model setting, e.g. --set producer.acks=1.",
)
@click.option("--quiet", is_flag=True, help="No progress display.")
def trace(spec, contract, fmt, out, overrides, quiet) -> None:
    """Show the trace of one contract of SPEC: a counterexample or a witness."""
    from kmodel.core.result import Status
    from kmodel.jobs.run import build_system
    from kmodel.report.artifacts import context
    from kmodel.report.facts import explored_text

    if fmt is None:
        try:
            fmt = format_for(out) if out else "text"
        except ValueError as error:
            raise UsageError(f"{error}; or give --format.") from None
    if FORMATS[fmt].binary and out is None:
        raise UsageError(f"--format {fmt} is binary; give --out FILE to write it to.")
    try:
        job = load_job(spec, overrides)
        names = [prop.name for prop in build_system(job).properties()]
        if contract not in names:
            raise SpecError(
                f"{job.path}: model {job.model.name!r} has no property {contract!r}; "
                f"its properties are {', '.join(names)}."
            )
        display = None if quiet else ProgressDisplay(job.name)
        try:
            outcome = run_job(job, display)
        finally:
            if display is not None:
                display.close()
    except SpecError as error:
        _fail(error)
    verdict = outcome.verdict(contract)
    if verdict.trace is None:
        if verdict.status is Status.UNKNOWN:
            why = "the search stopped before a verdict"
        else:
            why = f"it {verdict.status.value}"
        click.echo(
            f"kmodel: {contract} has no trace in {job.path}: {why} under the bounds explored "
            f"({explored_text(outcome)}).",
            err=True,
        )
        sys.exit(1)
    output = render(verdict.trace, fmt, **context(outcome, verdict))
    if out is None:
        click.echo(output, nl=not output.endswith("\n"))
        return
    from pathlib import Path

    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(output, bytes):
        path.write_bytes(output)
    else:
        path.write_text(output, encoding="utf-8")
    click.echo(f"wrote {path}", err=True)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option(
    "--out", type=click.Path(file_okay=False), required=True, help="Where to write the files."
)
@click.option("--contract", help="Highlight the trace of this contract (or witness).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="As for check.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Refuse models with more states than this.",
)
def graph(spec, out, contract, overrides, limit) -> None:
    """Draw the state graph of a small SPEC: graph.dot, graph.graphml and graph.png in OUT."""
    from pathlib import Path

    from kmodel.jobs.run import build_system
    from kmodel.render.graph import GraphTooLarge, draw_graph, state_graph, write_dot, write_graphml

    try:
        job = load_job(spec, overrides)
        system = build_system(job)
        states = state_graph(system, limit, name=job.name)
        highlight = None
        if contract is not None:
            names = [prop.name for prop in system.properties()]
            if contract not in names:
                raise SpecError(
                    f"{job.path}: model {job.model.name!r} has no property {contract!r}; "
                    f"its properties are {', '.join(names)}."
                )
            highlight = run_job(job).verdict(contract).trace
    except SpecError as error:
        _fail(error)
    except GraphTooLarge as error:
        click.echo(f"kmodel: {job.path}: {error}", err=True)
        sys.exit(2)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written = [
        write_dot(states, folder / "graph.dot"),
        write_graphml(states, folder / "graph.graphml"),
        draw_graph(states, folder / "graph.png", highlight, title=job.title),
    ]
    for path in written:
        click.echo(f"wrote {path}")


def _run_library(paths, quiet: bool, lines):
    """Discover and run specs; `lines` is where the line per spec goes (None: nowhere)."""
    from kmodel.report.discover import spec_paths
    from kmodel.report.runner import load_jobs, run_jobs

    try:
        jobs = load_jobs(spec_paths(paths))
        return run_jobs(jobs, lines, progress=not quiet)
    except SpecError as error:
        _fail(error)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="reports",
    show_default=True,
    help="Directory for the report.",
)
@click.option("--quiet", is_flag=True, help="No progress display, no line per spec.")
def verify(paths, out, quiet) -> None:
    """Run every spec (default: the spec library) and write the verification report.

    PATHS are spec files or directories of them.
    """
    from kmodel.report.site import write_report

    stream = None if quiet else sys.stdout
    outcomes = _run_library(paths, quiet, stream)
    index = write_report(outcomes, out)
    unmet = [o.job.name for o in outcomes if not o.expectations_met]
    seconds = sum(o.result.stats.seconds for o in outcomes)
    click.echo(f"{len(outcomes)} specs in {seconds:.1f} s; report: {index}")
    if unmet:
        click.echo(f"expectations not met: {', '.join(unmet)}")
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "md"]),
    default="text",
    show_default=True,
    help="Aligned text or a Markdown table.",
)
@click.option("--quiet", is_flag=True, help="No progress display.")
def matrix(paths, fmt, quiet) -> None:
    """Run the specs and print the semantic matrix they show, next to the seed's claims."""
    from kmodel.report.matrix import derive, to_markdown, to_text

    outcomes = _run_library(paths, quiet, None if quiet else sys.stderr)
    rows = derive(outcomes)
    click.echo(to_markdown(rows) if fmt == "md" else to_text(rows))
